/**
 * Contract scenarios: every emulated Support endpoint is driven over real HTTP, in success and
 * error cases, and every answer is validated against Zendesk's OpenAPI document (see oas.ts for
 * the relaxations, and for the error shapes taken from the facts where the document defines none).
 *
 * A failure here is either the emulator answering a shape Zendesk does not (recorded for the lead
 * in notes/contract-findings.md) or the document being stricter than real Zendesk (relaxed in
 * oas.ts, with the evidence).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

import { startTestEmulator, type AuthSpec, type TestClient, type TestResponse } from '../client.js'
import { bestTemplate, loadOas, type Oas, supportRoutes } from './oas.js'

let oas: Oas
let zd: TestClient
/** `METHOD /template` of every emulator route a scenario reached. */
const exercised = new Set<string>()

beforeAll(async () => {
  oas = loadOas()
  // Endpoint limits are switched on only in the scenario about them (the create-update-user
  // bucket allows one call a second, which the scenarios would trip).
  zd = await startTestEmulator({ rateLimits: false })
})
afterAll(async () => {
  await zd.close()
})

const WRONG_TOKEN: AuthSpec = { basic: 'admin@example.com/token:not-the-token' }

interface CallOptions {
  body?: unknown
  auth?: AuthSpec
  /** Also check the request body against the document's request schema (success scenarios). */
  checkRequest?: boolean
}

/**
 * One request: the status must be `status`, and the answer must satisfy the document for that
 * operation and status. Returns the answer.
 */
async function call(
  method: string,
  path: string,
  status: number,
  { body, auth, checkRequest = status < 400 }: CallOptions = {},
): Promise<TestResponse> {
  const templates = zd.emulator.routes.filter((r) => r.method === method).map((r) => r.url)
  const route = bestTemplate(templates, path)
  if (route !== null) {
    exercised.add(`${method} ${route}`)
  }
  if (checkRequest && body !== undefined) {
    const errors = oas.validateRequest(method, path, body)
    if (errors.length > 0) {
      expect.fail(`request body of ${method} ${path} against the document:\n  ${errors.join('\n  ')}`)
    }
  }
  const r = await zd.request(method, path, body, auth)
  expect(r.status, `${method} ${path} answered ${r.text.slice(0, 400)}`).toBe(status)
  const v = oas.validateResponse(method, path, r.status, r.body)
  if (v.errors.length > 0) {
    expect.fail(
      `${method} ${path} ${r.status} against ${v.contract} (${v.source}):\n  ${v.errors.join('\n  ')}`,
    )
  }
  return r
}

/**
 * A bulk call: answers 200 with a queued job (facts §7: results null), which then completes; the
 * final job status is validated too. Returns the completed job. `withFailures`: some items are
 * meant to fail, so the request body is not checked against the document.
 */
async function bulk(method: string, path: string, body?: unknown, withFailures = false): Promise<any> {
  const r = await call(method, path, 200, body === undefined ? {} : { body, checkRequest: !withFailures })
  expect(r.body.job_status).toMatchObject({ status: 'queued', results: null })
  const done = await zd.waitForJob(r.body.job_status.id)
  const shown = await call('GET', `/api/v2/job_statuses/${done.id}.json`, 200)
  expect(shown.body.job_status.status).toBe('completed')
  return shown.body.job_status
}

let seq = 0
/** A fresh suffix so scenarios never collide on unique emails, names or keys. */
function uniq(): string {
  seq += 1
  return `${seq}${Date.now().toString(36)}`
}

async function newUser(extra: Record<string, unknown> = {}): Promise<any> {
  const u = uniq()
  const r = await call('POST', '/api/v2/users.json', 201, {
    body: { user: { name: `User ${u}`, email: `user-${u}@example.com`, external_id: `ext-${u}`, ...extra } },
  })
  return r.body.user
}

async function newOrganization(extra: Record<string, unknown> = {}): Promise<any> {
  const u = uniq()
  const r = await call('POST', '/api/v2/organizations.json', 201, {
    body: { organization: { name: `Org ${u}`, external_id: `org-${u}`, ...extra } },
  })
  return r.body.organization
}

describe('the validator itself', () => {
  // Guards against a validator that accepts everything, which would make every scenario pass.
  test('it rejects a user without a name and with a string id, and accepts a real admin-view user', () => {
    const ok = {
      user: { id: 1, name: 'Ada', email: 'ada@example.com', alias: null, created_at: '2026-01-02T03:04:05Z' },
    }
    expect(oas.validateResponse('GET', '/api/v2/users/1.json', 200, ok).errors).toEqual([])
    const bad = oas.validateResponse('GET', '/api/v2/users/1.json', 200, { user: { id: '1' } })
    expect(bad.source).toBe('document')
    expect(bad.errors.join('\n')).toMatch(/required property 'name'/)
    expect(bad.errors.join('\n')).toMatch(/\/user\/id must be integer/)
  })

  test('job results: the observed create_or_update_many items pass, an item without id fails', () => {
    const job = (results: unknown[]) => ({
      job_status: {
        id: 'V3-a',
        status: 'completed',
        total: 2,
        progress: 2,
        message: null,
        url: 'u',
        results,
      },
    })
    const observed = [
      { id: 1900233268488, status: 'Created', email: 'a@example.com' },
      { id: 2, error: 'UserUpdateError', details: 'Name: …', status: 'Failed' },
    ]
    expect(oas.validateResponse('GET', '/api/v2/job_statuses/V3-a', 200, job(observed)).errors).toEqual([])
    const noId = job([{ index: 0, error: 'X', details: 'y' }])
    expect(oas.validateResponse('GET', '/api/v2/job_statuses/V3-a', 200, noId).errors).not.toEqual([])
  })

  test('error statuses the document leaves out are checked against the facts shapes', () => {
    const v = oas.validateResponse('POST', '/api/v2/users.json', 422, {
      error: 'RecordInvalid',
      description: 'x',
    })
    expect(v.source).toBe('facts')
    expect(v.errors.join('\n')).toMatch(/required property 'details'/)
    const undocumented = oas.validateResponse('POST', '/api/v2/users.json', 200, {})
    expect(undocumented.source).toBe('none')
  })
})

describe('authentication answers', () => {
  test('a wrong API token gets the documented 401 on every resource', async () => {
    for (const path of [
      '/api/v2/users.json',
      '/api/v2/organizations.json',
      '/api/v2/organization_memberships.json',
      '/api/v2/tickets.json',
      '/api/v2/user_fields.json',
      '/api/v2/organization_fields.json',
      '/api/v2/job_statuses/show_many.json?ids=V3-x',
    ]) {
      await call('GET', path, 401, { auth: WRONG_TOKEN })
    }
  })
})

describe('users', () => {
  test('creating, showing, updating and deleting a user answer documented users', async () => {
    const user = await newUser({ tags: ['vip'], user_fields: {} })
    await call('GET', `/api/v2/users/${user.id}.json`, 200)
    await call('GET', `/api/v2/users/${user.id}`, 200)
    await call('PUT', `/api/v2/users/${user.id}.json`, 200, {
      body: { user: { notes: 'Prefers email', details: 'Contract customer', phone: '+15551234567' } },
    })
    const deleted = await call('DELETE', `/api/v2/users/${user.id}.json`, 200)
    expect(deleted.body.user.active).toBe(false)
    // A soft-deleted user is still shown (emulator choice, unverified): validate that answer too.
    await call('GET', `/api/v2/users/${user.id}.json`, 200)
  })

  test('the current user is a documented user', async () => {
    await call('GET', '/api/v2/users/me.json', 200)
  })

  test('user errors: duplicate email and missing name are 422 RecordInvalid, unknown ids 404', async () => {
    const user = await newUser()
    await call('POST', '/api/v2/users.json', 422, {
      body: { user: { name: 'Copy', email: user.email } },
    })
    await call('POST', '/api/v2/users.json', 422, {
      body: { user: { email: `noname-${uniq()}@example.com` } },
    })
    await call('GET', '/api/v2/users/999999999.json', 404)
    await call('PUT', '/api/v2/users/999999999.json', 404, { body: { user: { notes: 'x' } } })
    await call('DELETE', '/api/v2/users/999999999.json', 404)
    await call('POST', '/api/v2/users.json', 400, { body: { name: 'not wrapped' } })
  })

  test('listing, show_many and search answer documented user lists', async () => {
    const a = await newUser()
    const b = await newUser()
    await call('GET', '/api/v2/users.json', 200)
    await call('GET', `/api/v2/users.json?external_id=${a.external_id}`, 200)
    await call('GET', '/api/v2/users.json?page[size]=1', 200)
    await call('GET', '/api/v2/users.json?role=end-user&per_page=1', 200)
    await call('GET', `/api/v2/users/show_many.json?ids=${a.id},${b.id}`, 200)
    await call('GET', `/api/v2/users/show_many.json?external_ids=${a.external_id},${b.external_id}`, 200)
    await call('GET', `/api/v2/users/search.json?external_id=${a.external_id}`, 200)
    await call('GET', `/api/v2/users/search.json?query=${encodeURIComponent(a.email)}`, 200)
    await call('GET', '/api/v2/users/show_many.json', 400)
  })

  test('create_or_update answers 201 when it creates and 200 when it updates', async () => {
    const u = uniq()
    const user = { name: `Upsert ${u}`, email: `upsert-${u}@example.com`, external_id: `up-${u}` }
    await call('POST', '/api/v2/users/create_or_update.json', 201, { body: { user } })
    await call('POST', '/api/v2/users/create_or_update.json', 200, {
      body: { user: { ...user, name: `Upserted ${u}` } },
    })
  })

  test('identities: list, create, show, make_primary, update and delete answer documented identities', async () => {
    const user = await newUser()
    await call('GET', `/api/v2/users/${user.id}/identities.json`, 200)
    const created = await call('POST', `/api/v2/users/${user.id}/identities.json`, 201, {
      body: { identity: { type: 'email', value: `second-${uniq()}@example.com` } },
    })
    const iid = created.body.identity.id
    await call('GET', `/api/v2/users/${user.id}/identities/${iid}.json`, 200)
    await call('PUT', `/api/v2/users/${user.id}/identities/${iid}/make_primary.json`, 200)
    await call('GET', `/api/v2/users/${user.id}/identities/999999999.json`, 404)
    const other = await call('POST', `/api/v2/users/${user.id}/identities.json`, 201, {
      body: { identity: { type: 'email', value: `third-${uniq()}@example.com` } },
    })
    const oid = other.body.identity.id
    await call('PUT', `/api/v2/users/${user.id}/identities/${oid}.json`, 200, {
      body: { identity: { verified: true } },
    })
    await call('DELETE', `/api/v2/users/${user.id}/identities/${oid}.json`, 204)
  })

  test('bulk user jobs answer a queued job and complete with documented results', async () => {
    const u = uniq()
    const existing = await newUser()
    const created = await bulk('POST', '/api/v2/users/create_many.json', {
      users: [
        { name: `Bulk A ${u}`, email: `bulk-a-${u}@example.com` },
        { name: `Bulk B ${u}`, email: `bulk-b-${u}@example.com` },
        { name: 'Taken email', email: existing.email },
      ],
    })
    expect(created.results).toHaveLength(3)
    const upserted = await bulk('POST', '/api/v2/users/create_or_update_many.json', {
      users: [
        { name: 'Renamed', external_id: existing.external_id },
        { name: `Bulk C ${u}`, email: `bulk-c-${u}@example.com` },
        { name: '', email: `bulk-d-${u}@example.com` },
      ],
    })
    expect(upserted.results).toHaveLength(3)
    await bulk('PUT', `/api/v2/users/update_many.json?ids=${existing.id}`, { user: { notes: 'Bulk note' } })
    await bulk('PUT', '/api/v2/users/update_many.json', { users: [{ id: existing.id, notes: 'Each' }] })
    await bulk('DELETE', `/api/v2/users/destroy_many.json?ids=${existing.id},999999999`)
  })

  test('bulk user errors: too many items is 400, bulk import off is 403', async () => {
    const many = Array.from({ length: 101 }, (_, i) => ({
      name: `N${i}`,
      email: `n${i}-${uniq()}@example.com`,
    }))
    await call('POST', '/api/v2/users/create_many.json', 400, { body: { users: many } })
    await call('DELETE', '/api/v2/users/destroy_many.json', 400)
    zd.emulator.configure({ bulkUserImport: false })
    try {
      const users = [{ name: 'X', email: `x-${uniq()}@example.com` }]
      await call('POST', '/api/v2/users/create_many.json', 403, { body: { users } })
      await call('POST', '/api/v2/users/create_or_update_many.json', 403, { body: { users } })
    } finally {
      zd.emulator.configure({ bulkUserImport: true })
    }
  })
})

describe.each(['user', 'organization'] as const)('%s fields', (kind) => {
  const base = `/api/v2/${kind}_fields`
  const wrap = `${kind}_field`

  test('creating, listing, showing, updating and deleting fields answer documented fields', async () => {
    const key = `plan_${uniq()}`
    const text = await call('POST', `${base}.json`, 201, {
      body: { [wrap]: { type: 'text', key, title: 'Plan', description: 'Billing plan' } },
    })
    const dropdown = await call('POST', `${base}.json`, 201, {
      body: {
        [wrap]: {
          type: 'dropdown',
          key: `tier_${uniq()}`,
          title: 'Tier',
          custom_field_options: [
            { name: 'Gold', value: 'gold' },
            { name: 'Silver', value: 'silver' },
          ],
        },
      },
    })
    await call('POST', `${base}.json`, 201, {
      body: { [wrap]: { type: 'checkbox', key: `vip_${uniq()}`, title: 'VIP', tag: 'vip' } },
    })
    await call('GET', `${base}.json`, 200)
    await call('GET', `${base}/${text.body[wrap].id}.json`, 200)
    await call('GET', `${base}/${key}.json`, 200)
    await call('PUT', `${base}/${dropdown.body[wrap].id}.json`, 200, {
      body: { [wrap]: { title: 'Tier (renamed)', custom_field_options: [{ name: 'Gold', value: 'gold' }] } },
    })
    await call('DELETE', `${base}/${text.body[wrap].id}.json`, 204)
  })

  test('field errors: a duplicate key is 422 RecordInvalid, an unknown field 404', async () => {
    const key = `dup_${uniq()}`
    await call('POST', `${base}.json`, 201, { body: { [wrap]: { type: 'text', key, title: 'Dup' } } })
    await call('POST', `${base}.json`, 422, { body: { [wrap]: { type: 'text', key, title: 'Dup again' } } })
    await call('GET', `${base}/999999999.json`, 404)
    await call('PUT', `${base}/999999999.json`, 404, { body: { [wrap]: { title: 'x' } } })
    await call('DELETE', `${base}/999999999.json`, 404)
  })

  test('records carry documented custom field values', async () => {
    const key = `score_${uniq()}`
    await call('POST', `${base}.json`, 201, { body: { [wrap]: { type: 'integer', key, title: 'Score' } } })
    if (kind === 'user') {
      const user = await newUser()
      await call('PUT', `/api/v2/users/${user.id}.json`, 200, {
        body: { user: { user_fields: { [key]: 7 } } },
      })
    } else {
      const org = await newOrganization()
      await call('PUT', `/api/v2/organizations/${org.id}.json`, 200, {
        body: { organization: { organization_fields: { [key]: 7 } } },
      })
    }
  })
})

describe('organizations', () => {
  test('creating, showing, updating and deleting an organization answer documented organizations', async () => {
    const org = await newOrganization({ domain_names: ['example.org'], tags: ['gold'], details: 'Big' })
    await call('GET', `/api/v2/organizations/${org.id}.json`, 200)
    await call('PUT', `/api/v2/organizations/${org.id}.json`, 200, {
      body: { organization: { notes: 'Renewal in May', shared_tickets: true } },
    })
    await call('DELETE', `/api/v2/organizations/${org.id}.json`, 204)
  })

  test('organization errors: duplicate name is 422 RecordInvalid, unknown ids 404, bad search 400', async () => {
    const org = await newOrganization()
    await call('POST', '/api/v2/organizations.json', 422, { body: { organization: { name: org.name } } })
    await call('GET', '/api/v2/organizations/999999999.json', 404)
    await call('PUT', '/api/v2/organizations/999999999.json', 404, { body: { organization: { notes: 'x' } } })
    await call('DELETE', '/api/v2/organizations/999999999.json', 404)
    await call('GET', `/api/v2/organizations/search.json?external_id=a&name=b`, 400)
  })

  test('listing, show_many and search answer documented organization lists', async () => {
    const a = await newOrganization()
    const b = await newOrganization()
    await call('GET', '/api/v2/organizations.json', 200)
    await call('GET', '/api/v2/organizations.json?page[size]=1', 200)
    await call('GET', `/api/v2/organizations/show_many.json?ids=${a.id},${b.id}`, 200)
    await call('GET', `/api/v2/organizations/show_many.json?external_ids=${a.external_id}`, 200)
    await call('GET', `/api/v2/organizations/search.json?external_id=${a.external_id}`, 200)
    await call('GET', `/api/v2/organizations/search.json?name=${encodeURIComponent(b.name)}`, 200)
  })

  test('organization create_or_update answers 201 when it creates and 200 when it updates', async () => {
    const u = uniq()
    const organization = { name: `Upsert Org ${u}`, external_id: `up-org-${u}` }
    await call('POST', '/api/v2/organizations/create_or_update.json', 201, { body: { organization } })
    await call('POST', '/api/v2/organizations/create_or_update.json', 200, {
      body: { organization: { ...organization, notes: 'Updated' } },
    })
  })

  test('bulk organization jobs answer a queued job and complete with documented results', async () => {
    const u = uniq()
    const org = await newOrganization()
    const created = await bulk('POST', '/api/v2/organizations/create_many.json', {
      organizations: [{ name: `Bulk Org A ${u}` }, { name: `Bulk Org B ${u}` }, { name: org.name }],
    })
    expect(created.results).toHaveLength(3)
    await bulk('PUT', `/api/v2/organizations/update_many.json?ids=${org.id}`, {
      organization: { notes: 'Bulk' },
    })
    await bulk('PUT', '/api/v2/organizations/update_many.json', {
      organizations: [{ id: org.id, notes: 'Each' }],
    })
    await bulk('DELETE', `/api/v2/organizations/destroy_many.json?ids=${org.id}`)
    await call('DELETE', '/api/v2/organizations/destroy_many.json', 400)
  })

  test('the sixth update of one organization in a minute is the documented 429', async () => {
    const org = await newOrganization()
    zd.emulator.configure({ rateLimits: true })
    try {
      for (let i = 0; i < 5; i++) {
        await call('PUT', `/api/v2/organizations/${org.id}.json`, 200, {
          body: { organization: { notes: `n${i}` } },
        })
      }
      // The document defines this 429 as `Errors` ({"errors":[{"code":"TooManyRequests",…}]}).
      await call('PUT', `/api/v2/organizations/${org.id}.json`, 429, {
        body: { organization: { notes: 'n5' } },
      })
    } finally {
      zd.emulator.configure({ rateLimits: false })
    }
  })
})

describe('organization memberships', () => {
  test('memberships created, listed, shown, made default and deleted answer documented memberships', async () => {
    const user = await newUser()
    const [o1, o2, o3] = [await newOrganization(), await newOrganization(), await newOrganization()]
    const m1 = await call('POST', '/api/v2/organization_memberships.json', 201, {
      body: { organization_membership: { user_id: user.id, organization_id: o1.id } },
    })
    const m2 = await call('POST', `/api/v2/users/${user.id}/organization_memberships.json`, 201, {
      body: { organization_membership: { organization_id: o2.id } },
    })
    const m3 = await call('POST', '/api/v2/organization_memberships.json', 201, {
      body: { organization_membership: { user_id: user.id, organization_id: o3.id } },
    })
    await call('GET', '/api/v2/organization_memberships.json', 200)
    await call('GET', `/api/v2/organization_memberships/${m1.body.organization_membership.id}.json`, 200)
    await call('GET', `/api/v2/users/${user.id}/organization_memberships.json`, 200)
    await call('GET', `/api/v2/organizations/${o1.id}/organization_memberships.json`, 200)
    await call('GET', `/api/v2/users/${user.id}/organizations.json`, 200)
    await call(
      'PUT',
      `/api/v2/users/${user.id}/organization_memberships/${m2.body.organization_membership.id}/make_default.json`,
      200,
    )
    await call('PUT', `/api/v2/users/${user.id}/organizations/${o1.id}/make_default.json`, 200)
    await call(
      'DELETE',
      `/api/v2/users/${user.id}/organization_memberships/${m2.body.organization_membership.id}.json`,
      204,
    )
    await call('DELETE', `/api/v2/users/${user.id}/organizations/${o1.id}.json`, 204)
    await call('DELETE', `/api/v2/organization_memberships/${m3.body.organization_membership.id}.json`, 204)
  })

  test('membership errors: an existing membership is 422 RecordInvalid, unknown ids 404', async () => {
    const user = await newUser()
    const org = await newOrganization()
    const membership = { user_id: user.id, organization_id: org.id }
    await call('POST', '/api/v2/organization_memberships.json', 201, {
      body: { organization_membership: membership },
    })
    await call('POST', '/api/v2/organization_memberships.json', 422, {
      body: { organization_membership: membership },
    })
    await call('GET', '/api/v2/organization_memberships/999999999.json', 404)
    await call('DELETE', '/api/v2/organization_memberships/999999999.json', 404)
    await call('GET', '/api/v2/users/999999999/organization_memberships.json', 404)
    await call('GET', '/api/v2/users/999999999/organizations.json', 404)
    await call('GET', '/api/v2/organizations/999999999/organization_memberships.json', 404)
    await call('DELETE', `/api/v2/users/${user.id}/organization_memberships/999999999.json`, 404)
    await call('DELETE', `/api/v2/users/${user.id}/organizations/999999999.json`, 404)
  })

  test('bulk membership jobs answer a queued job and complete with documented results', async () => {
    const user = await newUser()
    const [o1, o2] = [await newOrganization(), await newOrganization()]
    const created = await bulk('POST', '/api/v2/organization_memberships/create_many.json', {
      organization_memberships: [
        { user_id: user.id, organization_id: o1.id },
        { user_id: user.id, organization_id: o2.id },
        { user_id: user.id, organization_id: o2.id },
      ],
    })
    expect(created.results).toHaveLength(3)
    const ids = created.results
      .slice(0, 2)
      .map((r: { id: number }) => r.id)
      .join(',')
    await bulk('DELETE', `/api/v2/organization_memberships/destroy_many.json?ids=${ids}`)
  })
})

describe('tickets', () => {
  async function newTicket(extra: Record<string, unknown> = {}): Promise<any> {
    const requester = await newUser()
    const r = await call('POST', '/api/v2/tickets.json', 201, {
      body: {
        ticket: {
          subject: 'Printer on fire',
          comment: { body: 'It smokes.' },
          requester_id: requester.id,
          ...extra,
        },
      },
    })
    return r.body.ticket
  }

  test('creating, showing, updating and deleting a ticket answer documented tickets', async () => {
    const ticket = await newTicket({
      tags: ['hardware'],
      priority: 'high',
      type: 'incident',
      external_id: 'T-1',
    })
    const u = uniq()
    await call('POST', '/api/v2/tickets.json', 201, {
      body: {
        ticket: {
          subject: 'New requester',
          comment: { body: 'Hello' },
          requester: { name: `Req ${u}`, email: `req-${u}@example.com` },
        },
      },
    })
    await call('GET', `/api/v2/tickets/${ticket.id}.json`, 200)
    await call('PUT', `/api/v2/tickets/${ticket.id}.json`, 200, {
      body: { ticket: { status: 'open', comment: { body: 'Looking into it', public: false } } },
    })
    await call('GET', `/api/v2/tickets/${ticket.id}/comments.json`, 200)
    await call('DELETE', `/api/v2/tickets/${ticket.id}.json`, 204)
  })

  test('ticket errors: a ticket without a description is 422 RecordInvalid, unknown ids 404', async () => {
    const requester = await newUser()
    await call('POST', '/api/v2/tickets.json', 422, {
      body: { ticket: { subject: 'Empty', requester_id: requester.id } },
    })
    await call('GET', '/api/v2/tickets/999999999.json', 404)
    await call('PUT', '/api/v2/tickets/999999999.json', 404, { body: { ticket: { status: 'open' } } })
    await call('DELETE', '/api/v2/tickets/999999999.json', 404)
    await call('GET', '/api/v2/tickets/999999999/comments.json', 404)
  })

  test('ticket fields: created, listed (system fields too), shown, updated and deleted as documented', async () => {
    const text = await call('POST', '/api/v2/ticket_fields.json', 201, {
      body: { ticket_field: { type: 'text', title: `Order ${uniq()}` } },
    })
    const tagger = await call('POST', '/api/v2/ticket_fields.json', 201, {
      body: {
        ticket_field: {
          type: 'tagger',
          title: `Region ${uniq()}`,
          custom_field_options: [{ name: 'Europe', value: `eu_${uniq()}` }],
        },
      },
    })
    await call('GET', '/api/v2/ticket_fields.json', 200)
    await call('GET', '/api/v2/ticket_fields.json?page[size]=2', 200)
    await call('GET', `/api/v2/ticket_fields/${text.body.ticket_field.id}.json`, 200)
    await call('PUT', `/api/v2/ticket_fields/${tagger.body.ticket_field.id}.json`, 200, {
      body: { ticket_field: { title: 'Region (renamed)' } },
    })
    await call('DELETE', `/api/v2/ticket_fields/${text.body.ticket_field.id}.json`, 204)
    await call('GET', '/api/v2/ticket_fields/999999999.json', 404)
  })

  test('listing and show_many answer documented ticket lists', async () => {
    const a = await newTicket({ external_id: `ext-${uniq()}` })
    const b = await newTicket()
    await call('GET', '/api/v2/tickets.json', 200)
    await call('GET', '/api/v2/tickets.json?page[size]=1', 200)
    await call('GET', `/api/v2/tickets.json?external_id=${a.external_id}`, 200)
    await call('GET', `/api/v2/tickets/show_many.json?ids=${a.id},${b.id}`, 200)
  })

  test('bulk ticket jobs answer a queued job and complete with documented results', async () => {
    const requester = await newUser()
    const created = await bulk(
      'POST',
      '/api/v2/tickets/create_many.json',
      {
        tickets: [
          { subject: 'Bulk 1', comment: { body: 'One' }, requester_id: requester.id },
          { subject: 'Bulk 2', comment: { body: 'Two' }, requester_id: requester.id },
          { subject: 'No description', requester_id: requester.id },
        ],
      },
      true,
    )
    expect(created.results).toHaveLength(3)
    const ids = created.results.slice(0, 2).map((r: { id: number }) => r.id)
    await bulk('PUT', `/api/v2/tickets/update_many.json?ids=${ids.join(',')}`, {
      ticket: { status: 'pending' },
    })
    await bulk('PUT', '/api/v2/tickets/update_many.json', {
      tickets: [
        { id: ids[0], priority: 'low' },
        { id: 999999999, priority: 'low' },
      ],
    })
    await call('PUT', '/api/v2/tickets/update_many.json', 400, { body: {} })
  })
})

describe('job statuses', () => {
  test('show_many and an unknown job status answer documented shapes', async () => {
    const org = await newOrganization()
    const job = await bulk('PUT', `/api/v2/organizations/update_many.json?ids=${org.id}`, {
      organization: { notes: 'for the job list' },
    })
    await call('GET', `/api/v2/job_statuses/show_many.json?ids=${job.id},V3-unknown`, 200)
    await call('GET', '/api/v2/job_statuses/V3-unknown.json', 404)
  })
})

describe('coverage', () => {
  test('every emulated Support endpoint is driven by at least one scenario above', () => {
    const missed = supportRoutes(zd.emulator.routes)
      .map(({ method, template }) => ({ method, url: template.replace(/\{([^}]+)\}/g, ':$1') }))
      .filter(({ method, url }) => !exercised.has(`${method} ${url}`))
      .map(({ method, url }) => `${method} ${url}`)
    expect(missed, `endpoints without a scenario:\n  ${missed.join('\n  ')}`).toEqual([])
  })
})
