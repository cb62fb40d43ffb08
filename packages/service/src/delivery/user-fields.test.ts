import { createEmulator, type Emulator } from '@zdd/zendesk-emulator'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'

import { buildPayload } from '../actions/build-payload.js'
import type { AnyAction } from '../actions/define-action.js'
import { upsertUser } from '../actions/upsert-user/upsert-user.js'
import { FakeClock, systemClock } from '../lib/clock.js'
import { silentLogger } from '../zendesk/auth.js'
import { createZendeskClient, type ZendeskClient } from '../zendesk/client.js'
import { ZendeskRateLimiter } from '../zendesk/rate-limiter.js'
import { createUserField } from '../zendesk/users.js'
import { isIsoDate, isValidFieldKey, UserFields, userFieldTypeFor, userFieldTypeOf } from './user-fields.js'
import type { Logger } from './worker.js'

describe('the type of a field created for a trait', () => {
  test.each([
    [true, 'checkbox'],
    [false, 'checkbox'],
    [3, 'integer'],
    [-7, 'integer'],
    [0, 'integer'],
    [2.5, 'decimal'],
    [-0.1, 'decimal'],
    ['2027-01-31', 'date'],
    ['2027-01-31T09:30:00Z', 'date'],
    ['2027-01-31T09:30:00.123Z', 'date'],
    ['2027-01-31T09:30:00+02:00', 'date'],
    ['2027-01-31T09:30', 'date'],
    ['2027-02-31', 'text'],
    ['2027-13-01', 'text'],
    ['31/01/2027', 'text'],
    ['2027-01-31 and later', 'text'],
    ['2027', 'text'],
    ['pro', 'text'],
    ['', 'text'],
    ['42', 'text'],
    [null, null],
    [undefined, null],
    [{ a: 1 }, null],
    [[1, 2], null],
  ])('%j calls for %s', (value, type) => {
    expect(userFieldTypeOf(value)).toBe(type)
  })

  test.each([
    [[3, 4], 'integer'],
    [[3, 2.5], 'decimal'],
    [['2027-01-31', '2027-02-01T00:00:00Z'], 'date'],
    [['2027-01-31', 'soon'], 'text'],
    [[true, 'yes'], 'text'],
    [[3, 'three'], 'text'],
    [[null, 3], 'integer'],
    [[], null],
  ])('values %j seen together call for %s', (values, type) => {
    expect(userFieldTypeFor(values)).toBe(type)
  })

  test('a date is a real day, in ISO form', () => {
    expect(isIsoDate('2028-02-29')).toBe(true)
    expect(isIsoDate('2027-02-29')).toBe(false)
    expect(isIsoDate('20270131')).toBe(false)
  })
})

describe("Zendesk's rule for field keys", () => {
  test.each([
    ['plan', true],
    ['signup_source', true],
    ['2fa_enabled', true],
    ['123', false],
    ['', false],
    ['a-b', false],
    ['caf\u00e9', false],
  ])('%j is a valid key: %s', (key, valid) => {
    expect(isValidFieldKey(key)).toBe(valid)
  })
})

describe('creating missing user fields against the emulator', () => {
  let zd: Emulator
  let client: ZendeskClient
  let clock: FakeClock
  let warnings: { obj: object; msg?: string | undefined }[]
  let fields: UserFields

  const log: Logger = {
    info: () => {},
    warn: (obj, msg) => warnings.push({ obj, msg }),
    error: (obj, msg) => warnings.push({ obj, msg }),
  }

  async function payloads(...traits: Record<string, unknown>[]) {
    const action = upsertUser as unknown as AnyAction
    return Promise.all(
      traits.map(async (t, i) => ({
        action,
        payload: await buildPayload(action.fields, undefined, {
          type: 'identify',
          userId: `u${i}`,
          traits: t,
        }),
      })),
    )
  }

  async function definedFields(): Promise<{ id: number; key: string; type: string; title: string }[]> {
    const state = (await (await fetch(`${zd.url}/__emulator/state`)).json()) as {
      user_fields: { id: number; key: string; type: string; title: string }[]
    }
    return state.user_fields.map(({ id, key, type, title }) => ({ id, key, type, title }))
  }

  async function fieldPosts(): Promise<number> {
    const log = (await (await fetch(`${zd.url}/__emulator/requests?path=/api/v2/user_fields`)).json()) as {
      requests: { method: string }[]
    }
    return log.requests.filter((r) => r.method === 'POST').length
  }

  const withoutIds = (list: { id: number }[]) => list.map(({ id: _id, ...rest }) => rest)

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
    fields = new UserFields({
      destinationId: 'd1',
      zendesk: client,
      clock,
      log,
      ttlMs: 5 * 60_000,
      retryFailedAfterMs: 60_000,
      signal: new AbortController().signal,
    })
  })
  afterEach(async () => {
    await client.close()
  })
  afterAll(async () => {
    await zd.close()
  })

  test('creates one field per snake_case key, titled with the trait, typed from the values', async () => {
    const keys = await fields.createMissing(
      await payloads(
        { email: 'a@example.com', planType: 'pro', seats: 3, vip: true, renewal: '2027-01-31' },
        { 'plan-type': 'team', seats: 2.5, 'signup source': 'ads' },
      ),
    )
    expect([...keys].sort()).toEqual(['plan_type', 'renewal', 'seats', 'signup_source', 'vip'])
    expect(withoutIds(await definedFields())).toEqual([
      { key: 'plan_type', type: 'text', title: 'planType' },
      { key: 'seats', type: 'decimal', title: 'seats' },
      { key: 'vip', type: 'checkbox', title: 'vip' },
      { key: 'renewal', type: 'date', title: 'renewal' },
      { key: 'signup_source', type: 'text', title: 'signup source' },
    ])
    // Known now: a later round creates nothing.
    await fields.createMissing(await payloads({ planType: 'x', seats: 1 }))
    expect(await fieldPosts()).toBe(5)
    expect(warnings).toEqual([])
  })

  test('standard traits, nested values and nulls never become fields', async () => {
    const keys = await fields.createMissing(
      await payloads({
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
    expect([...keys]).toEqual([])
    expect(await fieldPosts()).toBe(0)
  })

  test('a key created by someone else meanwhile (422 DuplicateValue) counts as existing', async () => {
    await fields.keys()
    await client.send(createUserField({ key: 'plan', title: 'Plan', type: 'text' }))
    const keys = await fields.createMissing(await payloads({ plan: 'pro' }))
    expect(keys.has('plan')).toBe(true)
    expect(withoutIds(await definedFields())).toEqual([{ key: 'plan', type: 'text', title: 'Plan' }])
    expect(warnings).toEqual([])
  })

  test('an inactive field is neither created again nor used', async () => {
    await client.send(createUserField({ key: 'plan', title: 'Plan', type: 'text' }))
    const [field] = await definedFields()
    await client.send({
      api: 'support',
      method: 'PUT',
      path: `user_fields/${field?.id}`,
      body: { user_field: { active: false } },
      limitClass: 'account',
    })
    const keys = await fields.createMissing(await payloads({ plan: 'pro' }))
    expect(keys.has('plan')).toBe(false)
    expect(await fieldPosts()).toBe(1)
  })

  test('a trait whose key Zendesk cannot take is skipped, and said once', async () => {
    const keys = await fields.createMissing(await payloads({ '123': 'x', '\u65e5\u672c': 'y', ok: 'z' }))
    await fields.createMissing(await payloads({ '123': 'x', '\u65e5\u672c': 'y' }))
    expect([...keys]).toEqual(['ok'])
    expect(await fieldPosts()).toBe(1)
    expect(warnings.map((w) => w.obj)).toEqual([
      { destination: 'd1', trait: '123', key: '123' },
      { destination: 'd1', trait: '\u65e5\u672c', key: '' },
    ])
  })

  test('a failed creation is logged without values, left out, and tried again later', async () => {
    zd.addFaults([{ kind: 'status', status: 503, path: '/api/v2/user_fields', method: 'POST', count: 1 }])
    const first = await fields.createMissing(await payloads({ plan: 'secret-plan-name', seats: 3 }))
    expect([...first]).toEqual(['seats'])
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.obj).toEqual({
      destination: 'd1',
      key: 'plan',
      type: 'text',
      status: 503,
      code: 'ZD_HTTP_503',
      zendeskCode: 'ServiceUnavailable',
    })
    expect(JSON.stringify(warnings)).not.toContain('secret-plan-name')
    // Not before the retry interval: no request.
    clock.advance(30_000)
    expect(await fieldPosts()).toBe(2)
    await fields.createMissing(await payloads({ plan: 'pro' }))
    expect(await fieldPosts()).toBe(2)
    clock.advance(31_000)
    const later = await fields.createMissing(await payloads({ plan: 'pro' }))
    expect(later.has('plan')).toBe(true)
    expect(await fieldPosts()).toBe(3)
  })
})
