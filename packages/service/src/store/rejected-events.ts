/**
 * Rejected events, kept for the operator to inspect (bounded: the oldest go first). SQLite table
 * in the service database; the PostgreSQL variant comes with the several-nodes issue.
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
  add(entries: Omit<RejectedEvent, 'id'>[]): void
  list(limit: number): RejectedEvent[]
  count(): number
}

const MAX_EVENT_CHARS = 4096

export function openRejectedEventStore(db: Database.Database, capacity = 10_000): RejectedEventStore {
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
    add(entries) {
      if (entries.length > 0) {
        addMany(entries)
      }
    },
    list(limit) {
      return (select.all(limit) as Record<string, unknown>[]).map((r) => ({
        id: r.id as number,
        sourceId: r.source_id as string,
        receivedAt: r.received_at as string,
        index: r.idx as number,
        reasons: JSON.parse(r.reasons as string) as RejectedEvent['reasons'],
        event: r.event as string,
      }))
    },
    count() {
      return (countStmt.get() as { n: number }).n
    },
  }
}
