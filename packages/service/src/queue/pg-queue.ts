/**
 * The queue on PostgreSQL, shared by several service processes. It implements `queue.ts` exactly
 * (read the state machine there first); the schema is `db/migrations/pg/0001_init.sql`, applied
 * by `db/migrate.ts` before the queue is opened.
 *
 * - Times are the service clock's epoch ms, passed in by each call (never the server's `now()`),
 *   as on SQLite, so that the contract suite's fake clock drives both backends.
 * - Enqueue is one statement (dedupe keys and jobs from `unnest` arrays): durable when it
 *   returns, as PostgreSQL commits with `synchronous_commit` on. Dedupe keys are inserted in key
 *   order, so two concurrent enqueues of the same messageIds wait for each other instead of
 *   deadlocking; the second one finds them and counts duplicates.
 * - Claim: (1) expired leases back to ready (a statement of its own); then, in one REPEATABLE
 *   READ transaction, so that every step sees the same snapshot: (2) the candidates: ready,
 *   available jobs of the destination with no earlier leased, parked or waiting job of their
 *   key, oldest first (a paged walk, as on SQLite); (3) `SELECT … FOR UPDATE SKIP LOCKED` on
 *   them, so that a claim never waits for a row another transaction holds; (4) per key, only the
 *   run of candidates up to the first one not locked is kept; (5) those are leased.
 * - Per-person order when several processes claim the same destination at once: the snapshot
 *   makes the candidates a consistent picture (with READ COMMITTED, each statement of the walk
 *   would see a later moment, and a person's first job leased by another claim in between would
 *   vanish from the walk without blocking their second). A candidate that another claim holds
 *   is skipped in step 3, and one that another claim leased after the snapshot fails the
 *   transaction (serialization failure: it runs again on a new snapshot, up to 3 times, then the
 *   claim returns nothing and the caller claims again). Step 4 then drops a person's later jobs
 *   whenever their earlier job went to someone else, so a later job is only ever leased together
 *   with every earlier unfinished job of its person, by one claim.
 * - Order across processes is the order of commits: an event acknowledged (committed) before
 *   another was sent gets a smaller id. Two enqueues running at the same moment have no order
 *   between them, on any backend.
 * - Backlog: 16 counter slots updated in the same statement as each change (the slot of the
 *   connection's backend), summed on read; ingest reads it about once a second.
 */
import type { Clock } from '../lib/clock.js'
import { pgCode, queryRetrying, withTransaction, type PgClient, type PgPool } from '../db/pg.js'
import type {
  ClaimOptions,
  EnqueueResult,
  Job,
  JobState,
  NewJob,
  Queue,
  QueueCounts,
  QueueWindows,
} from './queue.js'

export interface PgQueueOptions extends QueueWindows {
  /** A pool on a database migrated by `db/migrate.ts`; the queue does not close it. */
  pool: PgPool
  clock: Clock
}

/** The backlog slot a statement updates: one per connection, 16 in all (the migration's table). */
const SLOT = '(pg_backend_pid() % 16)'

const ENQUEUE = `
  WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
      WITH ORDINALITY AS t(destination_id, ordering_key, dedupe_key, payload, ord)
  ),
  fresh AS (
    INSERT INTO dedupe (destination_id, dedupe_key, seen_at)
    SELECT DISTINCT destination_id, dedupe_key, $5::bigint FROM input
    WHERE dedupe_key IS NOT NULL
    ORDER BY destination_id, dedupe_key
    ON CONFLICT (destination_id, dedupe_key) DO UPDATE SET seen_at = excluded.seen_at
      WHERE dedupe.seen_at <= $6::bigint
    RETURNING destination_id, dedupe_key
  ),
  first AS (
    -- Within one batch, the first job of a dedupe key wins.
    SELECT DISTINCT ON (destination_id, dedupe_key) ord FROM input
    WHERE dedupe_key IS NOT NULL
    ORDER BY destination_id, dedupe_key, ord
  ),
  inserted AS (
    INSERT INTO jobs (destination_id, ordering_key, dedupe_key, payload, state, attempts,
                      available_at, created_at, updated_at)
    SELECT i.destination_id, i.ordering_key, i.dedupe_key, i.payload::json, 'ready', 0, $5, $5, $5
    FROM input i
    WHERE i.dedupe_key IS NULL
       OR (i.ord IN (SELECT ord FROM first)
           AND EXISTS (SELECT 1 FROM fresh f
                       WHERE f.destination_id = i.destination_id AND f.dedupe_key = i.dedupe_key))
    ORDER BY i.ord
    RETURNING 1
  ),
  counted AS (SELECT count(*) AS n FROM inserted)
  UPDATE queue_totals SET backlog = backlog + (SELECT n FROM counted)
  WHERE slot = ${SLOT}
  RETURNING (SELECT n FROM counted) AS inserted`

/** Any claim returns every expired lease, of all destinations, to ready; attempts unchanged. */
const EXPIRE_LEASES = `
  UPDATE jobs SET state = 'ready', leased_until = NULL, updated_at = $1
  WHERE id IN (SELECT id FROM jobs WHERE state = 'leased' AND leased_until <= $1
               FOR UPDATE SKIP LOCKED)`

/** The first leased or parked job of each key of the destination: later jobs of the key wait. */
const BLOCKERS = `
  SELECT ordering_key, min(id) AS first_id FROM jobs
  WHERE destination_id = $1 AND state IN ('leased', 'parked')
  GROUP BY ordering_key`

/** One page of the claim scan: ready jobs of the destination in id order (index jobs_by_state). */
const READY_PAGE = `
  SELECT id, ordering_key, available_at FROM jobs
  WHERE destination_id = $1 AND state = 'ready' AND id > $2
  ORDER BY id LIMIT $3`

/** Locks the candidates still ready; rows another transaction holds are skipped, not waited for. */
const LOCK_CANDIDATES = `
  SELECT id FROM jobs WHERE id = ANY($1::bigint[]) AND state = 'ready' AND available_at <= $2
  FOR UPDATE SKIP LOCKED`

const LEASE_JOBS = `
  UPDATE jobs SET state = 'leased', leased_until = $2, updated_at = $3
  WHERE id = ANY($1::bigint[])
  RETURNING *`

const EXTEND_LEASES = `
  UPDATE jobs SET leased_until = $2, updated_at = $3
  WHERE id = ANY($1::bigint[]) AND state = 'leased'`

/** A state change that leaves the backlog, with the counter update in the same statement. */
function leavingBacklog(update: string): string {
  return `
  WITH changed AS (${update} RETURNING 1),
  counted AS (SELECT count(*) AS n FROM changed)
  UPDATE queue_totals SET backlog = backlog - (SELECT n FROM counted)
  WHERE slot = ${SLOT}
  RETURNING (SELECT n FROM counted) AS n`
}

const COMPLETE_JOBS = leavingBacklog(`
  UPDATE jobs SET state = 'done', leased_until = NULL, updated_at = $2
  WHERE id = ANY($1::bigint[]) AND state = 'leased'`)

const FAIL_JOB = leavingBacklog(`
  UPDATE jobs SET state = 'dead', attempts = attempts + 1, leased_until = NULL, last_error = $2,
                  updated_at = $3
  WHERE id = $1 AND state = 'leased'`)

const RETRY_JOB = `
  UPDATE jobs SET state = 'ready', attempts = attempts + $2, available_at = $3, leased_until = NULL,
                  last_error = $4, updated_at = $5
  WHERE id = $1 AND state = 'leased'`

const PARK_JOBS = `
  UPDATE jobs SET state = 'parked', leased_until = NULL, last_error = $2, updated_at = $3
  WHERE id = ANY($1::bigint[]) AND state = 'leased'`

const UNPARK_DESTINATION = `
  UPDATE jobs SET state = 'ready', available_at = $2, updated_at = $2
  WHERE destination_id = $1 AND state = 'parked'`

/** Dead jobs back to ready (attempts reset, last_error kept as history), counted into the backlog. */
function replaying(filter: string): string {
  return `
  WITH changed AS (
    UPDATE jobs SET state = 'ready', attempts = 0, available_at = $2, updated_at = $2
    WHERE destination_id = $1 AND state = 'dead' ${filter}
    RETURNING 1),
  counted AS (SELECT count(*) AS n FROM changed)
  UPDATE queue_totals SET backlog = backlog + (SELECT n FROM counted)
  WHERE slot = ${SLOT}
  RETURNING (SELECT n FROM counted) AS n`
}

const REPLAY_DESTINATION = replaying('')
const REPLAY_JOBS = replaying('AND id = ANY($3::bigint[])')

const SELECT_JOB = `SELECT * FROM jobs WHERE id = $1`
const LIST_JOBS = `SELECT * FROM jobs WHERE destination_id = $1 AND state = $2 ORDER BY id LIMIT $3`
const COUNT_ALL = `SELECT state, count(*) AS n FROM jobs GROUP BY state`
const COUNT_DESTINATION = `SELECT state, count(*) AS n FROM jobs WHERE destination_id = $1 GROUP BY state`
const SELECT_BACKLOG = `SELECT coalesce(sum(backlog), 0) AS n FROM queue_totals`

const PURGE_FINISHED_CHUNK = `
  DELETE FROM jobs WHERE id IN (
    SELECT id FROM jobs WHERE state IN ('done', 'dead') AND updated_at <= $1 LIMIT $2
    FOR UPDATE SKIP LOCKED)`

const PURGE_DEDUPE_CHUNK = `
  DELETE FROM dedupe WHERE (destination_id, dedupe_key) IN (
    SELECT destination_id, dedupe_key FROM dedupe WHERE seen_at <= $1 LIMIT $2
    FOR UPDATE SKIP LOCKED)`

const PURGE_CHUNK_SIZE = 5_000

/** A job the claim scan found claimable (id as `pg` returns a bigint: a string). */
interface Candidate {
  id: string
  ordering_key: string
}

/** A row as `pg` returns it: bigint columns come as strings. */
interface JobRow {
  id: string
  destination_id: string
  ordering_key: string
  dedupe_key: string | null
  payload: unknown
  state: JobState
  attempts: number
  available_at: string
  leased_until: string | null
  last_error: string | null
  created_at: string
  updated_at: string
}

export function openPgQueue(options: PgQueueOptions): PgQueue {
  return new PgQueue(options)
}

export class PgQueue implements Queue {
  private readonly pool: PgPool
  private readonly clock: Clock
  private readonly retentionMs: number
  private readonly dedupeWindowMs: number

  constructor(options: PgQueueOptions) {
    this.pool = options.pool
    this.clock = options.clock
    this.retentionMs = options.retentionMs
    this.dedupeWindowMs = options.dedupeWindowMs
  }

  async enqueue(jobs: NewJob[]): Promise<EnqueueResult> {
    if (jobs.length === 0) {
      return { inserted: 0, duplicates: 0 }
    }
    const now = this.clock.now()
    const { rows } = await queryRetrying<{ inserted: string }>(this.pool, ENQUEUE, [
      jobs.map((j) => j.destinationId),
      jobs.map((j) => j.orderingKey),
      jobs.map((j) => j.dedupeKey),
      // JSON.stringify(undefined) is undefined: an absent payload is stored as null.
      jobs.map((j) => j.payloadJson ?? (JSON.stringify(j.payload) as string | undefined) ?? 'null'),
      now,
      now - this.dedupeWindowMs,
    ])
    const inserted = Number(rows[0]?.inserted ?? 0)
    return { inserted, duplicates: jobs.length - inserted }
  }

  async claim({ destinationId, limit, leaseMs }: ClaimOptions): Promise<Job[]> {
    const now = this.clock.now()
    await this.pool.query(EXPIRE_LEASES, [now])
    if (limit <= 0) {
      return []
    }
    try {
      return await withTransaction(
        this.pool,
        (client) => this.claimIn(client, destinationId, limit, leaseMs, now),
        'REPEATABLE READ',
      )
    } catch (err) {
      // Another claim leased some of the same jobs after this one's snapshot, every time it was
      // tried: nothing this time; the caller claims again.
      if (pgCode(err) === '40001') {
        return []
      }
      throw err
    }
  }

  /** Steps 2 to 5 of the claim (see the header), on one snapshot. */
  private async claimIn(
    client: PgClient,
    destinationId: string,
    limit: number,
    leaseMs: number,
    now: number,
  ): Promise<Job[]> {
    const candidates = await this.scan(client, destinationId, limit, now)
    if (candidates.length === 0) {
      return []
    }
    const picked = await this.lockRuns(client, candidates, now)
    if (picked.length === 0) {
      return []
    }
    const leased = await client.query<JobRow>(LEASE_JOBS, [picked, now + leaseMs, now])
    // RETURNING gives no order guarantee.
    return leased.rows.map(toJob).sort((a, b) => a.id - b.id)
  }

  /**
   * Walks the ready jobs of the destination in id order (as the SQLite queue does) and returns
   * the first `limit` claimable ones: available, and with no earlier leased, parked or waiting
   * job of their key. A waiting job (ready, not yet available) blocks its key for the rest of the
   * walk. The walk is paged on the (destination, state, id) index, so its plan does not depend
   * on table statistics, which lag behind a burst of enqueues.
   */
  private async scan(
    client: PgClient,
    destinationId: string,
    limit: number,
    now: number,
  ): Promise<Candidate[]> {
    const blockers = await client.query<{ ordering_key: string; first_id: string }>(BLOCKERS, [destinationId])
    const firstBlocker = new Map(blockers.rows.map((r) => [r.ordering_key, Number(r.first_id)]))
    const blockedKeys = new Set<string>()
    const picked: Candidate[] = []
    const pageSize = Math.min(Math.max(limit * 2, 100), 2_000)
    let afterId = 0
    for (;;) {
      const page = await client.query<{ id: string; ordering_key: string; available_at: string }>(
        READY_PAGE,
        [destinationId, afterId, pageSize],
      )
      for (const row of page.rows) {
        const id = Number(row.id)
        afterId = id
        const key = row.ordering_key
        if (blockedKeys.has(key)) {
          continue
        }
        if (Number(row.available_at) > now || (firstBlocker.get(key) ?? Infinity) < id) {
          blockedKeys.add(key)
          continue
        }
        picked.push({ id: row.id, ordering_key: key })
        if (picked.length === limit) {
          return picked
        }
      }
      if (page.rows.length < pageSize) {
        return picked
      }
    }
  }

  /**
   * Locks the candidates (skipping rows other transactions hold) and keeps, per ordering key, the
   * candidates up to the first one that could not be locked: a later job is never leased without
   * every earlier unfinished job of its key.
   */
  private async lockRuns(client: PgClient, candidates: Candidate[], now: number): Promise<string[]> {
    const locked = await client.query<{ id: string }>(LOCK_CANDIDATES, [candidates.map((c) => c.id), now])
    const lockedIds = new Set(locked.rows.map((r) => r.id))
    const brokenKeys = new Set<string>()
    const picked: string[] = []
    for (const c of candidates) {
      if (brokenKeys.has(c.ordering_key)) {
        continue
      }
      if (lockedIds.has(c.id)) {
        picked.push(c.id)
      } else {
        brokenKeys.add(c.ordering_key)
      }
    }
    return picked
  }

  async extendLease(ids: number[], leaseMs: number): Promise<void> {
    if (ids.length === 0) {
      return
    }
    const now = this.clock.now()
    await this.pool.query(EXTEND_LEASES, [ids, now + leaseMs, now])
  }

  async complete(ids: number[]): Promise<void> {
    if (ids.length === 0) {
      return
    }
    await this.pool.query(COMPLETE_JOBS, [ids, this.clock.now()])
  }

  async retry(id: number, availableAt: number, error: string, spendAttempt = true): Promise<void> {
    await this.pool.query(RETRY_JOB, [id, spendAttempt ? 1 : 0, availableAt, error, this.clock.now()])
  }

  async fail(id: number, error: string): Promise<void> {
    await this.pool.query(FAIL_JOB, [id, error, this.clock.now()])
  }

  async park(ids: number[], reason: string): Promise<void> {
    if (ids.length === 0) {
      return
    }
    await this.pool.query(PARK_JOBS, [ids, reason, this.clock.now()])
  }

  async unpark(destinationId: string): Promise<number> {
    const r = await this.pool.query(UNPARK_DESTINATION, [destinationId, this.clock.now()])
    return r.rowCount ?? 0
  }

  async replay(destinationId: string, ids?: number[]): Promise<number> {
    const now = this.clock.now()
    const { rows } = await this.pool.query<{ n: string }>(
      ids === undefined ? REPLAY_DESTINATION : REPLAY_JOBS,
      ids === undefined ? [destinationId, now] : [destinationId, now, ids],
    )
    return Number(rows[0]?.n ?? 0)
  }

  async get(id: number): Promise<Job | null> {
    const { rows } = await this.pool.query<JobRow>(SELECT_JOB, [id])
    return rows[0] ? toJob(rows[0]) : null
  }

  async list(destinationId: string, state: JobState, limit: number): Promise<Job[]> {
    const { rows } = await this.pool.query<JobRow>(LIST_JOBS, [destinationId, state, limit])
    return rows.map(toJob)
  }

  async counts(destinationId?: string): Promise<QueueCounts> {
    const { rows } = await this.pool.query<{ state: JobState; n: string }>(
      destinationId === undefined ? COUNT_ALL : COUNT_DESTINATION,
      destinationId === undefined ? [] : [destinationId],
    )
    const counts: QueueCounts = { ready: 0, leased: 0, done: 0, dead: 0, parked: 0 }
    for (const row of rows) {
      counts[row.state] = Number(row.n)
    }
    return counts
  }

  async backlog(): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(SELECT_BACKLOG)
    return Number(rows[0]?.n ?? 0)
  }

  async purge(olderThanMs: number = this.retentionMs): Promise<number> {
    const now = this.clock.now()
    // Chunks, each its own statement: no long transaction holds locks or bloats while it runs.
    const purgeChunks = async (sql: string, cutoff: number) => {
      let total = 0
      for (;;) {
        const r = await this.pool.query(sql, [cutoff, PURGE_CHUNK_SIZE])
        const n = r.rowCount ?? 0
        total += n
        if (n < PURGE_CHUNK_SIZE) {
          return total
        }
      }
    }
    const purged = await purgeChunks(PURGE_FINISHED_CHUNK, now - olderThanMs)
    await purgeChunks(PURGE_DEDUPE_CHUNK, now - this.dedupeWindowMs)
    return purged
  }

  /** The pool belongs to whoever opened it (db/open-backend.ts); nothing to release here. */
  close(): Promise<void> {
    return Promise.resolve()
  }
}

function toJob(row: JobRow): Job {
  return {
    id: Number(row.id),
    destinationId: row.destination_id,
    orderingKey: row.ordering_key,
    dedupeKey: row.dedupe_key,
    payload: row.payload,
    state: row.state,
    attempts: row.attempts,
    availableAt: Number(row.available_at),
    leasedUntil: row.leased_until === null ? null : Number(row.leased_until),
    lastError: row.last_error,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}
