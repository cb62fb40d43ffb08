import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

const USERS = 500
const STORM = 10
const RETRY_AFTER_S = 1
/**
 * Requests the service had already sent when a 429 was answered may arrive just after it: they
 * cannot have known. A request arriving later than this after the 429, and before its
 * Retry-After is over, is one the service sent while it should have been waiting.
 */
const IN_FLIGHT_TOLERANCE_MS = 100

interface LogEntry {
  seq: number
  method: string
  path: string
  status: number
  time: string
  durationMs: number
  fault: string | null
}

async function requestLog(url: string): Promise<LogEntry[]> {
  const body: any = await (await fetch(`${url}/__emulator/requests`)).json()
  return body.requests
}

async function addFaults(url: string, faults: unknown[]): Promise<void> {
  const res = await fetch(`${url}/__emulator/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ faults }),
  })
  expect(res.status).toBe(200)
}

const identify = (i: number) => ({
  type: 'identify',
  userId: `u${i}`,
  traits: { email: `u${i}@example.com`, name: `User ${i}` },
})

describe('Zendesk failing 20% of requests with 500 or 503, and a storm of 429s', () => {
  test('every user is delivered, and no request arrives before the Retry-After of a 429 has passed', async () => {
    // Backoff ceilings of 0.2, 0.4, 0.8 … s instead of 1, 2, 4 … s keep the test short; 429s are
    // still retried at their Retry-After.
    t = await startTestService({ deps: { retryBaseMs: 200 } })
    const emulator = t.emulator.url
    // A first user before the faults: the OAuth token is fetched and cached (the token endpoint
    // is not behind the rate limiter, so its own 429s are not this test's subject).
    await t.post('/v1/identify', identify(-1))
    await t.waitFor(async () => (await t!.state()).users.length === 2)
    await fetch(`${emulator}/__emulator/requests`, { method: 'DELETE' })

    await addFaults(emulator, [
      { kind: 'status', status: 500, share: 0.1 },
      { kind: 'status', status: 503, share: 0.1 },
    ])
    const batches = Array.from({ length: 5 }, (_, b) =>
      Array.from({ length: USERS / 5 }, (_, i) => identify(b * (USERS / 5) + i)),
    )
    for (const [b, batch] of batches.entries()) {
      expect((await t.post('/v1/batch', { batch })).body).toMatchObject({ accepted: batch.length })
      if (b === 1) {
        // The storm starts while users are on their way: the next 10 requests are answered 429.
        await addFaults(emulator, [{ kind: 'status', status: 429, retryAfterS: RETRY_AFTER_S, count: STORM }])
      }
    }

    const users = await t.waitFor(async () => {
      const state = await t!.state()
      return state.users.length === USERS + 2 ? state.users : null
    }, 50_000)
    for (let i = 0; i < USERS; i++) {
      expect(users.find((u: any) => u.external_id === `u${i}`)).toMatchObject({
        email: `u${i}@example.com`,
        name: `User ${i}`,
      })
    }

    const log = await requestLog(emulator)
    const statuses = (s: number) => log.filter((e) => e.status === s).length
    // The faults did happen: the whole storm, and 5xx answers among the rest.
    expect(statuses(429)).toBe(STORM)
    expect(statuses(500) + statuses(503)).toBeGreaterThan(0)

    // Retry-After honoured: after a 429 answered at t, nothing (but requests already in flight)
    // arrives before t + Retry-After.
    const early: string[] = []
    for (const e of log.filter((x) => x.status === 429)) {
      const answeredAt = Date.parse(e.time) + e.durationMs
      for (const next of log) {
        const arrived = Date.parse(next.time)
        if (next.seq === e.seq || arrived < answeredAt || arrived >= answeredAt + RETRY_AFTER_S * 1000) {
          continue
        }
        if (arrived - answeredAt > IN_FLIGHT_TOLERANCE_MS) {
          early.push(
            `#${next.seq} ${next.method} ${next.path} ${arrived - answeredAt} ms after 429 #${e.seq}`,
          )
        }
      }
    }
    expect(early).toEqual([])
  }, 60_000)
})
