/**
 * A PostgreSQL outage of ten seconds while events keep coming: ingest answers 503 (so that SDKs
 * send again), never acknowledges what it did not commit, and delivery resumes by itself once the
 * database is back. The service reaches the database through a TCP proxy that the test cuts
 * (every open connection reset, new ones refused) and restores; the server itself, shared with
 * other tests, is left alone.
 */
import { setTimeout as sleep } from 'node:timers/promises'

import { afterAll, beforeAll, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'
import { createTestDatabase, startTcpProxy, type TcpProxy, type TestDatabase } from '../pg.js'

let db: TestDatabase
let proxy: TcpProxy
let t: TestService | undefined

beforeAll(async () => {
  db = await createTestDatabase('zdd_test_e2e_outage')
  proxy = await startTcpProxy(db.url)
})

afterAll(async () => {
  await t?.stop()
  await proxy.close()
  await db.drop()
})

const BATCH = 10

function batchOf(b: number) {
  return Array.from({ length: BATCH }, (_, i) => {
    const n = b * BATCH + i
    return {
      type: 'identify',
      userId: `u${n}`,
      messageId: `m-${n}`,
      traits: { email: `user${n}@example.com`, name: `User ${n}` },
    }
  })
}

describe('a database outage during ingest', () => {
  test('ingest answers 503 while the database is away, loses nothing it acknowledged, and delivery resumes by itself', async () => {
    // Slow Zendesk jobs, so that deliveries are under way when the database goes.
    t = await startTestService({ env: { DATABASE_URL: proxy.url }, emulator: { jobDelayMs: 200 } })
    const service = t
    const statuses = new Map<number, number>()
    const acknowledged: number[] = []
    let sent = 0
    let phase: 'before' | 'outage' | 'after' = 'before'
    const acknowledgedIn = { before: 0, outage: 0, after: 0 }

    // An SDK: one batch at a time, each sent again (same messageIds) until it is acknowledged.
    const sdk = (async () => {
      for (let b = 0; b < 60; b++) {
        for (;;) {
          const r = await service
            .post('/v1/batch', { batch: batchOf(b) })
            .catch(() => ({ status: 0, body: null }))
          sent += 1
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
          if (r.status === 200) {
            expect(r.body).toMatchObject({ success: true, accepted: BATCH })
            acknowledged.push(b)
            acknowledgedIn[phase] += 1
            break
          }
          await sleep(100)
        }
        await sleep(20)
      }
    })()

    await t.waitFor(() => Promise.resolve(acknowledged.length >= 20), 30_000)
    proxy.cut()
    phase = 'outage'
    const outageStarted = Date.now()
    // While the database is away, readiness says so.
    const ready = await t.waitFor(async () => {
      const r = await fetch(`${service.url}/ready`)
      const body: any = await r.json()
      return r.status === 503 ? body : null
    })
    expect(ready).toMatchObject({ status: 'not_ready', database: 'unavailable' })
    await sleep(Math.max(0, 10_000 - (Date.now() - outageStarted)))
    proxy.restore()
    phase = 'after'
    await sdk

    // 503s during the outage, and no other failure: an SDK sends 503s again.
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0)
    expect([...statuses.keys()].sort()).toEqual([200, 503])
    expect(acknowledged).toEqual(Array.from({ length: 60 }, (_, b) => b))
    expect(acknowledgedIn.after).toBeGreaterThan(0)
    expect(sent).toBeGreaterThan(60)

    // Every acknowledged user reaches Zendesk, once.
    const users = await t.waitFor(async () => {
      const s = await service.state()
      const synced = s.users.filter((u: any) => u.external_id !== null)
      return synced.length >= 60 * BATCH ? synced : null
    }, 90_000)
    const ids = users.map((u: any) => u.external_id as string)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.sort()).toEqual(Array.from({ length: 60 * BATCH }, (_, n) => `u${n}`).sort())
    const r = await fetch(`${service.url}/ready`)
    await r.arrayBuffer()
    expect(r.status).toBe(200)
  }, 180_000)
})
