/**
 * Rejected events (rejected-events.ts) in PostgreSQL, table `rejected_events` of
 * db/migrations/pg. One transaction adds a request's rejected events and trims the table to its
 * capacity (several nodes may add at once: the bound holds within a request's worth of rows).
 */
import { withTransaction, type PgPool } from '../db/pg.js'
import {
  MAX_EVENT_CHARS,
  REJECTED_EVENTS_CAPACITY,
  toRejectedEvent,
  type RejectedEventStore,
} from './rejected-events.js'

const ADD = `
  INSERT INTO rejected_events (source_id, received_at, idx, reasons, event)
  SELECT s, r, i, reasons::json, e
  FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[])
    WITH ORDINALITY AS x(s, r, i, reasons, e, ord)
  ORDER BY ord`

const TRIM = `
  DELETE FROM rejected_events
  WHERE id <= (SELECT id FROM rejected_events ORDER BY id DESC OFFSET $1 LIMIT 1)`

export function openPgRejectedEventStore(
  pool: PgPool,
  capacity = REJECTED_EVENTS_CAPACITY,
): RejectedEventStore {
  return {
    async add(entries) {
      if (entries.length === 0) {
        return
      }
      await withTransaction(pool, async (client) => {
        await client.query(ADD, [
          entries.map((e) => e.sourceId),
          entries.map((e) => e.receivedAt),
          entries.map((e) => e.index),
          entries.map((e) => JSON.stringify(e.reasons)),
          entries.map((e) => e.event.slice(0, MAX_EVENT_CHARS)),
        ])
        await client.query(TRIM, [capacity])
      })
    },
    async list(limit) {
      const { rows } = await pool.query<Record<string, unknown>>(
        'SELECT * FROM rejected_events ORDER BY id DESC LIMIT $1',
        [limit],
      )
      return rows.map(toRejectedEvent)
    },
    async count() {
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM rejected_events')
      return Number(rows[0]?.n ?? 0)
    },
  }
}
