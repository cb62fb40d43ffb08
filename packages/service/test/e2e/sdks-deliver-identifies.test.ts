/**
 * The real SDKs, unchanged, pointed at the service: @segment/analytics-node (plain JSON to
 * /v1/batch, Basic write key and writeKey in the body) and @rudderstack/rudder-sdk-node (gzipped
 * JSON labelled application/x-www-form-urlencoded, no writeKey in the body; no Redis: its
 * persistence queue is used only when configured). Each sends 30 identifies, then, once the service
 * has answered them, a rename of one user; the emulator must end with exactly those users and
 * attributes. The rename waits for those answers because neither SDK keeps the order of its
 * batches: rudder-sdk-node posts a second batch while the first is in flight (two flush() calls
 * both resume after the same pending one), and retries re-send a batch later. The service keeps
 * each person's order as events reach it (a small late batch can overtake a large one), so
 * "sent after" means answered first.
 */
import RudderAnalytics from '@rudderstack/rudder-sdk-node'
import { Analytics as SegmentAnalytics } from '@segment/analytics-node'
import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, WRITE_KEY, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

const USERS = 30
const RENAMED = 7

interface Expected {
  external_id: string
  email: string
  name: string
  phone: string
}

const phoneOf = (i: number) => `+4520000${String(i).padStart(3, '0')}`

/** What Zendesk must hold: USERS users, user RENAMED with the name of the repeat identify. */
function expectedUsers(prefix: string): Expected[] {
  return Array.from({ length: USERS }, (_, i) => ({
    external_id: `${prefix}-${i}`,
    email: `${prefix}-${i}@example.com`,
    name: i === RENAMED ? 'Renamed Person' : `Person ${i}`,
    phone: phoneOf(i),
  })).sort((a, b) => a.external_id.localeCompare(b.external_id))
}

/** The account's users other than the seeded admin, as the fields under test. */
function syncedUsers(state: any): Expected[] {
  return state.users
    .filter((u: any) => u.role !== 'admin')
    .map((u: any) => ({ external_id: u.external_id, email: u.email, name: u.name, phone: u.phone }))
    .sort((a: Expected, b: Expected) => String(a.external_id).localeCompare(String(b.external_id)))
}

/** Waits until the emulator holds the expected users, then asserts it (with a diff if it never did). */
async function expectZendeskToHold(t: TestService, expected: Expected[]): Promise<void> {
  await t
    .waitFor(async () => JSON.stringify(syncedUsers(await t.state())) === JSON.stringify(expected), 20_000)
    .catch(() => undefined)
  expect(syncedUsers(await t.state())).toEqual(expected)
  const rejected: any = await (await fetch(`${t.url}/admin/api/rejected-events`)).json()
  expect(rejected.total).toBe(0)
}

describe('the real SDKs deliver identifies to Zendesk through the service', () => {
  test('@segment/analytics-node: 30 users and a rename arrive exactly as sent', async () => {
    t = await startTestService()
    const analytics = new SegmentAnalytics({
      writeKey: WRITE_KEY,
      host: t.url,
      flushAt: 10,
      flushInterval: 50,
      maxRetries: 3,
    })
    const errors: unknown[] = []
    analytics.on('error', (err) => errors.push(err))
    // Each message's callback runs once its batch has been answered (or has failed).
    const identify = (message: Parameters<typeof analytics.identify>[0]) =>
      new Promise<unknown>((resolve) => analytics.identify(message, (err) => resolve(err)))
    const first = await Promise.all(
      Array.from({ length: USERS }, (_, i) =>
        identify({
          userId: `seg-${i}`,
          traits: { email: `seg-${i}@example.com`, name: `Person ${i}`, phone: phoneOf(i) },
        }),
      ),
    )
    expect(first).toEqual(Array.from({ length: USERS }, () => undefined))
    expect(await identify({ userId: `seg-${RENAMED}`, traits: { name: 'Renamed Person' } })).toBeUndefined()
    await analytics.closeAndFlush({ timeout: 15_000 })
    expect(errors).toEqual([])
    await expectZendeskToHold(t, expectedUsers('seg'))
  })

  test('@rudderstack/rudder-sdk-node (gzip on, its default): 30 users and a rename arrive exactly as sent', async () => {
    t = await startTestService()
    const errors: unknown[] = []
    const analytics = new RudderAnalytics(WRITE_KEY, {
      dataPlaneUrl: t.url,
      flushAt: 10,
      flushInterval: 50,
      retryCount: 3,
      logLevel: 'error',
      errorHandler: (err) => errors.push(err),
    })
    // Each message's callback runs when its batch has been answered (with the error, if any).
    const identify = (message: Parameters<typeof analytics.identify>[0]) =>
      new Promise<unknown>((resolve) => {
        analytics.identify(message, (err?: unknown) => resolve(err))
      })
    /** flush() sends at most flushAt messages: calls it until every message has been answered. */
    const answered = async (delivered: Promise<unknown>[]): Promise<unknown[]> => {
      let settled = false
      const all = Promise.all(delivered).then((results) => {
        settled = true
        return results
      })
      for (let round = 0; !settled && round < 50; round++) {
        await analytics.flush()
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      return all
    }
    const first = Array.from({ length: USERS }, (_, i) =>
      identify({
        userId: `rudder-${i}`,
        traits: {
          email: `rudder-${i}@example.com`,
          first_name: 'Person',
          last_name: String(i),
          phone: phoneOf(i),
        },
      }),
    )
    expect(await answered(first)).toEqual(Array.from({ length: USERS }, () => undefined))
    const rename = identify({
      userId: `rudder-${RENAMED}`,
      traits: { first_name: 'Renamed', last_name: 'Person' },
    })
    expect(await answered([rename])).toEqual([undefined])
    expect(errors).toEqual([])
    await expectZendeskToHold(t, expectedUsers('rudder'))
  })
})
