import { describe, expect, test } from 'vitest'

import { FakeClock } from '../lib/clock.js'
import { fairShare, LocalLeases, planRound, preference } from './lease.js'

describe('fairShare', () => {
  test.each([
    [1, 1, 1],
    [1, 3, 1],
    [2, 2, 1],
    [3, 2, 2],
    [4, 3, 2],
    [5, 0, 5],
  ])('%i destinations over %i live nodes: at most %i each', (destinations, nodes, share) => {
    expect(fairShare(destinations, nodes)).toBe(share)
  })
})

describe('preference', () => {
  test('is stable and differs between nodes', () => {
    expect(preference('a', 'zd-1')).toBe(preference('a', 'zd-1'))
    const ranks = (node: string): string[] =>
      ['d1', 'd2', 'd3', 'd4', 'd5', 'd6'].sort((x, y) => preference(node, y) - preference(node, x))
    const orders = new Set(['n1', 'n2', 'n3', 'n4'].map((n) => ranks(n).join()))
    expect(orders.size).toBeGreaterThan(1)
  })
})

describe('planRound', () => {
  const now = 1_000_000
  const ids = ['d1', 'd2', 'd3', 'd4']

  test('a lone node takes every free destination', () => {
    const plan = planRound({ nodeId: 'a', destinationIds: ids, rows: [], liveNodes: 1, now })
    expect([...plan.acquire].sort()).toEqual(ids)
    expect(plan.letExpire).toEqual([])
  })

  test('a node takes no more than its fair share of free destinations', () => {
    const plan = planRound({ nodeId: 'a', destinationIds: ids, rows: [], liveNodes: 3, now })
    expect(plan.acquire).toHaveLength(2)
  })

  test('leases held by another node are left alone until they expire', () => {
    const rows = [
      { destinationId: 'd1', holder: 'b', expiresAt: now + 1 },
      { destinationId: 'd2', holder: 'b', expiresAt: now },
    ]
    const plan = planRound({ nodeId: 'a', destinationIds: ['d1', 'd2'], rows, liveNodes: 2, now })
    expect(plan.acquire).toEqual(['d2'])
  })

  test('a node over its share keeps those it prefers most and lets the rest run out', () => {
    const rows = ids.map((destinationId) => ({ destinationId, holder: 'a', expiresAt: now + 10 }))
    const plan = planRound({ nodeId: 'a', destinationIds: ids, rows, liveNodes: 2, now })
    const ranked = [...ids].sort((x, y) => preference('a', y) - preference('a', x))
    expect(plan.acquire).toEqual(ranked.slice(0, 2))
    expect(plan.letExpire).toEqual(ranked.slice(2))
  })

  test('its own expired lease is free again like any other', () => {
    const rows = [{ destinationId: 'd1', holder: 'a', expiresAt: now - 1 }]
    const plan = planRound({ nodeId: 'a', destinationIds: ['d1'], rows, liveNodes: 1, now })
    expect(plan.acquire).toEqual(['d1'])
  })
})

describe('LocalLeases (one process on the embedded queue)', () => {
  test('holds every configured destination, for good, until stopped', async () => {
    const clock = new FakeClock()
    const leases = new LocalLeases({ nodeId: 'n', destinationIds: ['a', 'b'], clock })
    await leases.start()
    clock.advance(365 * 24 * 60 * 60_000)
    expect(leases.holds('a')).toBe(true)
    expect(leases.holds('c')).toBe(false)
    expect(leases.held()).toEqual([
      { destinationId: 'a', since: Date.parse('2026-11-21T00:00:00Z'), until: null },
      { destinationId: 'b', since: Date.parse('2026-11-21T00:00:00Z'), until: null },
    ])
    expect(leases.exclusiveUntil('a')).toBe(Infinity)
    expect(leases.exclusiveUntil('c')).toBe(-Infinity)
    await leases.stop()
    expect(leases.holds('a')).toBe(false)
  })
})
