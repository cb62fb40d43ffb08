import { describe, expect, test } from 'vitest'

import { useConformance, useTestEmulator } from './client.js'

const zd = useTestEmulator()

let serial = 0

async function createUser(name = 'End User'): Promise<number> {
  serial += 1
  const r = await zd.post('/api/v2/users', { user: { name, email: `user${serial}@example.com` } })
  expect(r.status).toBe(201)
  return r.body.user.id as number
}

async function createOrg(name: string): Promise<number> {
  const r = await zd.post('/api/v2/organizations', { organization: { name } })
  expect(r.status).toBe(201)
  return r.body.organization.id as number
}

async function join(userId: number, organizationId: number, extra: Record<string, unknown> = {}) {
  const r = await zd.post('/api/v2/organization_memberships', {
    organization_membership: { user_id: userId, organization_id: organizationId, ...extra },
  })
  expect(r.status).toBe(201)
  return r.body.organization_membership
}

/** The user's default organization, as the account holds it. */
async function defaultOrgOf(userId: number): Promise<number | null> {
  const user = (await zd.state()).users.find((u: any) => u.id === userId)
  return user.organization_id
}

async function membershipsOf(userId: number): Promise<any[]> {
  const r = await zd.get(`/api/v2/users/${userId}/organization_memberships`)
  expect(r.status).toBe(200)
  return r.body.organization_memberships
}

describe('creating memberships', () => {
  test('the first membership answers 201, is the default and sets the user’s organization_id', async () => {
    const user = await createUser()
    const org = await createOrg('Acme')
    const r = await zd.post('/api/v2/organization_memberships.json', {
      organization_membership: { user_id: user, organization_id: org },
    })
    expect(r.status).toBe(201)
    const m = r.body.organization_membership
    expect(m).toEqual({
      url: `${zd.url}/api/v2/organization_memberships/${m.id}.json`,
      id: expect.any(Number),
      user_id: user,
      organization_id: org,
      default: true,
      organization_name: 'Acme',
      view_tickets: true,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    })
    expect(r.headers.get('location')).toBe(m.url)
    expect(await defaultOrgOf(user)).toBe(org)
  })

  test('a second membership is not the default: default is null, not false', async () => {
    const user = await createUser()
    const first = await createOrg('First')
    const second = await createOrg('Second')
    await join(user, first)
    const m = await join(user, second)
    expect(m.default).toBeNull()
    expect(await defaultOrgOf(user)).toBe(first)
  })

  test('"default": true on create makes the new membership the default', async () => {
    const user = await createUser()
    const first = await createOrg('First')
    const second = await createOrg('Second')
    await join(user, first)
    const m = await join(user, second, { default: true })
    expect(m.default).toBe(true)
    expect(await defaultOrgOf(user)).toBe(second)
    expect((await membershipsOf(user)).map((x) => [x.organization_id, x.default])).toEqual([
      [second, true],
      [first, null],
    ])
  })

  test('joining an organization twice is 422 DuplicateValue on user_id, with Zendesk’s leading space', async () => {
    const user = await createUser()
    const org = await createOrg('Acme')
    await join(user, org)
    const r = await zd.post('/api/v2/organization_memberships', {
      organization_membership: { user_id: user, organization_id: org },
    })
    expect(r.status).toBe(422)
    expect(r.body).toEqual({
      error: 'RecordInvalid',
      description: 'Record validation errors',
      details: {
        user_id: [
          { description: ' This user is already a member of this organization.', error: 'DuplicateValue' },
        ],
      },
    })
  })

  test('an unknown user or organization is 422 InvalidValue on that field', async () => {
    const user = await createUser()
    const org = await createOrg('Acme')
    const noOrg = await zd.post('/api/v2/organization_memberships', {
      organization_membership: { user_id: user, organization_id: 999 },
    })
    expect(noOrg.status).toBe(422)
    expect(noOrg.body.details.organization_id[0].error).toBe('InvalidValue')
    const noUser = await zd.post('/api/v2/organization_memberships', {
      organization_membership: { user_id: 999, organization_id: org },
    })
    expect(noUser.status).toBe(422)
    expect(noUser.body.details.user_id[0].error).toBe('InvalidValue')
  })

  test('the per-user path takes the user from the path; an unknown user there is 404', async () => {
    const user = await createUser()
    const other = await createUser('Other')
    const org = await createOrg('Acme')
    const r = await zd.post(`/api/v2/users/${user}/organization_memberships`, {
      organization_membership: { user_id: other, organization_id: org },
    })
    expect(r.status).toBe(201)
    expect(r.body.organization_membership).toMatchObject({
      user_id: user,
      organization_id: org,
      default: true,
    })
    const dup = await zd.post(`/api/v2/users/${user}/organization_memberships`, {
      organization_membership: { organization_id: org },
    })
    expect(dup.status).toBe(422)
    expect(dup.body.details.user_id[0].error).toBe('DuplicateValue')
    const unknown = await zd.post('/api/v2/users/999/organization_memberships', {
      organization_membership: { organization_id: org },
    })
    expect(unknown.status).toBe(404)
    expect(unknown.body).toEqual({ error: 'RecordNotFound', description: 'Not found' })
  })

  test('with multiple organizations off, a second membership is 422 and the first stays', async () => {
    zd.emulator.configure({ multipleOrganizations: false })
    const user = await createUser()
    const first = await createOrg('First')
    const second = await createOrg('Second')
    await join(user, first)
    const r = await zd.post('/api/v2/organization_memberships', {
      organization_membership: { user_id: user, organization_id: second },
    })
    expect(r.status).toBe(422)
    expect(r.body.error).toBe('RecordInvalid')
    expect(r.body.details.organization_id[0].error).toBe('InvalidValue')
    expect((await membershipsOf(user)).map((m) => m.organization_id)).toEqual([first])
  })
})

describe('listing memberships', () => {
  test('a user’s memberships list the default first, then the others by organization name', async () => {
    const user = await createUser()
    const zeta = await createOrg('Zeta')
    const beta = await createOrg('beta')
    const alpha = await createOrg('Alpha')
    await join(user, zeta)
    await join(user, beta)
    await join(user, alpha)
    const list = await membershipsOf(user)
    expect(list.map((m) => [m.organization_name, m.default])).toEqual([
      ['Zeta', true],
      ['Alpha', null],
      ['beta', null],
    ])
    const orgs = await zd.get(`/api/v2/users/${user}/organizations`)
    expect(orgs.status).toBe(200)
    expect(orgs.body.organizations.map((o: any) => o.id)).toEqual([zeta, alpha, beta])
    expect(orgs.body.organizations[0]).toMatchObject({ name: 'Zeta', url: expect.any(String), tags: [] })
  })

  test('an organization’s memberships, all memberships, and one membership by id', async () => {
    const ann = await createUser('Ann')
    const bob = await createUser('Bob')
    const acme = await createOrg('Acme')
    const other = await createOrg('Other')
    const m1 = await join(ann, acme)
    const m2 = await join(bob, acme)
    const m3 = await join(bob, other)
    const ofOrg = await zd.get(`/api/v2/organizations/${acme}/organization_memberships`)
    expect(ofOrg.status).toBe(200)
    expect(ofOrg.body.organization_memberships.map((m: any) => m.id)).toEqual([m1.id, m2.id])
    const all = await zd.get('/api/v2/organization_memberships')
    expect(all.body.organization_memberships.map((m: any) => m.id)).toEqual([m1.id, m2.id, m3.id])
    expect(all.body.count).toBe(3)
    const one = await zd.get(`/api/v2/organization_memberships/${m3.id}`)
    expect(one.status).toBe(200)
    expect(one.body.organization_membership).toEqual(m3)
  })

  test('unknown users, organizations and memberships are 404 RecordNotFound', async () => {
    for (const path of [
      '/api/v2/organization_memberships/999',
      '/api/v2/users/999/organization_memberships',
      '/api/v2/users/999/organizations',
      '/api/v2/organizations/999/organization_memberships',
    ]) {
      const r = await zd.get(path)
      expect(r.status).toBe(404)
      expect(r.body).toEqual({ error: 'RecordNotFound', description: 'Not found' })
    }
  })
})

describe('deleting memberships and default promotion', () => {
  test('DELETE organization_memberships/{id} answers 204; deleting the default promotes the oldest remaining one', async () => {
    const user = await createUser()
    const a = await createOrg('A')
    const b = await createOrg('B')
    const c = await createOrg('C')
    const ma = await join(user, a)
    await join(user, b)
    await join(user, c)
    const r = await zd.del(`/api/v2/organization_memberships/${ma.id}`)
    expect(r.status).toBe(204)
    expect(r.text).toBe('')
    expect((await membershipsOf(user)).map((m) => [m.organization_id, m.default])).toEqual([
      [b, true],
      [c, null],
    ])
    expect(await defaultOrgOf(user)).toBe(b)
  })

  test('deleting the last membership clears the user’s organization_id', async () => {
    const user = await createUser()
    const a = await createOrg('A')
    const m = await join(user, a)
    expect((await zd.del(`/api/v2/organization_memberships/${m.id}`)).status).toBe(204)
    expect(await membershipsOf(user)).toEqual([])
    expect(await defaultOrgOf(user)).toBeNull()
  })

  test('the per-user delete paths answer 204, and 404 for a membership of another user or a non-member', async () => {
    const ann = await createUser('Ann')
    const bob = await createUser('Bob')
    const a = await createOrg('A')
    const b = await createOrg('B')
    const annA = await join(ann, a)
    await join(ann, b)
    const bobA = await join(bob, a)

    const wrongUser = await zd.del(`/api/v2/users/${ann}/organization_memberships/${bobA.id}`)
    expect(wrongUser.status).toBe(404)
    expect(wrongUser.body).toEqual({ error: 'RecordNotFound', description: 'Not found' })

    expect((await zd.del(`/api/v2/users/${ann}/organization_memberships/${annA.id}`)).status).toBe(204)
    expect(await defaultOrgOf(ann)).toBe(b)

    expect((await zd.del(`/api/v2/users/${ann}/organizations/${b}.json`)).status).toBe(204)
    expect(await membershipsOf(ann)).toEqual([])
    const again = await zd.del(`/api/v2/users/${ann}/organizations/${b}`)
    expect(again.status).toBe(404)
    expect(again.body).toEqual({ error: 'RecordNotFound', description: 'Not found' })

    expect((await zd.del('/api/v2/organization_memberships/999')).status).toBe(404)
    expect((await membershipsOf(bob)).map((m) => m.id)).toEqual([bobA.id])
  })

  test('deleting an organization removes its memberships and promotes each user’s next default', async () => {
    const ann = await createUser('Ann')
    const bob = await createUser('Bob')
    const gone = await createOrg('Gone')
    const stays = await createOrg('Stays')
    await join(ann, gone)
    await join(ann, stays)
    await join(bob, gone)
    expect((await zd.del(`/api/v2/organizations/${gone}`)).status).toBe(204)
    const state = await zd.state()
    expect(state.organization_memberships.map((m: any) => [m.user_id, m.organization_id])).toEqual([
      [ann, stays],
    ])
    expect(await defaultOrgOf(ann)).toBe(stays)
    expect(await defaultOrgOf(bob)).toBeNull()
    expect((await membershipsOf(ann))[0]).toMatchObject({ organization_id: stays, default: true })
  })

  test('organizations/destroy_many removes the memberships of every deleted organization', async () => {
    const ann = await createUser('Ann')
    const a = await createOrg('A')
    const b = await createOrg('B')
    await join(ann, a)
    await join(ann, b)
    const r = await zd.del(`/api/v2/organizations/destroy_many?ids=${a},${b}`)
    await zd.waitForJob(r.body.job_status.id)
    expect(await membershipsOf(ann)).toEqual([])
    expect(await defaultOrgOf(ann)).toBeNull()
  })
})

describe('making a membership the default', () => {
  test('make_default answers 200 with the user’s memberships, the new default first', async () => {
    const user = await createUser()
    const a = await createOrg('A')
    const b = await createOrg('B')
    await join(user, a)
    const mb = await join(user, b)
    const r = await zd.put(`/api/v2/users/${user}/organization_memberships/${mb.id}/make_default`)
    expect(r.status).toBe(200)
    expect(r.body.organization_memberships.map((m: any) => [m.organization_id, m.default])).toEqual([
      [b, true],
      [a, null],
    ])
    expect(await defaultOrgOf(user)).toBe(b)
  })

  test('users/{id}/organizations/{id}/make_default answers the one membership', async () => {
    const user = await createUser()
    const a = await createOrg('A')
    const b = await createOrg('B')
    await join(user, a)
    await join(user, b)
    const r = await zd.put(`/api/v2/users/${user}/organizations/${b}/make_default`)
    expect(r.status).toBe(200)
    expect(r.body.organization_membership).toMatchObject({ user_id: user, organization_id: b, default: true })
    expect(await defaultOrgOf(user)).toBe(b)
  })

  test('make_default on a membership of another user is 404', async () => {
    const ann = await createUser('Ann')
    const bob = await createUser('Bob')
    const a = await createOrg('A')
    const bobA = await join(bob, a)
    const r = await zd.put(`/api/v2/users/${ann}/organization_memberships/${bobA.id}/make_default`)
    expect(r.status).toBe(404)
  })
})

describe('bulk memberships', () => {
  test('create_many answers a queued job, then results in request order with the duplicate failing in place', async () => {
    zd.emulator.configure({ jobDelayMs: 300 })
    const ann = await createUser('Ann')
    const bob = await createUser('Bob')
    const a = await createOrg('A')
    const r = await zd.post('/api/v2/organization_memberships/create_many', {
      organization_memberships: [
        { user_id: ann, organization_id: a },
        { user_id: ann, organization_id: a },
        { user_id: bob, organization_id: a },
      ],
    })
    expect(r.status).toBe(200)
    expect(r.body.job_status).toMatchObject({ status: 'queued', total: 3, results: null, progress: null })
    expect((await zd.state()).organization_memberships).toEqual([])

    const job = await zd.waitForJob(r.body.job_status.id)
    expect(job.status).toBe('completed')
    const ids = new Map((await zd.state()).organization_memberships.map((m: any) => [m.user_id, m.id]))
    expect(job.results).toEqual([
      { id: ids.get(ann), action: 'create', status: 'Created', success: true },
      {
        id: 1,
        index: 1,
        action: 'create',
        status: 'Failed',
        success: false,
        error: 'RecordInvalid',
        details: 'This user is already a member of this organization.',
      },
      { id: ids.get(bob), action: 'create', status: 'Created', success: true },
    ])
    expect(await defaultOrgOf(bob)).toBe(a)
  })

  test('create_many with more than 100 memberships is 400', async () => {
    const organization_memberships = Array.from({ length: 101 }, () => ({ user_id: 1, organization_id: 1 }))
    const r = await zd.post('/api/v2/organization_memberships/create_many', { organization_memberships })
    expect(r.status).toBe(400)
  })

  test('destroy_many removes the memberships when the job completes', async () => {
    const ann = await createUser('Ann')
    const a = await createOrg('A')
    const b = await createOrg('B')
    const ma = await join(ann, a)
    const mb = await join(ann, b)
    const r = await zd.del(`/api/v2/organization_memberships/destroy_many?ids=${ma.id},${mb.id}`)
    expect(r.status).toBe(200)
    const job = await zd.waitForJob(r.body.job_status.id)
    expect(job.results).toEqual([
      { id: ma.id, action: 'delete', status: 'Deleted', success: true },
      { id: mb.id, action: 'delete', status: 'Deleted', success: true },
    ])
    expect(await membershipsOf(ann)).toEqual([])
  })
})

describe('PUT users/{id} with organization_id', () => {
  test('replaces every membership with the one organization, which becomes the default', async () => {
    const user = await createUser()
    const a = await createOrg('A')
    const b = await createOrg('B')
    const c = await createOrg('C')
    await join(user, a)
    await join(user, b)
    const r = await zd.put(`/api/v2/users/${user}`, { user: { organization_id: c } })
    expect(r.status).toBe(200)
    expect(r.body.user.organization_id).toBe(c)
    expect((await membershipsOf(user)).map((m) => [m.organization_id, m.default])).toEqual([[c, true]])
  })

  test('keeps an existing membership in that organization and makes it the default', async () => {
    const user = await createUser()
    const a = await createOrg('A')
    const b = await createOrg('B')
    await join(user, a)
    const mb = await join(user, b)
    const r = await zd.put(`/api/v2/users/${user}`, { user: { organization_id: b } })
    expect(r.status).toBe(200)
    expect((await membershipsOf(user)).map((m) => [m.id, m.default])).toEqual([[mb.id, true]])
  })
})

describe('answers conform to Zendesk’s OpenAPI document', () => {
  const conforming = useConformance(zd)

  test('every membership endpoint answers in the documented shape, errors included', async () => {
    const user = await createUser()
    const a = await createOrg('A')
    const b = await createOrg('B')
    const c = await createOrg('C')
    const ma = await conforming('POST', '/api/v2/organization_memberships', {
      organization_membership: { user_id: user, organization_id: a },
    })
    const mb = await conforming('POST', `/api/v2/users/${user}/organization_memberships`, {
      organization_membership: { organization_id: b },
    })
    await conforming('GET', '/api/v2/organization_memberships')
    await conforming('GET', `/api/v2/organization_memberships/${ma.body.organization_membership.id}`)
    await conforming('GET', `/api/v2/users/${user}/organization_memberships`)
    await conforming('GET', `/api/v2/organizations/${a}/organization_memberships`)
    await conforming('GET', `/api/v2/users/${user}/organizations`)
    await conforming(
      'PUT',
      `/api/v2/users/${user}/organization_memberships/${mb.body.organization_membership.id}/make_default`,
    )
    await conforming('PUT', `/api/v2/users/${user}/organizations/${a}/make_default`)
    const job = await conforming('POST', '/api/v2/organization_memberships/create_many', {
      organization_memberships: [{ user_id: user, organization_id: c }],
    })
    await zd.waitForJob(job.body.job_status.id)
    await conforming('GET', `/api/v2/job_statuses/${job.body.job_status.id}`)
    expect(
      (
        await conforming('POST', '/api/v2/organization_memberships', {
          organization_membership: { user_id: user, organization_id: a },
        })
      ).status,
    ).toBe(422)
    expect((await conforming('DELETE', `/api/v2/users/${user}/organizations/${c}`)).status).toBe(204)
    expect(
      (
        await conforming(
          'DELETE',
          `/api/v2/users/${user}/organization_memberships/${mb.body.organization_membership.id}`,
        )
      ).status,
    ).toBe(204)
    expect(
      (await conforming('DELETE', `/api/v2/organization_memberships/${ma.body.organization_membership.id}`))
        .status,
    ).toBe(204)
    expect((await conforming('GET', '/api/v2/organization_memberships/999')).status).toBe(404)
    await conforming('DELETE', '/api/v2/organization_memberships/destroy_many?ids=1')
  })
})
