import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, test } from 'vitest'

import { FakeClock } from '../lib/clock.js'
import { openDeliveryLog, type DeliveryLogOptions, type NewDeliveryLogEntry } from './delivery-log.js'

const dir = mkdtempSync(join(tmpdir(), 'zdd-delivery-log-'))
let files = 0
const open: Database.Database[] = []

function database(path = join(dir, `log-${++files}.sqlite`)): Database.Database {
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  open.push(db)
  return db
}

afterEach(() => {
  for (const db of open.splice(0)) {
    db.close()
  }
})

afterAll(() => rmSync(dir, { recursive: true, force: true }))

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

function logOn(db: Database.Database, opts: Partial<DeliveryLogOptions> = {}) {
  return openDeliveryLog(db, { clock, ...opts })
}

describe('the delivery log', () => {
  test('keeps each settlement with its reason, newest first, and filters by destination, job, message and outcome', () => {
    const log = logOn(database())
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

    const all = log.list({ limit: 100 })
    expect(all.map((e) => e.jobId)).toEqual([4, 3, 3, 2, 1])
    expect(all[3]).toEqual({
      id: expect.any(Number),
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
    expect(log.list({ limit: 100, jobId: 3 }).map((e) => [e.outcome, e.attempt])).toEqual([
      ['delivered', 2],
      ['retry', 1],
    ])
    expect(log.list({ limit: 100, messageId: 'm-2' }).map((e) => e.jobId)).toEqual([2])
    expect(log.list({ limit: 100, destinationId: 'other' }).map((e) => e.jobId)).toEqual([4])
    expect(log.list({ limit: 100, outcome: 'delivered' }).map((e) => e.jobId)).toEqual([3, 1])
    expect(log.list({ limit: 2 })).toHaveLength(2)
    expect(log.count()).toBe(5)
  })

  test('rows written together are committed together, and a read sees rows not yet committed', () => {
    const path = join(dir, `log-${++files}.sqlite`)
    const log = logOn(database(path), { flushEveryMs: 60_000, flushAt: 3 })
    const reader = database(path)
    const committed = () =>
      (reader.prepare('SELECT COUNT(*) AS n FROM delivery_log').get() as { n: number }).n
    log.add([entry({ jobId: 1 }), entry({ jobId: 2 })])
    expect(committed()).toBe(0)
    log.add([entry({ jobId: 3 })])
    expect(committed()).toBe(3)
    log.add([entry({ jobId: 4 })])
    expect(log.list({ limit: 10 }).map((e) => e.jobId)).toEqual([4, 3, 2, 1])
    expect(committed()).toBe(4)
    log.add([entry({ jobId: 5 })])
    log.flush()
    expect(committed()).toBe(5)
  })

  test('is bounded: beyond its capacity the oldest rows go', () => {
    const log = logOn(database(), { capacity: 3, flushAt: 1 })
    for (let i = 1; i <= 5; i++) {
      log.add([entry({ jobId: i })])
    }
    expect(log.list({ limit: 10 }).map((e) => e.jobId)).toEqual([5, 4, 3])
    log.add([1, 2, 3, 4].map((i) => entry({ jobId: 10 + i })))
    expect(log.list({ limit: 10 }).map((e) => e.jobId)).toEqual([14, 13, 12])
  })

  test('purge removes rows older than the maximum age', async () => {
    const c = new FakeClock()
    const log = openDeliveryLog(database(), { clock: c, maxAgeMs: 60_000 })
    log.add([entry({ jobId: 1, at: c.now() })])
    c.advance(30_000)
    log.add([entry({ jobId: 2, at: c.now() })])
    c.advance(40_000)
    expect(await log.purge()).toBe(1)
    expect(log.list({ limit: 10 }).map((e) => e.jobId)).toEqual([2])
  })

  test('purge works through many old rows in chunks', async () => {
    const c = new FakeClock()
    const log = openDeliveryLog(database(), { clock: c, maxAgeMs: 60_000, flushAt: 20_000 })
    log.add(Array.from({ length: 12_000 }, (_, i) => entry({ jobId: i + 1, at: c.now() })))
    c.advance(120_000)
    log.add([entry({ jobId: 99_999, at: c.now() })])
    expect(await log.purge()).toBe(12_000)
    expect(log.list({ limit: 10 }).map((e) => e.jobId)).toEqual([99_999])
  })

  test('long reasons and names are cut to a bounded size', () => {
    const log = logOn(database())
    log.add([entry({ reason: 'r'.repeat(5000), type: 'track', event: 'e'.repeat(500) })])
    const [e] = log.list({ limit: 1 })
    expect(e?.reason).toHaveLength(2000)
    expect(e?.reason?.endsWith('…')).toBe(true)
    expect(e?.event).toHaveLength(200)
  })

  test('reopening the same database keeps the rows', () => {
    const path = join(dir, `log-${++files}.sqlite`)
    const first = logOn(database(path))
    first.add([entry({ jobId: 42, outcome: 'parked', reason: 'ZD_HTTP_401: Unauthorized' })])
    first.flush()
    const again = logOn(database(path))
    expect(again.list({ limit: 10 })).toMatchObject([{ jobId: 42, outcome: 'parked' }])
  })
})
