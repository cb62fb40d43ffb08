/**
 * The activation store's contract (activations.ts), as one vitest suite that every backend runs:
 * `describeActivationStoreContract(backend)` with a backend of test/store-backends.ts.
 */
import { afterAll, describe, expect, test } from 'vitest'

import type { StoreBackend } from '../../test/store-backends.js'
import { MAX_REASONS, type ActivationEntry } from './activations.js'

function entry(over: Partial<ActivationEntry>): ActivationEntry {
  return {
    destinationId: 'd',
    activationId: 'a',
    audienceId: 's1',
    received: true,
    outcome: 'activated',
    status: 'realized',
    reason: null,
    member: null,
    at: Date.UTC(2026, 10, 21),
    ...over,
  }
}

const member = (key: string) => ({
  personKey: key,
  userId: null,
  email: `${key}@x.co`,
  attributes: { n: key },
})

export function describeActivationStoreContract(backend: StoreBackend): void {
  describe(`the activation store (${backend.name})`, () => {
    afterAll(() => backend.cleanup())

    test('counts per audience: received, activated by status, excluded by reason, failed with the last error', async () => {
      const store = (await backend.open()).activations()
      await store.record([
        entry({ member: member('ann') }),
        entry({ status: 'existing', member: member('bo') }),
        entry({ status: 'exited', member: member('ann') }),
        entry({ outcome: 'excluded', reason: 'last_name: missing' }),
        entry({ outcome: 'excluded', reason: 'last_name: missing' }),
        entry({ outcome: 'failed', reason: 'ZD_HTTP_422: first' }),
        entry({ outcome: 'failed', reason: 'ZD_HTTP_500: last', at: Date.UTC(2026, 10, 22) }),
        // A park: no count, but its error is the last one until something newer fails.
        entry({ received: false, outcome: null, reason: 'ZD_AUTH: parked', audienceId: 's2' }),
        entry({ destinationId: 'other' }),
      ])
      const [s1, s2] = await store.summary('d')
      expect(s1).toEqual({
        activationId: 'a',
        audienceId: 's1',
        received: 7,
        activated: 3,
        excluded: 2,
        failed: 2,
        statuses: { realized: 1, existing: 1, exited: 1 },
        excludedReasons: [{ reason: 'last_name: missing', count: 2 }],
        lastError: { message: 'ZD_HTTP_500: last', time: '2026-11-22T00:00:00.000Z' },
        members: 1,
        updatedAt: '2026-11-22T00:00:00.000Z',
      })
      expect(s2).toMatchObject({ received: 0, failed: 0, lastError: { message: 'ZD_AUTH: parked' } })
    })

    test('distinct exclusion reasons are bounded', async () => {
      const store = (await backend.open()).activations()
      await store.record(
        Array.from({ length: MAX_REASONS + 5 }, (_, i) =>
          entry({ outcome: 'excluded', reason: `reason ${i}` }),
        ),
      )
      const [s] = await store.summary('d')
      expect(s?.excludedReasons).toHaveLength(MAX_REASONS + 1)
      expect(s?.excludedReasons[0]).toEqual({ reason: 'other reasons', count: 5 })
    })

    test('a snapshot finds the members it did not mark, per destination', async () => {
      const store = (await backend.open()).activations()
      await store.record([
        entry({ member: member('ann') }),
        entry({ member: member('bo') }),
        entry({ member: member('cy') }),
        entry({ destinationId: 'other', member: member('dee') }),
      ])
      await store.markSeen('snap', 's1', ['ann', 'cy', 'zed'])
      expect((await store.unseenMembers('d', 's1', 'snap')).map((m) => m.personKey)).toEqual(['bo'])
      expect(await store.unseenMembers('d', 's1', 'snap')).toEqual([member('bo')])
      expect((await store.unseenMembers('other', 's1', 'snap')).map((m) => m.personKey)).toEqual(['dee'])
      await store.endSnapshot('snap')
      expect(await store.unseenMembers('d', 's1', 'snap')).toHaveLength(3)
    })

    test('several nodes share the data: counts add up and a snapshot sees members another node delivered', async () => {
      const one = await backend.open()
      const two = await one.reopen()
      await one
        .activations()
        .record([entry({ member: member('ann') }), entry({ outcome: 'excluded', reason: 'x' })])
      await two
        .activations()
        .record([entry({ member: member('bo') }), entry({ outcome: 'excluded', reason: 'x' })])
      const [s] = await one.activations().summary('d')
      expect(s).toMatchObject({
        received: 4,
        activated: 2,
        excluded: 2,
        members: 2,
        excludedReasons: [{ reason: 'x', count: 2 }],
      })
      await two.activations().markSeen('snap', 's1', ['bo'])
      expect(await one.activations().unseenMembers('d', 's1', 'snap')).toEqual([member('ann')])
      await one.activations().endSnapshot('snap')
      expect(await two.activations().unseenMembers('d', 's1', 'snap')).toHaveLength(2)
    })

    test('people accepted but not delivered are members for a mirror, not in the count, until their job settles', async () => {
      const store = (await backend.open()).activations()
      const at = Date.UTC(2026, 10, 21)
      await store.record([entry({ member: member('ann'), status: 'existing' })])
      const accepted = (key: string) => ({ destinationId: 'd', audienceId: 's1', member: member(key), at })
      // Ann is a member already (left as she is); Bo, Cy and Dee are pending.
      await store.acceptMembers([
        accepted('ann'),
        accepted('bo'),
        accepted('cy'),
        accepted('dee'),
        accepted('dee'),
      ])
      expect((await store.unseenMembers('d', 's1', 'snap')).map((m) => m.personKey)).toEqual([
        'ann',
        'bo',
        'cy',
        'dee',
      ])
      expect((await store.summary('d'))[0]?.members).toBe(1)
      await store.record([
        // Bo delivered: a member; Cy excluded and Dee failed: no longer pending.
        entry({ member: member('bo') }),
        entry({ outcome: 'excluded', reason: 'x', member: member('cy') }),
        entry({ outcome: 'failed', reason: 'y', member: member('dee') }),
        // An exclusion does not remove a delivered member.
        entry({ outcome: 'excluded', reason: 'x', member: member('ann') }),
      ])
      expect((await store.unseenMembers('d', 's1', 'snap')).map((m) => m.personKey)).toEqual(['ann', 'bo'])
      expect((await store.summary('d'))[0]?.members).toBe(2)
    })

    test('a settlement that adds then removes a member, and attributes of any JSON shape, round-trip', async () => {
      const store = (await backend.open()).activations()
      const odd = {
        personKey: 'ö-1',
        userId: 'u1',
        email: null,
        attributes: { nested: { a: [1, 'two', null] }, t: true },
      }
      await store.record([
        entry({ member: odd }),
        entry({ status: 'exited', member: member('gone') }),
        entry({ member: member('gone'), at: Date.UTC(2026, 10, 20) }),
        entry({ status: 'exited', member: member('gone') }),
      ])
      expect(await store.unseenMembers('d', 's1', 'none')).toEqual([odd])
      expect((await store.summary('d'))[0]).toMatchObject({
        members: 1,
        statuses: { realized: 2, existing: 0, exited: 2 },
      })
    })
  })
}
