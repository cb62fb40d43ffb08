import { join } from 'node:path'

import { afterEach, describe, expect, test } from 'vitest'

import { systemClock } from '../../src/lib/clock.js'
import { openSqliteQueue, type SqliteQueue } from '../../src/queue/sqlite-queue.js'
import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined
let queue: SqliteQueue | undefined

afterEach(async () => {
  await queue?.close()
  queue = undefined
  await t?.stop()
  t = undefined
})

const USERS = 20

async function configure(url: string, patch: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/__emulator/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(patch),
  })
  expect(res.status).toBe(200)
}

async function requestLog(url: string, path: string): Promise<{ status: number }[]> {
  const body: any = await (await fetch(`${url}/__emulator/requests?path=${path}`)).json()
  return body.requests
}

describe('Zendesk refusing the credentials (401)', () => {
  test("parks the destination's jobs without spending attempts; fixed credentials resume them, nothing lost", async () => {
    // The legacy API token, as after Zendesk retired API tokens: every request is 401.
    t = await startTestService({
      emulator: { apiTokensRetired: true },
      deps: (emulator) => ({
        resolveZendesk: () =>
          Promise.resolve({
            baseUrl: emulator.url,
            sellBaseUrl: emulator.url,
            credentials: { kind: 'api_token', email: 'admin@example.com', token: 'sandbox-api-token' },
            sellToken: null,
          }),
        workerOptions: { batchWindowMs: 20, pollIntervalMs: 20, authProbeMs: 200 },
      }),
    })
    const [destinationId, worker] = [...t.service.workers.entries()][0]!
    // A second connection to the service's queue file, to read job states.
    queue = openSqliteQueue({
      path: join(t.dataDir, 'zendesk-destination.sqlite'),
      clock: systemClock,
      retentionMs: 60_000,
      dedupeWindowMs: 60_000,
    })

    const batch = Array.from({ length: USERS }, (_, i) => ({
      type: 'identify',
      userId: `u${i}`,
      traits: { email: `u${i}@example.com`, name: `User ${i}` },
    }))
    expect((await t.post('/v1/batch', { batch })).body).toMatchObject({ accepted: USERS })

    const counts = await t.waitFor(async () => {
      const c = await queue!.counts(destinationId)
      return c.parked === USERS ? c : null
    })
    expect(counts).toMatchObject({ ready: 0, leased: 0, done: 0, dead: 0, parked: USERS })
    const parked = await queue.list(destinationId, 'parked', 100)
    expect(parked.every((j) => j.attempts === 0 && /401/.test(j.lastError ?? ''))).toBe(true)
    expect(worker.pausedForAuth).toBe(true)

    // While the credentials fail, the worker only probes them: the jobs stay parked, no user appears.
    await t.waitFor(async () => (await requestLog(t!.emulator.url, 'users/me')).length >= 2)
    expect((await requestLog(t.emulator.url, 'users/me')).every((e) => e.status === 401)).toBe(true)
    expect(await queue.counts(destinationId)).toMatchObject({ parked: USERS, done: 0 })
    expect((await t.state()).users).toHaveLength(1)

    // The operator fixes the credentials: the next probe succeeds and every job is delivered.
    await configure(t.emulator.url, { apiTokensRetired: false })
    const users = await t.waitFor(async () => {
      const found = (await t!.state()).users.filter((u: any) => u.role === 'end-user')
      return found.length === USERS ? found : null
    })
    expect(users.map((u: any) => u.name).sort()).toEqual(batch.map((e) => e.traits.name).sort())
    expect(worker.pausedForAuth).toBe(false)
    await t.waitFor(async () => (await queue!.counts(destinationId)).done === USERS)
    expect(await queue.counts(destinationId)).toMatchObject({ ready: 0, leased: 0, parked: 0, dead: 0 })
    // Attempts count failed tries: the parked round spent none.
    const done = await queue.list(destinationId, 'done', 100)
    expect(done.map((j) => j.attempts)).toEqual(Array.from({ length: USERS }, () => 0))
  })
})
