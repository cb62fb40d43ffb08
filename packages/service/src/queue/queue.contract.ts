/**
 * The queue contract: what every implementation of `queue.ts` must do, as one vitest suite.
 * An implementation's test file calls `describeQueueContract('sqlite', (clock, windows) => …)`;
 * the factory must open an empty queue on that clock with those windows. Each test gets its
 * own queue and closes it. Time moves only through the FakeClock.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest'

import { FakeClock, type Clock } from '../lib/clock.js'
import type { Job, JobState, NewJob, Queue, QueueWindows } from './queue.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const LEASE_MS = 30_000

const WINDOWS: QueueWindows = { retentionMs: 7 * DAY, dedupeWindowMs: DAY }

export type MakeQueue = (clock: Clock, windows: QueueWindows) => Promise<Queue>

/** A job for destination `d1`, key `user-1`, no dedupe key, unless overridden. */
function aJob(overrides: Partial<NewJob> = {}): NewJob {
  return { destinationId: 'd1', orderingKey: 'user-1', dedupeKey: null, payload: { n: 1 }, ...overrides }
}

function idsOf(jobs: Job[]): number[] {
  return jobs.map((j) => j.id)
}

export function describeQueueContract(name: string, makeQueue: MakeQueue): void {
  describe(`queue contract (${name})`, () => {
    let clock: FakeClock
    let queue: Queue

    beforeEach(async () => {
      clock = new FakeClock()
      queue = await makeQueue(clock, WINDOWS)
    })

    afterEach(async () => {
      await queue.close()
    })

    /** Enqueues jobs (all new, none duplicates) and returns their ids in enqueue order. */
    async function enqueueAll(jobs: NewJob[]): Promise<number[]> {
      const destinations = [...new Set(jobs.map((j) => j.destinationId))]
      const readyIds = async () =>
        (await Promise.all(destinations.map((d) => queue.list(d, 'ready', 1_000_000))))
          .flat()
          .map((j) => j.id)
      const before = new Set(await readyIds())
      await queue.enqueue(jobs)
      return (await readyIds()).filter((id) => !before.has(id)).sort((a, b) => a - b)
    }

    async function claim(limit = 100, destinationId = 'd1'): Promise<Job[]> {
      return queue.claim({ destinationId, limit, leaseMs: LEASE_MS })
    }

    async function stateOf(id: number): Promise<JobState | undefined> {
      return (await queue.get(id))?.state
    }

    describe('enqueue and claim', () => {
      test('enqueue then claim returns the jobs oldest first, with their payloads round-tripped', async () => {
        const payloads = [
          { type: 'identify', userId: 'u-1', traits: { email: 'ada@example.com', name: 'Ada', plan: null } },
          { type: 'track', event: 'Order Completed', properties: { revenue: 9.5, items: [1, 2, 3] } },
          { type: 'group', groupId: 'g-1', traits: { name: 'Zoë & Co. — 東京', employees: 12 } },
        ]
        const result = await queue.enqueue(
          payloads.map((payload, i) => aJob({ orderingKey: `user-${i}`, dedupeKey: `m-${i}`, payload })),
        )
        expect(result).toEqual({ inserted: 3, duplicates: 0 })

        const jobs = await claim(10)
        expect(jobs.map((j) => j.payload)).toEqual(payloads)
        expect(idsOf(jobs)).toEqual([...idsOf(jobs)].sort((a, b) => a - b))
        expect(jobs[0]).toEqual({
          id: jobs[0]!.id,
          destinationId: 'd1',
          orderingKey: 'user-0',
          dedupeKey: 'm-0',
          payload: payloads[0],
          state: 'leased',
          attempts: 0,
          availableAt: clock.now(),
          leasedUntil: clock.now() + LEASE_MS,
          lastError: null,
          createdAt: clock.now(),
          updatedAt: clock.now(),
        })
      })

      test('an empty enqueue inserts nothing and a claim on an empty queue returns nothing', async () => {
        expect(await queue.enqueue([])).toEqual({ inserted: 0, duplicates: 0 })
        expect(await claim()).toEqual([])
        expect(await queue.backlog()).toBe(0)
      })

      test('a claimed job is leased, so a second claim does not return it', async () => {
        const [a, b] = await enqueueAll([aJob({ orderingKey: 'user-a' }), aJob({ orderingKey: 'user-b' })])
        expect(idsOf(await claim(1))).toEqual([a])
        expect(idsOf(await claim(10))).toEqual([b])
        expect(await claim(10)).toEqual([])
      })

      test('a claim returns at most its limit, taking the oldest jobs', async () => {
        const ids = await enqueueAll(Array.from({ length: 7 }, (_, i) => aJob({ orderingKey: `user-${i}` })))
        expect(idsOf(await claim(3))).toEqual(ids.slice(0, 3))
        expect(idsOf(await claim(3))).toEqual(ids.slice(3, 6))
        expect(idsOf(await claim(3))).toEqual(ids.slice(6))
      })

      test('an expired lease returns the job to ready with its attempts unchanged', async () => {
        const [id] = await enqueueAll([aJob()])
        await claim()
        await queue.retry(id!, clock.now(), 'Zendesk answered 503')
        expect((await claim()).map((j) => [j.id, j.attempts])).toEqual([[id, 1]])

        clock.advance(LEASE_MS - 1)
        expect(await claim()).toEqual([])
        clock.advance(1)
        const again = await claim()
        expect(again.map((j) => [j.id, j.state, j.attempts, j.leasedUntil])).toEqual([
          [id, 'leased', 1, clock.now() + LEASE_MS],
        ])
      })

      test('extendLease keeps a job leased past the end of its first lease', async () => {
        const [id] = await enqueueAll([aJob()])
        await claim()
        clock.advance(LEASE_MS / 2)
        await queue.extendLease([id!], LEASE_MS)
        clock.advance(LEASE_MS / 2 + 1)
        expect(await claim()).toEqual([])
        expect(await queue.get(id!)).toMatchObject({
          state: 'leased',
          leasedUntil: clock.now() - 1 + LEASE_MS / 2,
        })
        clock.advance(LEASE_MS / 2)
        expect(idsOf(await claim())).toEqual([id])
      })
    })

    describe('settling jobs', () => {
      test('complete marks jobs done, and done jobs are never claimed again', async () => {
        const [a, b] = await enqueueAll([aJob({ orderingKey: 'user-a' }), aJob({ orderingKey: 'user-b' })])
        await claim()
        clock.advance(1_000)
        await queue.complete([a!, b!])
        expect(await queue.get(a!)).toMatchObject({
          state: 'done',
          leasedUntil: null,
          updatedAt: clock.now(),
        })
        expect(await stateOf(b!)).toBe('done')
        clock.advance(LEASE_MS * 2)
        expect(await claim()).toEqual([])
      })

      test('a retry that spends no attempt (a rate limit) keeps the attempt count', async () => {
        const [id] = await enqueueAll([aJob()])
        await claim()
        await queue.retry(id!, clock.now() + MINUTE, 'Zendesk answered 429', false)
        expect(await queue.get(id!)).toMatchObject({
          state: 'ready',
          attempts: 0,
          lastError: 'Zendesk answered 429',
        })
      })

      test('retry makes a job ready again at the given time, spending an attempt and keeping the error', async () => {
        const [id] = await enqueueAll([aJob()])
        await claim()
        const at = clock.now() + MINUTE
        await queue.retry(id!, at, 'Zendesk answered 503')
        expect(await queue.get(id!)).toMatchObject({
          state: 'ready',
          attempts: 1,
          availableAt: at,
          leasedUntil: null,
          lastError: 'Zendesk answered 503',
        })
        expect(await claim()).toEqual([])
        clock.advance(MINUTE - 1)
        expect(await claim()).toEqual([])
        clock.advance(1)
        expect(idsOf(await claim())).toEqual([id])
      })

      test('fail makes a job dead with its error, spending an attempt', async () => {
        const [id] = await enqueueAll([aJob()])
        await claim()
        await queue.fail(id!, 'RecordInvalid: Email is invalid')
        expect(await queue.get(id!)).toMatchObject({
          state: 'dead',
          attempts: 1,
          leasedUntil: null,
          lastError: 'RecordInvalid: Email is invalid',
        })
        expect(await claim()).toEqual([])
      })

      test('park makes jobs parked without spending an attempt, and unpark makes them ready again', async () => {
        const [a, b] = await enqueueAll([aJob({ orderingKey: 'user-a' }), aJob({ orderingKey: 'user-b' })])
        await claim()
        await queue.park([a!, b!], 'Zendesk answered 401')
        expect(await queue.get(a!)).toMatchObject({
          state: 'parked',
          attempts: 0,
          leasedUntil: null,
          lastError: 'Zendesk answered 401',
        })
        clock.advance(LEASE_MS * 2)
        expect(await claim()).toEqual([])

        expect(await queue.unpark('d2')).toBe(0)
        expect(await queue.unpark('d1')).toBe(2)
        expect((await claim()).map((j) => [j.id, j.attempts])).toEqual([
          [a, 0],
          [b, 0],
        ])
      })

      test('replay makes dead jobs ready with attempts reset and the last error kept', async () => {
        const [id] = await enqueueAll([aJob()])
        await claim()
        await queue.retry(id!, clock.now(), 'timeout')
        await claim()
        await queue.fail(id!, 'RecordInvalid')
        expect(await queue.get(id!)).toMatchObject({ state: 'dead', attempts: 2 })

        clock.advance(HOUR)
        expect(await queue.replay('d1')).toBe(1)
        expect(await queue.get(id!)).toMatchObject({
          state: 'ready',
          attempts: 0,
          availableAt: clock.now(),
          lastError: 'RecordInvalid',
        })
        expect(idsOf(await claim())).toEqual([id])
      })

      test('replay with ids replays only those of them that are dead jobs of the destination', async () => {
        const [a, b, c, ready] = await enqueueAll([
          aJob({ orderingKey: 'user-a' }),
          aJob({ orderingKey: 'user-b' }),
          aJob({ orderingKey: 'user-c' }),
          aJob({ orderingKey: 'user-d' }),
        ])
        const [other] = await enqueueAll([aJob({ destinationId: 'd2' })])
        await claim(3)
        await claim(1, 'd2')
        for (const id of [a!, b!, c!]) {
          await queue.fail(id, 'rejected')
        }
        await queue.fail(other!, 'rejected')

        expect(await queue.replay('d1', [a!, c!, ready!, other!, 999_999])).toBe(2)
        expect([await stateOf(a!), await stateOf(b!), await stateOf(c!)]).toEqual(['ready', 'dead', 'ready'])
        expect(await stateOf(other!)).toBe('dead')
      })

      test('settling a job that is not leased changes nothing', async () => {
        const [ready, done] = await enqueueAll([
          aJob({ orderingKey: 'user-a' }),
          aJob({ orderingKey: 'user-b' }),
        ])
        await claim(1)
        await claim(1)
        await queue.complete([done!])
        await queue.retry(ready!, clock.now(), 'x')
        await queue.retry(ready!, clock.now(), 'x')
        await queue.complete([ready!])
        await queue.fail(done!, 'too late')
        await queue.retry(done!, clock.now(), 'too late')
        await queue.park([done!], 'too late')
        await queue.extendLease([done!], LEASE_MS)

        expect(await queue.get(ready!)).toMatchObject({ state: 'ready', attempts: 1, lastError: 'x' })
        expect(await queue.get(done!)).toMatchObject({ state: 'done', attempts: 0, lastError: null })
        await queue.complete([999_999])
        expect(await queue.get(999_999)).toBeNull()
      })
    })

    // Small claims and bulk ones (the worker's) must give the same answer: a backend may read a
    // claim's blockers differently by its size (PostgreSQL reads them once per claim).
    describe.each([
      ['small claims', 10],
      ['bulk claims', 100],
    ])('ordering per key (%s)', (_name, n) => {
      test('a job waiting for a retry blocks later jobs of its key, not jobs of other keys', async () => {
        const [a1, b1, a2] = await enqueueAll([
          aJob({ orderingKey: 'A' }),
          aJob({ orderingKey: 'B' }),
          aJob({ orderingKey: 'A' }),
        ])
        expect(idsOf(await claim(1))).toEqual([a1])
        await queue.retry(a1!, clock.now() + MINUTE, 'Zendesk answered 429')
        expect(idsOf(await claim(n))).toEqual([b1])
        expect(await claim(n)).toEqual([])
        await queue.complete([b1!])
        clock.advance(MINUTE)
        expect(idsOf(await claim(n))).toEqual([a1, a2])
      })

      test('a leased job blocks later jobs of its key until it is settled', async () => {
        const [a1, a2, b1] = await enqueueAll([
          aJob({ orderingKey: 'A' }),
          aJob({ orderingKey: 'A' }),
          aJob({ orderingKey: 'B' }),
        ])
        expect(idsOf(await claim(1))).toEqual([a1])
        expect(idsOf(await claim(n))).toEqual([b1])
        await queue.complete([a1!])
        expect(idsOf(await claim(n))).toEqual([a2])
      })

      test('a parked job blocks later jobs of its key until it is unparked', async () => {
        const [a1, a2] = await enqueueAll([aJob({ orderingKey: 'A' }), aJob({ orderingKey: 'A' })])
        await claim(1)
        await queue.park([a1!], 'Zendesk answered 403')
        expect(await claim(n)).toEqual([])
        await queue.unpark('d1')
        expect(idsOf(await claim(n))).toEqual([a1, a2])
      })

      test('a replayed dead job is not blocked by a later job of its key that is leased', async () => {
        const [a1, a2] = await enqueueAll([aJob({ orderingKey: 'A' }), aJob({ orderingKey: 'A' })])
        await claim(1)
        await queue.fail(a1!, 'RecordInvalid')
        expect(idsOf(await claim(n))).toEqual([a2])
        await queue.replay('d1', [a1!])
        expect(idsOf(await claim(n))).toEqual([a1])
      })

      test('a dead job does not block later jobs of its key', async () => {
        const [a1, a2] = await enqueueAll([aJob({ orderingKey: 'A' }), aJob({ orderingKey: 'A' })])
        await claim(1)
        await queue.fail(a1!, 'RecordInvalid')
        expect(idsOf(await claim(n))).toEqual([a2])
      })

      test('an earlier job whose lease expired is claimed again together with, and before, the later ones', async () => {
        const [a1, a2] = await enqueueAll([aJob({ orderingKey: 'A' }), aJob({ orderingKey: 'A' })])
        await claim(1)
        clock.advance(LEASE_MS)
        expect(idsOf(await claim(n))).toEqual([a1, a2])
      })

      test('several claimable jobs of one key are claimed together, in enqueue order', async () => {
        const ids = await enqueueAll(
          ['A', 'B', 'A', 'A', 'C', 'A', 'B'].map((orderingKey, i) => aJob({ orderingKey, payload: { i } })),
        )
        const jobs = await claim(n)
        expect(idsOf(jobs)).toEqual(ids)
        expect(jobs.filter((j) => j.orderingKey === 'A').map((j) => j.payload)).toEqual([
          { i: 0 },
          { i: 2 },
          { i: 3 },
          { i: 5 },
        ])
      })

      test('a limit that cuts a run of one key leaves the rest of the run for the next claim', async () => {
        const [a1, a2, a3] = await enqueueAll([
          aJob({ orderingKey: 'A' }),
          aJob({ orderingKey: 'A' }),
          aJob({ orderingKey: 'A' }),
        ])
        expect(idsOf(await claim(2))).toEqual([a1, a2])
        expect(await claim(2)).toEqual([])
        await queue.complete([a1!, a2!])
        expect(idsOf(await claim(2))).toEqual([a3])
      })

      test('the same ordering key in two destinations does not block across them', async () => {
        const [d1a] = await enqueueAll([aJob({ destinationId: 'd1', orderingKey: 'A' })])
        const [d2a] = await enqueueAll([aJob({ destinationId: 'd2', orderingKey: 'A' })])
        await claim(1, 'd1')
        await queue.park([d1a!], 'Zendesk answered 401')
        expect(idsOf(await claim(n, 'd2'))).toEqual([d2a])
      })
    })

    describe('duplicates', () => {
      test('a repeated dedupeKey within the window is dropped, in one batch and across batches', async () => {
        expect(
          await queue.enqueue([
            aJob({ dedupeKey: 'm-1', payload: { first: true } }),
            aJob({ dedupeKey: 'm-1', payload: { first: false } }),
            aJob({ dedupeKey: 'm-2' }),
          ]),
        ).toEqual({ inserted: 2, duplicates: 1 })
        clock.advance(HOUR)
        expect(await queue.enqueue([aJob({ dedupeKey: 'm-1' }), aJob({ dedupeKey: 'm-3' })])).toEqual({
          inserted: 1,
          duplicates: 1,
        })
        const jobs = await claim(10)
        expect(jobs.map((j) => j.dedupeKey)).toEqual(['m-1', 'm-2', 'm-3'])
        expect(jobs[0]!.payload).toEqual({ first: true })
      })

      test('a dedupeKey stays a duplicate after its job is done', async () => {
        await queue.enqueue([aJob({ dedupeKey: 'm-1' })])
        const jobs = await claim()
        await queue.complete(idsOf(jobs))
        clock.advance(DAY - 1)
        await queue.purge(0)
        expect(await queue.enqueue([aJob({ dedupeKey: 'm-1' })])).toEqual({ inserted: 0, duplicates: 1 })
      })

      test('the same dedupeKey in another destination is not a duplicate, and null never is', async () => {
        expect(
          await queue.enqueue([
            aJob({ destinationId: 'd1', dedupeKey: 'm-1' }),
            aJob({ destinationId: 'd2', dedupeKey: 'm-1' }),
            aJob({ dedupeKey: null }),
            aJob({ dedupeKey: null }),
          ]),
        ).toEqual({ inserted: 4, duplicates: 0 })
      })

      test('a dedupeKey is accepted again once the window has passed, before or after a purge', async () => {
        await queue.enqueue([aJob({ dedupeKey: 'm-1' })])
        clock.advance(DAY - 1)
        expect(await queue.enqueue([aJob({ dedupeKey: 'm-1' })])).toEqual({ inserted: 0, duplicates: 1 })
        clock.advance(1)
        expect(await queue.enqueue([aJob({ dedupeKey: 'm-1' })])).toEqual({ inserted: 1, duplicates: 0 })
        // The new enqueue opened a new window.
        expect(await queue.enqueue([aJob({ dedupeKey: 'm-1' })])).toEqual({ inserted: 0, duplicates: 1 })

        await queue.enqueue([aJob({ dedupeKey: 'm-2' })])
        clock.advance(DAY)
        await queue.purge()
        expect(await queue.enqueue([aJob({ dedupeKey: 'm-2' })])).toEqual({ inserted: 1, duplicates: 0 })
      })
    })

    describe('counts, backlog, list and get', () => {
      test('counts gives every state, per destination and overall', async () => {
        const [a, b, c] = await enqueueAll([
          aJob({ orderingKey: 'a' }),
          aJob({ orderingKey: 'b' }),
          aJob({ orderingKey: 'c' }),
          aJob({ orderingKey: 'd' }),
        ])
        await enqueueAll([aJob({ orderingKey: 'e' }), aJob({ orderingKey: 'f' })])
        await enqueueAll([aJob({ destinationId: 'd2' })])
        await claim(4)
        await queue.complete([a!])
        await queue.fail(b!, 'rejected')
        await queue.park([c!], 'auth')

        expect(await queue.counts('d1')).toEqual({ ready: 2, leased: 1, done: 1, dead: 1, parked: 1 })
        expect(await queue.counts('d2')).toEqual({ ready: 1, leased: 0, done: 0, dead: 0, parked: 0 })
        expect(await queue.counts('nobody')).toEqual({ ready: 0, leased: 0, done: 0, dead: 0, parked: 0 })
        expect(await queue.counts()).toEqual({ ready: 3, leased: 1, done: 1, dead: 1, parked: 1 })
      })

      test('backlog counts the ready, leased and parked jobs of all destinations', async () => {
        const [a, b, c] = await enqueueAll([
          aJob({ orderingKey: 'a' }),
          aJob({ orderingKey: 'b' }),
          aJob({ orderingKey: 'c' }),
          aJob({ orderingKey: 'd' }),
        ])
        await enqueueAll([aJob({ destinationId: 'd2' })])
        expect(await queue.backlog()).toBe(5)
        await claim(3)
        expect(await queue.backlog()).toBe(5)
        await queue.complete([a!])
        await queue.fail(b!, 'rejected')
        await queue.park([c!], 'auth')
        expect(await queue.backlog()).toBe(3)
        await queue.replay('d1')
        expect(await queue.backlog()).toBe(4)
        await queue.enqueue([aJob({ dedupeKey: 'm-1' }), aJob({ dedupeKey: 'm-1' })])
        expect(await queue.backlog()).toBe(5)
      })

      test('list returns the jobs of a destination in a state, oldest first, up to the limit', async () => {
        const ids = await enqueueAll(Array.from({ length: 5 }, (_, i) => aJob({ orderingKey: `u-${i}` })))
        await enqueueAll([aJob({ destinationId: 'd2' })])
        await claim(2)
        expect(idsOf(await queue.list('d1', 'ready', 10))).toEqual(ids.slice(2))
        expect(idsOf(await queue.list('d1', 'ready', 2))).toEqual(ids.slice(2, 4))
        expect(idsOf(await queue.list('d1', 'leased', 10))).toEqual(ids.slice(0, 2))
        expect(await queue.list('d1', 'dead', 10)).toEqual([])
      })

      test('get returns a job with its current state, or null for an unknown id', async () => {
        const [id] = await enqueueAll([aJob({ payload: { hello: 'world' } })])
        expect(await queue.get(id!)).toMatchObject({ id, state: 'ready', payload: { hello: 'world' } })
        expect(await queue.get(id! + 1000)).toBeNull()
      })
    })

    describe('purge', () => {
      test('purge deletes done and dead jobs finished longer ago than the given age, and nothing else', async () => {
        const [oldDone, oldDead, recentDone, ready, parked, leased] = await enqueueAll(
          ['a', 'b', 'c', 'd', 'e', 'f'].map((orderingKey) => aJob({ orderingKey })),
        )
        await claim(3)
        await queue.complete([oldDone!])
        await queue.fail(oldDead!, 'rejected')
        clock.advance(HOUR)
        await queue.complete([recentDone!])
        await claim(3)
        await queue.retry(ready!, clock.now(), 'transient')
        await queue.park([parked!], 'auth')
        clock.advance(1)

        expect(await queue.purge(HOUR)).toBe(2)
        expect(await queue.get(oldDone!)).toBeNull()
        expect(await queue.get(oldDead!)).toBeNull()
        expect(await stateOf(recentDone!)).toBe('done')
        expect(await stateOf(ready!)).toBe('ready')
        expect(await stateOf(parked!)).toBe('parked')
        expect(await stateOf(leased!)).toBe('leased')
        expect(await queue.purge(HOUR)).toBe(0)
      })

      test('purge without an age uses the retention the queue was opened with', async () => {
        const [id] = await enqueueAll([aJob()])
        await claim()
        await queue.complete([id!])
        clock.advance(WINDOWS.retentionMs - 1)
        expect(await queue.purge()).toBe(0)
        clock.advance(1)
        expect(await queue.purge()).toBe(1)
        expect(await queue.get(id!)).toBeNull()
      })
    })

    describe('destinations', () => {
      test('destinations are isolated: claim, unpark, replay and counts act on one destination', async () => {
        const [d1a, d1b] = await enqueueAll([aJob({ orderingKey: 'a' }), aJob({ orderingKey: 'b' })])
        const [d2a, d2b] = await enqueueAll([
          aJob({ destinationId: 'd2', orderingKey: 'a' }),
          aJob({ destinationId: 'd2', orderingKey: 'b' }),
        ])
        expect(idsOf(await claim(10, 'd1'))).toEqual([d1a, d1b])
        expect(idsOf(await claim(10, 'd2'))).toEqual([d2a, d2b])
        await queue.park([d1a!], 'auth')
        await queue.park([d2a!], 'auth')
        await queue.fail(d1b!, 'rejected')
        await queue.fail(d2b!, 'rejected')

        expect(await queue.unpark('d1')).toBe(1)
        expect(await queue.replay('d1')).toBe(1)
        expect([await stateOf(d2a!), await stateOf(d2b!)]).toEqual(['parked', 'dead'])
        expect(idsOf(await claim(10, 'd1'))).toEqual([d1a, d1b])
        expect(await claim(10, 'd2')).toEqual([])
      })
    })

    test('claims always match the ordering rule and keep each key in enqueue order (seeded random operations)', async () => {
      for (const seed of [1, 7, 42]) {
        await runRandomOperations(queue, clock, seed, 250)
      }
    })
  })
}

interface ModelJob {
  id: number
  destinationId: string
  key: string
  state: JobState
  availableAt: number
  leasedUntil: number | null
  attempts: number
}

/**
 * Drives the queue with random operations and checks every claim against a model of the rule in
 * queue.ts: a ready job is claimable when available and no earlier job of its destination and key
 * is leased, parked or not yet available; a claim takes the claimable jobs oldest first.
 */
async function runRandomOperations(
  queue: Queue,
  clock: FakeClock,
  seed: number,
  steps: number,
): Promise<void> {
  const random = mulberry32(seed)
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)]
  const destinations = [`s${seed}-d1`, `s${seed}-d2`]
  const keys = Array.from({ length: 6 }, (_, i) => `s${seed}-k${i}`)
  const model = new Map<number, ModelJob>()
  const backlogBefore = await queue.backlog()

  const liveLeases = (): ModelJob[] =>
    [...model.values()].filter((j) => j.state === 'leased' && (j.leasedUntil ?? 0) > clock.now())

  for (let step = 0; step < steps; step++) {
    const roll = random()
    if (roll < 0.25) {
      const destinationId = pick(destinations)!
      const batch = Array.from({ length: 1 + Math.floor(random() * 8) }, () =>
        aJob({ destinationId, orderingKey: pick(keys)!, payload: { seed, step } }),
      )
      await queue.enqueue(batch)
      const fresh = (await queue.list(destinationId, 'ready', 1_000_000)).filter((j) => !model.has(j.id))
      expect(fresh.map((j) => j.orderingKey)).toEqual(batch.map((j) => j.orderingKey))
      for (const j of fresh) {
        model.set(j.id, {
          id: j.id,
          destinationId,
          key: j.orderingKey,
          state: 'ready',
          availableAt: j.availableAt,
          leasedUntil: null,
          attempts: 0,
        })
      }
    } else if (roll < 0.5) {
      const destinationId = pick(destinations)!
      const limit = 1 + Math.floor(random() * 6)
      const leaseMs = 500 + Math.floor(random() * 2_000)
      const now = clock.now()
      for (const j of model.values()) {
        if (j.state === 'leased' && (j.leasedUntil ?? 0) <= now) {
          j.state = 'ready'
          j.leasedUntil = null
        }
      }
      const ofDestination = [...model.values()]
        .filter((j) => j.destinationId === destinationId)
        .sort((a, b) => a.id - b.id)
      const isBlocker = (j: ModelJob) =>
        j.state === 'leased' || j.state === 'parked' || (j.state === 'ready' && j.availableAt > now)
      const claimable = ofDestination.filter(
        (j) =>
          j.state === 'ready' &&
          j.availableAt <= now &&
          !ofDestination.some((e) => e.key === j.key && e.id < j.id && isBlocker(e)),
      )
      const expected = claimable.slice(0, limit)
      const got = await queue.claim({ destinationId, limit, leaseMs })
      expect(idsOf(got), `seed ${seed} step ${step}`).toEqual(expected.map((j) => j.id))
      expect(got.map((j) => j.attempts)).toEqual(expected.map((j) => j.attempts))
      // The invariant itself: every earlier job of a claimed job's key is finished or claimed with it.
      for (const j of got) {
        const earlier = ofDestination.filter((e) => e.key === j.orderingKey && e.id < j.id)
        for (const e of earlier) {
          expect(e.state === 'done' || e.state === 'dead' || got.some((g) => g.id === e.id)).toBe(true)
        }
      }
      for (const j of expected) {
        j.state = 'leased'
        j.leasedUntil = now + leaseMs
      }
    } else if (roll < 0.65) {
      const leased = liveLeases().filter(() => random() < 0.6)
      await queue.complete(leased.map((j) => j.id))
      for (const j of leased) {
        j.state = 'done'
        j.leasedUntil = null
      }
    } else if (roll < 0.75) {
      const j = pick(liveLeases())
      if (j) {
        const at = clock.now() + Math.floor(random() * 3_000)
        await queue.retry(j.id, at, 'transient')
        Object.assign(j, { state: 'ready', availableAt: at, leasedUntil: null, attempts: j.attempts + 1 })
      }
    } else if (roll < 0.8) {
      const j = pick(liveLeases())
      if (j) {
        await queue.fail(j.id, 'rejected')
        Object.assign(j, { state: 'dead', leasedUntil: null, attempts: j.attempts + 1 })
      }
    } else if (roll < 0.84) {
      const j = pick(liveLeases())
      if (j) {
        await queue.park([j.id], 'auth')
        Object.assign(j, { state: 'parked', leasedUntil: null })
      }
    } else if (roll < 0.87) {
      const destinationId = pick(destinations)!
      const parked = [...model.values()].filter(
        (j) => j.destinationId === destinationId && j.state === 'parked',
      )
      expect(await queue.unpark(destinationId)).toBe(parked.length)
      for (const j of parked) {
        Object.assign(j, { state: 'ready', availableAt: clock.now() })
      }
    } else if (roll < 0.89) {
      const destinationId = pick(destinations)!
      const dead = [...model.values()].filter((j) => j.destinationId === destinationId && j.state === 'dead')
      expect(await queue.replay(destinationId)).toBe(dead.length)
      for (const j of dead) {
        Object.assign(j, { state: 'ready', availableAt: clock.now(), attempts: 0 })
      }
    } else {
      clock.advance(Math.floor(random() * 1_500))
    }
  }
  const backlog = [...model.values()].filter((j) => j.state !== 'done' && j.state !== 'dead').length
  expect(await queue.backlog()).toBe(backlogBefore + backlog)
}

/** A small seeded PRNG (mulberry32), so that a failing sequence can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
