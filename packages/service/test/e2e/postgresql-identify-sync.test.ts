/**
 * With DATABASE_URL, the whole path runs on PostgreSQL: identifies in over HTTP, jobs in the
 * PostgreSQL queue, delivery to the emulator, and the delivery log in PostgreSQL; no SQLite file
 * is written.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'

import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'

import { openPgPool } from '../../src/db/pg.js'
import { startTestService, type TestService } from '../harness.js'
import { createTestDatabase, type TestDatabase } from '../pg.js'

let db: TestDatabase
let t: TestService | undefined

beforeAll(async () => {
  db = await createTestDatabase('zdd_test_e2e_sync')
})

afterEach(async () => {
  await t?.stop()
  t = undefined
})

afterAll(async () => {
  await db.drop()
})

describe('an identify sync on PostgreSQL', () => {
  test('500 users sent in batches reach Zendesk once each, with their latest traits', async () => {
    t = await startTestService({ env: { DATABASE_URL: db.url } })
    const users = 500
    for (let b = 0; b < users / 100; b++) {
      const batch = Array.from({ length: 100 }, (_, i) => {
        const n = b * 100 + i
        return {
          type: 'identify',
          userId: `u${n}`,
          messageId: `m-${n}`,
          traits: { email: `user${n}@example.com`, name: `User ${n}` },
        }
      })
      const r = await t.post('/v1/batch', { batch })
      expect(r).toMatchObject({ status: 200, body: { success: true, accepted: 100 } })
    }
    // A later identify of the same person: its traits win.
    await t.post('/v1/identify', { userId: 'u7', messageId: 'm-7-again', traits: { name: 'Seven Renamed' } })

    const state = await t.waitFor(async () => {
      const s = await t!.state()
      const synced = s.users.filter((u: any) => u.external_id !== null)
      return synced.length >= users && s.users.some((u: any) => u.name === 'Seven Renamed') ? s : null
    }, 60_000)
    // The account's own agents (the emulator's seed) have no external id.
    const externalIds = state.users.filter((u: any) => u.external_id !== null).map((u: any) => u.external_id)
    expect(new Set(externalIds).size).toBe(users)
    expect(externalIds.sort()).toEqual(Array.from({ length: users }, (_, n) => `u${n}`).sort())
    expect(state.users.find((u: any) => u.external_id === 'u42')).toMatchObject({
      email: 'user42@example.com',
      name: 'User 42',
    })
    expect(state.users.find((u: any) => u.external_id === 'u7')).toMatchObject({
      email: 'user7@example.com',
      name: 'Seven Renamed',
    })

    // The jobs and the delivery log are in PostgreSQL, and no SQLite file was made.
    const pool = openPgPool({ url: db.url, max: 1 })
    try {
      await t.waitFor(async () => {
        const { rows } = await pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM jobs WHERE state = 'done'`,
        )
        return Number(rows[0]!.n) === users + 1
      })
      // The delivery log commits its rows in the background, a moment after each settlement.
      await t.waitFor(async () => {
        const { rows } = await pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM delivery_log WHERE outcome = 'delivered'`,
        )
        return Number(rows[0]!.n) === users + 1
      })
    } finally {
      await pool.end()
    }
    expect(existsSync(join(t.dataDir, 'zendesk-destination.sqlite'))).toBe(false)
    const log: any = await (await fetch(`${t.url}/admin/api/delivery-log?message_id=m-7-again`)).json()
    expect(log.entries).toMatchObject([{ outcome: 'delivered', type: 'identify' }])
  })
})
