/**
 * The rejected-event store's contract (rejected-events.ts), as one vitest suite that every
 * backend runs: `describeRejectedEventsContract(backend)` with a backend of test/store-backends.ts.
 */
import { afterAll, describe, expect, test } from 'vitest'

import type { StoreBackend } from '../../test/store-backends.js'
import type { RejectedEvent } from './rejected-events.js'

function rejected(over: Partial<Omit<RejectedEvent, 'id'>> = {}): Omit<RejectedEvent, 'id'> {
  return {
    sourceId: 'default',
    receivedAt: '2026-11-21T08:00:00.000Z',
    index: 0,
    reasons: [{ path: 'userId', message: 'userId or anonymousId is required' }],
    event: '{"type":"identify"}',
    ...over,
  }
}

export function describeRejectedEventsContract(backend: StoreBackend): void {
  describe(`the rejected-event store (${backend.name})`, () => {
    afterAll(() => backend.cleanup())

    test('keeps rejected events with their reasons, newest first, and counts them', async () => {
      const store = (await backend.open()).rejectedEvents()
      expect(await store.list(10)).toEqual([])
      expect(await store.count()).toBe(0)
      await store.add([
        rejected({ index: 0 }),
        rejected({
          index: 3,
          sourceId: 'web',
          reasons: [
            { path: 'event', message: 'required for track' },
            { path: 'traits.email', message: 'must be a string' },
          ],
          event: '{"type":"track","traits":{"email":1}}',
        }),
      ])
      await store.add([rejected({ index: 1, receivedAt: '2026-11-21T08:00:01.000Z' })])
      await store.add([])

      const list = await store.list(10)
      expect(list.map((e) => e.index)).toEqual([1, 3, 0])
      expect(list[1]).toEqual({
        id: expect.any(Number) as unknown,
        sourceId: 'web',
        receivedAt: '2026-11-21T08:00:00.000Z',
        index: 3,
        reasons: [
          { path: 'event', message: 'required for track' },
          { path: 'traits.email', message: 'must be a string' },
        ],
        event: '{"type":"track","traits":{"email":1}}',
      })
      expect(await store.list(2)).toHaveLength(2)
      expect(await store.count()).toBe(3)
    })

    test('is bounded: beyond its capacity the oldest go, even within one request', async () => {
      const store = (await backend.open()).rejectedEvents(5)
      await store.add([1, 2, 3].map((index) => rejected({ index })))
      await store.add([4, 5, 6, 7].map((index) => rejected({ index })))
      expect((await store.list(10)).map((e) => e.index)).toEqual([7, 6, 5, 4, 3])
      await store.add(Array.from({ length: 8 }, (_, i) => rejected({ index: 100 + i })))
      expect((await store.list(10)).map((e) => e.index)).toEqual([107, 106, 105, 104, 103])
      expect(await store.count()).toBe(5)
    })

    test('cuts the event as received to 4 KB', async () => {
      const store = (await backend.open()).rejectedEvents()
      await store.add([rejected({ event: 'x'.repeat(10_000) })])
      const [e] = await store.list(1)
      expect(e?.event).toHaveLength(4096)
    })

    test('reopening the same database keeps the events', async () => {
      const db = await backend.open()
      await db.rejectedEvents().add([rejected({ index: 9 })])
      expect(await (await db.reopen()).rejectedEvents().list(10)).toMatchObject([{ index: 9 }])
    })
  })
}
