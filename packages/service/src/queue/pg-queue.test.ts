import { afterAll, beforeAll, describe, expect, test } from 'vitest'

import { createTestDatabase, type TestDatabase } from '../../test/pg.js'
import { migrate } from '../db/migrate.js'
import { openPgPool, type PgPool } from '../db/pg.js'
import { FakeClock, type Clock } from '../lib/clock.js'
import { openPgQueue } from './pg-queue.js'
import type { Job, NewJob, Queue } from './queue.js'
import { describeQueueContract } from './queue.contract.js'

const WINDOWS = { retentionMs: 7 * 86_400_000, dedupeWindowMs: 86_400_000 }

let db: TestDatabase
const pools: PgPool[] = []
let schemas = 0

beforeAll(async () => {
  db = await createTestDatabase('zdd_test_queue')
})

afterAll(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()))
  await db.drop()
})

/** A pool on a fresh, migrated schema of the file's database (one per test: tests stay independent). */
async function freshSchema(): Promise<string> {
  const schema = `q${++schemas}`
  const admin = openPgPool({ url: db.url, max: 1 })
  await admin.query(`CREATE SCHEMA ${schema}`)
  await admin.end()
  const pool = openPgPool({ url: db.url, schema, max: 1 })
  await migrate(pool)
  await pool.end()
  return schema
}

function poolOn(schema: string): PgPool {
  const pool = openPgPool({ url: db.url, schema, max: 4 })
  pools.push(pool)
  return pool
}

function queueOn(schema: string, clock: Clock) {
  return openPgQueue({ pool: poolOn(schema), clock, ...WINDOWS })
}

function aJob(overrides: Partial<NewJob> = {}): NewJob {
  return { destinationId: 'd1', orderingKey: 'user-1', dedupeKey: null, payload: { n: 1 }, ...overrides }
}

describeQueueContract('postgresql', async (clock, windows) => {
  const pool = openPgPool({ url: db.url, schema: await freshSchema(), max: 2 })
  const queue = openPgQueue({ pool, clock, ...windows })
  // Each test's pool ends with its queue: the server's connections are shared with other runs.
  queue.close = () => pool.end()
  return queue
})

describe('the PostgreSQL queue', () => {
  test('two processes (two pools) claiming one destination at once never claim a job twice, and keep each person in order', async () => {
    const schema = await freshSchema()
    const clock = new FakeClock()
    const keys = 40
    const perKey = 30
    // Enqueued in rounds: person k's n-th event is enqueued after their (n-1)-th was committed.
    const producer = queueOn(schema, clock)
    for (let n = 0; n < perKey; n++) {
      await producer.enqueue(
        Array.from({ length: keys }, (_, k) => aJob({ orderingKey: `p${k}`, payload: { k, n } })),
      )
    }
    const all = await producer.list('d1', 'ready', 10_000)
    expect(all).toHaveLength(keys * perKey)
    const idsByKey = new Map<string, number[]>()
    for (const j of all) {
      idsByKey.set(j.orderingKey, [...(idsByKey.get(j.orderingKey) ?? []), j.id])
    }

    const claimedBy = new Map<number, string>()
    // Marked before `complete` is sent: once a claim can see a job done, it is in here.
    const finishing = new Set<number>()
    const violations: string[] = []
    let seed = 7
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed / 2_147_483_648
    }

    const total = keys * perKey
    const worker = async (name: string, queue: Queue) => {
      // Until every job has been claimed (a claim may come back empty when it lost every race).
      for (let round = 0; finishing.size < total; round++) {
        expect(round).toBeLessThan(10_000)
        const jobs: Job[] = await queue.claim({
          destinationId: 'd1',
          limit: 1 + Math.floor(random() * 60),
          leaseMs: 600_000,
        })
        if (jobs.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, 2))
          continue
        }
        const inClaim = new Set(jobs.map((j) => j.id))
        for (const j of jobs) {
          const other = claimedBy.get(j.id)
          if (other !== undefined) {
            violations.push(`job ${j.id} claimed by ${other} and ${name}`)
          }
          claimedBy.set(j.id, name)
          for (const earlier of idsByKey.get(j.orderingKey)!.filter((id) => id < j.id)) {
            if (!finishing.has(earlier) && !inClaim.has(earlier)) {
              violations.push(`${name} claimed job ${j.id} of ${j.orderingKey} before job ${earlier}`)
            }
          }
        }
        // Complete in two parts, a little apart, as a worker settling bulk results would.
        const half = Math.floor(jobs.length / 2)
        for (const part of [jobs.slice(0, half), jobs.slice(half)]) {
          for (const j of part) {
            finishing.add(j.id)
          }
          await queue.complete(part.map((j) => j.id))
          await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 3)))
        }
      }
    }
    const a = queueOn(schema, clock)
    const b = queueOn(schema, clock)
    const c = queueOn(schema, clock)
    await Promise.all([worker('a', a), worker('b', b), worker('c', c)])

    expect(violations).toEqual([])
    expect(claimedBy.size).toBe(keys * perKey)
    expect(new Set(claimedBy.values()).size).toBeGreaterThan(1)
    expect(await producer.counts('d1')).toEqual({
      ready: 0,
      leased: 0,
      done: keys * perKey,
      dead: 0,
      parked: 0,
    })
    expect(await producer.backlog()).toBe(0)
  })

  test('the same messageIds enqueued at once through two pools are inserted once', async () => {
    const schema = await freshSchema()
    const clock = new FakeClock()
    const a = queueOn(schema, clock)
    const b = queueOn(schema, clock)
    const batch = (reverse: boolean) => {
      const jobs = Array.from({ length: 500 }, (_, i) => aJob({ orderingKey: `u${i}`, dedupeKey: `m-${i}` }))
      return reverse ? jobs.reverse() : jobs
    }
    const results = await Promise.all([
      a.enqueue(batch(false)),
      b.enqueue(batch(true)),
      a.enqueue(batch(true)),
      b.enqueue(batch(false)),
    ])
    expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(500)
    expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(1500)
    expect(await a.backlog()).toBe(500)
    expect((await b.counts('d1')).ready).toBe(500)
  })

  test('keeps payloads exactly, NUL characters and large numbers included, and is visible to another pool at once', async () => {
    const schema = await freshSchema()
    const clock = new FakeClock()
    const a = queueOn(schema, clock)
    const b = queueOn(schema, clock)
    const payload = {
      text: 'nul \u0000 here',
      big: Number.MAX_SAFE_INTEGER,
      tiny: 1e-300,
      nested: { list: [1, 'two', null] },
    }
    await a.enqueue([aJob({ payload })])
    const [job] = await b.claim({ destinationId: 'd1', limit: 10, leaseMs: 30_000 })
    expect(job?.payload).toEqual(payload)
  })

  test('enqueues and claims quickly with 100,000 jobs queued (prints the measured rates)', async () => {
    const schema = await freshSchema()
    const clock = new FakeClock()
    const queue = queueOn(schema, clock)
    const payload = {
      type: 'identify',
      userId: 'user-000000',
      traits: { email: 'ada.lovelace@example.com', name: 'Ada Lovelace', plan: 'enterprise', logins: 42 },
      context: { library: { name: '@segment/analytics-node', version: '3.1.0' } },
      timestamp: '2026-11-21T04:26:32.553Z',
    }
    const total = 100_000
    const batch = 1_000
    const started = performance.now()
    for (let b = 0; b < total / batch; b++) {
      clock.advance(1)
      await queue.enqueue(
        Array.from({ length: batch }, (_, i) =>
          aJob({ orderingKey: `user-${(b * batch + i) % 10_000}`, dedupeKey: crypto.randomUUID(), payload }),
        ),
      )
    }
    const enqueueRate = Math.round((total / (performance.now() - started)) * 1000)
    expect(await queue.backlog()).toBe(total)

    const claimMs: number[] = []
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now()
      const jobs = await queue.claim({ destinationId: 'd1', limit: 500, leaseMs: 30_000 })
      claimMs.push(performance.now() - t0)
      expect(jobs).toHaveLength(500)
    }
    const t1 = performance.now()
    let settled = 0
    for (let i = 0; i < 20; i++) {
      const jobs = await queue.claim({ destinationId: 'd1', limit: 500, leaseMs: 30_000 })
      await queue.complete(jobs.map((j) => j.id))
      settled += jobs.length
    }
    const cycleRate = Math.round((settled / (performance.now() - t1)) * 1000)
    console.log(
      [
        `PostgreSQL queue: enqueue ${total} jobs in batches of ${batch} (uuid v4 dedupe keys): ${enqueueRate} jobs/s`,
        `claim 500 of ${total} queued (2,500 in flight): ${claimMs.map((ms) => ms.toFixed(1)).join(', ')} ms`,
        `claim 500 + complete: ${cycleRate} jobs/s`,
      ].join('\n  '),
    )
  }, 180_000)
})
