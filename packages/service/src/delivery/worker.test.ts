/**
 * The delivery worker against the real pieces around it: a SQLite queue in a temporary folder,
 * the Zendesk client, and the emulator in-process. The end-to-end tests (test/e2e) cover the
 * acceptance scenarios through HTTP; these pin the worker's own decisions.
 */
import { setTimeout as delay } from 'node:timers/promises'

import type { Emulator, EmulatorOptions } from '@zdd/zendesk-emulator'
import { afterEach, describe, expect, test } from 'vitest'

import type { JobState } from '../queue/queue.js'
import type { SqliteQueue } from '../queue/sqlite-queue.js'
import type { ZendeskRequest } from '../zendesk/request.js'
import type { DestinationWorker, Subscription, WorkerOptions, ZendeskSender } from './worker.js'
import { upsertUser } from '../actions/upsert-user/upsert-user.js'
import {
  Cleanups,
  createWorker,
  DESTINATION,
  emulatorSender,
  emulatorUsers,
  identifyJob,
  openTempQueue,
  requests,
  startEmulator,
  waitFor,
  workerDeps,
} from './worker-fixture.js'

interface Setup {
  emulator: Emulator
  queue: SqliteQueue
  worker: DestinationWorker
  /**
   * Enqueues one identify per object (its other keys are the traits), for `user:{userId}`, before
   * the worker starts; returns the job ids.
   */
  identify(...events: ({ userId: string } & Record<string, unknown>)[]): Promise<number[]>
  requests(path: string): Promise<{ seq: number; path: string; status: number }[]>
  waitFor<T>(check: () => Promise<T | null | undefined | false>, timeoutMs?: number): Promise<T>
}

const cleanups = new Cleanups()

/** `n` people from `u{from}` on, each with an email and a name, for `Setup.identify`. */
function people(from: number, n: number): { userId: string; email: string; name: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    userId: `u${from + i}`,
    email: `u${from + i}@example.com`,
    name: `U ${from + i}`,
  }))
}

afterEach(() => cleanups.run())

async function setup(
  opts: { emulator?: EmulatorOptions; worker?: Partial<WorkerOptions>; subscriptions?: Subscription[] } = {},
): Promise<Setup> {
  const emulator = await startEmulator(cleanups, { jobDelayMs: 20, ...opts.emulator })
  const queue = openTempQueue(cleanups, 'zdd-worker-')
  const worker = createWorker(
    cleanups,
    emulatorSender(cleanups, emulator),
    workerDeps(queue, { options: opts.worker ?? {} }),
    opts.subscriptions,
  )
  return {
    emulator,
    queue,
    worker,
    async identify(...events) {
      const before = new Set((await queue.list(DESTINATION, 'ready', 1000)).map((j) => j.id))
      await queue.enqueue(
        events.map(({ userId, ...traits }, i) =>
          identifyJob(userId, traits, `m-${userId}-${i}-${Math.random()}`),
        ),
      )
      return (await queue.list(DESTINATION, 'ready', 1000))
        .map((j) => j.id)
        .filter((id) => !before.has(id))
        .sort((a, b) => a - b)
    },
    requests: (path) => requests(emulator, path),
    waitFor,
  }
}

const stateOf = async (s: Setup, id: number) => (await s.queue.get(id))?.state

/** Waits until the jobs have settled, as many in each state as `states` says, then checks each one's state. */
async function expectSettled(s: Setup, ids: number[], states: JobState[]): Promise<void> {
  await s.waitFor(async () => {
    const counts = await s.queue.counts(DESTINATION)
    return states.every((state) => counts[state] === states.filter((x) => x === state).length)
  })
  expect(await Promise.all(ids.map((id) => stateOf(s, id)))).toEqual(states)
}

describe('the delivery worker', () => {
  test('each record settles from its own result: an invalid one fails alone, with Zendesk’s reason', async () => {
    const s = await setup()
    const ids = await s.identify(
      { userId: 'ann', email: 'ann@example.com', name: 'Ann' },
      { userId: 'bad', email: 'not an email', name: 'Bad' },
      { userId: 'cy', email: 'cy@example.com', name: 'Cy' },
    )
    s.worker.start()
    // The refused record (it has an external id and an email) settles after upsert-user's lookup
    // of who holds them (Segment's several-users rule), a moment after the others.
    await expectSettled(s, ids, ['done', 'dead', 'done'])
    expect((await s.queue.get(ids[1]!))?.lastError).toMatch(/^ZD_ITEM_\w+: .*email/i)
    expect((await s.requests('create_or_update_many')).length).toBe(1)
  })

  test('with a JSONata mapping (payloads built asynchronously), a payload the mapping refuses settles alone as an invalid event and the others are delivered', async () => {
    const s = await setup({
      subscriptions: [
        {
          action: upsertUser,
          trigger: upsertUser.defaultTrigger,
          mapping: { phone: { '@jsonata': 'traits.mobile' } },
        },
      ],
    })
    const ids = await s.identify(
      { userId: 'ann', email: 'ann@example.com', name: 'Ann', mobile: '555-0100' },
      { userId: 'bad', email: 'bad@example.com', name: 'Bad', mobile: { home: '555-0101' } },
      { userId: 'cy', email: 'cy@example.com', name: 'Cy', mobile: '555-0102' },
    )
    expect(ids).toHaveLength(3)
    s.worker.start()
    await expectSettled(s, ids, ['done', 'dead', 'done'])
    expect((await s.queue.get(ids[1]!))?.lastError).toBe('MAPPING_INVALID_PAYLOAD: phone: must be a string')
    const users = (await emulatorUsers(s.emulator)).filter((u) => u.external_id !== null)
    expect(users.map((u) => [u.external_id, u.phone]).sort()).toEqual([
      ['ann', '555-0100'],
      ['cy', '555-0102'],
    ])
  })

  test('a failed job-status poll leaves the bulk job in flight: a later poll settles it, nothing is sent twice', async () => {
    const s = await setup()
    s.emulator.addFaults([{ kind: 'status', status: 503, path: 'job_statuses', count: 3 }])
    const ids = await s.identify({ userId: 'ann', email: 'ann@example.com', name: 'Ann' })
    s.worker.start()
    await s.waitFor(async () => (await stateOf(s, ids[0]!)) === 'done')
    expect((await s.queue.get(ids[0]!))?.attempts).toBe(0)
    expect((await s.requests('create_or_update_many')).map((e) => e.status)).toEqual([200])
    expect((await s.requests('job_statuses')).map((e) => e.status)).toEqual([503, 503, 503, 200])
  })

  test('bulk refused (403) while the single endpoint refuses only the record: records go one by one', async () => {
    const s = await setup({ emulator: { bulkUserImport: false } })
    const [bad, ann] = await s.identify(
      { userId: 'bad', email: 'not an email', name: 'Bad' },
      { userId: 'ann', email: 'ann@example.com', name: 'Ann' },
    )
    s.worker.start()
    await s.waitFor(async () => (await stateOf(s, ann!)) === 'done', 15_000)
    expect(s.worker.usesSingleRequests).toBe(true)
    expect(s.worker.pausedForAuth).toBe(false)
    expect(await s.queue.get(bad!)).toMatchObject({
      state: 'dead',
      lastError: expect.stringMatching(/^ZD_HTTP_422/),
    })
  })

  test('the next wave is claimed and built while jobs run, yet Zendesk never holds more jobs than the slots', async () => {
    // Zendesk allows one job at a time here: a second one would be refused with TooManyJobs.
    const s = await setup({
      emulator: { jobDelayMs: 300, maxInflightJobs: 1 },
      worker: { maxBulkJobsInFlight: 1, prefetchBulkCalls: 2 },
    })
    await s.identify(...people(0, 500))
    s.worker.start()
    // While the first call's job runs, the records of two more calls are claimed and built.
    await s.waitFor(
      async () =>
        (await s.queue.counts(DESTINATION)).leased === 300 &&
        (await s.requests('create_or_update_many')).length === 1,
    )
    await s.waitFor(async () => (await s.queue.counts(DESTINATION)).done === 500, 30_000)
    expect((await s.requests('create_or_update_many')).map((r) => r.status)).toEqual([
      200, 200, 200, 200, 200,
    ])
  })

  test('a bulk answer whose in-flight count shows earlier jobs done frees their slots before any poll', async () => {
    // Zendesk holds at most two jobs here, and the first poll is seconds away (its first guess).
    const s = await setup({
      emulator: { jobDelayMs: 300, maxInflightJobs: 2 },
      worker: { maxBulkJobsInFlight: 2, prefetchBulkCalls: 2, pollIntervalMs: 5_000 },
    })
    await s.identify(...people(0, 100))
    s.worker.start()
    await s.waitFor(async () => (await s.requests('create_or_update_many')).length === 1)
    // The first job is done in Zendesk; nothing has polled it.
    await delay(450)
    await s.identify(...people(100, 200))
    s.worker.wake()
    // Both slots look taken (the first job and the second call), yet the second call's answer
    // says the account runs one job: the first is done, and the third call goes at once, before
    // any poll (the answer also teaches how long jobs take, so a poll follows soon).
    const calls = await s.waitFor(async () => {
      const sent = await s.requests('create_or_update_many')
      return sent.length === 3 ? sent : null
    }, 3_000)
    const polls = await s.requests('job_statuses')
    expect(polls.filter((p) => p.seq < calls[2]!.seq)).toEqual([])
    expect((await s.requests('create_or_update_many')).map((r) => r.status)).toEqual([200, 200, 200])
  })

  test('a bulk answer whose in-flight count shows a job done teaches how long jobs take: the first poll does not wait for the first guess', async () => {
    // The first guess of a job's time is 5 s; jobs take 300 ms.
    const s = await setup({
      emulator: { jobDelayMs: 300 },
      worker: { maxBulkJobsInFlight: 3, prefetchBulkCalls: 3, pollIntervalMs: 5_000 },
    })
    await s.identify(...people(0, 100))
    s.worker.start()
    await s.waitFor(async () => (await s.requests('create_or_update_many')).length === 1)
    await delay(450)
    await s.identify(...people(100, 100))
    s.worker.wake()
    // The second call's answer says one of our two jobs is done: the first one, at most ~450 ms
    // old. Both are polled, and settled, long before the first guess would have polled them.
    await s.waitFor(async () => (await s.queue.counts(DESTINATION)).done === 200, 3_000)
    expect((await s.requests('create_or_update_many')).map((r) => r.status)).toEqual([200, 200])
    expect((await s.requests('job_statuses')).length).toBeGreaterThan(0)
  })

  test('polls are timed from when each call left: answers read late do not make the polls early', async () => {
    // Jobs take 300 ms; one slot, so each bulk call waits for a poll that saw the last job done.
    // Every other call's answer is read 250 ms after it came (an event loop busy with ingest).
    // Timed from those late readings, jobs would look 250 ms quicker than they are, and the polls
    // for the calls read at once would come early, find nothing, and back off.
    const emulator = await startEmulator(cleanups, { jobDelayMs: 300 })
    const queue = openTempQueue(cleanups, 'zdd-worker-')
    const zendesk = emulatorSender(cleanups, emulator)
    let bulkCalls = 0
    const readsLate: ZendeskSender = {
      ...zendesk,
      async send<T>(req: ZendeskRequest, o?: { signal?: AbortSignal }) {
        const answer = await zendesk.send<T>(req, o)
        if (req.path.includes('create_or_update_many') && bulkCalls++ % 2 === 0) {
          await delay(250)
        }
        return answer
      },
    }
    const worker = createWorker(
      cleanups,
      readsLate,
      workerDeps(queue, { options: { maxBulkJobsInFlight: 1, prefetchBulkCalls: 1 } }),
    )
    await queue.enqueue(
      Array.from({ length: 600 }, (_, i) =>
        identifyJob(`u${i}`, { email: `u${i}@example.com`, name: `U ${i}` }, `m${i}`),
      ),
    )
    worker.start()
    await waitFor(async () => (await queue.list(DESTINATION, 'done', 1000)).length === 600, 15_000)
    expect((await requests(emulator, 'create_or_update_many')).length).toBe(6)
    // The first job teaches how long jobs take (a first guess of 20 ms: two or three polls);
    // after it, one poll a job, with room for one that comes early on a slow machine.
    expect((await requests(emulator, 'job_statuses')).length).toBeLessThanOrEqual(9)
  })

  test('polls and the next bulk calls do not wait for the queue writes of earlier settlements', async () => {
    // One job slot; each settlement's write takes 3 s (a queue's thread busy with ingest, slowed
    // down). The round that settles must not hold up the polls and sends of the calls after it.
    const emulator = await startEmulator(cleanups, { jobDelayMs: 50 })
    const queue = openTempQueue(cleanups, 'zdd-worker-')
    let completions = 0
    const slowQueue = Object.create(queue) as SqliteQueue
    slowQueue.complete = async (ids) => {
      await delay(3_000)
      await queue.complete(ids)
      completions += 1
    }
    const worker = createWorker(
      cleanups,
      emulatorSender(cleanups, emulator),
      workerDeps(slowQueue, { options: { maxBulkJobsInFlight: 1, prefetchBulkCalls: 1 } }),
    )
    await queue.enqueue(
      Array.from({ length: 300 }, (_, i) =>
        identifyJob(`u${i}`, { email: `u${i}@example.com`, name: `U ${i}` }, `m${i}`),
      ),
    )
    worker.start()
    // Three calls, one after the other through the one slot, each after a poll saw the last done.
    await waitFor(async () => (await requests(emulator, 'create_or_update_many')).length === 3, 2_500)
    await waitFor(async () => (await requests(emulator, 'job_statuses')).length >= 3, 2_500)
    expect(completions).toBe(0)
    // And every job is settled once the writes go through.
    await waitFor(async () => (await queue.list(DESTINATION, 'done', 1000)).length === 300, 15_000)
    expect((await requests(emulator, 'create_or_update_many')).map((r) => r.status)).toEqual([200, 200, 200])
  })

  test('a worker that starts on jobs leased by a process that died delivers them at once', async () => {
    const s = await setup()
    const ids = await s.identify({ userId: 'ann', email: 'ann@example.com', name: 'Ann' })
    // The dead process's claim, with the default five-minute lease.
    expect(await s.queue.claim({ destinationId: DESTINATION, limit: 10, leaseMs: 5 * 60_000 })).toHaveLength(
      1,
    )
    s.worker.start()
    await s.waitFor(async () => (await stateOf(s, ids[0]!)) === 'done')
  })

  test('stop() cancels a bulk call Zendesk holds past the grace period and hands its jobs back, attempts unchanged', async () => {
    const s = await setup()
    s.emulator.addFaults([{ kind: 'latency', latencyMs: 30_000, path: 'create_or_update_many' }])
    const ids = await s.identify(
      { userId: 'ann', email: 'ann@example.com', name: 'Ann' },
      { userId: 'bob', email: 'bob@example.com', name: 'Bob' },
    )
    s.worker.start()
    await s.waitFor(async () => (await s.requests('create_or_update_many')).length === 1)
    const started = Date.now()
    await s.worker.stop(200)
    expect(Date.now() - started).toBeLessThan(5_000)
    const back = await s.queue.claim({ destinationId: DESTINATION, limit: 10, leaseMs: 60_000 })
    expect(back.map((j) => [j.id, j.attempts])).toEqual(ids.map((id) => [id, 0]))
  })
})
