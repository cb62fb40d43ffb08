/**
 * The PostgreSQL delivery leases against a real server (a database of their own), several nodes
 * in one process on one fake clock: rounds are run by hand, so every step is explicit.
 */
import pg from 'pg'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'

import { createTestDatabase, type TestDatabase } from '../../test/pg.js'
import { FakeClock } from '../lib/clock.js'
import { fairShare } from './lease.js'
import { migrate } from '../db/migrate.js'
import { PgDeliveryLeases } from './pg-leases.js'

/** A multiple of 3, so that rounds every ttl / 3 fall on whole milliseconds. */
const TTL = 9_000
const ROUND = TTL / 3
const quiet = { info: () => {}, warn: () => {} }

let db: TestDatabase
let pool: pg.Pool
let clock: FakeClock
let nodes: PgDeliveryLeases[] = []

beforeAll(async () => {
  db = await createTestDatabase()
  pool = new pg.Pool({ connectionString: db.url, max: 20 })
  // A connection still closing when the database is dropped (FORCE) reports an error: not a failure.
  pool.on('error', () => {})
  await migrate(pool)
})

afterAll(async () => {
  await pool.end()
  await db.drop()
})

beforeEach(async () => {
  clock = new FakeClock()
  await pool.query('TRUNCATE delivery_leases, cluster_nodes')
})

afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop()))
  nodes = []
})

function node(nodeId: string, destinationIds: string[] = ['zd']): PgDeliveryLeases {
  const n = new PgDeliveryLeases({
    db: pool,
    nodeId,
    destinationIds,
    ttlMs: TTL,
    clock,
    // Rounds are run by hand; the background loop never wakes up before stop().
    sleep: (_ms, signal) =>
      new Promise((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true })),
    log: quiet,
  })
  nodes.push(n)
  return n
}

/** Runs `steps` rounds of every node, `ROUND` apart, as their background loops would. */
async function rounds(group: PgDeliveryLeases[], steps: number): Promise<void> {
  for (let i = 0; i < steps; i++) {
    await Promise.all(group.map((n) => n.round()))
    clock.advance(ROUND)
  }
}

async function holderOf(destinationId: string): Promise<{ holder: string; expiresAt: number } | null> {
  const { rows } = await pool.query<{ holder: string; expires_at: string }>(
    'SELECT holder, expires_at FROM delivery_leases WHERE destination_id = $1',
    [destinationId],
  )
  const r = rows[0]
  return r ? { holder: r.holder, expiresAt: Number(r.expires_at) } : null
}

describe('one destination, several nodes', () => {
  test('a node acquires a free lease, and its view ends when the database row does', async () => {
    const a = node('a')
    expect(a.holds('zd')).toBe(false)
    await a.round()
    expect(a.holds('zd')).toBe(true)
    const [held] = a.held()
    expect(held).toEqual({ destinationId: 'zd', since: clock.now(), until: clock.now() + TTL })
    expect(await holderOf('zd')).toEqual({ holder: 'a', expiresAt: clock.now() + TTL })
  })

  test('renewals keep the lease; without them it runs out after the ttl', async () => {
    const a = node('a')
    await a.round()
    const since = clock.now()
    for (let i = 0; i < 5; i++) {
      clock.advance(ROUND)
      await a.round()
    }
    clock.advance(TTL - 1)
    expect(a.holds('zd')).toBe(true)
    expect(a.held()[0]?.since).toBe(since)
    clock.advance(1)
    expect(a.holds('zd')).toBe(false)
    expect(a.held()).toEqual([])
  })

  test('another node cannot take a live lease, and takes it once it has expired', async () => {
    const a = node('a')
    const b = node('b')
    await a.round()
    await b.round()
    expect(b.holds('zd')).toBe(false)
    clock.advance(TTL - 1)
    await b.round()
    expect(b.holds('zd')).toBe(false)
    expect(a.holds('zd')).toBe(true)

    // a dies (no more rounds): at the ttl its lease is free, and b's next round takes it.
    clock.advance(1)
    expect(a.holds('zd')).toBe(false)
    await b.round()
    expect(b.holds('zd')).toBe(true)
    expect(await holderOf('zd')).toMatchObject({ holder: 'b' })

    // a comes back: b holds it now, so a does not get it back.
    await a.round()
    expect(a.holds('zd')).toBe(false)
    expect(b.holds('zd')).toBe(true)
  })

  test('nodes racing for one lease: exactly one holds it, at start and at each expiry', async () => {
    const racers = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => node(id))
    for (let expiry = 0; expiry < 5; expiry++) {
      await Promise.all(racers.map((n) => n.round()))
      const holders = racers.filter((n) => n.holds('zd'))
      expect(holders).toHaveLength(1)
      expect(await holderOf('zd')).toMatchObject({ holder: holders[0]?.nodeId })
      // The holder dies: it runs no more rounds.
      racers.splice(racers.indexOf(holders[0]!), 1)
      clock.advance(TTL)
    }
  })

  test('exclusiveUntil: the expiry of its last renewal (less a tenth of the ttl), kept after the lease is lost', async () => {
    const a = node('a')
    expect(a.exclusiveUntil('zd')).toBe(-Infinity)
    await a.round()
    const renewedAt = clock.now()
    expect(a.exclusiveUntil('zd')).toBe(renewedAt + TTL - TTL / 10)
    clock.advance(TTL)
    expect(a.holds('zd')).toBe(false)
    expect(a.exclusiveUntil('zd')).toBe(renewedAt + TTL - TTL / 10)
    const b = node('b')
    await b.round()
    expect(b.exclusiveUntil('zd')).toBe(clock.now() + TTL - TTL / 10)
    await b.stop()
    expect(b.exclusiveUntil('zd')).toBe(-Infinity)
  })

  test('stop() gives the lease up: another node takes it at its next round, without waiting', async () => {
    const a = node('a')
    const b = node('b')
    const changes: unknown[] = []
    a.onChange((c) => changes.push(c))
    await a.round()
    await a.stop()
    expect(a.holds('zd')).toBe(false)
    await b.round()
    expect(b.holds('zd')).toBe(true)
    expect(changes).toEqual([
      { gained: ['zd'], lost: [] },
      { gained: [], lost: ['zd'] },
    ])
  })

  test('rounds that fail (database down) keep nothing: the lease runs out at its expiry', async () => {
    let down = false
    const a = new PgDeliveryLeases({
      db: {
        query: ((text: string, values: unknown[]) =>
          down
            ? Promise.reject(new Error('connection refused'))
            : pool.query(text, values)) as pg.Pool['query'],
      },
      nodeId: 'a',
      destinationIds: ['zd'],
      ttlMs: TTL,
      clock,
      sleep: () => Promise.resolve(),
      log: quiet,
    })
    nodes.push(a)
    await a.round()
    const until = clock.now() + TTL
    down = true
    for (let t = ROUND; t < TTL; t += ROUND) {
      clock.advance(ROUND)
      await a.round()
      expect(a.holds('zd')).toBe(true)
    }
    clock.advance(until - clock.now())
    expect(a.holds('zd')).toBe(false)
    down = false
    const b = node('b')
    await b.round()
    expect(b.holds('zd')).toBe(true)
  })
})

describe('several destinations spread over the nodes', () => {
  const destinations = ['d1', 'd2', 'd3', 'd4', 'd5']
  const heldBy = (n: PgDeliveryLeases): string[] => n.held().map((l) => l.destinationId)

  test('a lone node holds them all; a node that joins gets its fair share within a ttl', async () => {
    const a = node('a', destinations)
    await rounds([a], 1)
    expect(heldBy(a)).toHaveLength(5)

    const b = node('b', destinations)
    const bChanges: { gained: string[]; lost: string[] }[] = []
    b.onChange((c) => bChanges.push(c))
    // b's first round makes it live, but every lease is a's; a's next round sees two live nodes,
    // keeps ceil(5 / 2) = 3 and lets the 2 it prefers least run out. (One after the other: run
    // together, a's round may count the live nodes before b's has registered.)
    await b.round()
    await a.round()
    clock.advance(ROUND)
    expect(heldBy(b)).toEqual([])
    expect(heldBy(a)).toHaveLength(fairShare(5, 2))
    // b takes them once they have expired: a ttl after a's last renewal of them (its first round).
    await rounds([a, b], 1)
    expect(heldBy(b)).toEqual([])
    await rounds([a, b], 1)
    expect(heldBy(a)).toHaveLength(3)
    expect(heldBy(b)).toHaveLength(2)
    expect([...heldBy(a), ...heldBy(b)].sort()).toEqual(destinations)
    expect(bChanges).toEqual([{ gained: heldBy(b), lost: [] }])
    // And it stays that way.
    await rounds([a, b], 10)
    expect(heldBy(a)).toHaveLength(3)
    expect(heldBy(b)).toHaveLength(2)
  })

  test('nodes that start together share the destinations without overlap', async () => {
    const group = ['n1', 'n2', 'n3'].map((id) => node(id, destinations))
    await rounds(group, 12)
    const counts = group.map((n) => heldBy(n).length)
    expect(counts.every((c) => c <= fairShare(5, 3))).toBe(true)
    const all = group.flatMap(heldBy)
    expect(all).toHaveLength(5)
    expect(new Set(all).size).toBe(5)
  })

  test('when a node dies, the others take its destinations within ttl + one round', async () => {
    const group = ['a', 'b', 'c'].map((id) => node(id, destinations))
    await rounds(group, 12)
    const dead = group.find((n) => heldBy(n).length > 0)!
    const alive = group.filter((n) => n !== dead)
    // The dead node's last renewal was one round ago: its leases expire ttl after it.
    let waited = ROUND
    while (alive.flatMap(heldBy).length < 5) {
      await rounds(alive, 1)
      waited += ROUND
      expect(waited).toBeLessThanOrEqual(TTL + 2 * ROUND)
    }
    const all = alive.flatMap(heldBy)
    expect(new Set(all).size).toBe(5)
    expect(Math.max(...alive.map((n) => heldBy(n).length))).toBe(fairShare(5, 2))
  })
})
