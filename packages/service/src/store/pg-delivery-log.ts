/**
 * The delivery log (delivery-log.ts: what it keeps, its bounds, its buffering) in PostgreSQL,
 * table `delivery_log` of db/migrations/pg. Several nodes write to the same table.
 *
 * - A commit is one transaction: the buffered rows from `unnest` arrays, and the trim of rows
 *   beyond the capacity (ids below the newest id − capacity; with several nodes the bound is
 *   approximate, as ids of different nodes interleave).
 * - Purge deletes old rows in chunks, each its own statement, skipping rows another node is
 *   purging at the same time.
 */
import { withTransaction, type PgPool } from '../db/pg.js'
import {
  bufferedDeliveryLog,
  deliveryLogDefaults,
  PURGE_CHUNK,
  toEntry,
  type DeliveryLog,
  type DeliveryLogOptions,
} from './delivery-log.js'

const INSERT = `
  WITH inserted AS (
    INSERT INTO delivery_log (destination_id, job_id, message_id, type, event, actions, outcome,
                              reason, attempt, at)
    SELECT d, j, m, t, e, a::json, o, r, n, at
    FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                $8::text[], $9::int[], $10::bigint[]) WITH ORDINALITY AS x(d, j, m, t, e, a, o, r, n, at, ord)
    ORDER BY ord
    RETURNING id
  )
  SELECT max(id) AS last FROM inserted`

const TRIM = `DELETE FROM delivery_log WHERE id > $1 AND id <= $2`

const PURGE = `
  DELETE FROM delivery_log WHERE id IN (
    SELECT id FROM delivery_log WHERE at < $1 ORDER BY id LIMIT ${PURGE_CHUNK} FOR UPDATE SKIP LOCKED)`

export function openPgDeliveryLog(pool: PgPool, opts: DeliveryLogOptions): DeliveryLog {
  const { capacity } = deliveryLogDefaults(opts)
  // Rows up to here are trimmed already: the next trim starts after them instead of walking the
  // dead index entries of earlier trims (until vacuum removes them).
  let trimmedUpTo = 0
  return bufferedDeliveryLog(
    {
      async write(entries) {
        await withTransaction(pool, async (client) => {
          const { rows } = await client.query<{ last: string }>(INSERT, [
            entries.map((e) => e.destinationId),
            entries.map((e) => e.jobId),
            entries.map((e) => e.messageId),
            entries.map((e) => e.type),
            entries.map((e) => e.event),
            entries.map((e) => JSON.stringify(e.actions)),
            entries.map((e) => e.outcome),
            entries.map((e) => e.reason),
            entries.map((e) => e.attempt),
            entries.map((e) => e.at),
          ])
          const upTo = Number(rows[0]?.last ?? 0) - capacity
          if (upTo > trimmedUpTo) {
            await client.query(TRIM, [trimmedUpTo, upTo])
            trimmedUpTo = upTo
          }
        })
      },
      async list(q) {
        const where: string[] = []
        const params: (string | number)[] = []
        const add = (sql: string, value: string | number) => {
          params.push(value)
          where.push(`${sql} $${params.length}`)
        }
        if (q.destinationId !== undefined) {
          add('destination_id =', q.destinationId)
        }
        if (q.jobId !== undefined) {
          add('job_id =', q.jobId)
        }
        if (q.messageId !== undefined) {
          add('message_id =', q.messageId)
        }
        if (q.outcome !== undefined) {
          add('outcome =', q.outcome)
        }
        params.push(q.limit)
        const { rows } = await pool.query<Record<string, unknown>>(
          `SELECT * FROM delivery_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
           ORDER BY id DESC LIMIT $${params.length}`,
          params,
        )
        return rows.map(toEntry)
      },
      async count() {
        const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM delivery_log')
        return Number(rows[0]?.n ?? 0)
      },
      async purge(before) {
        let total = 0
        for (;;) {
          const n = (await pool.query(PURGE, [before])).rowCount ?? 0
          total += n
          if (n < PURGE_CHUNK) {
            return total
          }
        }
      },
    },
    opts,
  )
}
