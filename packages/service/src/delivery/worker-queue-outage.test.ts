/**
 * The worker when its queue cannot be reached for a while (the PostgreSQL database away): rounds
 * that fail are tried again, and settlements it could not write are written once the queue is
 * back, without waiting for the jobs' leases to run out. The queue is the real SQLite queue behind
 * a switch that makes every call fail as a refused connection would.
 */
import { afterEach, describe, expect, test } from 'vitest'

import type { Queue } from '../queue/queue.js'
import {
  Cleanups,
  createWorker,
  emulatorSender,
  emulatorUsers,
  identifyJob,
  openTempQueue,
  requests,
  startEmulator,
  waitFor,
  workerDeps,
} from './worker-fixture.js'

const cleanups = new Cleanups()

afterEach(() => cleanups.run())

describe('the worker while its queue is unreachable', () => {
  test('writes the settlements it could not write once the queue is back, and claims again', async () => {
    // Zendesk's bulk jobs take a while, so that the queue can go away while one is under way.
    const emulator = await startEmulator(cleanups, { jobDelayMs: 300 })
    const real = openTempQueue(cleanups, 'zdd-worker-outage-')
    // Which calls fail: none, the settlements only (the database went away between a claim and
    // its settlement), or all of them.
    const outage = { down: 'none' as 'none' | 'settlements' | 'all', refused: 0 }
    const settlements = new Set<string | symbol>(['complete', 'retry', 'fail', 'park'])
    const queue = new Proxy<Queue>(real, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver)
        if (typeof value !== 'function') {
          return value
        }
        return (...args: unknown[]) => {
          if (outage.down === 'all' || (outage.down === 'settlements' && settlements.has(prop))) {
            outage.refused += 1
            return Promise.reject(
              Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
            )
          }
          return value.apply(target, args)
        }
      },
    })
    const errors: string[] = []
    const worker = createWorker(
      cleanups,
      emulatorSender(cleanups, emulator),
      workerDeps(queue, {
        log: {
          info: () => {},
          warn: (_o, m) => errors.push(m ?? ''),
          error: (_o, m) => errors.push(m ?? ''),
        },
        // Leases far longer than the test: only the worker's own retries can settle the jobs in time.
        options: { leaseMs: 10 * 60_000 },
      }),
    )
    const identify = (userId: string) =>
      identifyJob(userId, { email: `${userId}@example.com`, name: userId }, `m-${userId}`)
    await real.enqueue(['a', 'b', 'c'].map(identify))
    worker.start()

    // The bulk call is out: the queue goes away before its results are settled.
    await waitFor(async () => (await requests(emulator, 'create_or_update_many')).length > 0, 15_000)
    outage.down = 'settlements'
    const users = async () =>
      (await emulatorUsers(emulator))
        .filter((u) => u.external_id !== null)
        .map((u) => u.external_id as string)
    // Zendesk applies the records; the worker cannot record it, and keeps trying.
    await waitFor(async () => (await users()).length === 3 && outage.refused >= 2, 15_000)
    expect(await real.counts('zd')).toMatchObject({ leased: 3, done: 0 })
    expect(errors).toContain('could not record a settlement in the queue; trying again')

    // Then nothing works, claims included, while a new event waits.
    outage.down = 'all'
    await real.enqueue(['d'].map(identify))
    const refused = outage.refused
    await waitFor(() => Promise.resolve(outage.refused >= refused + 2), 15_000)
    expect(await users()).not.toContain('d')

    // The queue is back: the settlements are written, and delivery goes on, long before any
    // lease runs out.
    outage.down = 'none'
    await waitFor(async () => (await real.counts('zd')).done === 4, 15_000)
    expect((await users()).sort()).toEqual(['a', 'b', 'c', 'd'])
  })
})
