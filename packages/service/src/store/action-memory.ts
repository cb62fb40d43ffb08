/**
 * The memory of `perform` actions (lib/action-memory.ts) in the service's SQLite database, table
 * `action_memory`: one row per destination, action and key. Writes commit before they resolve
 * (WAL: a killed process loses none of them). Rows are small and kept: a ticket's external id must
 * stay known for as long as a repeat of it may come.
 */
import type Database from 'better-sqlite3'

import { memoryStore, type ActionMemoryStore } from '../lib/action-memory.js'
import type { Clock } from '../lib/clock.js'

/** Keys read at once. */
const RECALL_CHUNK = 500

export function openActionMemory(db: Database.Database, clock: Clock): ActionMemoryStore {
  db.exec(`CREATE TABLE IF NOT EXISTS action_memory (
    destination_id TEXT NOT NULL,
    action_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (destination_id, action_id, key)
  ) WITHOUT ROWID`)
  const select = db.prepare<[string, string, string], { key: string; value: string }>(
    `SELECT key, value FROM action_memory
     WHERE destination_id = ? AND action_id = ? AND key IN (SELECT value FROM json_each(?))`,
  )
  const upsert = db.prepare<[string, string, string, string, number]>(
    `INSERT INTO action_memory (destination_id, action_id, key, value, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (destination_id, action_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  )
  const remove = db.prepare<[string, string, string]>(
    'DELETE FROM action_memory WHERE destination_id = ? AND action_id = ? AND key = ?',
  )
  const writeAll = db.transaction(
    (destinationId: string, actionId: string, entries: (readonly [string, string])[], now: number) => {
      for (const [k, v] of entries) {
        upsert.run(destinationId, actionId, k, v, now)
      }
    },
  )
  const removeAll = db.transaction((destinationId: string, actionId: string, keys: readonly string[]) => {
    for (const k of keys) {
      remove.run(destinationId, actionId, k)
    }
  })
  return memoryStore((destinationId, actionId) => ({
    recall(keys) {
      const out = new Map<string, string>()
      for (let i = 0; i < keys.length; i += RECALL_CHUNK) {
        const part = JSON.stringify(keys.slice(i, i + RECALL_CHUNK))
        for (const row of select.all(destinationId, actionId, part)) {
          out.set(row.key, row.value)
        }
      }
      return Promise.resolve(out)
    },
    remember(entries) {
      writeAll.immediate(destinationId, actionId, [...entries], clock.now())
      return Promise.resolve()
    },
    forget(keys) {
      removeAll.immediate(destinationId, actionId, keys)
      return Promise.resolve()
    },
  }))
}
