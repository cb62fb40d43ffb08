/**
 * The delivery log: one row each time a job settles (delivered, skipped, retried, failed or
 * parked), with the reason, so that an operator can see what happened to every record and why.
 * `DeliveryLog` is the interface; `openDeliveryLog` keeps it in the service's SQLite database, and
 * `openPgDeliveryLog` (pg-delivery-log.ts) in PostgreSQL; delivery-log.contract.ts runs on both.
 *
 * - Bounded: at most `capacity` rows (the oldest go first), and rows older than `maxAgeMs` go at
 *   each `purge` (the service's janitor calls it).
 * - Indexed by job id, by message id, and by destination and time, the ways an operator asks.
 * - Writes are buffered and committed together (every `flushEveryMs`, or at `flushAt` rows, and
 *   before every read), so that settling a job one at a time does not cost a commit each; a crash
 *   may lose the last rows of the log, never a job. `add` never waits and never throws: a write
 *   that fails keeps its rows for the next one (up to a bound) and is told to `onError`.
 * - Reasons are cut to a bounded size. They come from our validation messages and Zendesk's error
 *   details, which never hold credentials (zendesk/errors.ts keeps no request headers).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'

import type Database from 'better-sqlite3'

import type { Clock } from '../lib/clock.js'
import { sqliteBatchRunner, type SqlStatementRunner, type SqlValue } from '../lib/sql-statements.js'

export const DELIVERY_OUTCOMES = ['delivered', 'skipped', 'retry', 'failed', 'parked'] as const
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number]

/** What the worker writes when a job settles. */
export interface NewDeliveryLogEntry {
  destinationId: string
  jobId: number
  messageId: string | null
  /** The event's type: identify, track, group, page, screen, alias. */
  type: string | null
  /** The track's event name; null for other types. */
  event: string | null
  /** The actions the event went to (none when skipped). */
  actions: string[]
  outcome: DeliveryOutcome
  /** Why: Zendesk's error details, our validation message, or why nothing was sent. */
  reason: string | null
  /** The attempt that settled (1 for the first). */
  attempt: number
  /** Epoch ms. */
  at: number
}

/** A row as the admin API shows it. */
export interface DeliveryLogEntry extends Omit<NewDeliveryLogEntry, 'at'> {
  id: number
  /** ISO 8601. */
  time: string
}

export interface DeliveryLogQuery {
  destinationId?: string
  jobId?: number
  messageId?: string
  outcome?: DeliveryOutcome
  limit: number
}

export interface DeliveryLog {
  /** Buffers rows for the next commit; never waits, never throws. */
  add(entries: NewDeliveryLogEntry[]): void
  /** Newest first (rows still buffered included). */
  list(query: DeliveryLogQuery): Promise<DeliveryLogEntry[]>
  count(): Promise<number>
  /** Deletes rows older than the maximum age, in chunks that leave the event loop free; returns how many. */
  purge(): Promise<number>
  /** Commits buffered rows now (before the database closes); rejects when the commit fails. */
  flush(): Promise<void>
}

export interface DeliveryLogOptions {
  clock: Clock
  /** Rows kept at most. Default 200,000. */
  capacity?: number
  /** Rows older than this go at `purge`. Default 7 days. */
  maxAgeMs?: number
  /** Buffered rows are committed at the latest after this long. Default 200 ms. */
  flushEveryMs?: number
  /** Buffered rows are committed at once when this many wait. Default 500. */
  flushAt?: number
  /** Told when a timed commit fails (its rows are kept for the next one, up to a bound). */
  onError?: (err: unknown) => void
}

export const MAX_REASON_CHARS = 2000
/** Rows kept in memory while commits fail; beyond it the oldest are dropped. */
const MAX_BUFFERED = 10_000
export const PURGE_CHUNK = 5000
export const MAX_TEXT_CHARS = 200

export function cut(s: string | null, max: number): string | null {
  return s === null ? null : s.length > max ? `${s.slice(0, max - 1)}…` : s
}

/** What a backend provides; `bufferedDeliveryLog` adds the buffering every backend shares. */
export interface DeliveryLogWriter {
  /** Commits the rows (already cut to size) in one transaction, and trims the log to its capacity. */
  write(entries: NewDeliveryLogEntry[]): Promise<void>
  list(query: DeliveryLogQuery): Promise<DeliveryLogEntry[]>
  count(): Promise<number>
  /** Deletes rows older than `before` (epoch ms); returns how many. */
  purge(before: number): Promise<number>
}

/** The options every backend shares, with their defaults applied. */
export function deliveryLogDefaults(opts: DeliveryLogOptions) {
  return {
    capacity: opts.capacity ?? 200_000,
    maxAgeMs: opts.maxAgeMs ?? 7 * 24 * 60 * 60 * 1000,
    flushEveryMs: opts.flushEveryMs ?? 200,
    flushAt: opts.flushAt ?? 500,
  }
}

/**
 * The buffering shared by the backends: rows wait in memory until `flushAt` of them wait, or
 * `flushEveryMs` after the first, or a read; commits run one at a time, in the order rows came.
 */
export function bufferedDeliveryLog(writer: DeliveryLogWriter, opts: DeliveryLogOptions): DeliveryLog {
  const { maxAgeMs, flushEveryMs, flushAt } = deliveryLogDefaults(opts)
  let buffer: NewDeliveryLogEntry[] = []
  let timer: NodeJS.Timeout | null = null
  // The commit under way (or the last one): the next one starts after it.
  let writing: Promise<void> = Promise.resolve()

  const flush = (): Promise<void> => {
    if (timer !== null) {
      clearTimeout(timer)
      timer = null
    }
    writing = writing
      .catch(() => undefined)
      .then(async () => {
        if (buffer.length === 0) {
          return
        }
        const entries = buffer
        buffer = []
        try {
          await writer.write(entries)
        } catch (err) {
          buffer = [...entries, ...buffer].slice(-MAX_BUFFERED)
          throw err
        }
      })
    return writing
  }
  const flushInBackground = (): void => {
    flush().catch((err: unknown) => opts.onError?.(err))
  }

  return {
    add(entries) {
      if (entries.length === 0) {
        return
      }
      buffer.push(
        ...entries.map((e) => ({
          ...e,
          messageId: cut(e.messageId, MAX_TEXT_CHARS),
          event: cut(e.event, MAX_TEXT_CHARS),
          reason: cut(e.reason, MAX_REASON_CHARS),
        })),
      )
      if (buffer.length >= flushAt) {
        flushInBackground()
      } else if (timer === null) {
        timer = setTimeout(() => {
          timer = null
          flushInBackground()
        }, flushEveryMs)
        timer.unref()
      }
    },
    async list(q) {
      await flush()
      return writer.list(q)
    },
    async count() {
      await flush()
      return writer.count()
    },
    async purge() {
      await flush()
      return writer.purge(opts.clock.now() - maxAgeMs)
    },
    flush,
  }
}

const INSERT_ROW = `INSERT INTO delivery_log (destination_id, job_id, message_id, type, event, actions, outcome, reason, attempt, at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
// Ids grow by one per row, so the rows beyond capacity are those below the newest id − capacity.
const TRIM = 'DELETE FROM delivery_log WHERE id <= (SELECT max(id) FROM delivery_log) - ?'

/**
 * The delivery log in the service's SQLite database (table `delivery_log`, created if missing).
 * Reads use `db`; writes too, unless `writer` takes them: the queue's thread
 * (`ThreadedSqliteQueue.runStatements`), off the service's event loop.
 */
export function openDeliveryLog(
  db: Database.Database,
  opts: DeliveryLogOptions,
  writer?: SqlStatementRunner,
): DeliveryLog {
  const { capacity } = deliveryLogDefaults(opts)
  db.exec(`CREATE TABLE IF NOT EXISTS delivery_log (
    id INTEGER PRIMARY KEY,
    destination_id TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    message_id TEXT,
    type TEXT,
    event TEXT,
    actions TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS delivery_log_job ON delivery_log (job_id);
  CREATE INDEX IF NOT EXISTS delivery_log_message ON delivery_log (message_id);
  CREATE INDEX IF NOT EXISTS delivery_log_destination_at ON delivery_log (destination_id, at)`)
  // The oldest rows come first in id order, so each chunk finds its rows at the start of the table.
  const purgeStmt = db.prepare(
    `DELETE FROM delivery_log WHERE id IN (SELECT id FROM delivery_log WHERE at < ? ORDER BY id LIMIT ${PURGE_CHUNK})`,
  )
  const countStmt = db.prepare('SELECT COUNT(*) AS n FROM delivery_log')
  const rowOf = (e: NewDeliveryLogEntry): SqlValue[] => [
    e.destinationId,
    e.jobId,
    e.messageId,
    e.type,
    e.event,
    JSON.stringify(e.actions),
    e.outcome,
    e.reason,
    e.attempt,
    e.at,
  ]
  const runHere = sqliteBatchRunner(db)
  const write = (entries: NewDeliveryLogEntry[]): Promise<void> => {
    const batch = [
      { sql: INSERT_ROW, rows: entries.map(rowOf) },
      { sql: TRIM, rows: [[capacity]] },
    ]
    return writer === undefined ? settle(() => runHere(batch)) : writer.runStatements(batch)
  }

  return bufferedDeliveryLog(
    {
      write,
      list: (q) =>
        settle(() => {
          const where: string[] = []
          const params: (string | number)[] = []
          if (q.destinationId !== undefined) {
            where.push('destination_id = ?')
            params.push(q.destinationId)
          }
          if (q.jobId !== undefined) {
            where.push('job_id = ?')
            params.push(q.jobId)
          }
          if (q.messageId !== undefined) {
            where.push('message_id = ?')
            params.push(q.messageId)
          }
          if (q.outcome !== undefined) {
            where.push('outcome = ?')
            params.push(q.outcome)
          }
          const sql = `SELECT * FROM delivery_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`
          return (db.prepare(sql).all(...params, q.limit) as Record<string, unknown>[]).map((r) =>
            toEntry({ ...r, actions: JSON.parse(r.actions as string) as unknown }),
          )
        }),
      count: () => settle(() => (countStmt.get() as { n: number }).n),
      async purge(before) {
        let total = 0
        for (;;) {
          const n = purgeStmt.run(before).changes
          total += n
          if (n < PURGE_CHUNK) {
            return total
          }
          await yieldToEventLoop()
        }
      },
    },
    opts,
  )
}

/** A row (either backend; `actions` already parsed) as the admin API shows it. */
export function toEntry(r: Record<string, unknown>): DeliveryLogEntry {
  return {
    id: Number(r.id),
    destinationId: r.destination_id as string,
    jobId: Number(r.job_id),
    messageId: r.message_id as string | null,
    type: r.type as string | null,
    event: r.event as string | null,
    actions: r.actions as string[],
    outcome: r.outcome as DeliveryOutcome,
    reason: r.reason as string | null,
    attempt: Number(r.attempt),
    time: new Date(Number(r.at)).toISOString(),
  }
}

/** A synchronous step as a promise: its result resolves, its exception rejects. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()))
}
