import { describe, expect, test } from 'vitest'

import { useConformance, useTestEmulator } from './client.js'

const zd = useTestEmulator()

async function createOrg(fields: Record<string, unknown>): Promise<any> {
  const r = await zd.post('/api/v2/organizations', { organization: fields })
  expect(r.status).toBe(201)
  return r.body.organization
}

const duplicateName = (name: string) => ({
  error: 'RecordInvalid',
  description: 'Record validation errors',
  details: { name: [{ description: `Name: ${name} has already been taken`, error: 'DuplicateValue' }] },
})

describe('creating, reading, updating and deleting organizations', () => {
  test('a create answers 201 with the whole organization and a Location header', async () => {
    const r = await zd.post('/api/v2/organizations.json', { organization: { name: 'My Organization1' } })
    expect(r.status).toBe(201)
    const org = r.body.organization
    // The observed create answer (facts §4): every attribute present, unset ones null or empty.
    expect(org).toEqual({
      url: `${zd.url}/api/v2/organizations/${org.id}.json`,
      id: expect.any(Number),
      name: 'My Organization1',
      shared_tickets: false,
      shared_comments: false,
      external_id: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      updated_at: org.created_at,
      domain_names: [],
      details: null,
      notes: null,
      group_id: null,
      tags: [],
      organization_fields: {},
    })
    expect(r.headers.get('location')).toBe(org.url)
  })

  test('writable attributes are stored and unknown attributes are ignored', async () => {
    const org = await createOrg({
      name: 'Acme',
      external_id: 'crm-1',
      details: '1 Main St',
      notes: 'VIP',
      domain_names: ['acme.com', 'acme.org'],
      group_id: 42,
      shared_tickets: true,
      shared_comments: true,
      tags: ['Gold', 'enterprise'],
      no_such_attribute: 'dropped',
    })
    expect(org).toMatchObject({
      name: 'Acme',
      external_id: 'crm-1',
      details: '1 Main St',
      notes: 'VIP',
      domain_names: ['acme.com', 'acme.org'],
      group_id: 42,
      shared_tickets: true,
      shared_comments: true,
      tags: ['gold', 'enterprise'],
    })
    expect(org).not.toHaveProperty('no_such_attribute')
    const shown = await zd.get(`/api/v2/organizations/${org.id}`)
    expect(shown.status).toBe(200)
    expect(shown.body.organization).toEqual(org)
  })

  test('organization_fields keep values of defined fields, show every defined key, and drop unknown keys', async () => {
    for (const field of [
      { key: 'tier', type: 'text', title: 'Tier' },
      { key: 'seats', type: 'integer', title: 'Seats' },
    ]) {
      expect((await zd.post('/api/v2/organization_fields', { organization_field: field })).status).toBe(201)
    }
    const org = await createOrg({ name: 'Acme', organization_fields: { tier: 'gold', not_defined: 'x' } })
    expect(org.organization_fields).toEqual({ tier: 'gold', seats: null })
    const r = await zd.put(`/api/v2/organizations/${org.id}`, {
      organization: { organization_fields: { seats: 12 } },
    })
    expect(r.body.organization.organization_fields).toEqual({ tier: 'gold', seats: 12 })
  })

  test('a value of the wrong type for an organization field is 422 on organization_fields and changes nothing', async () => {
    await zd.post('/api/v2/organization_fields', {
      organization_field: { key: 'seats', type: 'integer', title: 'Seats' },
    })
    const org = await createOrg({ name: 'Acme', organization_fields: { seats: 3 } })
    const r = await zd.put(`/api/v2/organizations/${org.id}`, {
      organization: { notes: 'changed', organization_fields: { seats: 'many' } },
    })
    expect(r.status).toBe(422)
    expect(r.body.error).toBe('RecordInvalid')
    expect(r.body.details.organization_fields[0].error).toBe('InvalidValue')
    const after = (await zd.get(`/api/v2/organizations/${org.id}`)).body.organization
    expect(after.notes).toBeNull()
    expect(after.organization_fields).toEqual({ seats: 3 })
  })

  test('a duplicate name, in any case, is 422 DuplicateValue on name', async () => {
    await createOrg({ name: 'Acme Inc' })
    const r = await zd.post('/api/v2/organizations', { organization: { name: 'ACME inc' } })
    expect(r.status).toBe(422)
    expect(r.body).toEqual(duplicateName('ACME inc'))
    expect((await zd.state()).organizations).toHaveLength(1)
  })

  test('a duplicate external_id, in any case, is 422 DuplicateValue on external_id', async () => {
    await createOrg({ name: 'A', external_id: 'Ext-1' })
    const r = await zd.post('/api/v2/organizations', { organization: { name: 'B', external_id: 'ext-1' } })
    expect(r.status).toBe(422)
    expect(r.body.error).toBe('RecordInvalid')
    expect(r.body.details).toEqual({
      external_id: [{ description: 'External ID: ext-1 has already been taken', error: 'DuplicateValue' }],
    })
  })

  test('a missing or blank name is 422 BlankValue on name', async () => {
    for (const organization of [{}, { name: '   ' }, { name: '', external_id: 'x' }]) {
      const r = await zd.post('/api/v2/organizations', { organization })
      expect(r.status).toBe(422)
      expect(r.body.details.name[0].error).toBe('BlankValue')
    }
    expect((await zd.state()).organizations).toEqual([])
  })

  test('a body without an organization object is 400', async () => {
    const r = await zd.post('/api/v2/organizations', { name: 'Acme' })
    expect(r.status).toBe(400)
  })

  test('an update changes only what is given; domain_names are replaced as a whole', async () => {
    const org = await createOrg({ name: 'Acme', notes: 'old', domain_names: ['a.com', 'b.com'] })
    const r = await zd.put(`/api/v2/organizations/${org.id}`, {
      organization: { notes: 'new', domain_names: ['c.com'] },
    })
    expect(r.status).toBe(200)
    expect(r.body.organization).toMatchObject({ name: 'Acme', notes: 'new', domain_names: ['c.com'] })
  })

  test('renaming to another organization’s name is 422; changing the case of its own name is fine', async () => {
    await createOrg({ name: 'Taken' })
    const org = await createOrg({ name: 'Mine' })
    const clash = await zd.put(`/api/v2/organizations/${org.id}`, { organization: { name: 'taken' } })
    expect(clash.status).toBe(422)
    expect(clash.body).toEqual(duplicateName('taken'))
    const recase = await zd.put(`/api/v2/organizations/${org.id}`, { organization: { name: 'MINE' } })
    expect(recase.status).toBe(200)
    expect(recase.body.organization.name).toBe('MINE')
  })

  test('delete answers 204; afterwards the organization is 404 RecordNotFound', async () => {
    const org = await createOrg({ name: 'Gone' })
    const r = await zd.del(`/api/v2/organizations/${org.id}.json`)
    expect(r.status).toBe(204)
    expect(r.text).toBe('')
    for (const call of [
      zd.get(`/api/v2/organizations/${org.id}`),
      zd.put(`/api/v2/organizations/${org.id}`, { organization: { notes: 'x' } }),
      zd.del(`/api/v2/organizations/${org.id}`),
      zd.get('/api/v2/organizations/not-a-number'),
    ]) {
      const res = await call
      expect(res.status).toBe(404)
      expect(res.body).toEqual({ error: 'RecordNotFound', description: 'Not found' })
    }
  })
})

describe('listing organizations', () => {
  test('the list holds every organization, oldest first, with offset-pagination fields', async () => {
    const a = await createOrg({ name: 'B org' })
    const b = await createOrg({ name: 'A org' })
    const r = await zd.get('/api/v2/organizations')
    expect(r.status).toBe(200)
    expect(r.body).toEqual({ organizations: [a, b], next_page: null, previous_page: null, count: 2 })
  })

  test('offset pages follow per_page and link the next page', async () => {
    for (const name of ['o1', 'o2', 'o3']) {
      await createOrg({ name })
    }
    const first = await zd.get('/api/v2/organizations?per_page=2')
    expect(first.body.organizations.map((o: any) => o.name)).toEqual(['o1', 'o2'])
    expect(first.body.count).toBe(3)
    expect(first.body.next_page).toBe(`${zd.url}/api/v2/organizations.json?page=2&per_page=2`)
    const second = await zd.get(first.body.next_page.slice(zd.url.length))
    expect(second.body.organizations.map((o: any) => o.name)).toEqual(['o3'])
    expect(second.body.next_page).toBeNull()
    expect(second.body.previous_page).toBe(`${zd.url}/api/v2/organizations.json?page=1&per_page=2`)
  })

  test('cursor pages follow page[size] and page[after] until has_more is false', async () => {
    for (const name of ['o1', 'o2', 'o3']) {
      await createOrg({ name })
    }
    const first = await zd.get('/api/v2/organizations?page[size]=2')
    expect(first.body.organizations.map((o: any) => o.name)).toEqual(['o1', 'o2'])
    expect(first.body.meta.has_more).toBe(true)
    const after = encodeURIComponent(first.body.meta.after_cursor)
    const second = await zd.get(`/api/v2/organizations?page[size]=2&page[after]=${after}`)
    expect(second.body.organizations.map((o: any) => o.name)).toEqual(['o3'])
    expect(second.body.meta.has_more).toBe(false)
    expect(second.body.links.next).toBeNull()
  })
})

describe('create_or_update', () => {
  test('an unknown external_id creates: 201 with a Location header', async () => {
    const r = await zd.post('/api/v2/organizations/create_or_update', {
      organization: { name: 'New', external_id: 'crm-9' },
    })
    expect(r.status).toBe(201)
    expect(r.body.organization).toMatchObject({ name: 'New', external_id: 'crm-9' })
    expect(r.headers.get('location')).toBe(r.body.organization.url)
  })

  test('a known external_id, in any case, updates that organization: 200', async () => {
    const org = await createOrg({ name: 'Acme', external_id: 'CRM-1' })
    const r = await zd.post('/api/v2/organizations/create_or_update', {
      organization: { external_id: 'crm-1', name: 'Acme Renamed', notes: 'updated' },
    })
    expect(r.status).toBe(200)
    expect(r.body.organization).toMatchObject({ id: org.id, name: 'Acme Renamed', notes: 'updated' })
    expect((await zd.state()).organizations).toHaveLength(1)
  })

  test('a known id updates that organization: 200', async () => {
    const org = await createOrg({ name: 'Acme' })
    const r = await zd.post('/api/v2/organizations/create_or_update', {
      organization: { id: org.id, notes: 'by id' },
    })
    expect(r.status).toBe(200)
    expect(r.body.organization).toMatchObject({ id: org.id, name: 'Acme', notes: 'by id' })
  })

  test('the name never matches: an existing name without id or external_id is the duplicate-name 422', async () => {
    await createOrg({ name: 'Acme' })
    const r = await zd.post('/api/v2/organizations/create_or_update', { organization: { name: 'Acme' } })
    expect(r.status).toBe(422)
    expect(r.body).toEqual(duplicateName('Acme'))
    const other = await zd.post('/api/v2/organizations/create_or_update', {
      organization: { name: 'acme', external_id: 'not-matching' },
    })
    expect(other.status).toBe(422)
    expect(other.body).toEqual(duplicateName('acme'))
    expect((await zd.state()).organizations).toHaveLength(1)
  })
})

describe('bulk jobs', () => {
  test('create_many answers a queued job, writes nothing until it completes, then gives results in request order with the failure in place', async () => {
    zd.emulator.configure({ jobDelayMs: 300 })
    await createOrg({ name: 'Existing' })
    const r = await zd.post('/api/v2/organizations/create_many', {
      organizations: [{ name: 'First' }, { name: 'existing' }, { name: 'Third', external_id: 't-3' }],
    })
    expect(r.status).toBe(200)
    expect(r.body.job_status).toMatchObject({
      job_type: 'Bulk Create Organization',
      total: 3,
      progress: null,
      status: 'queued',
      message: null,
      results: null,
    })
    expect(r.headers.get('zendesk-ratelimit-inflight-jobs')).toMatch(/^total=30; remaining=29; resets=\d+$/)
    expect((await zd.state()).organizations).toHaveLength(1)

    const job = await zd.waitForJob(r.body.job_status.id)
    expect(job.status).toBe('completed')
    const names = new Map((await zd.state()).organizations.map((o: any) => [o.name, o.id]))
    expect(job.results).toEqual([
      { id: names.get('First'), index: 0 },
      // A failed item has no organization: its id is its position, as in real failed items.
      { id: 1, index: 1, error: 'RecordInvalid', details: 'Name: existing has already been taken' },
      { id: names.get('Third'), index: 2 },
    ])
  })

  test('more than 100 organizations in one call is 400 and starts no job', async () => {
    const organizations = Array.from({ length: 101 }, (_, i) => ({ name: `org ${i}` }))
    const r = await zd.post('/api/v2/organizations/create_many', { organizations })
    expect(r.status).toBe(400)
    expect((await zd.state()).job_statuses).toEqual([])
  })

  test('update_many with ?ids= applies one change to each, in order, failing an unknown id in place', async () => {
    const a = await createOrg({ name: 'A' })
    const b = await createOrg({ name: 'B' })
    const r = await zd.put(`/api/v2/organizations/update_many?ids=${a.id},999,${b.id}`, {
      organization: { notes: 'Priority' },
    })
    expect(r.status).toBe(200)
    expect(r.body.job_status.status).toBe('queued')
    const job = await zd.waitForJob(r.body.job_status.id)
    expect(job.results).toEqual([
      { id: a.id, action: 'update', status: 'Updated', success: true },
      {
        id: 999,
        index: 1,
        action: 'update',
        status: 'Failed',
        success: false,
        error: 'RecordNotFound',
        details: 'Not found',
      },
      { id: b.id, action: 'update', status: 'Updated', success: true },
    ])
    const notes = (await zd.state()).organizations.map((o: any) => o.notes)
    expect(notes).toEqual(['Priority', 'Priority'])
  })

  test('update_many with ?external_ids= finds organizations case-insensitively', async () => {
    const a = await createOrg({ name: 'A', external_id: 'EXT-A' })
    const r = await zd.put('/api/v2/organizations/update_many?external_ids=ext-a', {
      organization: { tags: ['x'] },
    })
    const job = await zd.waitForJob(r.body.job_status.id)
    expect(job.results).toEqual([{ id: a.id, action: 'update', status: 'Updated', success: true }])
    expect((await zd.get(`/api/v2/organizations/${a.id}`)).body.organization.tags).toEqual(['x'])
  })

  test('update_many with {organizations: [...]} applies each change, failing a duplicate name in place', async () => {
    const a = await createOrg({ name: 'A' })
    const b = await createOrg({ name: 'B' })
    const c = await createOrg({ name: 'C' })
    const r = await zd.put('/api/v2/organizations/update_many', {
      organizations: [
        { id: a.id, notes: 'one' },
        { id: b.id, name: 'c' },
        { id: c.id, notes: 'three' },
      ],
    })
    const job = await zd.waitForJob(r.body.job_status.id)
    expect(job.results).toEqual([
      { id: a.id, action: 'update', status: 'Updated', success: true },
      {
        id: b.id,
        index: 1,
        action: 'update',
        status: 'Failed',
        success: false,
        error: 'RecordInvalid',
        details: 'Name: c has already been taken',
      },
      { id: c.id, action: 'update', status: 'Updated', success: true },
    ])
    const byId = new Map((await zd.state()).organizations.map((o: any) => [o.id, o]))
    expect((byId.get(b.id) as any).name).toBe('B')
    expect((byId.get(c.id) as any).notes).toBe('three')
  })

  test('update_many without ids, external_ids or organizations is 400', async () => {
    const r = await zd.put('/api/v2/organizations/update_many', { organization: { notes: 'x' } })
    expect(r.status).toBe(400)
  })

  test('destroy_many deletes by id or external id when the job completes', async () => {
    const a = await createOrg({ name: 'A' })
    const b = await createOrg({ name: 'B', external_id: 'b-1' })
    const c = await createOrg({ name: 'C' })
    const byId = await zd.del(`/api/v2/organizations/destroy_many?ids=${a.id}`)
    expect(byId.status).toBe(200)
    const job = await zd.waitForJob(byId.body.job_status.id)
    expect(job.results).toEqual([{ id: a.id, action: 'delete', status: 'Deleted', success: true }])
    const byExt = await zd.del('/api/v2/organizations/destroy_many?external_ids=B-1')
    const extJob = await zd.waitForJob(byExt.body.job_status.id)
    expect(extJob.results).toEqual([{ id: b.id, action: 'delete', status: 'Deleted', success: true }])
    expect(byExt.body.job_status.status).toBe('queued')
    const remaining = (await zd.state()).organizations.map((o: any) => o.id)
    expect(remaining).toEqual([c.id])
    expect(remaining).not.toContain(b.id)
  })
})

describe('show_many and search', () => {
  test('show_many returns the organizations asked for by ids or by external_ids, skipping unknown ones', async () => {
    const a = await createOrg({ name: 'A', external_id: 'ea' })
    const b = await createOrg({ name: 'B', external_id: 'eb' })
    const byIds = await zd.get(`/api/v2/organizations/show_many?ids=${b.id},12345,${a.id}`)
    expect(byIds.status).toBe(200)
    expect(byIds.body.organizations.map((o: any) => o.id)).toEqual([b.id, a.id])
    const byExt = await zd.get('/api/v2/organizations/show_many.json?external_ids=EA,nope')
    expect(byExt.body.organizations).toEqual([a])
  })

  test('show_many without ids or external_ids is 400, and more than 100 ids is 400', async () => {
    expect((await zd.get('/api/v2/organizations/show_many')).status).toBe(400)
    const ids = Array.from({ length: 101 }, (_, i) => i + 1).join(',')
    expect((await zd.get(`/api/v2/organizations/show_many?ids=${ids}`)).status).toBe(400)
  })

  test('search matches external_id or name exactly, ignoring case', async () => {
    const org = await createOrg({ name: 'Acme Corp', external_id: 'CRM-7' })
    await createOrg({ name: 'Acme Corporation' })
    const byExt = await zd.get('/api/v2/organizations/search?external_id=crm-7')
    expect(byExt.status).toBe(200)
    expect(byExt.body.organizations).toEqual([org])
    const byName = await zd.get(`/api/v2/organizations/search?name=${encodeURIComponent('acme corp')}`)
    expect(byName.body.organizations).toEqual([org])
    const none = await zd.get('/api/v2/organizations/search?name=Acme')
    expect(none.body.organizations).toEqual([])
  })

  test('search with both external_id and name, or neither, is 400', async () => {
    expect((await zd.get('/api/v2/organizations/search?external_id=a&name=b')).status).toBe(400)
    expect((await zd.get('/api/v2/organizations/search')).status).toBe(400)
  })
})

describe('the update limit of 5 a minute per organization', () => {
  test('the sixth update of one organization in a minute is 429 with Retry-After; other organizations are unaffected', async () => {
    const a = await createOrg({ name: 'A' })
    const b = await createOrg({ name: 'B' })
    for (let i = 0; i < 5; i++) {
      const r = await zd.put(`/api/v2/organizations/${a.id}`, { organization: { notes: `n${i}` } })
      expect(r.status).toBe(200)
    }
    const limited = await zd.put(`/api/v2/organizations/${a.id}`, { organization: { notes: 'late' } })
    expect(limited.status).toBe(429)
    // The body Zendesk's document gives this endpoint's 429.
    expect(limited.body).toEqual({
      errors: [{ code: 'TooManyRequests', title: 'Too many requests to update' }],
    })
    const retryAfter = Number(limited.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect((await zd.get(`/api/v2/organizations/${a.id}`)).body.organization.notes).toBe('n4')
    expect((await zd.put(`/api/v2/organizations/${b.id}`, { organization: { notes: 'x' } })).status).toBe(200)
  })

  test('with rate limits switched off, updates are not limited', async () => {
    zd.emulator.configure({ rateLimits: false })
    const a = await createOrg({ name: 'A' })
    for (let i = 0; i < 7; i++) {
      expect(
        (await zd.put(`/api/v2/organizations/${a.id}`, { organization: { notes: `${i}` } })).status,
      ).toBe(200)
    }
  })
})

describe('answers conform to Zendesk’s OpenAPI document', () => {
  const conforming = useConformance(zd)

  test('every organization endpoint answers in the documented shape, errors included', async () => {
    const created = await conforming('POST', '/api/v2/organizations', {
      organization: { name: 'Acme', external_id: 'e-1', domain_names: ['acme.com'], tags: ['t'] },
    })
    const id = created.body.organization.id as number
    await conforming('GET', `/api/v2/organizations/${id}`)
    await conforming('PUT', `/api/v2/organizations/${id}`, { organization: { notes: 'n' } })
    await conforming('GET', '/api/v2/organizations')
    await conforming('GET', `/api/v2/organizations/show_many?ids=${id}`)
    await conforming('GET', '/api/v2/organizations/search?external_id=e-1')
    await conforming('POST', '/api/v2/organizations/create_or_update', {
      organization: { external_id: 'e-1' },
    })
    await conforming('POST', '/api/v2/organizations/create_or_update', { organization: { name: 'Other' } })
    const job = await conforming('POST', '/api/v2/organizations/create_many', {
      organizations: [{ name: 'Bulk' }],
    })
    await zd.waitForJob(job.body.job_status.id)
    await conforming('GET', `/api/v2/job_statuses/${job.body.job_status.id}`)
    await conforming('PUT', `/api/v2/organizations/update_many?ids=${id}`, { organization: { notes: 'x' } })
    expect(
      (await conforming('POST', '/api/v2/organizations', { organization: { name: 'acme' } })).status,
    ).toBe(422)
    expect((await conforming('GET', '/api/v2/organizations/999')).status).toBe(404)
    expect((await conforming('DELETE', `/api/v2/organizations/${id}`)).status).toBe(204)
    await conforming('DELETE', '/api/v2/organizations/destroy_many?ids=1')
  })
})
