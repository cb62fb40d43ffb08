import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, describe, expect, test } from 'vitest'

import { AppError } from '../errors.js'
import { FakeClock } from '../lib/clock.js'
import { describeQueueContract } from './queue.contract.js'
import { openSqliteQueue } from './sqlite-queue.js'
import { openThreadedSqliteQueue, type QueueThreadEvent } from './threaded-sqlite-queue.js'

const dir = mkdtempSync(join(tmpdir(), 'zdd-threaded-queue-'))
let files = 0
const WINDOWS = { retentionMs: 7 * 86_400_000, dedupeWindowMs: 86_400_000 }

function freshPath(): string {
  files++
  return join(dir, `queue-${files}.db`)
}

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describeQueueContract('sqlite in a worker thread', (clock, windows) =>
  openThreadedSqliteQueue({ path: freshPath(), clock, ...windows }),
)

describe('the queue in a worker thread', () => {
  test('shares the file with the in-process queue: what one commits the other reads', async () => {
    const path = freshPath()
    const clock = new FakeClock()
    const threaded = await openThreadedSqliteQueue({ path, clock, ...WINDOWS })
    const local = openSqliteQueue({ path, clock, ...WINDOWS })
    try {
      expect(threaded.info).toMatchObject({ journalMode: 'wal', synchronous: 'NORMAL' })
      await threaded.enqueue([
        { destinationId: 'd1', orderingKey: 'A', dedupeKey: 'm1', payload: { a: [1, 'x'] } },
      ])
      const [job] = await local.claim({ destinationId: 'd1', limit: 10, leaseMs: 1000 })
      expect(job).toMatchObject({ orderingKey: 'A', payload: { a: [1, 'x'] }, state: 'leased' })
      expect((await threaded.get(job!.id))?.leasedUntil).toBe(clock.now() + 1000)
    } finally {
      await local.close()
      await threaded.close()
    }
  })

  test("takes its time from the main thread's clock", async () => {
    const clock = new FakeClock()
    const q = await openThreadedSqliteQueue({ path: freshPath(), clock, ...WINDOWS })
    try {
      clock.advance(123_456)
      await q.enqueue([{ destinationId: 'd1', orderingKey: 'A', dedupeKey: null, payload: null }])
      const [job] = await q.list('d1', 'ready', 10)
      expect(job).toMatchObject({ createdAt: clock.now(), availableAt: clock.now(), payload: null })
    } finally {
      await q.close()
    }
  })

  test('a file it cannot open fails the open with the reason, and stops the thread', async () => {
    const err: unknown = await openThreadedSqliteQueue({
      path: dir, // a folder, not a file
      clock: new FakeClock(),
      ...WINDOWS,
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as { code?: string }).code).toBe('SQLITE_CANTOPEN')
  })

  test('errors keep their kind and code across the thread', async () => {
    const q = await openThreadedSqliteQueue({ path: freshPath(), clock: new FakeClock(), ...WINDOWS })
    await q.close()
    const err: unknown = await q.backlog().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AppError)
    expect(err).toMatchObject({ code: 'QUEUE_CLOSED' })
  })

  test('a thread that dies is replaced: requests fail with QUEUE_THREAD_GONE until the new one has the file open, and nothing committed is lost', async () => {
    const events: QueueThreadEvent['type'][] = []
    const q = await openThreadedSqliteQueue(
      { path: freshPath(), clock: new FakeClock(), ...WINDOWS },
      {
        onThreadEvent: (e) => events.push(e.type),
      },
    )
    try {
      const job = (orderingKey: string) => ({
        destinationId: 'd1',
        orderingKey,
        dedupeKey: orderingKey,
        payload: {},
      })
      await q.enqueue([job('a'), job('b'), job('c')])
      await q.killThreadForTest()
      // The thread is gone at once; the new one takes a moment to open the file.
      expect(events).toEqual(['gone'])
      const err: unknown = await q.backlog().catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'QUEUE_THREAD_GONE' })
      const deadline = Date.now() + 10_000
      while (!events.includes('restarted') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      expect(events).toEqual(['gone', 'restarted'])
      // What was committed before is there; the new thread takes requests, duplicates included.
      expect(await q.enqueue([job('b'), job('d')])).toEqual({ inserted: 1, duplicates: 1 })
      const claimed = await q.claim({ destinationId: 'd1', limit: 10, leaseMs: 1000 })
      expect(claimed.map((j) => j.orderingKey)).toEqual(['a', 'b', 'c', 'd'])
      expect(await q.backlog()).toBe(4)
    } finally {
      await q.close()
    }
  })

  test('while no new thread can open the file, the tries back off: at once, then 1 s doubling to 30 s, on the injected sleep', async () => {
    const folder = mkdtempSync(join(dir, 'gone-'))
    const events: QueueThreadEvent[] = []
    const waits: number[] = []
    const q = await openThreadedSqliteQueue(
      { path: join(folder, 'queue.db'), clock: new FakeClock(), ...WINDOWS },
      {
        onThreadEvent: (e) => events.push(e),
        sleep: (ms) => {
          waits.push(ms)
          if (waits.length === 7) {
            // The folder is back: the next try opens a file again.
            rmSync(folder, { recursive: true, force: true })
            mkdirSync(folder)
          }
          return Promise.resolve()
        },
      },
    )
    try {
      // The folder goes away under the open file (the thread keeps its handle), then the thread dies.
      rmSync(folder, { recursive: true, force: true })
      await q.killThreadForTest()
      const deadline = Date.now() + 20_000
      while (!events.some((e) => e.type === 'restarted') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000])
      expect(events.map((e) => (e.type === 'restart-failed' ? e.retryInMs : e.type))).toEqual([
        'gone',
        1000,
        2000,
        4000,
        8000,
        16_000,
        30_000,
        30_000,
        'restarted',
      ])
      expect(await q.backlog()).toBe(0)
    } finally {
      await q.close()
    }
  })

  test('closing while a dead thread is being replaced ends the replacement', async () => {
    const events: QueueThreadEvent['type'][] = []
    const q = await openThreadedSqliteQueue(
      { path: freshPath(), clock: new FakeClock(), ...WINDOWS },
      {
        onThreadEvent: (e) => events.push(e.type),
      },
    )
    await q.killThreadForTest()
    await q.close()
    expect(events).toEqual(['gone'])
    const err: unknown = await q.backlog().catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'QUEUE_CLOSED' })
  })
})
