/**
 * The embedded database has two writers at once: the queue's connection in its thread (ADR 0006)
 * and the stores' connection on the main thread. A store transaction that reads before it writes
 * must take the write lock first: in WAL mode, a deferred transaction whose snapshot another
 * connection committed past cannot upgrade to a write and fails at once with SQLITE_BUSY (the
 * busy timeout does not apply), which lost activation counts under load.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, expect, test } from 'vitest'

import { systemClock } from '../lib/clock.js'
import { openBackend } from './open-backend.js'

const dir = mkdtempSync(join(tmpdir(), 'zdd-writers-'))

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

test('store transactions that read first never fail while the queue thread commits', async () => {
  const backend = await openBackend({
    dataDir: dir,
    database: null,
    clock: systemClock,
    log: { info: () => {}, warn: () => {} },
  })
  try {
    let enqueuing = true
    let n = 0
    // The queue's thread commits small transactions back to back meanwhile.
    const writer = (async () => {
      while (enqueuing) {
        await backend.queue.enqueue(
          Array.from({ length: 20 }, () => ({
            destinationId: 'd1',
            orderingKey: `k${n}`,
            dedupeKey: `m${n++}`,
            payload: { n },
          })),
        )
      }
    })()
    const failures: unknown[] = []
    const deadline = Date.now() + 1_500
    let rounds = 0
    while (Date.now() < deadline) {
      // An exclusion reads the audience's reasons before it writes the counts.
      await backend.activations
        .record(
          Array.from({ length: 50 }, (_, i) => ({
            destinationId: 'd1',
            activationId: 'a1',
            audienceId: 'aud',
            received: true,
            outcome: 'excluded' as const,
            status: 'realized',
            reason: `email: missing (${i % 3})`,
            member: null,
            at: Date.now(),
          })),
        )
        .catch((err: unknown) => failures.push(err))
      rounds++
      await new Promise((resolve) => setImmediate(resolve))
    }
    enqueuing = false
    await writer
    expect(failures).toEqual([])
    expect(n).toBeGreaterThan(0)
    const [summary] = await backend.activations.summary('d1')
    expect(summary).toMatchObject({ excluded: rounds * 50 })
  } finally {
    await backend.close()
  }
})
