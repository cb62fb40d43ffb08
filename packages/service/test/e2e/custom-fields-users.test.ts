/**
 * Custom user fields end to end (issue 4, "Custom fields"): identify → queue → delivery → the
 * emulator's users, with the delivery log saying what was left out and why.
 */
import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, WRITE_KEY, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

/** The user fields of the emulated account, one of each type the service coerces to. */
const userFields = [
  {
    key: 'plan',
    title: 'Plan',
    type: 'dropdown',
    custom_field_options: [
      { name: 'Gold plan', value: 'gold' },
      { name: 'Silver plan', value: 'silver' },
    ],
  },
  { key: 'seats', title: 'Seats', type: 'integer' },
  { key: 'vip', title: 'VIP', type: 'checkbox' },
  { key: 'renewal_date', title: 'Renewal', type: 'date' },
  { key: 'score', title: 'Score', type: 'decimal' },
  { key: 'nickname', title: 'Nickname', type: 'text' },
]

const config = (settings: string): string => `
sources:
  - { id: web, writeKey: ${WRITE_KEY}, destinations: [default] }
destinations:
  - id: default
    zendesk: { sandbox: true }
    settings: ${settings}
`

const userBy = (state: any, externalId: string) => state.users.find((u: any) => u.external_id === externalId)

async function logged(messageId: string): Promise<any> {
  const r = await fetch(`${t!.url}/admin/api/delivery-log?message_id=${messageId}`)
  return ((await r.json()) as { entries: any[] }).entries[0]
}

/** The delivery log's row for a message, once the job has settled. */
const settled = (messageId: string) => t!.waitFor(() => logged(messageId))

async function fieldRequests(method: string): Promise<number> {
  const r = await fetch(`${t!.emulator.url}/__emulator/requests?path=/api/v2/user_fields`)
  return ((await r.json()) as { requests: any[] }).requests.filter((q) => q.method === method).length
}

/** A call to the emulator's Support API as its admin (test setup, not the service). */
async function asAdmin(method: string, path: string, body: unknown): Promise<void> {
  const { adminEmail, apiToken } = t!.emulator.seed
  const r = await fetch(`${t!.emulator.url}/api/v2/${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${adminEmail}/token:${apiToken}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  })
  expect(r.status).toBeLessThan(300)
}

describe('identify traits become typed user fields', () => {
  test('values are coerced to each field’s type and land typed; a trait that is no field is named in the delivery log', async () => {
    t = await startTestService({ emulator: { fields: { user: userFields } } })
    await t.post('/v1/identify', {
      userId: 'u1',
      messageId: 'm1',
      traits: {
        email: 'ann@example.com',
        name: 'Ann',
        plan: 'GOLD PLAN',
        seats: '12',
        vip: 'true',
        renewalDate: '2027-01-31T10:00:00+02:00',
        score: '4.5',
        nickname: 42,
        'favourite-color': 'red',
      },
    })
    const entry = await settled('m1')
    expect(entry).toMatchObject({
      outcome: 'delivered',
      reason: 'user_fields left out (Zendesk would drop them silently): favourite_color (no such user field)',
    })
    expect(userBy(await t.state(), 'u1').user_fields).toEqual({
      plan: 'gold',
      seats: 12,
      vip: true,
      renewal_date: '2027-01-31T00:00:00Z',
      score: 4.5,
      nickname: '42',
    })
  })

  test('a value its field cannot take is left out and named with the reason; the rest of the user is delivered', async () => {
    t = await startTestService({ emulator: { fields: { user: userFields } } })
    await t.post('/v1/identify', {
      userId: 'u1',
      messageId: 'm1',
      traits: {
        email: 'ann@example.com',
        name: 'Ann',
        plan: 'platinum',
        seats: 'many',
        vip: 1,
        nickname: 'Annie',
      },
    })
    const entry = await settled('m1')
    expect(entry.outcome).toBe('delivered')
    expect(entry.reason).toBe(
      "user_fields values left out (the field's type cannot take them): " +
        'plan ("platinum" is not an option of this field (gold, silver)), seats ("many" is not a whole number)',
    )
    const ann = userBy(await t.state(), 'u1')
    expect(ann).toMatchObject({ email: 'ann@example.com', name: 'Ann' })
    expect(ann.user_fields).toMatchObject({ plan: null, seats: null, vip: true, nickname: 'Annie' })
  })

  test('a field an admin creates while the service runs is used by the next event naming it; a name no field has costs one read', async () => {
    t = await startTestService({
      deps: { workerOptions: { batchWindowMs: 20, pollIntervalMs: 20, unknownFieldRefreshGapMs: 0 } },
    })
    // The worker reads the list once at start.
    await t.waitFor(async () => (await fieldRequests('GET')) === 1)
    await asAdmin('POST', 'user_fields', { user_field: { key: 'tier', title: 'Tier', type: 'text' } })

    await t.post('/v1/identify', {
      userId: 'u1',
      messageId: 'm1',
      traits: { email: 'a@example.com', name: 'A', tier: 'gold' },
    })
    expect(await settled('m1')).toMatchObject({ outcome: 'delivered', reason: null })
    expect(userBy(await t.state(), 'u1').user_fields).toEqual({ tier: 'gold' })
    expect(await fieldRequests('GET')).toBe(2)

    // A trait no field has: read once to be sure, then not again, however many events carry it.
    for (const [i, id] of ['m2', 'm3', 'm4'].entries()) {
      await t.post('/v1/identify', {
        userId: `u${i + 2}`,
        messageId: id,
        traits: { email: `${id}@example.com`, name: id, shoe: 44 },
      })
      expect(await settled(id)).toMatchObject({
        outcome: 'delivered',
        reason: 'user_fields left out (Zendesk would drop them silently): shoe (no such user field)',
      })
    }
    expect(await fieldRequests('GET')).toBe(3)
  })

  test('field creation stops at maxCreatedFields; the delivery log says why a trait got no field', async () => {
    t = await startTestService({
      configYaml: config('{ createMissingUserFields: true, maxCreatedFields: 2 }'),
    })
    await t.post('/v1/identify', {
      userId: 'u1',
      messageId: 'm1',
      traits: { email: 'ann@example.com', name: 'Ann', plan: 'pro', seats: 3, vip: true },
    })
    const entry = await settled('m1')
    expect(entry).toMatchObject({
      outcome: 'delivered',
      reason:
        'user_fields left out (Zendesk would drop them silently): vip (no such user field; not created: this destination has created 2 fields, its maxCreatedFields)',
    })
    const state = await t.state()
    expect(state.user_fields.map((f: any) => [f.key, f.type])).toEqual([
      ['plan', 'text'],
      ['seats', 'integer'],
    ])
    expect(userBy(state, 'u1').user_fields).toEqual({ plan: 'pro', seats: 3 })
    expect(await fieldRequests('POST')).toBe(2)
  })
})
