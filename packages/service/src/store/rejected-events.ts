/**
 * Rejected events, kept for the operator to inspect (bounded: the oldest go first).
 * `RejectedEventStore` is the interface; `openRejectedEventStore` keeps it in the service's SQLite
 * database, and `openPgRejectedEventStore` (pg-rejected-events.ts) in PostgreSQL;
 * rejected-events.contract.ts runs on both.
 */
import type Database from 'better-sqlite3'

export interface RejectedEvent {
  id: number
  sourceId: string
  receivedAt: string
  /** Position of the event in its request (0 for single-event calls). */
  index: number
  reasons: { path: string; message: string }[]
  /** The event as received, cut to a bounded size. */
  event: string
}

export interface RejectedEventStore {
  /** Resolves once the events are committed. */
  add(entries: Omit<RejectedEvent, 'id'>[]): Promise<void>
  /** Newest first. */
  list(limit: number): Promise<RejectedEvent[]>
  count(): Promise<number>
}

/** Events kept at most, by default. */
export const REJECTED_EVENTS_CAPACITY = 10_000
export const MAX_EVENT_CHARS = 4096

export function openRejectedEventStore(
  db: Database.Database,
  capacity = REJECTED_EVENTS_CAPACITY,
): RejectedEventStore {
  db.exec(`CREATE TABLE IF NOT EXISTS rejected_events (
    id INTEGER PRIMARY KEY,
    source_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    idx INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    event TEXT NOT NULL
  )`)
  const insert = db.prepare(
    'INSERT INTO rejected_events (source_id, received_at, idx, reasons, event) VALUES (?, ?, ?, ?, ?)',
  )
  const trim = db.prepare(
    'DELETE FROM rejected_events WHERE id <= (SELECT id FROM rejected_events ORDER BY id DESC LIMIT 1 OFFSET ?)',
  )
  const select = db.prepare('SELECT * FROM rejected_events ORDER BY id DESC LIMIT ?')
  const countStmt = db.prepare('SELECT COUNT(*) AS n FROM rejected_events')
  const addMany = db.transaction((entries: Omit<RejectedEvent, 'id'>[]) => {
    for (const e of entries) {
      insert.run(
        e.sourceId,
        e.receivedAt,
        e.index,
        JSON.stringify(e.reasons),
        e.event.slice(0, MAX_EVENT_CHARS),
      )
    }
    trim.run(capacity)
  })
  return {
    add: (entries) =>
      settle(() => {
        if (entries.length > 0) {
          addMany.immediate(entries)
        }
      }),
    list: (limit) =>
      settle(() =>
        (select.all(limit) as Record<string, unknown>[]).map((r) =>
          toRejectedEvent({ ...r, reasons: JSON.parse(r.reasons as string) as unknown }),
        ),
      ),
    count: () => settle(() => (countStmt.get() as { n: number }).n),
  }
}

/** A row (either backend; `reasons` already parsed). */
export function toRejectedEvent(r: Record<string, unknown>): RejectedEvent {
  return {
    id: Number(r.id),
    sourceId: r.source_id as string,
    receivedAt: r.received_at as string,
    index: Number(r.idx),
    reasons: r.reasons as RejectedEvent['reasons'],
    event: r.event as string,
  }
}

/** A synchronous step as a promise: its result resolves, its exception rejects. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()))
}
