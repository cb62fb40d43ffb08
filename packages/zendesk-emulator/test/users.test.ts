import { describe, expect, test } from 'vitest'

import { useTestEmulator } from './client.js'

// The single-user write limits (1 a second per account) have their own test file.
const zd = useTestEmulator({ rateLimits: false })

async function createUser(user: Record<string, unknown>): Promise<any> {
  const r = await zd.post('/api/v2/users.json', { user })
  expect(r.status).toBe(201)
  return r.body.user
}

function invalid(field: string, error: string, description: string): unknown {
  return {
    error: 'RecordInvalid',
    description: 'Record validation errors',
    details: { [field]: [{ description, error }] },
  }
}

describe('create, show, update and delete', () => {
  test('creating a user answers 201 with the user and a Location header', async () => {
    const r = await zd.post('/api/v2/users.json', {
      user: { name: 'Ada Lovelace', email: 'Ada@Example.COM', external_id: 'crm-1', tags: ['VIP', 'new'] },
    })
    expect(r.status).toBe(201)
    const user = r.body.user
    expect(r.headers.get('location')).toBe(`${zd.url}/api/v2/users/${user.id}.json`)
    expect(user).toMatchObject({
      url: `${zd.url}/api/v2/users/${user.id}.json`,
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      external_id: 'crm-1',
      role: 'end-user',
      active: true,
      verified: false,
      tags: ['vip', 'new'],
      organization_id: null,
      user_fields: {},
    })
    expect(user.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
    const shown = await zd.get(`/api/v2/users/${user.id}`)
    expect(shown.status).toBe(200)
    expect(shown.body.user).toEqual(user)
  })

  test('skip_verify_email suppresses the verification email but does not verify; verified does', async () => {
    expect(
      (await createUser({ name: 'Skip', email: 'skip@example.com', skip_verify_email: true })).verified,
    ).toBe(false)
    expect((await createUser({ name: 'Ver', email: 'ver@example.com', verified: true })).verified).toBe(true)
  })

  test('a duplicate email is 422 DuplicateValue on email, whatever its case', async () => {
    await createUser({ name: 'First', email: 'dup@example.com' })
    const r = await zd.post('/api/v2/users', { user: { name: 'Second', email: 'DUP@example.com' } })
    expect(r.status).toBe(422)
    expect(r.body).toEqual(
      invalid('email', 'DuplicateValue', 'Email: dup@example.com is already being used by another user'),
    )
  })

  test('a duplicate external_id is 422 DuplicateValue on external_id, compared case-insensitively', async () => {
    await createUser({ name: 'First', external_id: 'ABC-1' })
    const r = await zd.post('/api/v2/users', { user: { name: 'Second', external_id: 'abc-1' } })
    expect(r.status).toBe(422)
    expect(r.body).toEqual(
      invalid('external_id', 'DuplicateValue', 'External ID: abc-1 has already been taken'),
    )
  })

  test('a blank name is 422 on name', async () => {
    const r = await zd.post('/api/v2/users', { user: { name: '  ', email: 'x@example.com' } })
    expect(r.status).toBe(422)
    expect(r.body).toEqual(invalid('name', 'BlankValue', 'Name:  is too short (minimum one character)'))
  })

  test('a badly formed email is 422 InvalidValue on email and creates nobody', async () => {
    const r = await zd.post('/api/v2/users', { user: { name: 'Bad', email: 'not-an-email' } })
    expect(r.status).toBe(422)
    expect(r.body).toEqual(invalid('email', 'InvalidValue', 'Email: not-an-email is not properly formatted'))
    const state = await zd.state()
    expect(state.users.map((u: any) => u.name)).toEqual(['Sandbox Admin'])
  })

  test('every problem of a create is listed in one 422', async () => {
    const r = await zd.post('/api/v2/users', { user: { email: 'nope', role: 'boss' } })
    expect(r.status).toBe(422)
    expect(Object.keys(r.body.details).sort()).toEqual(['email', 'name', 'role'])
  })

  test('a body without the user wrapper is 400', async () => {
    const r = await zd.post('/api/v2/users', { name: 'Unwrapped' })
    expect(r.status).toBe(400)
    expect(r.body.error).toBe('InvalidParameter')
  })

  test('an unknown or non-numeric user id is 404 RecordNotFound', async () => {
    for (const path of ['/api/v2/users/999.json', '/api/v2/users/abc']) {
      const r = await zd.get(path)
      expect(r.status).toBe(404)
      expect(r.body).toEqual({ error: 'RecordNotFound', description: 'Not found' })
    }
  })

  test('an update changes the given attributes only', async () => {
    const user = await createUser({ name: 'Old', email: 'u@example.com', notes: 'keep' })
    const r = await zd.put(`/api/v2/users/${user.id}.json`, { user: { name: 'New', phone: '+15551234567' } })
    expect(r.status).toBe(200)
    expect(r.body.user).toMatchObject({ name: 'New', notes: 'keep', phone: '+15551234567' })
  })

  test('email on update adds an unverified secondary identity and keeps the primary email', async () => {
    const user = await createUser({ name: 'U', email: 'first@example.com', verified: true })
    const r = await zd.put(`/api/v2/users/${user.id}`, { user: { email: 'Second@example.com' } })
    expect(r.status).toBe(200)
    expect(r.body.user.email).toBe('first@example.com')
    const ids = await zd.get(`/api/v2/users/${user.id}/identities`)
    expect(ids.body.identities.map((i: any) => [i.value, i.primary, i.verified])).toEqual([
      ['first@example.com', true, true],
      ['second@example.com', false, false],
    ])
  })

  test('verified alone on update sets the primary email’s verified flag', async () => {
    const user = await createUser({ name: 'U', email: 'v@example.com' })
    const r = await zd.put(`/api/v2/users/${user.id}`, { user: { verified: true } })
    expect(r.body.user.verified).toBe(true)
    const ids = await zd.get(`/api/v2/users/${user.id}/identities`)
    expect(ids.body.identities[0]).toMatchObject({ value: 'v@example.com', verified: true })
  })

  test('an update to another user’s email is 422 DuplicateValue and changes nothing', async () => {
    await createUser({ name: 'A', email: 'a@example.com' })
    const b = await createUser({ name: 'B', email: 'b@example.com' })
    const r = await zd.put(`/api/v2/users/${b.id}`, { user: { name: 'B2', email: 'a@example.com' } })
    expect(r.status).toBe(422)
    expect(r.body.details.email[0].error).toBe('DuplicateValue')
    expect((await zd.get(`/api/v2/users/${b.id}`)).body.user.name).toBe('B')
  })

  test('deleting a user is a soft delete that answers the user with active false', async () => {
    const user = await createUser({ name: 'Gone', email: 'gone@example.com', external_id: 'g-1' })
    const r = await zd.del(`/api/v2/users/${user.id}.json`)
    expect(r.status).toBe(200)
    expect(r.body.user).toMatchObject({ id: user.id, active: false, email: 'gone@example.com' })
    expect((await zd.get(`/api/v2/users/${user.id}`)).body.user.active).toBe(false)
    expect((await zd.put(`/api/v2/users/${user.id}`, { user: { name: 'x' } })).status).toBe(404)
    // The email and the external id are free again.
    const again = await createUser({ name: 'Again', email: 'gone@example.com', external_id: 'g-1' })
    const found = await zd.get('/api/v2/users/search?query=email:gone@example.com')
    expect(found.body.users.map((u: any) => u.id)).toEqual([again.id])
  })

  test('users/me is the acting user, with an authenticity token', async () => {
    const r = await zd.get('/api/v2/users/me.json')
    expect(r.status).toBe(200)
    expect(r.body.user).toMatchObject({ email: 'admin@example.com', role: 'admin', name: 'Sandbox Admin' })
    expect(typeof r.body.user.authenticity_token).toBe('string')
  })
})

describe('create_or_update', () => {
  test('creates with 201 and a Location header when nothing matches', async () => {
    const r = await zd.post('/api/v2/users/create_or_update.json', {
      user: { name: 'New', email: 'new@example.com', external_id: 'n-1' },
    })
    expect(r.status).toBe(201)
    expect(r.headers.get('location')).toBe(`${zd.url}/api/v2/users/${r.body.user.id}.json`)
    expect(r.body.user).toMatchObject({ name: 'New', email: 'new@example.com', external_id: 'n-1' })
  })

  test('matches by external_id case-insensitively, answers 200 and rewrites the stored casing', async () => {
    const user = await createUser({ name: 'Old', external_id: 'CRM-42' })
    const r = await zd.post('/api/v2/users/create_or_update', {
      user: { name: 'Renamed', external_id: 'crm-42' },
    })
    expect(r.status).toBe(200)
    expect(r.headers.get('location')).toBe(`${zd.url}/api/v2/users/${user.id}.json`)
    expect(r.body.user).toMatchObject({ id: user.id, name: 'Renamed', external_id: 'crm-42' })
    const state = await zd.state()
    expect(state.users.filter((u: any) => u.external_id?.toLowerCase() === 'crm-42')).toHaveLength(1)
  })

  test('matches by email and answers 200', async () => {
    const user = await createUser({ name: 'Old', email: 'match@example.com' })
    const r = await zd.post('/api/v2/users/create_or_update', {
      user: { name: 'Updated', email: 'MATCH@example.com', external_id: 'set-now' },
    })
    expect(r.status).toBe(200)
    expect(r.body.user).toMatchObject({ id: user.id, name: 'Updated', external_id: 'set-now' })
  })

  test('a new email on a user matched by external_id becomes a secondary identity', async () => {
    const user = await createUser({ name: 'U', email: 'primary@example.com', external_id: 'e-1' })
    const r = await zd.post('/api/v2/users/create_or_update', {
      user: { external_id: 'e-1', email: 'other@example.com' },
    })
    expect(r.status).toBe(200)
    expect(r.body.user.email).toBe('primary@example.com')
    const ids = await zd.get(`/api/v2/users/${user.id}/identities`)
    expect(ids.body.identities.map((i: any) => i.value)).toEqual(['primary@example.com', 'other@example.com'])
  })

  test('email and external_id of two different users is 422 DuplicateValue on email; nobody changes', async () => {
    const a = await createUser({ name: 'A', email: 'a@example.com' })
    const b = await createUser({ name: 'B', external_id: 'b-1' })
    const r = await zd.post('/api/v2/users/create_or_update', {
      user: { name: 'Mixed', email: 'a@example.com', external_id: 'b-1' },
    })
    expect(r.status).toBe(422)
    expect(r.body).toEqual(
      invalid('email', 'DuplicateValue', 'Email: a@example.com is already being used by another user'),
    )
    expect((await zd.get(`/api/v2/users/${a.id}`)).body.user.name).toBe('A')
    expect((await zd.get(`/api/v2/users/${b.id}`)).body.user.name).toBe('B')
  })

  test('with email precedence the email’s user is picked and the conflict is on external_id', async () => {
    zd.emulator.configure({ createOrUpdatePrecedence: 'email' })
    await createUser({ name: 'A', email: 'a@example.com' })
    await createUser({ name: 'B', external_id: 'b-1' })
    const r = await zd.post('/api/v2/users/create_or_update', {
      user: { email: 'a@example.com', external_id: 'b-1' },
    })
    expect(r.status).toBe(422)
    expect(r.body).toEqual(
      invalid('external_id', 'DuplicateValue', 'External ID: b-1 has already been taken'),
    )
  })

  test('a create_or_update that would create a nameless user is 422 on name', async () => {
    const r = await zd.post('/api/v2/users/create_or_update', { user: { email: 'anon@example.com' } })
    expect(r.status).toBe(422)
    expect(r.body.details.name[0].error).toBe('BlankValue')
  })
})

describe('list, show_many and search', () => {
  test('the list filters by external_id and pages with per_page', async () => {
    await createUser({ name: 'One', external_id: 'One' })
    await createUser({ name: 'Two', external_id: 'two' })
    const filtered = await zd.get('/api/v2/users.json?external_id=ONE')
    expect(filtered.body.users.map((u: any) => u.name)).toEqual(['One'])

    const first = await zd.get('/api/v2/users.json?per_page=2')
    expect(first.body.count).toBe(3)
    expect(first.body.users).toHaveLength(2)
    expect(first.body.previous_page).toBeNull()
    const next = new URL(first.body.next_page)
    expect(next.searchParams.get('page')).toBe('2')
    const second = await zd.get(`${next.pathname}${next.search}`)
    expect(second.body.users.map((u: any) => u.name)).toEqual(['Two'])
    expect(second.body.next_page).toBeNull()
  })

  test('the list pages with cursors when page[size] is given', async () => {
    await createUser({ name: 'One' })
    await createUser({ name: 'Two' })
    const first = await zd.get('/api/v2/users.json?page[size]=2')
    expect(first.body.users).toHaveLength(2)
    expect(first.body.meta.has_more).toBe(true)
    const next = new URL(first.body.links.next)
    const second = await zd.get(`${next.pathname}${next.search}`)
    expect(second.body.users.map((u: any) => u.name)).toEqual(['Two'])
    expect(second.body.meta.has_more).toBe(false)
  })

  test('show_many returns the users found by ids or external_ids and leaves out the rest', async () => {
    const a = await createUser({ name: 'A', external_id: 'ext-a' })
    const b = await createUser({ name: 'B', external_id: 'ext-b' })
    const byIds = await zd.get(`/api/v2/users/show_many.json?ids=${a.id},999,${b.id}`)
    expect(byIds.status).toBe(200)
    expect(byIds.body.users.map((u: any) => u.id)).toEqual([a.id, b.id])
    const byExt = await zd.get('/api/v2/users/show_many?external_ids=EXT-B,missing')
    expect(byExt.body.users.map((u: any) => u.id)).toEqual([b.id])
  })

  test('show_many with more than 100 ids is 400', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => i + 1).join(',')
    const r = await zd.get(`/api/v2/users/show_many?ids=${ids}`)
    expect(r.status).toBe(400)
  })

  test('search finds by email:, by a part of the name and by external_id', async () => {
    const ada = await createUser({ name: 'Ada Lovelace', email: 'ada@example.com', external_id: 'Ada-1' })
    await createUser({ name: 'Grace Hopper', email: 'grace@example.com' })

    const byEmail = await zd.get('/api/v2/users/search.json?query=email:ADA@example.com')
    expect(byEmail.status).toBe(200)
    expect(byEmail.body).toMatchObject({ next_page: null, previous_page: null, count: 1 })
    expect(byEmail.body.users.map((u: any) => u.id)).toEqual([ada.id])

    const byName = await zd.get(`/api/v2/users/search?query=${encodeURIComponent('hopper')}`)
    expect(byName.body.users.map((u: any) => u.name)).toEqual(['Grace Hopper'])

    const byPlainEmail = await zd.get('/api/v2/users/search?query=grace@example.com')
    expect(byPlainEmail.body.users.map((u: any) => u.name)).toEqual(['Grace Hopper'])

    const byExt = await zd.get('/api/v2/users/search?external_id=ada-1')
    expect(byExt.body.users.map((u: any) => u.id)).toEqual([ada.id])
    expect(byExt.body.count).toBe(1)

    const none = await zd.get('/api/v2/users/search?query=email:nobody@example.com')
    expect(none.body).toEqual({ users: [], next_page: null, previous_page: null, count: 0 })
  })

  test('search does not find deleted users', async () => {
    const user = await createUser({ name: 'Gone', email: 'gone@example.com' })
    await zd.del(`/api/v2/users/${user.id}`)
    const r = await zd.get('/api/v2/users/search?query=gone')
    expect(r.body.count).toBe(0)
  })
})

describe('identities', () => {
  test('a user’s identities are listed primary first, with Zendesk’s identity fields', async () => {
    const user = await createUser({ name: 'U', email: 'u@example.com', verified: true })
    const r = await zd.get(`/api/v2/users/${user.id}/identities.json`)
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ next_page: null, previous_page: null, count: 1 })
    const identity = r.body.identities[0]
    expect(identity).toEqual({
      url: `${zd.url}/api/v2/users/${user.id}/identities/${identity.id}.json`,
      id: identity.id,
      user_id: user.id,
      type: 'email',
      value: 'u@example.com',
      verified: true,
      primary: true,
      created_at: identity.created_at,
      updated_at: identity.updated_at,
      undeliverable_count: 0,
      deliverable_state: 'deliverable',
      verification_method: 'low',
      verified_at: null,
    })
  })

  test('adding an identity answers 201 with the identity; it is not primary', async () => {
    const user = await createUser({ name: 'U', email: 'u@example.com' })
    const r = await zd.post(`/api/v2/users/${user.id}/identities`, {
      identity: { type: 'email', value: 'Other@Example.com', verified: true },
    })
    expect(r.status).toBe(201)
    expect(r.body.identity).toMatchObject({
      user_id: user.id,
      type: 'email',
      value: 'other@example.com',
      verified: true,
      primary: false,
    })
    const phone = await zd.post(`/api/v2/users/${user.id}/identities`, {
      identity: { type: 'phone_number', value: '+15551234567' },
    })
    expect(phone.status).toBe(201)
    expect(phone.body.identity).toMatchObject({ type: 'phone_number', primary: true })
  })

  test('an identity with another user’s email is 422 DuplicateValue; a bad type is 422', async () => {
    await createUser({ name: 'A', email: 'a@example.com' })
    const b = await createUser({ name: 'B', email: 'b@example.com' })
    const dup = await zd.post(`/api/v2/users/${b.id}/identities`, {
      identity: { type: 'email', value: 'a@example.com' },
    })
    expect(dup.status).toBe(422)
    expect(dup.body.details.email[0].error).toBe('DuplicateValue')
    const bad = await zd.post(`/api/v2/users/${b.id}/identities`, { identity: { type: 'pager', value: '1' } })
    expect(bad.status).toBe(422)
    expect(bad.body.details.type[0].error).toBe('InvalidValue')
  })

  test('make_primary makes the identity the user’s primary email and answers every identity', async () => {
    const user = await createUser({ name: 'U', email: 'first@example.com' })
    const added = await zd.post(`/api/v2/users/${user.id}/identities`, {
      identity: { type: 'email', value: 'second@example.com' },
    })
    const r = await zd.put(`/api/v2/users/${user.id}/identities/${added.body.identity.id}/make_primary.json`)
    expect(r.status).toBe(200)
    expect(r.body.identities.map((i: any) => [i.value, i.primary])).toEqual([
      ['second@example.com', true],
      ['first@example.com', false],
    ])
    expect((await zd.get(`/api/v2/users/${user.id}`)).body.user.email).toBe('second@example.com')
  })

  test('an identity of another user is 404', async () => {
    const a = await createUser({ name: 'A', email: 'a@example.com' })
    const b = await createUser({ name: 'B', email: 'b@example.com' })
    const ids = await zd.get(`/api/v2/users/${a.id}/identities`)
    const r = await zd.put(`/api/v2/users/${b.id}/identities/${ids.body.identities[0].id}/make_primary`)
    expect(r.status).toBe(404)
    expect(r.body).toEqual({ error: 'RecordNotFound', description: 'Not found' })
  })
})
