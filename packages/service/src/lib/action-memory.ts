/**
 * What `perform` actions remember between deliveries (the interface; the SQLite store is
 * store/action-memory.ts): short string values under string keys, per destination and action.
 * Remembering saves Zendesk lookups, and lets a create be idempotent without asking Zendesk each
 * time (create-ticket, upsert-organization say how they use it).
 *
 * `hold`/`release` are in-process marks, not stored: a destination is delivered by one worker at
 * a time (one process, or the holder of its delivery lease), so a key held is a key that another
 * `perform` of the same destination and action is working on right now.
 */

/** One action's memory in one destination. */
export interface ActionMemory {
  /** The values stored under these keys; keys never stored are absent. */
  recall(keys: readonly string[]): Promise<Map<string, string>>
  /** Stores the values (replacing earlier ones) durably before it resolves. */
  remember(entries: Iterable<readonly [string, string]>): Promise<void>
  forget(keys: readonly string[]): Promise<void>
  /**
   * Marks keys as being worked on by the caller until `release`; returns the keys that another
   * caller holds already (those are not marked for this caller).
   */
  hold(keys: readonly string[]): string[]
  release(keys: readonly string[]): void
}

/** Memories by destination and action. */
export interface ActionMemoryStore {
  of(destinationId: string, actionId: string): ActionMemory
}

/** The in-process marks of one action in one destination. */
export function keyHolder(): Pick<ActionMemory, 'hold' | 'release'> {
  const held = new Set<string>()
  return {
    hold(keys) {
      const busy: string[] = []
      for (const k of new Set(keys)) {
        if (held.has(k)) {
          busy.push(k)
        } else {
          held.add(k)
        }
      }
      return busy
    },
    release(keys) {
      for (const k of keys) {
        held.delete(k)
      }
    },
  }
}

/** What a backend keeps of one action in one destination (the in-process marks come on top). */
export type StoredMemory = Omit<ActionMemory, 'hold' | 'release'>

/**
 * A store over a backend: one memory per destination and action, made on first use and kept, so
 * that its in-process marks (`keyHolder`) are shared by every batch of that action.
 */
export function memoryStore(
  stored: (destinationId: string, actionId: string) => StoredMemory,
): ActionMemoryStore {
  const memories = new Map<string, ActionMemory>()
  return {
    of(destinationId, actionId) {
      const id = JSON.stringify([destinationId, actionId])
      let m = memories.get(id)
      if (!m) {
        m = { ...keyHolder(), ...stored(destinationId, actionId) }
        memories.set(id, m)
      }
      return m
    },
  }
}

/** A memory that lives as long as the process (tests; nothing survives a restart). */
export function inProcessActionMemory(): ActionMemory {
  const values = new Map<string, string>()
  return {
    ...keyHolder(),
    recall: (keys) =>
      Promise.resolve(new Map(keys.flatMap((k) => (values.has(k) ? [[k, values.get(k) ?? '']] : [])))),
    remember(entries) {
      for (const [k, v] of entries) {
        values.set(k, v)
      }
      return Promise.resolve()
    },
    forget(keys) {
      for (const k of keys) {
        values.delete(k)
      }
      return Promise.resolve()
    },
  }
}
