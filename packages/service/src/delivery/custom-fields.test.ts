import { createEmulator, type Emulator } from '@zdd/zendesk-emulator'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'

import { buildPayload } from '../actions/build-payload.js'
import type { AnyAction } from '../actions/define-action.js'
import { createTicket } from '../actions/create-ticket/create-ticket.js'
import { upsertOrganization } from '../actions/upsert-organization/upsert-organization.js'
import { upsertUser } from '../actions/upsert-user/upsert-user.js'
import { FakeClock, systemClock } from '../lib/clock.js'
import { silentLogger } from '../zendesk/auth.js'
import { createZendeskClient, type ZendeskClient } from '../zendesk/client.js'
import { createField } from '../zendesk/custom-fields.js'
import { ZendeskRateLimiter } from '../zendesk/rate-limiter.js'
import { CustomFields, type CustomFieldsOptions } from './custom-fields.js'
import type { Logger } from './worker.js'

let zd: Emulator
let client: ZendeskClient
let clock: FakeClock
let warnings: { obj: object; msg?: string | undefined }[]

const log: Logger = {
  info: () => {},
  warn: (obj, msg) => warnings.push({ obj, msg }),
  error: (obj, msg) => warnings.push({ obj, msg }),
}

function fieldsWith(options: Partial<CustomFieldsOptions> = {}): CustomFields {
  return new CustomFields({
    destinationId: 'd1',
    zendesk: client,
    clock,
    log,
    ttlMs: 5 * 60_000,
    refreshGapMs: 30_000,
    retryFailedAfterMs: 60_000,
    signal: new AbortController().signal,
    ...options,
  })
}

async function payloadsOf(action: AnyAction, events: Record<string, unknown>[]) {
  return Promise.all(
    events.map(async (event) => ({ action, payload: await buildPayload(action.fields, undefined, event) })),
  )
}

const identifies = (...traits: Record<string, unknown>[]) =>
  payloadsOf(
    upsertUser,
    traits.map((t, i) => ({ type: 'identify', userId: `u${i}`, traits: t })),
  )

const groups = (...traits: Record<string, unknown>[]) =>
  payloadsOf(
    upsertOrganization,
    traits.map((t, i) => ({ type: 'group', userId: `u${i}`, groupId: `g${i}`, traits: t })),
  )

async function state(): Promise<any> {
  return (await fetch(`${zd.url}/__emulator/state`)).json()
}

async function definedFields(kind = 'user'): Promise<{ key: string; type: string; title: string }[]> {
  return ((await state())[`${kind}_fields`] as any[]).map(({ key, type, title }) => ({ key, type, title }))
}

async function requests(path: string, method: string): Promise<number> {
  const r = (await (await fetch(`${zd.url}/__emulator/requests?path=${path}`)).json()) as {
    requests: { method: string; path: string }[]
  }
  return r.requests.filter((q) => q.method === method && q.path.replace(/\.json$/, '') === path).length
}

beforeAll(async () => {
  zd = await createEmulator({ jobDelayMs: 20 })
})
beforeEach(() => {
  zd.reset({ config: true })
  warnings = []
  clock = new FakeClock()
  client = createZendeskClient({
    supportBaseUrl: zd.url,
    credentials: {
      kind: 'oauth_client_credentials',
      clientId: 'sandbox-client',
      clientSecret: 'sandbox-secret',
    },
    limiter: new ZendeskRateLimiter({ clock: systemClock }),
    clock: systemClock,
    timeoutMs: 5_000,
    logger: silentLogger,
  })
})
afterEach(async () => {
  await client.close()
})
afterAll(async () => {
  await zd.close()
})

describe('reading the lists', () => {
  test('a kind is read only when the round carries values of it, then trusted for the TTL', async () => {
    const fields = fieldsWith()
    const none = await fields.prepare(await identifies({ email: 'a@example.com', name: 'Ann' }))
    expect(none.catalogs).toEqual({})
    expect(await requests('/api/v2/user_fields', 'GET')).toBe(0)

    await client.send(createField('user', { key: 'plan', title: 'Plan', type: 'text' }))
    const first = await fields.prepare(await identifies({ plan: 'pro' }))
    expect(first.catalogs.user?.find('plan')).toMatchObject({ key: 'plan' })
    clock.advance(60_000)
    await fields.prepare(await identifies({ plan: 'team' }))
    expect(await requests('/api/v2/user_fields', 'GET')).toBe(1)
    clock.advance(5 * 60_000)
    await fields.prepare(await identifies({ plan: 'team' }))
    expect(await requests('/api/v2/user_fields', 'GET')).toBe(2)
  })

  test('every page is read', async () => {
    for (let i = 0; i < 130; i += 1) {
      await client.send(createField('organization', { key: `f${i}`, title: `F ${i}`, type: 'text' }))
    }
    const prepared = await fieldsWith().prepare(await groups({ name: 'Acme', f129: 'x', f0: 'y' }))
    expect(prepared.catalogs.organization?.fields).toHaveLength(130)
    expect(prepared.catalogs.organization?.find('f129')).toMatchObject({ key: 'f129' })
    expect(await requests('/api/v2/organization_fields', 'GET')).toBe(2)
  })

  test('an unknown name reads the list again, at most once per gap, and never twice for the same name', async () => {
    const fields = fieldsWith()
    await fields.prepare(await identifies({ plan: 'pro' }))
    expect(await requests('/api/v2/user_fields', 'GET')).toBe(1)
    // Found unknown by a read made for it: not asked about again, however often it comes.
    for (let i = 0; i < 5; i += 1) {
      clock.advance(40_000)
      await fields.prepare(await identifies({ plan: 'pro' }))
    }
    expect(await requests('/api/v2/user_fields', 'GET')).toBe(1)

    // An admin creates a field; the first event naming it reads the list again and finds it.
    await client.send(createField('user', { key: 'tier', title: 'Tier', type: 'text' }))
    const found = await fields.prepare(await identifies({ tier: 'gold' }))
    expect(found.catalogs.user?.find('tier')).toMatchObject({ key: 'tier' })
    expect(await requests('/api/v2/user_fields', 'GET')).toBe(2)

    // Many new names at once, and again within the gap: one read, then none.
    await fields.prepare(await identifies({ a: 1, b: 2, c: 3 }))
    clock.advance(10_000)
    await fields.prepare(await identifies({ d: 1, e: 2 }))
    expect(await requests('/api/v2/user_fields', 'GET')).toBe(2)
    clock.advance(30_000)
    await fields.prepare(await identifies({ d: 1, e: 2 }))
    expect(await requests('/api/v2/user_fields', 'GET')).toBe(3)
  })

  test('a failed read keeps the previous list; with none known, the kind fails and the others go on', async () => {
    await client.send(createField('organization', { key: 'tier', title: 'Tier', type: 'text' }))
    zd.addFaults([{ kind: 'status', status: 503, path: '/api/v2/user_fields', method: 'GET', count: 10 }])
    const fields = fieldsWith()
    const prepared = await fields.prepare([
      ...(await identifies({ plan: 'pro' })),
      ...(await groups({ name: 'Acme', tier: 'gold' })),
    ])
    expect(prepared.failed.get('user')).toMatchObject({ status: 503 })
    expect(prepared.catalogs.organization?.find('tier')).toMatchObject({ key: 'tier' })

    zd.reset()
    await client.send(createField('user', { key: 'plan', title: 'Plan', type: 'text' }))
    expect((await fields.prepare(await identifies({ plan: 'pro' }))).catalogs.user).toBeDefined()
    zd.addFaults([{ kind: 'status', status: 503, path: '/api/v2/user_fields', method: 'GET', count: 10 }])
    clock.advance(6 * 60_000)
    const stale = await fields.prepare(await identifies({ plan: 'pro' }))
    expect(stale.failed.size).toBe(0)
    expect(stale.catalogs.user?.find('plan')).toMatchObject({ key: 'plan' })
    expect(warnings.map((w) => w.msg)).toContain(
      'could not read the list of user fields again; using the previous one',
    )
  })

  test('ticket fields are read for tickets that carry custom fields', async () => {
    const tickets = await payloadsOf(createTicket, [
      {
        type: 'track',
        event: 'Ticket Created',
        userId: 'u1',
        properties: { subject: 'S', comment: 'C', custom_fields: { order_number: 'A-1' } },
      },
    ])
    const prepared = await fieldsWith().prepare(tickets)
    expect(prepared.catalogs.ticket?.find('order_number')).toEqual({
      key: 'order_number',
      reason: 'no such ticket field',
    })
    expect(await requests('/api/v2/ticket_fields', 'GET')).toBe(1)
  })
})

describe('creating missing fields (opt-in per kind)', () => {
  test('users: one field per snake_case key, titled with the trait, typed from the values', async () => {
    const fields = fieldsWith({ create: { user: true } })
    const prepared = await fields.prepare(
      await identifies(
        { email: 'a@example.com', planType: 'pro', seats: 3, vip: true, renewal: '2027-01-31' },
        { 'plan-type': 'team', seats: 2.5, 'signup source': 'ads' },
      ),
    )
    expect([...(prepared.catalogs.user?.activeKeys() ?? [])].sort()).toEqual([
      'plan_type',
      'renewal',
      'seats',
      'signup_source',
      'vip',
    ])
    expect(await definedFields()).toEqual([
      { key: 'plan_type', type: 'text', title: 'planType' },
      { key: 'seats', type: 'decimal', title: 'seats' },
      { key: 'vip', type: 'checkbox', title: 'vip' },
      { key: 'renewal', type: 'date', title: 'renewal' },
      { key: 'signup_source', type: 'text', title: 'signup source' },
    ])
    expect((await state()).user_fields[0].description).toBe(
      'Created by zendesk-destination for destination "d1" from "planType".',
    )
    // Known now: a later round creates nothing, and the created fields needed no second read.
    await fields.prepare(await identifies({ planType: 'x', seats: 1 }))
    expect(await requests('/api/v2/user_fields', 'POST')).toBe(5)
    expect(await requests('/api/v2/user_fields', 'GET')).toBe(1)
    expect(warnings).toEqual([])
  })

  test('organizations, when enabled; never when not; never for tickets', async () => {
    const off = await fieldsWith({ create: { user: true } }).prepare(
      await groups({ name: 'Acme', tier: 'gold' }),
    )
    expect(off.catalogs.organization?.find('tier')).toEqual({
      key: 'tier',
      reason: 'no such organization field',
    })
    expect(await definedFields('organization')).toEqual([])

    const on = await fieldsWith({ create: { organization: true } }).prepare(
      await groups({ name: 'Acme', tier: 'gold', employeeCount: 12, founded: '1999-05-01' }),
    )
    expect(on.catalogs.organization?.find('tier')).toMatchObject({ key: 'tier' })
    expect(await definedFields('organization')).toEqual([
      { key: 'tier', type: 'text', title: 'tier' },
      { key: 'employee_count', type: 'integer', title: 'employeeCount' },
      { key: 'founded', type: 'date', title: 'founded' },
    ])
    expect(await definedFields('user')).toEqual([])
  })

  test('standard traits, nested values, lists and nulls never become fields', async () => {
    const prepared = await fieldsWith({ create: { user: true } }).prepare(
      await identifies({
        email: 'a@example.com',
        name: 'Ann',
        firstName: 'Ann',
        role: 'admin',
        organizationId: 5,
        address: 'Main Street 1',
        company: 'Acme',
        prefs: { color: 'red' },
        tags: ['a'],
        cleared: null,
      }),
    )
    expect([...(prepared.catalogs.user?.activeKeys() ?? [])]).toEqual([])
    expect(await requests('/api/v2/user_fields', 'POST')).toBe(0)
  })

  test('at most maxCreatedFields, counted from the lists (a restart does not reset it); the rest is explained', async () => {
    // One field created earlier by this destination, one by an admin (not counted).
    await client.send(
      createField('user', {
        key: 'earlier',
        title: 'earlier',
        type: 'text',
        description: 'Created by zendesk-destination for destination "d1" from "earlier".',
      }),
    )
    await client.send(createField('user', { key: 'admins', title: 'Admins', type: 'text' }))
    const fields = fieldsWith({ create: { user: true, organization: true }, maxCreatedFields: 3 })
    const prepared = await fields.prepare(await identifies({ a: 1, b: 2, c: 3, d: 4 }))
    expect((await definedFields()).map((f) => f.key)).toEqual(['earlier', 'admins', 'a', 'b'])
    const cap = 'not created: this destination has created 3 fields, its maxCreatedFields'
    expect(prepared.catalogs.user?.find('c')).toEqual({ key: 'c', reason: `no such user field; ${cap}` })
    // Organizations share the cap.
    const orgs = await fields.prepare(await groups({ name: 'Acme', tier: 'gold' }))
    expect(orgs.catalogs.organization?.find('tier')).toEqual({
      key: 'tier',
      reason: `no such organization field; ${cap}`,
    })
    expect(await definedFields('organization')).toEqual([])
    const capWarnings = warnings.filter((w) => w.msg?.includes('maxCreatedFields'))
    expect(capWarnings).toHaveLength(1)
    expect(capWarnings[0]?.obj).toMatchObject({ destination: 'd1', maxCreatedFields: 3 })
  })

  test('a key created by someone else meanwhile (422 DuplicateValue) counts as existing', async () => {
    const fields = fieldsWith({ create: { user: true } })
    await fields.prepare(await identifies({ other: 'x' }))
    await client.send(createField('user', { key: 'plan', title: 'Plan', type: 'text' }))
    clock.advance(1_000)
    // Within the gap, the list is not read for `plan`: the creation finds it exists, then reads it.
    const prepared = await fields.prepare(await identifies({ plan: 'pro' }))
    expect(prepared.catalogs.user?.find('plan')).toMatchObject({ key: 'plan' })
    expect(await definedFields()).toEqual([
      { key: 'other', type: 'text', title: 'other' },
      { key: 'plan', type: 'text', title: 'Plan' },
    ])
    expect(warnings).toEqual([])
  })

  test('an inactive field is neither created again nor used', async () => {
    await client.send(createField('user', { key: 'plan', title: 'Plan', type: 'text' }))
    const id = (await state()).user_fields[0].id
    await client.send({
      api: 'support',
      method: 'PUT',
      path: `user_fields/${id}`,
      body: { user_field: { active: false } },
      limitClass: 'account',
    })
    const prepared = await fieldsWith({ create: { user: true } }).prepare(await identifies({ plan: 'pro' }))
    expect(prepared.catalogs.user?.find('plan')).toEqual({
      key: 'plan',
      reason: 'the user field is inactive',
    })
    expect(await requests('/api/v2/user_fields', 'POST')).toBe(1)
  })

  test('a trait whose key Zendesk cannot take is skipped, and said once', async () => {
    const fields = fieldsWith({ create: { user: true } })
    const prepared = await fields.prepare(await identifies({ '123': 'x', '\u65e5\u672c': 'y', ok: 'z' }))
    await fields.prepare(await identifies({ '123': 'x', '\u65e5\u672c': 'y' }))
    expect([...(prepared.catalogs.user?.activeKeys() ?? [])]).toEqual(['ok'])
    expect(await requests('/api/v2/user_fields', 'POST')).toBe(1)
    expect(warnings.map((w) => w.obj)).toEqual([
      { destination: 'd1', kind: 'user', trait: '123', key: '123' },
      { destination: 'd1', kind: 'user', trait: '\u65e5\u672c', key: '' },
    ])
  })

  test('a failed creation is logged without values, left out, explained, and tried again later', async () => {
    zd.addFaults([{ kind: 'status', status: 503, path: '/api/v2/user_fields', method: 'POST', count: 1 }])
    const fields = fieldsWith({ create: { user: true } })
    const first = await fields.prepare(await identifies({ plan: 'secret-plan-name', seats: 3 }))
    expect([...(first.catalogs.user?.activeKeys() ?? [])]).toEqual(['seats'])
    expect(first.catalogs.user?.find('plan')).toEqual({
      key: 'plan',
      reason: 'no such user field; creating it failed; tried again in a minute',
    })
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.obj).toEqual({
      destination: 'd1',
      kind: 'user',
      key: 'plan',
      type: 'text',
      status: 503,
      code: 'ZD_HTTP_503',
      zendeskCode: 'ServiceUnavailable',
    })
    expect(JSON.stringify(warnings)).not.toContain('secret-plan-name')
    // Not before the retry interval: no request.
    clock.advance(30_000)
    await fields.prepare(await identifies({ plan: 'pro' }))
    expect(await requests('/api/v2/user_fields', 'POST')).toBe(2)
    clock.advance(31_000)
    const later = await fields.prepare(await identifies({ plan: 'pro' }))
    expect(later.catalogs.user?.find('plan')).toMatchObject({ key: 'plan' })
    expect(await requests('/api/v2/user_fields', 'POST')).toBe(3)
  })
})
