/**
 * The durable job queue: one job per (event, destination) pair. Payloads are opaque JSON; the
 * queue knows nothing of events or Zendesk.
 *
 * State machine of one job:
 *
 *                 enqueue
 *                    │
 *                    ▼
 *   ┌──────────▶  ready  ◀──────────────┐  retry(at) — attempts+1 (not for a rate limit), available again at `at`
 *   │ unpark /       │                  │  lease expiry — a crashed worker's jobs come back
 *   │ replay         │ claim            │
 *   │                ▼                  │
 *   │             leased ───────────────┘
 *   │              │  │  │
 *   │   complete   │  │  │ park(reason) — auth failure or bad config; attempts not spent
 *   │              ▼  │  ▼
 *   │           done  │  parked ─────────┐
 *   │                 │ fail(error)      │
 *   │                 ▼                  │
 *   └──────────────  dead  ◀─────────────┘ (never automatically)
 *
 * - Who moves a job: `enqueue` (ingest), `claim`/`complete`/`retry`/`fail`/`park` (the delivery
 *   worker), `unpark`/`replay` (an operator, through the admin API), lease expiry (any `claim`).
 * - Per-person ordering: jobs with the same `orderingKey` in the same destination are claimed in
 *   the order they were enqueued. A job is claimable only when no earlier job of its key is
 *   leased, parked, or waiting for a retry. Done and dead jobs do not block later ones.
 * - Durability: `enqueue` returns only after the jobs are committed.
 * - Duplicates: a job whose `dedupeKey` (the event's messageId) was enqueued for the same
 *   destination within the dedupe window is not enqueued again.
 * - A crash: leased jobs whose lease has expired become ready again at the next `claim`, with
 *   their attempt count unchanged.
 */

export const JOB_STATES = {
  ready: 'ready',
  leased: 'leased',
  done: 'done',
  dead: 'dead',
  parked: 'parked',
} as const

export type JobState = (typeof JOB_STATES)[keyof typeof JOB_STATES]

export interface NewJob {
  destinationId: string
  /** Jobs with the same key are delivered in enqueue order (a person: userId, email, groupId). */
  orderingKey: string
  /** The event's messageId; a repeat within the dedupe window is dropped. */
  dedupeKey: string | null
  payload: unknown
  /**
   * The payload as JSON, when the caller has it already (ingest measures each event's size on
   * it): stored as is instead of stringifying `payload` again. Must be `JSON.stringify(payload)`.
   */
  payloadJson?: string
}

export interface Job {
  id: number
  destinationId: string
  orderingKey: string
  dedupeKey: string | null
  payload: unknown
  state: JobState
  attempts: number
  /** Epoch ms from which a ready job may be claimed. */
  availableAt: number
  /** Epoch ms at which a lease ends, for leased jobs. */
  leasedUntil: number | null
  lastError: string | null
  createdAt: number
  updatedAt: number
}

export interface EnqueueResult {
  inserted: number
  duplicates: number
}

export interface ClaimOptions {
  destinationId: string
  limit: number
  leaseMs: number
}

export type QueueCounts = Record<JobState, number>

/** The two time windows every implementation is opened with. */
export interface QueueWindows {
  /** How long done and dead jobs are kept; the default age for `purge`. */
  retentionMs: number
  /** How long after its first enqueue a `dedupeKey` makes a repeat a duplicate. */
  dedupeWindowMs: number
}

export interface Queue {
  /** Adds jobs atomically and durably; returns after commit. */
  enqueue(jobs: NewJob[]): Promise<EnqueueResult>
  /** Leases up to `limit` claimable jobs of a destination, oldest first, respecting ordering. */
  claim(opts: ClaimOptions): Promise<Job[]>
  /** Extends the lease of jobs still being worked on. */
  extendLease(ids: number[], leaseMs: number): Promise<void>
  complete(ids: number[]): Promise<void>
  /**
   * Back to ready at `availableAt`, error kept; attempts + 1 unless `spendAttempt` is false (a
   * rate limit: Zendesk asked us to wait, the job did not fail).
   */
  retry(id: number, availableAt: number, error: string, spendAttempt?: boolean): Promise<void>
  /** To dead, attempts + 1, error kept. */
  fail(id: number, error: string): Promise<void>
  /** To parked without spending an attempt. */
  park(ids: number[], reason: string): Promise<void>
  /** Every parked job of the destination back to ready; returns how many. */
  unpark(destinationId: string): Promise<number>
  /** Dead jobs back to ready (attempts reset); all of a destination when `ids` is absent. */
  replay(destinationId: string, ids?: number[]): Promise<number>
  get(id: number): Promise<Job | null>
  /** Jobs of a destination in a state, oldest first (for the admin API). */
  list(destinationId: string, state: JobState, limit: number): Promise<Job[]>
  counts(destinationId?: string): Promise<QueueCounts>
  /** Jobs not yet done or dead, all destinations (the backlog that drives ingest back-pressure). */
  backlog(): Promise<number>
  /**
   * Deletes done and dead jobs finished more than `olderThanMs` ago (default: the retention) and
   * forgets dedupe keys older than the dedupe window; returns how many jobs.
   */
  purge(olderThanMs?: number): Promise<number>
  close(): Promise<void>
}
