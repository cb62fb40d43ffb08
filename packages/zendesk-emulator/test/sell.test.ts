import { request as httpRequest } from 'node:http'

import { beforeAll, describe, expect, test } from 'vitest'

import { useTestEmulator, type AuthSpec, type TestResponse } from './client.js'

const zd = useTestEmulator()
let sell: AuthSpec

beforeAll(() => {
  sell = { bearer: zd.emulator.seed.sellToken }
})

const MORE_INFO = 'https://developer.zendesk.com/api-reference/sales-crm/errors/'

/** Sell's error envelope with one error, as the emulator must answer it. */
function envelope(r: TestResponse, status: string, error: Record<string, unknown>): unknown {
  return {
    errors: [{ error, meta: { type: 'error', links: { more_info: MORE_INFO } } }],
    meta: {
      type: 'errors',
      http_status: status,
      logref: r.headers.get('x-request-id'),
      links: { more_info: MORE_INFO },
    },
  }
}

async function createContact(data: Record<string, unknown>): Promise<any> {
  const r = await zd.post('/v2/contacts', { data }, sell)
  expect(r.status).toBe(200)
  return r.body.data
}

async function defineField(name: string, type: string, extra: Record<string, unknown> = {}): Promise<any> {
  const r = await zd.post('/v2/contact/custom_fields', { data: { name, type, ...extra } }, sell)
  expect(r.status).toBe(200)
  return r.body.data
}

describe('Sell authentication and request checks', () => {
  test('a request without a token or with a wrong one is 401 in Sell’s envelope, logref = X-Request-Id', async () => {
    for (const auth of ['none', { bearer: 'not-the-sell-token' }, 'token'] as const) {
      const r = await zd.get('/v2/contacts', auth)
      expect(r.status).toBe(401)
      expect(r.body.meta).toMatchObject({ type: 'errors', http_status: '401 Unauthorized' })
      expect(r.body.meta.logref).toBe(r.headers.get('x-request-id'))
      expect(r.body.errors[0].error.code).toBe('unauthorized')
    }
  })

  test('GET /v2/users/self answers the token’s user; a revoked token is 401 until it is accepted again', async () => {
    const me = await zd.get('/v2/users/self', sell)
    expect(me.status).toBe(200)
    expect(me.body).toEqual({
      data: expect.objectContaining({
        id: expect.any(Number),
        email: zd.emulator.seed.adminEmail,
        status: 'active',
        role: 'admin',
      }),
      meta: { type: 'user' },
    })
    expect((await zd.get('/v2/users/self', 'none')).status).toBe(401)

    expect((await zd.put('/__emulator/config', { sellTokenRevoked: true }, 'none')).status).toBe(200)
    const revoked = await zd.get('/v2/users/self', sell)
    expect(revoked.status).toBe(401)
    expect(revoked.body.errors[0].error.code).toBe('unauthorized')
    expect((await zd.get('/v2/contacts', sell)).status).toBe(401)
    // Support credentials are another matter: they still work.
    expect((await zd.get('/api/v2/users/me.json')).body.user.id).toEqual(expect.any(Number))

    expect((await zd.put('/__emulator/config', { sellTokenRevoked: false }, 'none')).status).toBe(200)
    expect((await zd.get('/v2/users/self', sell)).status).toBe(200)
  })

  test('a request without a User-Agent is 400 invalid_header', async () => {
    const url = new URL('/v2/contacts', zd.url)
    const { status, body } = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = httpRequest(
        url,
        { headers: { authorization: `Bearer ${zd.emulator.seed.sellToken}`, accept: 'application/json' } },
        (res) => {
          let text = ''
          res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
        },
      )
      req.on('error', reject)
      req.end()
    })
    expect(status).toBe(400)
    expect(body.errors[0].error.code).toBe('invalid_header')
    expect(body.errors[0].error.details).toContain('invalid_user_agent')
  })

  test('an unknown Sell path is 404 not_found in Sell’s envelope', async () => {
    const r = await zd.get('/v2/no_such_resource', sell)
    expect(r.status).toBe(404)
    expect(r.body).toEqual(
      envelope(r, '404 Not Found', {
        code: 'not_found',
        message: 'Not Found',
        details: 'Requested path was not found.',
      }),
    )
  })

  test('a body that is not JSON is 400 invalid_payload in Sell’s envelope', async () => {
    const r = await zd.request('POST', '/v2/contacts', '{"data": ', sell)
    expect(r.status).toBe(400)
    expect(r.body.errors[0].error.code).toBe('invalid_payload')
    expect(r.body.meta.http_status).toBe('400 Bad Request')
  })

  test('a body without the data envelope is 422 incorrect_payload', async () => {
    const r = await zd.post('/v2/contacts', { last_name: 'Smith' }, sell)
    expect(r.status).toBe(422)
    expect(r.body.errors[0].error.code).toBe('incorrect_payload')
  })

  test('an injected 503 on a Sell path answers in Sell’s envelope and keeps Retry-After', async () => {
    zd.emulator.addFaults([{ kind: 'status', status: 503, retryAfterS: 4, count: 1, path: '/v2/contacts' }])
    const r = await zd.get('/v2/contacts', sell)
    expect(r.status).toBe(503)
    expect(r.headers.get('retry-after')).toBe('4')
    expect(r.body.errors[0].error.code).toBe('temporarily_unavailable')
    expect(r.body.meta.http_status).toBe('503 Service Unavailable')
    expect((await zd.get('/v2/contacts', sell)).status).toBe(200)
  })
})

describe('Sell contacts', () => {
  test('a contact is created (200), read back, and found by a case-insensitive email filter', async () => {
    const created = await zd.post(
      '/v2/contacts',
      { data: { first_name: 'Ada', last_name: 'Lovelace', email: 'Ada@Example.com', title: 'Analyst' } },
      sell,
    )
    expect(created.status).toBe(200)
    expect(created.body.meta).toEqual({ type: 'contact' })
    const c = created.body.data
    expect(c).toMatchObject({
      is_organization: false,
      name: 'Ada Lovelace',
      first_name: 'Ada',
      last_name: 'Lovelace',
      email: 'Ada@Example.com',
      title: 'Analyst',
      customer_status: 'none',
      prospect_status: 'none',
      tags: [],
      custom_fields: {},
      contact_id: null,
      address: { line1: null, city: null, postal_code: null, state: null, country: null },
    })
    expect(c.creator_id).toBe(c.owner_id)
    expect(c.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)

    const got = await zd.get(`/v2/contacts/${c.id}`, sell)
    expect(got.status).toBe(200)
    expect(got.body).toEqual({ data: c, meta: { type: 'contact' } })

    await createContact({ last_name: 'Other', email: 'other@example.com' })
    const list = await zd.get('/v2/contacts?email=ada@example.com', sell)
    expect(list.status).toBe(200)
    expect(list.body.items).toEqual([{ data: c, meta: { type: 'contact' } }])
    expect(list.body.meta).toMatchObject({ type: 'collection', count: 1 })
    expect(list.body.meta.links.next_page).toBeUndefined()
  })

  test('a person without last_name is 422 blank on last_name, in Sell’s exact envelope', async () => {
    const r = await zd.post('/v2/contacts', { data: { first_name: 'Ada', email: 'ada@example.com' } }, sell)
    expect(r.status).toBe(422)
    expect(r.headers.get('content-language')).toBe('en')
    expect(r.body).toEqual(
      envelope(r, '422 Unprocessable Entity', {
        resource: 'contact',
        field: 'last_name',
        code: 'blank',
        message: "can't be blank",
        details: 'last_name is required for an individual contact',
      }),
    )
    expect((await zd.state()).sell.contacts).toEqual([])
  })

  test('an organization needs name, not last_name; is_organization cannot change later', async () => {
    const noName = await zd.post('/v2/contacts', { data: { is_organization: true, last_name: 'X' } }, sell)
    expect(noName.status).toBe(422)
    expect(noName.body.errors.map((e: any) => e.error.field)).toEqual(['name'])

    const org = await createContact({ is_organization: true, name: 'Acme' })
    expect(org).toMatchObject({ is_organization: true, name: 'Acme', last_name: null })
    const flip = await zd.put(`/v2/contacts/${org.id}`, { data: { is_organization: false } }, sell)
    expect(flip.status).toBe(422)
    expect(flip.body.errors[0].error).toMatchObject({ field: 'is_organization', code: 'incorrect_value' })

    const person = await createContact({ last_name: 'Smith', contact_id: org.id })
    expect(person.contact_id).toBe(org.id)
    const badLink = await zd.post(
      '/v2/contacts',
      { data: { last_name: 'Jones', contact_id: person.id } },
      sell,
    )
    expect(badLink.status).toBe(422)
    expect(badLink.body.errors[0].error).toMatchObject({ field: 'contact_id', code: 'incorrect_value' })
  })

  test('several problems come back together; unknown attributes are 422 unknown, read-only ones ignored', async () => {
    const r = await zd.post(
      '/v2/contacts',
      { data: { external_id: 'x1', customer_status: 'gold', id: 5, created_at: 'then' } },
      sell,
    )
    expect(r.status).toBe(422)
    expect(r.body.errors.map((e: any) => [e.error.field, e.error.code])).toEqual([
      ['external_id', 'unknown'],
      ['customer_status', 'incorrect_value'],
      ['last_name', 'blank'],
    ])
    const c = await createContact({ last_name: 'Smith', id: 5, creator_id: 9 })
    expect(c.id).not.toBe(5)
    expect(c.creator_id).not.toBe(9)
  })

  test('an update changes only the given attributes and tags replace the whole list', async () => {
    const c = await createContact({ last_name: 'Smith', email: 's@example.com', tags: ['a', 'b'] })
    const r = await zd.put(`/v2/contacts/${c.id}`, { data: { first_name: 'Jo', tags: ['c', 'c'] } }, sell)
    expect(r.status).toBe(200)
    expect(r.body.data).toMatchObject({
      id: c.id,
      first_name: 'Jo',
      last_name: 'Smith',
      name: 'Jo Smith',
      email: 's@example.com',
      tags: ['c'],
    })
    const cleared = await zd.put(`/v2/contacts/${c.id}`, { data: { last_name: '' } }, sell)
    expect(cleared.status).toBe(422)
    expect(cleared.body.errors[0].error.field).toBe('last_name')
  })

  test('delete answers 204, then the contact is 404 not_found', async () => {
    const c = await createContact({ last_name: 'Gone' })
    const del = await zd.del(`/v2/contacts/${c.id}`, sell)
    expect(del.status).toBe(204)
    expect(del.text).toBe('')
    for (const r of [
      await zd.get(`/v2/contacts/${c.id}`, sell),
      await zd.del(`/v2/contacts/${c.id}`, sell),
    ]) {
      expect(r.status).toBe(404)
      expect(r.body).toEqual(
        envelope(r, '404 Not Found', {
          code: 'not_found',
          message: 'Not Found',
          details: `contact ${c.id} was not found`,
        }),
      )
    }
    expect((await zd.put('/v2/contacts/abc', { data: { last_name: 'X' } }, sell)).status).toBe(404)
  })

  test('lists filter by name parts, is_organization and ids', async () => {
    const a = await createContact({ first_name: 'Ann', last_name: 'Lee' })
    const b = await createContact({ first_name: 'Bob', last_name: 'Lee' })
    const org = await createContact({ is_organization: true, name: 'Lee Corp' })
    const ids = async (qs: string): Promise<number[]> => {
      const r = await zd.get(`/v2/contacts?${qs}`, sell)
      expect(r.status).toBe(200)
      return r.body.items.map((i: any) => i.data.id)
    }
    expect(await ids('last_name=lee')).toEqual([a.id, b.id])
    expect(await ids('last_name=Lee&first_name=Bob')).toEqual([b.id])
    expect(await ids('name=Ann%20Lee')).toEqual([a.id])
    expect(await ids('is_organization=true')).toEqual([org.id])
    expect(await ids(`ids=${org.id},${a.id}`)).toEqual([a.id, org.id])
    expect((await zd.get('/v2/contacts?is_organization=maybe', sell)).status).toBe(400)
  })
})

describe('Sell contact pagination', () => {
  test('pages are 1-based, 25 by default, at most 100, with next_page while more remain', async () => {
    for (let i = 0; i < 30; i += 1) {
      await createContact({ last_name: `Person ${String(i).padStart(2, '0')}` })
    }
    const first = await zd.get('/v2/contacts', sell)
    expect(first.body.items).toHaveLength(25)
    expect(first.body.meta.count).toBe(25)
    expect(first.body.items[0].data.last_name).toBe('Person 00')
    expect(first.body.meta.links.next_page).toBe(`${zd.url}/v2/contacts?page=2&per_page=25`)
    const second = await zd.get('/v2/contacts?page=2', sell)
    expect(second.body.items.map((i: any) => i.data.last_name)).toEqual([
      'Person 25',
      'Person 26',
      'Person 27',
      'Person 28',
      'Person 29',
    ])
    expect(second.body.meta.links.next_page).toBeUndefined()
    expect(second.body.meta.links.prev_page).toBe(`${zd.url}/v2/contacts?page=1&per_page=25`)
    expect((await zd.get('/v2/contacts?page=3', sell)).body.items).toEqual([])

    const desc = await zd.get('/v2/contacts?per_page=2&sort_by=last_name:desc', sell)
    expect(desc.body.items.map((i: any) => i.data.last_name)).toEqual(['Person 29', 'Person 28'])
    expect((await zd.get('/v2/contacts?per_page=100', sell)).body.items).toHaveLength(30)

    for (const qs of ['per_page=101', 'per_page=0', 'page=0', 'sort_by=shoe_size:asc']) {
      const r = await zd.get(`/v2/contacts?${qs}`, sell)
      expect(r.status, qs).toBe(400)
      expect(r.body.errors[0].error.code).toBe('invalid_param')
    }
  })
})

describe('Sell contact upsert', () => {
  test('upsert creates a contact, then updates that same contact (same id)', async () => {
    const first = await zd.post(
      '/v2/contacts/upsert?email=grace%40example.com',
      { data: { email: 'grace@example.com', last_name: 'Hopper', tags: ['navy'] } },
      sell,
    )
    expect(first.status).toBe(200)
    expect(first.body.meta).toEqual({ type: 'contact' })
    const second = await zd.post(
      '/v2/contacts/upsert?email=GRACE%40example.com',
      { data: { first_name: 'Grace', tags: ['cobol'] } },
      sell,
    )
    expect(second.status).toBe(200)
    expect(second.body.data).toMatchObject({
      id: first.body.data.id,
      name: 'Grace Hopper',
      email: 'grace@example.com',
      tags: ['cobol'],
    })
    expect((await zd.state()).sell.contacts).toHaveLength(1)
  })

  test('every filter must match: a partial match creates a new contact', async () => {
    const c = await createContact({ first_name: 'Ann', last_name: 'Lee', email: 'ann@example.com' })
    const r = await zd.post(
      '/v2/contacts/upsert?email=ann%40example.com&first_name=Anne',
      { data: { first_name: 'Anne', last_name: 'Lee', email: 'ann@example.com' } },
      sell,
    )
    expect(r.status).toBe(200)
    expect(r.body.data.id).not.toBe(c.id)
    // Now two contacts match the email alone: the upsert is ambiguous.
    const ambiguous = await zd.post(
      '/v2/contacts/upsert?email=ann%40example.com',
      { data: { title: 'X' } },
      sell,
    )
    expect(ambiguous.status).toBe(409)
    expect(ambiguous.body.errors[0].error.code).toBe('conflict')
    expect(ambiguous.body.meta.http_status).toBe('409 Conflict')
  })

  test('an upsert without filters is 400 in Sell’s envelope, and so is an unknown filter', async () => {
    const r = await zd.post('/v2/contacts/upsert', { data: { last_name: 'Smith' } }, sell)
    expect(r.status).toBe(400)
    expect(r.body).toEqual(
      envelope(r, '400 Bad Request', {
        code: 'invalid_param',
        message: 'Invalid query parameter',
        details: 'at least one filter query parameter is required, e.g. ?email=…',
      }),
    )
    const unknown = await zd.post('/v2/contacts/upsert?external_id=1', { data: { last_name: 'Smith' } }, sell)
    expect(unknown.status).toBe(400)
    expect(unknown.body.errors[0].error.details).toContain('"external_id" is not an upsert filter')
    expect((await zd.state()).sell.contacts).toEqual([])
  })

  test('an upsert can match on a custom field', async () => {
    await defineField('customer_key', 'string')
    const body = { data: { last_name: 'Smith', custom_fields: { customer_key: 'K-1' } } }
    const a = await zd.post('/v2/contacts/upsert?custom_fields[customer_key]=K-1', body, sell)
    const b = await zd.post(
      '/v2/contacts/upsert?custom_fields%5Bcustomer_key%5D=K-1',
      { data: { first_name: 'Sam' } },
      sell,
    )
    expect(b.status).toBe(200)
    expect(b.body.data).toMatchObject({ id: a.body.data.id, name: 'Sam Smith' })
    const undefinedField = await zd.post('/v2/contacts/upsert?custom_fields[nope]=1', body, sell)
    expect(undefinedField.status).toBe(400)
  })
})

describe('Sell custom fields', () => {
  test('defined custom fields are listed under both paths and their values are stored on contacts', async () => {
    const status = await defineField('Audience: VIP', 'list', { choices: ['active', 'exited'] })
    await defineField('score', 'number')
    await defineField('opted_in', 'bool')
    expect(status).toMatchObject({
      name: 'Audience: VIP',
      type: 'list',
      choices: [{ name: 'active' }, { name: 'exited' }],
      for_contact: true,
      for_organisation: true,
    })
    const byPath = await zd.get('/v2/contact/custom_fields', sell)
    expect(byPath.status).toBe(200)
    expect(byPath.body.items.map((i: any) => i.data.name)).toEqual(['Audience: VIP', 'score', 'opted_in'])
    expect(byPath.body.items[0].meta).toEqual({ type: 'custom_field' })
    const byQuery = await zd.get('/v2/custom_fields?resource_type=contact', sell)
    expect(byQuery.body.items).toEqual(byPath.body.items)
    expect((await zd.get('/v2/lead/custom_fields', sell)).body.items).toEqual([])
    expect((await zd.get('/v2/custom_fields', sell)).status).toBe(400)

    const c = await createContact({
      last_name: 'Smith',
      custom_fields: { 'Audience: VIP': 'active', score: '42', opted_in: true },
    })
    expect(c.custom_fields).toEqual({ 'Audience: VIP': 'active', score: 42, opted_in: true })
    const updated = await zd.put(
      `/v2/contacts/${c.id}`,
      { data: { custom_fields: { 'Audience: VIP': 'exited', score: null } } },
      sell,
    )
    expect(updated.body.data.custom_fields).toEqual({ 'Audience: VIP': 'exited', opted_in: true })
    const filtered = await zd.get(`/v2/contacts?custom_fields[Audience: VIP]=exited`, sell)
    expect(filtered.body.items.map((i: any) => i.data.id)).toEqual([c.id])
  })

  test('a value for an undefined custom field is 422 unknown on custom_fields; a bad value is 422 too', async () => {
    await defineField('status', 'list', { choices: ['active'] })
    const unknown = await zd.post(
      '/v2/contacts',
      { data: { last_name: 'Smith', custom_fields: { 'Mapping ID typo': 'active' } } },
      sell,
    )
    expect(unknown.status).toBe(422)
    expect(unknown.body.errors[0].error).toEqual({
      resource: 'contact',
      field: 'custom_fields',
      code: 'unknown',
      message: 'is an unknown attribute',
      details: '"Mapping ID typo" is not a contact custom field of this account',
    })
    const badChoice = await zd.post(
      '/v2/contacts',
      { data: { last_name: 'Smith', custom_fields: { status: 'paused' } } },
      sell,
    )
    expect(badChoice.status).toBe(422)
    expect(badChoice.body.errors[0].error).toMatchObject({ field: 'custom_fields', code: 'incorrect_value' })
    expect((await zd.state()).sell.contacts).toEqual([])
  })

  test('a custom field needs a unique name, a known type, and choices when it is a list', async () => {
    await defineField('tier', 'string')
    const dup = await zd.post('/v2/contact/custom_fields', { data: { name: 'tier', type: 'string' } }, sell)
    expect(dup.status).toBe(422)
    expect(dup.body.errors[0].error).toMatchObject({
      resource: 'custom_field',
      field: 'name',
      code: 'already_exists',
    })
    const bad = await zd.post('/v2/contact/custom_fields', { data: { name: 'x', type: 'list' } }, sell)
    expect(bad.body.errors[0].error).toMatchObject({ field: 'choices', code: 'blank' })
    const badType = await zd.post(
      '/v2/custom_fields',
      { data: { name: 'y', type: 'blob', resource_type: 'deal' } },
      sell,
    )
    expect(badType.body.errors[0].error).toMatchObject({ field: 'type', code: 'incorrect_value' })
    expect((await zd.post('/v2/widget/custom_fields', { data: { name: 'z' } }, sell)).status).toBe(404)
  })
})
