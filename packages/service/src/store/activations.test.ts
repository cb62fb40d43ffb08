import Database from 'better-sqlite3'
import { describe, expect, test } from 'vitest'

import { MAX_REASONS, openSqliteActivationStore, type ActivationEntry } from './activations.js'

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

describe('the activation store', () => {
  test('counts per audience: received, activated by status, excluded by reason, failed with the last error', async () => {
    const store = openSqliteActivationStore(new Database(':memory:'))
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
    const store = openSqliteActivationStore(new Database(':memory:'))
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
    const store = openSqliteActivationStore(new Database(':memory:'))
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
})
