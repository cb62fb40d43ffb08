/**
 * The delivery log's contract (delivery-log.ts), as one vitest suite that every backend runs:
 * `describeDeliveryLogContract(backend)` with a backend of test/store-backends.ts.
 */
import { afterAll, describe, expect, test } from 'vitest'

import type { StoreBackend } from '../../test/store-backends.js'
import { FakeClock } from '../lib/clock.js'
import type { NewDeliveryLogEntry } from './delivery-log.js'

const clock = new FakeClock()

function entry(over: Partial<NewDeliveryLogEntry> = {}): NewDeliveryLogEntry {
  return {
    destinationId: 'default',
    jobId: 1,
    messageId: 'm-1',
    type: 'identify',
    event: null,
    actions: ['upsert-user'],
    outcome: 'delivered',
    reason: null,
    attempt: 1,
    at: clock.now(),
    ...over,
  }
}

/** Polls until `check` holds (commits made by `add` run in the background). */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) {
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error('the condition never held')
}

export function describeDeliveryLogContract(backend: StoreBackend): void {
  describe(`the delivery log (${backend.name})`, () => {
    afterAll(() => backend.cleanup())

    test('keeps each settlement with its reason, newest first, and filters by destination, job, message and outcome', async () => {
      const log = (await backend.open()).deliveryLog({ clock })
      log.add([
        entry({ jobId: 1, messageId: 'm-1' }),
        entry({
          jobId: 2,
          messageId: 'm-2',
          type: 'page',
          actions: [],
          outcome: 'skipped',
          reason: 'page calls have no Zendesk action',
        }),
        entry({ jobId: 3, messageId: 'm-3', outcome: 'retry', reason: 'ZD_HTTP_503: Service Unavailable' }),
      ])
      log.add([entry({ jobId: 3, messageId: 'm-3', attempt: 2, at: clock.now() + 1000 })])
      log.add([entry({ destinationId: 'other', jobId: 4, messageId: 'm-4', outcome: 'failed', reason: 'x' })])

      const all = await log.list({ limit: 100 })
      expect(all.map((e) => e.jobId)).toEqual([4, 3, 3, 2, 1])
      expect(all[3]).toEqual({
        id: expect.any(Number) as unknown,
        destinationId: 'default',
        jobId: 2,
        messageId: 'm-2',
        type: 'page',
        event: null,
        actions: [],
        outcome: 'skipped',
        reason: 'page calls have no Zendesk action',
        attempt: 1,
        time: new Date(clock.now()).toISOString(),
      })
      expect((await log.list({ limit: 100, jobId: 3 })).map((e) => [e.outcome, e.attempt])).toEqual([
        ['delivered', 2],
        ['retry', 1],
      ])
      expect((await log.list({ limit: 100, messageId: 'm-2' })).map((e) => e.jobId)).toEqual([2])
      expect((await log.list({ limit: 100, destinationId: 'other' })).map((e) => e.jobId)).toEqual([4])
      expect((await log.list({ limit: 100, outcome: 'delivered' })).map((e) => e.jobId)).toEqual([3, 1])
      expect(
        (await log.list({ limit: 100, destinationId: 'default', outcome: 'retry', jobId: 3 })).map(
          (e) => e.attempt,
        ),
      ).toEqual([1])
      expect(await log.list({ limit: 2 })).toHaveLength(2)
      expect(await log.count()).toBe(5)
    })

    test('rows written together are committed together, and a read sees rows not yet committed', async () => {
      const db = await backend.open()
      const log = db.deliveryLog({ clock, flushEveryMs: 60_000, flushAt: 3 })
      const committed = async () => (await db.committedRows('delivery_log')).length
      log.add([entry({ jobId: 1 }), entry({ jobId: 2 })])
      expect(await committed()).toBe(0)
      log.add([entry({ jobId: 3 })])
      await eventually(async () => (await committed()) === 3)
      log.add([entry({ jobId: 4 })])
      expect((await log.list({ limit: 10 })).map((e) => e.jobId)).toEqual([4, 3, 2, 1])
      expect(await committed()).toBe(4)
      log.add([entry({ jobId: 5 })])
      await log.flush()
      expect(await committed()).toBe(5)
    })

    test('buffered rows are committed after the flush interval without a read', async () => {
      const db = await backend.open()
      const log = db.deliveryLog({ clock, flushEveryMs: 10, flushAt: 1000 })
      log.add([entry({ jobId: 7 })])
      await eventually(async () => (await db.committedRows('delivery_log')).length === 1)
    })

    test('is bounded: beyond its capacity the oldest rows go', async () => {
      const log = (await backend.open()).deliveryLog({ clock, capacity: 3, flushAt: 1 })
      for (let i = 1; i <= 5; i++) {
        log.add([entry({ jobId: i })])
        await log.flush()
      }
      expect((await log.list({ limit: 10 })).map((e) => e.jobId)).toEqual([5, 4, 3])
      log.add([1, 2, 3, 4].map((i) => entry({ jobId: 10 + i })))
      expect((await log.list({ limit: 10 })).map((e) => e.jobId)).toEqual([14, 13, 12])
    })

    test('purge removes rows older than the maximum age', async () => {
      const c = new FakeClock()
      const log = (await backend.open()).deliveryLog({ clock: c, maxAgeMs: 60_000 })
      log.add([entry({ jobId: 1, at: c.now() })])
      c.advance(30_000)
      log.add([entry({ jobId: 2, at: c.now() })])
      c.advance(40_000)
      expect(await log.purge()).toBe(1)
      expect((await log.list({ limit: 10 })).map((e) => e.jobId)).toEqual([2])
    })

    test('purge works through many old rows in chunks', async () => {
      const c = new FakeClock()
      const log = (await backend.open()).deliveryLog({ clock: c, maxAgeMs: 60_000, flushAt: 20_000 })
      log.add(Array.from({ length: 12_000 }, (_, i) => entry({ jobId: i + 1, at: c.now() })))
      c.advance(120_000)
      log.add([entry({ jobId: 99_999, at: c.now() })])
      expect(await log.purge()).toBe(12_000)
      expect((await log.list({ limit: 10 })).map((e) => e.jobId)).toEqual([99_999])
    })

    test('long reasons and names are cut to a bounded size', async () => {
      const log = (await backend.open()).deliveryLog({ clock })
      log.add([
        entry({
          reason: 'r'.repeat(5000),
          type: 'track',
          event: 'e'.repeat(500),
          messageId: 'm'.repeat(300),
        }),
      ])
      const [e] = await log.list({ limit: 1 })
      expect(e?.reason).toHaveLength(2000)
      expect(e?.reason?.endsWith('…')).toBe(true)
      expect(e?.event).toHaveLength(200)
      expect(e?.messageId).toHaveLength(200)
    })

    test('reopening the same database keeps the rows', async () => {
      const db = await backend.open()
      const first = db.deliveryLog({ clock })
      first.add([entry({ jobId: 42, outcome: 'parked', reason: 'ZD_HTTP_401: Unauthorized' })])
      await first.flush()
      const again = (await db.reopen()).deliveryLog({ clock })
      expect(await again.list({ limit: 10 })).toMatchObject([{ jobId: 42, outcome: 'parked' }])
    })

    test('a commit that fails keeps its rows for the next one and tells onError', async () => {
      const db = await backend.open()
      const errors: unknown[] = []
      const log = db.deliveryLog({ clock, flushEveryMs: 5, onError: (err) => errors.push(err) })
      // A row both databases refuse: a job id that is not a number.
      log.add([entry({ jobId: Number.NaN })])
      await eventually(() => Promise.resolve(errors.length > 0))
      await expect(log.flush()).rejects.toThrow()
      expect(await db.committedRows('delivery_log')).toEqual([])
    })
  })
}
