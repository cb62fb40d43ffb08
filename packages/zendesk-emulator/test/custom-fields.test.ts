import { beforeEach, describe, expect, test } from 'vitest'

import { useTestEmulator } from './client.js'

const zd = useTestEmulator({ rateLimits: false })

async function createUserField(field: Record<string, unknown>): Promise<any> {
  const r = await zd.post('/api/v2/user_fields.json', { user_field: field })
  expect(r.status).toBe(201)
  return r.body.user_field
}

describe('user fields', () => {
  test('creating a field answers 201 with Zendesk’s field object; type defaults to text', async () => {
    const r = await zd.post('/api/v2/user_fields', {
      user_field: { key: 'plan_tier', title: 'Plan tier', description: 'From billing' },
    })
    expect(r.status).toBe(201)
    const f = r.body.user_field
    expect(r.headers.get('location')).toBe(`${zd.url}/api/v2/user_fields/${f.id}.json`)
    expect(f).toEqual({
      url: `${zd.url}/api/v2/user_fields/${f.id}.json`,
      id: f.id,
      type: 'text',
      key: 'plan_tier',
      title: 'Plan tier',
      raw_title: 'Plan tier',
      description: 'From billing',
      raw_description: 'From billing',
      position: 0,
      active: true,
      system: false,
      regexp_for_validation: null,
      created_at: f.created_at,
      updated_at: f.updated_at,
    })
  })

  test('the list holds every field with the offset envelope; show takes the id or the key', async () => {
    const a = await createUserField({ key: 'a_field', title: 'A' })
    await createUserField({
      key: 'colour',
      title: 'Colour',
      type: 'dropdown',
      custom_field_options: [{ name: 'Red', value: 'red' }],
    })
    const list = await zd.get('/api/v2/user_fields.json')
    expect(list.status).toBe(200)
    expect(list.body).toMatchObject({ next_page: null, previous_page: null, count: 2 })
    expect(list.body.user_fields.map((f: any) => f.key)).toEqual(['a_field', 'colour'])
    expect(list.body.user_fields[1].custom_field_options).toEqual([
      { id: expect.any(Number), name: 'Red', raw_name: 'Red', value: 'red' },
    ])

    expect((await zd.get(`/api/v2/user_fields/${a.id}`)).body.user_field.key).toBe('a_field')
    expect((await zd.get('/api/v2/user_fields/colour.json')).body.user_field.type).toBe('dropdown')
    const missing = await zd.get('/api/v2/user_fields/nope')
    expect(missing.status).toBe(404)
    expect(missing.body).toEqual({ error: 'RecordNotFound', description: 'Not found' })
  })

  test('a duplicate key is 422 DuplicateValue on key', async () => {
    await createUserField({ key: 'tier', title: 'Tier' })
    const r = await zd.post('/api/v2/user_fields', { user_field: { key: 'tier', title: 'Again' } })
    expect(r.status).toBe(422)
    expect(r.body).toEqual({
      error: 'RecordInvalid',
      description: 'Record validation errors',
      details: { key: [{ description: 'Key: tier has already been taken', error: 'DuplicateValue' }] },
    })
  })

  test.each(['has space', 'dash-ed', '12345'])('the key %j is 422 InvalidValue', async (key) => {
    const r = await zd.post('/api/v2/user_fields', { user_field: { key, title: 'T' } })
    expect(r.status).toBe(422)
    expect(r.body.details.key[0].error).toBe('InvalidValue')
  })

  test('a missing key and title, and a dropdown without options, are each reported', async () => {
    const r = await zd.post('/api/v2/user_fields', { user_field: { type: 'dropdown' } })
    expect(r.status).toBe(422)
    expect(Object.keys(r.body.details).sort()).toEqual(['custom_field_options', 'key', 'title'])
    expect(r.body.details.key[0].error).toBe('BlankValue')
  })

  test('an unknown type, a bad lookup target and a broken regexp are 422', async () => {
    const bad = [
      { key: 'k1', title: 'T', type: 'colour' },
      { key: 'k2', title: 'T', type: 'lookup', relationship_target_type: 'zen:spaceship' },
      { key: 'k3', title: 'T', type: 'regexp', regexp_for_validation: '([a-z' },
    ]
    for (const user_field of bad) {
      const r = await zd.post('/api/v2/user_fields', { user_field })
      expect(r.status).toBe(422)
    }
    expect((await zd.get('/api/v2/user_fields')).body.count).toBe(0)
  })
})

describe('updating and deleting fields', () => {
  test('an update changes the title; a dropdown’s option list is replaced and dropped values cleared', async () => {
    const plan = await createUserField({
      key: 'plan',
      title: 'Plan',
      type: 'dropdown',
      custom_field_options: [
        { name: 'Gold', value: 'gold' },
        { name: 'Silver', value: 'silver' },
      ],
    })
    const [gold] = plan.custom_field_options
    const gilded = await zd.post('/api/v2/users', { user: { name: 'Gilded', user_fields: { plan: 'gold' } } })
    const plated = await zd.post('/api/v2/users', {
      user: { name: 'Plated', user_fields: { plan: 'silver' } },
    })

    const r = await zd.put('/api/v2/user_fields/plan.json', {
      user_field: {
        title: 'Plan (renamed)',
        key: 'ignored_key',
        custom_field_options: [
          { id: null, name: 'Bronze', value: 'bronze' },
          { id: gold.id, name: 'Gold!', value: 'gold' },
        ],
      },
    })
    expect(r.status).toBe(200)
    expect(r.body.user_field).toMatchObject({
      key: 'plan',
      title: 'Plan (renamed)',
      raw_title: 'Plan (renamed)',
    })
    expect(r.body.user_field.custom_field_options).toEqual([
      { id: expect.any(Number), name: 'Bronze', raw_name: 'Bronze', value: 'bronze' },
      { id: gold.id, name: 'Gold!', raw_name: 'Gold!', value: 'gold' },
    ])
    expect((await zd.get(`/api/v2/users/${gilded.body.user.id}`)).body.user.user_fields.plan).toBe('gold')
    expect((await zd.get(`/api/v2/users/${plated.body.user.id}`)).body.user.user_fields.plan).toBeNull()
  })

  test('an update with a blank title is 422; an unknown field is 404', async () => {
    await createUserField({ key: 'tier', title: 'Tier' })
    const blank = await zd.put('/api/v2/user_fields/tier', { user_field: { title: '' } })
    expect(blank.status).toBe(422)
    expect(blank.body.details.title[0].error).toBe('BlankValue')
    expect((await zd.put('/api/v2/user_fields/nope', { user_field: { title: 'x' } })).status).toBe(404)
  })

  test('deleting a field answers 204; the field and its values are gone', async () => {
    const f = await createUserField({ key: 'tier', title: 'Tier' })
    const user = await zd.post('/api/v2/users', { user: { name: 'U', user_fields: { tier: 'top' } } })
    const r = await zd.del(`/api/v2/user_fields/${f.id}.json`)
    expect(r.status).toBe(204)
    expect(r.text).toBe('')
    expect((await zd.get(`/api/v2/user_fields/${f.id}`)).status).toBe(404)
    expect((await zd.get(`/api/v2/users/${user.body.user.id}`)).body.user.user_fields).toEqual({})
    expect((await zd.del(`/api/v2/user_fields/${f.id}`)).status).toBe(404)
  })
})

describe('organization fields', () => {
  test('organization fields are created, listed and shown by key like user fields', async () => {
    const r = await zd.post('/api/v2/organization_fields.json', {
      organization_field: { key: 'region', title: 'Region', type: 'text' },
    })
    expect(r.status).toBe(201)
    expect(r.body.organization_field).toMatchObject({
      url: `${zd.url}/api/v2/organization_fields/${r.body.organization_field.id}.json`,
      key: 'region',
      type: 'text',
    })
    const list = await zd.get('/api/v2/organization_fields')
    expect(list.body.organization_fields.map((f: any) => f.key)).toEqual(['region'])
    expect(list.body.count).toBe(1)
    expect((await zd.get('/api/v2/organization_fields/region')).body.organization_field.title).toBe('Region')
    // User and organization keys are separate namespaces.
    expect((await zd.get('/api/v2/user_fields/region')).status).toBe(404)
  })

  test('a duplicate organization field key is 422 DuplicateValue', async () => {
    const body = { organization_field: { key: 'region', title: 'Region' } }
    expect((await zd.post('/api/v2/organization_fields', body)).status).toBe(201)
    const r = await zd.post('/api/v2/organization_fields', body)
    expect(r.status).toBe(422)
    expect(r.body.details.key[0].error).toBe('DuplicateValue')
  })
})

describe('user field values', () => {
  beforeEach(async () => {
    await createUserField({ key: 'seats', title: 'Seats', type: 'integer' })
    await createUserField({ key: 'score', title: 'Score', type: 'decimal' })
    await createUserField({ key: 'beta', title: 'Beta', type: 'checkbox' })
    await createUserField({ key: 'renewal', title: 'Renewal', type: 'date' })
    await createUserField({
      key: 'plan',
      title: 'Plan',
      type: 'dropdown',
      custom_field_options: [
        { name: 'Gold', value: 'gold' },
        { name: 'Silver', value: 'silver' },
      ],
    })
    await createUserField({ key: 'nickname', title: 'Nickname' })
  })

  test('defined keys are stored (coerced to their type), unknown keys are ignored, unset keys are null', async () => {
    const r = await zd.post('/api/v2/users', {
      user: {
        name: 'Valued',
        user_fields: {
          seats: '12',
          score: 4.5,
          beta: true,
          renewal: '2026-03-01',
          plan: 'gold',
          not_a_field: 'dropped',
        },
      },
    })
    expect(r.status).toBe(201)
    expect(r.body.user.user_fields).toEqual({
      seats: 12,
      score: 4.5,
      beta: true,
      renewal: '2026-03-01T00:00:00Z',
      plan: 'gold',
      nickname: null,
    })
    const stored = (await zd.state()).users.find((u: any) => u.name === 'Valued')
    expect(stored.user_fields).not.toHaveProperty('not_a_field')
  })

  test('an update merges values and null clears one', async () => {
    const created = await zd.post('/api/v2/users', {
      user: { name: 'U', user_fields: { seats: 3, nickname: 'Bee' } },
    })
    const id = created.body.user.id
    const r = await zd.put(`/api/v2/users/${id}`, {
      user: { user_fields: { nickname: null, plan: 'silver' } },
    })
    expect(r.status).toBe(200)
    expect(r.body.user.user_fields).toMatchObject({ seats: 3, nickname: null, plan: 'silver' })
  })

  test('a value of the wrong type is 422 and nothing of the update is applied', async () => {
    const created = await zd.post('/api/v2/users', { user: { name: 'Before', user_fields: { seats: 1 } } })
    const id = created.body.user.id
    const r = await zd.put(`/api/v2/users/${id}`, {
      user: { name: 'After', user_fields: { seats: 'many', plan: 'platinum' } },
    })
    expect(r.status).toBe(422)
    expect(r.body).toEqual({
      error: 'RecordInvalid',
      description: 'Record validation errors',
      details: {
        user_fields: [
          { description: 'Seats: "many" is not a valid integer value', error: 'InvalidValue' },
          { description: 'Plan: "platinum" is not a valid dropdown value', error: 'InvalidValue' },
        ],
      },
    })
    const user = (await zd.get(`/api/v2/users/${id}`)).body.user
    expect(user.name).toBe('Before')
    expect(user.user_fields.seats).toBe(1)
  })

  test('a create with an invalid value is 422 and creates nobody', async () => {
    const r = await zd.post('/api/v2/users', { user: { name: 'Nope', user_fields: { beta: 'maybe' } } })
    expect(r.status).toBe(422)
    expect(r.body.details.user_fields[0].error).toBe('InvalidValue')
    expect((await zd.state()).users.map((u: any) => u.name)).toEqual(['Sandbox Admin'])
  })

  test('create_or_update_many reports an invalid value as a failed item', async () => {
    const r = await zd.post('/api/v2/users/create_or_update_many', {
      users: [
        { name: 'Ok', email: 'ok@example.com', user_fields: { seats: 2 } },
        { name: 'Bad', email: 'bad@example.com', user_fields: { renewal: 'someday' } },
      ],
    })
    const done = await zd.waitForJob(r.body.job_status.id)
    expect(done.results[0]).toMatchObject({ status: 'Created', email: 'ok@example.com' })
    expect(done.results[1]).toEqual({
      id: 1,
      index: 1,
      error: 'UserCreateError',
      details: 'Renewal: "someday" is not a valid date value',
      status: 'Failed',
    })
  })
})
