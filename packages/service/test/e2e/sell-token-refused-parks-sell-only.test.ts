import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, WRITE_KEY, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

/** One destination with Support subscriptions (the defaults) and a Sell activation. */
const config = `
sources:
  - { id: aep, writeKey: ${WRITE_KEY}, destinations: [crm] }
destinations:
  - id: crm
    zendesk: { sandbox: true }
    activations:
      - id: aep-contacts
        target: sell-contacts
        audiences:
          - { id: seg-vip, mappingId: aud_vip }
`

const PROBE_MS = 150

async function emulator(t: TestService, path: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(`${t.emulator.url}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...init.headers },
  })
  expect(res.status).toBeLessThan(300)
  return res.status === 204 ? null : res.json()
}

const requests = async (t: TestService, path: string): Promise<{ status: number }[]> =>
  (await emulator(t, `/__emulator/requests?path=${encodeURIComponent(path)}`)).requests

const configure = (t: TestService, patch: Record<string, unknown>) =>
  emulator(t, '/__emulator/config', { method: 'PUT', body: JSON.stringify(patch) })

async function jobs(t: TestService, state: string): Promise<any[]> {
  const r = await fetch(`${t.url}/admin/api/destinations/crm/jobs?state=${state}`)
  return ((await r.json()) as { jobs: any[] }).jobs
}

const profile = (email: string) => ({
  identityMap: { Email: [{ id: email }] },
  person: { name: { firstName: 'Ann', lastName: 'Lee' } },
  segmentMembership: { ups: { 'seg-vip': { status: 'realized' } } },
})

const identify = (i: number) => ({
  type: 'identify',
  userId: `u${i}`,
  traits: { email: `u${i}@example.com`, name: `User ${i}` },
})

const endUsers = async (t: TestService): Promise<any[]> =>
  (await t.state()).users.filter((u: any) => u.role === 'end-user')

/** The destination's entry in `/ready`. */
const readiness = async (t: TestService): Promise<unknown> =>
  ((await (await fetch(`${t.url}/ready`)).json()) as { destinations: { id: string }[] }).destinations.find(
    (d) => d.id === 'crm',
  )

describe('Zendesk Sell refusing the Sell token (401)', () => {
  test('parks the Sell jobs and probes only Sell (no loop); Support deliveries go on; a working token resumes them, nothing lost', async () => {
    t = await startTestService({
      configYaml: config,
      deps: { workerOptions: { batchWindowMs: 20, pollIntervalMs: 20, authProbeMs: PROBE_MS } },
    })
    const worker = t.service.workers.get('crm')!
    await emulator(t, '/v2/contact/custom_fields', {
      method: 'POST',
      headers: { authorization: `Bearer ${t.emulator.seed.sellToken}`, 'user-agent': 'test' },
      body: JSON.stringify({ data: { name: 'aud_vip', type: 'string' } }),
    })
    // The operator revoked the token the service was given; Support's credentials are fine.
    await configure(t, { sellTokenRevoked: true })

    const emails = ['a@example.com', 'b@example.com', 'c@example.com']
    expect((await t.post('/v1/audiences', emails.map(profile))).status).toBe(200)
    expect((await t.post('/v1/batch', { batch: [identify(1), identify(2)] })).body).toMatchObject({
      accepted: 2,
    })
    const parked = await t.waitFor(async () => {
      const p = await jobs(t!, 'parked')
      return p.length === 3 ? p : null
    })
    expect(parked.every((j) => j.attempts === 0 && /ZD_HTTP_401/.test(j.lastError ?? ''))).toBe(true)
    expect(worker.pausedForSellAuth).toBe(true)
    expect(worker.pausedForAuth).toBe(false)
    await t.waitFor(async () => (await endUsers(t!)).length === 2)

    // A few probe periods: only the Sell token is probed, once a period; no contact upsert is tried
    // again (before, a Support probe succeeded, unparked the jobs and Sell refused them again).
    const upserts = (await requests(t, 'contacts/upsert')).length
    expect(upserts).toBeGreaterThanOrEqual(1)
    expect(upserts).toBeLessThanOrEqual(3)
    await t.waitFor(async () => (await requests(t!, 'users/self')).length >= 4)
    // Meanwhile Support deliveries of the same destination go on, and a new Sell job parks at once.
    await t.post('/v1/batch', { batch: [identify(3)] })
    await t.post('/v1/audiences', [profile('d@example.com')])
    await t.waitFor(async () => (await endUsers(t!)).length === 3 && (await jobs(t!, 'parked')).length === 4)
    const probesBefore = (await requests(t, 'users/self')).length
    await t.waitFor(async () => (await requests(t!, 'users/self')).length >= probesBefore + 2)
    expect((await requests(t, 'contacts/upsert')).length).toBe(upserts)
    expect((await requests(t, 'users/self')).every((r) => r.status === 401)).toBe(true)
    expect((await requests(t, 'users/me')).length).toBe(0)
    // An operator sees which credentials are refused (/ready checks Support's with a users/me).
    expect(await readiness(t)).toMatchObject({ paused_for_auth: false, paused_for_sell_auth: true })
    expect((await jobs(t, 'parked')).length).toBe(4)
    expect((await t.state()).sell.contacts).toHaveLength(0)

    // The token is accepted again: the next probe succeeds and every parked job is delivered.
    await configure(t, { sellTokenRevoked: false })
    const contacts = await t.waitFor(async () => {
      const c = (await t!.state()).sell.contacts
      return c.length === 4 ? c : null
    })
    expect(contacts.map((c: any) => c.email).sort()).toEqual([...emails, 'd@example.com'])
    expect(contacts.every((c: any) => c.custom_fields.aud_vip === 'realized')).toBe(true)
    expect(worker.pausedForSellAuth).toBe(false)
    expect(await readiness(t)).toMatchObject({ paused_for_auth: false, paused_for_sell_auth: false })
    await t.waitFor(async () => (await jobs(t!, 'parked')).length === 0)
    expect(await jobs(t, 'dead')).toHaveLength(0)
    const r = await fetch(`${t.url}/admin/api/destinations/crm/activations`)
    const [vip] = ((await r.json()) as { audiences: any[] }).audiences
    expect(vip).toMatchObject({ audienceId: 'seg-vip', activated: 4, failed: 0, members: 4 })
  })
})
