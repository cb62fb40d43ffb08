/**
 * The memory of `perform` actions (lib/action-memory.ts) in PostgreSQL, table `action_memory` of
 * db/migrations/pg: one row per destination, action and key, shared by the nodes (the holder of
 * a destination's delivery lease reads what an earlier holder remembered). Writes commit before
 * they resolve.
 */
import type { PgPool } from '../db/pg.js'
import { memoryStore, type ActionMemoryStore } from '../lib/action-memory.js'
import type { Clock } from '../lib/clock.js'

const RECALL = `
  SELECT key, value FROM action_memory
  WHERE destination_id = $1 AND action_id = $2 AND key = ANY($3::text[])`

const REMEMBER = `
  INSERT INTO action_memory (destination_id, action_id, key, value, updated_at)
  SELECT $1, $2, k, v, $5 FROM unnest($3::text[], $4::text[]) AS x(k, v)
  ORDER BY k
  ON CONFLICT (destination_id, action_id, key)
    DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`

const FORGET = `
  DELETE FROM action_memory WHERE destination_id = $1 AND action_id = $2 AND key = ANY($3::text[])`

export function openPgActionMemory(pool: PgPool, clock: Clock): ActionMemoryStore {
  return memoryStore((destinationId, actionId) => ({
    async recall(keys) {
      if (keys.length === 0) {
        return new Map()
      }
      const { rows } = await pool.query<{ key: string; value: string }>(RECALL, [
        destinationId,
        actionId,
        [...keys],
      ])
      return new Map(rows.map((r) => [r.key, r.value]))
    },
    async remember(entries) {
      // One row per key (the last value wins): an upsert may not touch a row twice.
      const latest = new Map(entries)
      if (latest.size === 0) {
        return
      }
      await pool.query(REMEMBER, [
        destinationId,
        actionId,
        [...latest.keys()],
        [...latest.values()],
        clock.now(),
      ])
    },
    async forget(keys) {
      if (keys.length === 0) {
        return
      }
      await pool.query(FORGET, [destinationId, actionId, [...keys]])
    },
  }))
}
