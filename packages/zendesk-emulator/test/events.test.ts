import { beforeEach, describe, expect, test } from 'vitest'

import { seededAdminId, useTestEmulator } from './client.js'

const zd = useTestEmulator()
let adminId: number

beforeEach(async () => {
  adminId = await seededAdminId(zd)
})

function body(
  identifiers: { type: string; value: string }[],
  extra: { name?: string; type?: string; eventType?: string; created_at?: string } = {},
): Record<string, unknown> {
  return {
    profile: {
      source: 'shoppingnow',
      type: extra.type ?? 'customer',
      ...(extra.name !== undefined ? { name: extra.name } : {}),
      identifiers,
    },
    event: {
      source: 'shoppingnow',
      type: extra.eventType ?? 'checkout',
      description: 'Order complete',
      ...(extra.created_at !== undefined ? { created_at: extra.created_at } : {}),
      properties: { item: { name: 'Zendesk Swag' } },
    },
  }
}

async function userById(id: number): Promise<any> {
  return (await zd.state()).users.find((u: any) => u.id === id)
}

describe('tracking an event', () => {
  test('answers 202 with the profile id, "received" and the user id as a string', async () => {
    const r = await zd.post(
      '/api/v2/user_profiles/events',
      body([{ type: 'email', value: 'jane@example.com' }]),
    )
    expect(r.status).toBe(202)
    expect(r.body).toEqual({
      profile_id: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/),
      status: 'received',
      user_id: expect.stringMatching(/^\d+$/),
    })
  })

  test('matches the Zendesk user by email identity, case-insensitively', async () => {
    const r = await zd.post(
      '/api/v2/user_profiles/events',
      body([{ type: 'email', value: 'ADMIN@example.com' }]),
    )
    expect(r.body.user_id).toBe(String(adminId))
    expect((await zd.state()).users).toHaveLength(1)
  })

  test('creates an end user when nothing matches: identities added, external_id copied', async () => {
    const r = await zd.post(
      '/api/v2/user_profiles/events',
      body(
        [
          { type: 'email', value: 'Jane@Example.com' },
          { type: 'external_id', value: '0987654321' },
          { type: 'phone_number', value: '+15551234567' },
          { type: 'shoppingnow_id', value: 'S-1' },
        ],
        { name: 'Jane Smith' },
      ),
    )
    const state = await zd.state()
    const user = state.users.find((u: any) => String(u.id) === r.body.user_id)
    expect(user).toMatchObject({
      name: 'Jane Smith',
      role: 'end-user',
      email: 'jane@example.com',
      external_id: '0987654321',
    })
    const identities = state.identities
      .filter((i: any) => i.user_id === user.id)
      .map((i: any) => [i.type, i.value])
      .sort()
    expect(identities).toEqual([
      ['email', 'jane@example.com'],
      ['phone_number', '+15551234567'],
    ])
  })

  test('names a created user after the email, else "User " and the external id', async () => {
    const byEmail = await zd.post(
      '/api/v2/user_profiles/events',
      body([{ type: 'email', value: 'nameless@example.com' }]),
    )
    expect((await userById(Number(byEmail.body.user_id))).name).toBe('nameless@example.com')
    const byExternal = await zd.post(
      '/api/v2/user_profiles/events',
      body([{ type: 'external_id', value: 'crm-42' }]),
    )
    expect(await userById(Number(byExternal.body.user_id))).toMatchObject({
      name: 'User crm-42',
      external_id: 'crm-42',
    })
  })

  test('writes an external_id identifier to a matched user that has none, and never overwrites one', async () => {
    await zd.post(
      '/api/v2/user_profiles/events',
      body([
        { type: 'email', value: 'admin@example.com' },
        { type: 'external_id', value: 'admin-ext' },
      ]),
    )
    expect((await userById(adminId)).external_id).toBe('admin-ext')
    await zd.post(
      '/api/v2/user_profiles/events',
      body(
        [
          { type: 'email', value: 'admin@example.com' },
          { type: 'external_id', value: 'another' },
        ],
        { type: 'lead' },
      ),
    )
    expect((await userById(adminId)).external_id).toBe('admin-ext')
  })

  test('matches a user by external_id', async () => {
    const first = await zd.post(
      '/api/v2/user_profiles/events',
      body([{ type: 'external_id', value: 'crm-1' }]),
    )
    const second = await zd.post(
      '/api/v2/user_profiles/events',
      body([{ type: 'external_id', value: 'crm-1' }], { type: 'subscriber' }),
    )
    expect(second.body.user_id).toBe(first.body.user_id)
    expect(second.body.profile_id).not.toBe(first.body.profile_id)
  })

  test('upserts the profile by source, type and identifier, merging new identifiers', async () => {
    const first = await zd.post(
      '/api/v2/user_profiles/events',
      body([{ type: 'email', value: 'p@example.com' }]),
    )
    const second = await zd.post(
      '/api/v2/user_profiles/events',
      body(
        [
          { type: 'email', value: 'p@example.com' },
          { type: 'shoppingnow_id', value: 'S-9' },
        ],
        { eventType: 'refund' },
      ),
    )
    expect(second.body.profile_id).toBe(first.body.profile_id)
    const state = await zd.state()
    expect(state.user_profiles).toHaveLength(1)
    expect(state.user_profiles[0].identifiers).toEqual([
      { type: 'email', value: 'p@example.com' },
      { type: 'shoppingnow_id', value: 'S-9' },
    ])
    expect(state.user_events.map((e: any) => [e.type, e.profile_id])).toEqual([
      ['checkout', first.body.profile_id],
      ['refund', first.body.profile_id],
    ])
  })

  test('keeps the given created_at and stamps received_at', async () => {
    await zd.post(
      '/api/v2/user_profiles/events',
      body([{ type: 'email', value: 'old@example.com' }], { created_at: '2020-01-31T00:44:07+00:00' }),
    )
    const [event] = (await zd.state()).user_events
    expect(event.created_at).toBe('2020-01-31T00:44:07+00:00')
    expect(Date.parse(event.received_at)).toBeGreaterThan(Date.parse('2024-01-01'))
  })
})

describe('validation', () => {
  test('a missing profile.identifiers is 400 in the errors shape', async () => {
    const b = body([])
    delete (b.profile as any).identifiers
    const r = await zd.post('/api/v2/user_profiles/events', b)
    expect(r.status).toBe(400)
    expect(r.body).toEqual({
      errors: [
        {
          code: 'MissingField',
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          title: 'Missing required field',
          detail: 'profile.identifiers is required',
        },
      ],
    })
  })

  test('every problem is reported: missing event.type, the reserved "zendesk" source, bad properties', async () => {
    const r = await zd.post('/api/v2/user_profiles/events', {
      profile: { source: 'shop', type: 'customer', identifiers: [{ type: 'email', value: 'a@example.com' }] },
      event: { source: 'zendesk', properties: 'nope' },
    })
    expect(r.status).toBe(400)
    expect(r.body.errors.map((e: any) => [e.code, e.detail])).toEqual([
      ['MissingField', 'event.type is required'],
      ['ReservedSource', "event.source 'zendesk' is reserved for Zendesk standard events"],
      ['InvalidField', 'event.properties must be a JSON object'],
    ])
  })

  test('a rejected event stores nothing and creates no user', async () => {
    const b = body([{ type: 'email', value: 'nobody@example.com' }])
    ;(b.event as any).source = 'zendesk'
    expect((await zd.post('/api/v2/user_profiles/events', b)).status).toBe(400)
    const state = await zd.state()
    expect(state.users).toHaveLength(1)
    expect(state.user_events).toEqual([])
    expect(state.user_profiles).toEqual([])
  })

  test('an invalid created_at is 400', async () => {
    const r = await zd.post(
      '/api/v2/user_profiles/events',
      body([{ type: 'email', value: 'a@example.com' }], { created_at: 'yesterday' }),
    )
    expect(r.status).toBe(400)
    expect(r.body.errors[0]).toMatchObject({
      code: 'InvalidField',
      detail: 'event.created_at must be an ISO 8601 date-time',
    })
  })
})

describe('events of a Zendesk user', () => {
  test('POST users/{id}/events tracks against that user', async () => {
    const r = await zd.post(
      `/api/v2/users/${adminId}/events`,
      body([{ type: 'shoppingnow_id', value: 'S-1' }]),
    )
    expect(r.status).toBe(202)
    expect(r.body.user_id).toBe(String(adminId))
  })

  test('an unknown user is 404; a non-numeric id is the documented 400', async () => {
    const unknown = await zd.post(
      '/api/v2/users/999/events',
      body([{ type: 'email', value: 'a@example.com' }]),
    )
    expect(unknown.status).toBe(404)
    const bad = await zd.get('/api/v2/users/abc/events')
    expect(bad.status).toBe(400)
    expect(bad.body.error.title).toBe('Invalid attribute')
  })

  test('GET users/{id}/events lists the user’s events newest first, cursor-paged', async () => {
    for (const [type, at] of [
      ['viewed', '2024-01-01T00:00:00Z'],
      ['checkout', '2024-01-03T00:00:00Z'],
      ['refund', '2024-01-02T00:00:00Z'],
    ] as const) {
      await zd.post(
        '/api/v2/user_profiles/events',
        body([{ type: 'email', value: 'admin@example.com' }], { eventType: type, created_at: at }),
      )
    }
    const all = await zd.get(`/api/v2/users/${adminId}/events`)
    expect(all.status).toBe(200)
    expect(all.body.events.map((e: any) => e.type)).toEqual(['checkout', 'refund', 'viewed'])
    expect(all.body.events[0]).toEqual({
      id: expect.any(String),
      source: 'shoppingnow',
      type: 'checkout',
      description: 'Order complete',
      created_at: '2024-01-03T00:00:00Z',
      received_at: expect.any(String),
      properties: { item: { name: 'Zendesk Swag' } },
    })
    expect(all.body.links).toEqual([])
    expect(all.body.meta.has_more).toBe(false)

    const first = await zd.get(`/api/v2/users/${adminId}/events?page[size]=2`)
    expect(first.body.events.map((e: any) => e.type)).toEqual(['checkout', 'refund'])
    expect(first.body.meta.has_more).toBe(true)
    expect(first.body.links[0].next).toContain('page[after]=')
    const next = await zd.get(
      `/api/v2/users/${adminId}/events?page[size]=2&page[after]=${first.body.meta.after_cursor}`,
    )
    expect(next.body.events.map((e: any) => e.type)).toEqual(['viewed'])
    expect(next.body.meta.has_more).toBe(false)

    const filtered = await zd.get(
      `/api/v2/users/${adminId}/events?filter[source]=shoppingnow&filter[type]=refund`,
    )
    expect(filtered.body.events.map((e: any) => e.type)).toEqual(['refund'])
    const since = await zd.get(`/api/v2/users/${adminId}/events?filter[start_time]=2024-01-02T00:00:00Z`)
    expect(since.body.events.map((e: any) => e.type)).toEqual(['checkout', 'refund'])
  })

  test('filter[type] without filter[source] and a bad start time are 400', async () => {
    const noSource = await zd.get(`/api/v2/users/${adminId}/events?filter[type]=x`)
    expect(noSource.status).toBe(400)
    const badTime = await zd.get(`/api/v2/users/${adminId}/events?filter[start_time]=soon`)
    expect(badTime.status).toBe(400)
    expect(badTime.body.errors[0]).toMatchObject({
      code: 'StartTimestampNotValid',
      title: 'Start Timestamp not valid',
    })
  })
})

describe('events of a profile', () => {
  test('are found by identifier query and by profile id; tracking by profile id adds to it', async () => {
    const r = await zd.post('/api/v2/user_profiles/events', body([{ type: 'email', value: 'q@example.com' }]))
    const byQuery = await zd.get(
      '/api/v2/user_profiles/events?identifier=shoppingnow:customer:email:Q@example.com',
    )
    expect(byQuery.status).toBe(200)
    expect(byQuery.body.events).toHaveLength(1)

    const tracked = await zd.post(`/api/v2/user_profiles/${r.body.profile_id}/events`, {
      event: { source: 'shoppingnow', type: 'refund', properties: {} },
    })
    expect(tracked.status).toBe(202)
    expect(tracked.body).toEqual(r.body)
    const byId = await zd.get(`/api/v2/user_profiles/${r.body.profile_id}/events`)
    expect(byId.body.events.map((e: any) => e.type).sort()).toEqual(['checkout', 'refund'])

    const missing = await zd.get(
      '/api/v2/user_profiles/events?identifier=shoppingnow:customer:email:none@example.com',
    )
    expect(missing.status).toBe(404)
    expect(missing.body.errors[0].code).toBe('ProfileNotFound')
  })
})
