import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, WRITE_KEY, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

/** A config file with the default destination (the harness points it at the emulator). */
const withSettings = (settings: string): string => `
sources:
  - { id: web, writeKey: ${WRITE_KEY}, destinations: [default] }
destinations:
  - id: default
    zendesk: { sandbox: true }
    settings: ${settings}
`

/** A call to the emulator's Support API as its admin (test setup, not the service). */
async function zendesk(method: string, path: string, body?: unknown): Promise<any> {
  const { adminEmail, apiToken } = t!.emulator.seed
  const r = await fetch(`${t!.emulator.url}/api/v2/${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${adminEmail}/token:${apiToken}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return r.json()
}

async function jobs(state: string): Promise<any[]> {
  const r = await fetch(`${t!.url}/admin/api/destinations/default/jobs?state=${state}`)
  return ((await r.json()) as { jobs: any[] }).jobs
}

/** The default destination's job counts by state. */
async function counts(): Promise<Record<string, number>> {
  const r = await fetch(`${t!.url}/admin/api/destinations`)
  return ((await r.json()) as { destinations: { jobs: Record<string, number> }[] }).destinations[0]!.jobs
}

async function requests(path: string): Promise<any[]> {
  const r = await fetch(`${t!.emulator.url}/__emulator/requests?path=${encodeURIComponent(path)}`)
  return ((await r.json()) as { requests: any[] }).requests
}

const orgBy = (state: any, externalId: string) =>
  state.organizations.find((o: any) => o.external_id === externalId)
const userBy = (state: any, externalId: string) => state.users.find((u: any) => u.external_id === externalId)
const membersOf = (state: any, orgId: number) =>
  state.organization_memberships.filter((m: any) => m.organization_id === orgId).map((m: any) => m.user_id)

/** Identifies users and waits until Zendesk has them all. */
async function identify(users: { id: string; email: string; name: string }[]): Promise<void> {
  await t!.post('/v1/batch', {
    batch: users.map((u) => ({ type: 'identify', userId: u.id, traits: { email: u.email, name: u.name } })),
  })
  await t!.waitFor(async () => {
    const s = await t!.state()
    return users.every((u) => userBy(s, u.id))
  })
}

describe('group calls upsert Zendesk organizations', () => {
  test('a group creates the organization with groupId as external_id, and a later group for it updates it in place', async () => {
    t = await startTestService()
    await zendesk('POST', 'organization_fields', {
      organization_field: { key: 'plan_type', title: 'Plan', type: 'text' },
    })
    await zendesk('POST', 'organization_fields', {
      organization_field: { key: 'seats', title: 'Seats', type: 'integer' },
    })
    await zendesk('POST', 'organization_fields', {
      organization_field: { key: 'url', title: 'Website', type: 'text' },
    })
    await identify([{ id: 'u1', email: 'ann@example.com', name: 'Ann' }])

    await t.post('/v1/group', {
      userId: 'u1',
      groupId: 'acme-1',
      messageId: 'g1',
      traits: {
        name: 'Acme',
        domainNames: 'acme.com acme.io',
        tags: ['Enterprise', 'vip'],
        url: 'https://acme.com',
        planType: 'pro',
        seats: '12',
        industry: 'rockets',
      },
    })
    const created = await t.waitFor(async () => orgBy(await t!.state(), 'acme-1'))
    expect(created).toMatchObject({
      name: 'Acme',
      domain_names: ['acme.com', 'acme.io'],
      tags: ['enterprise', 'vip'],
      organization_fields: { plan_type: 'pro', seats: 12, url: 'https://acme.com' },
    })
    await t.waitFor(async () => (await counts()).done === 2)
    // Zendesk would drop a key that is no organization field silently; the delivery log names it.
    const logged: any = await (await fetch(`${t.url}/admin/api/delivery-log?message_id=g1`)).json()
    expect(logged.entries[0]).toMatchObject({
      outcome: 'delivered',
      reason:
        'organization_fields left out (Zendesk would drop them silently): industry (no such organization field)',
    })

    await t.post('/v1/group', {
      userId: 'u1',
      groupId: 'ACME-1',
      traits: { name: 'Acme Inc', tags: 'vip beta', seats: 15 },
    })
    await t.waitFor(async () => orgBy(await t!.state(), 'acme-1')?.name === 'Acme Inc')
    const state = await t.state()
    expect(state.organizations).toHaveLength(1)
    expect(orgBy(state, 'acme-1')).toMatchObject({
      id: created.id,
      domain_names: ['acme.com', 'acme.io'],
      tags: ['vip', 'beta'],
      organization_fields: { plan_type: 'pro', seats: 15, url: 'https://acme.com' },
    })
    // Ann is a member once, although both groups named her.
    expect(membersOf(state, created.id)).toEqual([userBy(state, 'u1').id])
    await t.waitFor(async () => (await counts()).done === 3)
    expect(await jobs('dead')).toEqual([])

    // The same group again changes nothing: no update job, and the membership that exists is fine.
    const updatesBefore = (await requests('organizations/update_many')).length
    await t.post('/v1/group', { userId: 'u1', groupId: 'acme-1', traits: { name: 'Acme Inc', seats: 15 } })
    await t.waitFor(async () => (await counts()).done === 4)
    expect((await requests('organizations/update_many')).length).toBe(updatesBefore)
    expect(await jobs('dead')).toEqual([])
  })

  test('the user joins in RudderStack’s three cases; without email and name the organization is still upserted and the reason kept', async () => {
    t = await startTestService()
    await identify([{ id: 'known', email: 'known@example.com', name: 'Known' }])
    await zendesk('POST', 'users', { user: { name: 'By Email', email: 'byemail@example.com' } })

    await t.post('/v1/batch', {
      batch: [
        // New organization, existing user (by external_id).
        { type: 'group', userId: 'known', groupId: 'g-new', traits: { name: 'New Org' } },
        // New organization, existing user found by email (no user has the external_id).
        {
          type: 'group',
          userId: 'by-email',
          groupId: 'g-email',
          traits: { name: 'Email Org' },
          context: { traits: { email: 'ByEmail@example.com' } },
        },
        // New user (email and name): created first, then a member.
        {
          type: 'group',
          userId: 'fresh',
          groupId: 'g-new',
          context: { traits: { email: 'fresh@example.com', name: 'Fresh' } },
        },
        // Unknown user without email: the organization is upserted, the membership fails.
        { type: 'group', userId: 'ghost', groupId: 'g-ghost', traits: { name: 'Ghost Org' } },
      ],
    })
    const dead = await t.waitFor(async () => {
      const d = await jobs('dead')
      return d.length === 1 ? d : null
    })
    expect(dead[0].lastError).toMatch(
      /^ORG_MEMBER_USER_NOT_FOUND: organization "g-ghost" upserted, but no user joined it: no Zendesk user has external_id "ghost", and the group has no context.traits.email/,
    )
    await t.waitFor(async () => (await counts()).done === 4) // the identify and 3 groups
    const state = await t.state()
    const fresh = userBy(state, 'fresh')
    expect(fresh).toMatchObject({ name: 'Fresh', email: 'fresh@example.com' })
    expect(membersOf(state, orgBy(state, 'g-new').id).sort()).toEqual(
      [userBy(state, 'known').id, fresh.id].sort(),
    )
    const byEmail = state.users.find((u: any) => u.email === 'byemail@example.com')
    expect(membersOf(state, orgBy(state, 'g-email').id)).toEqual([byEmail.id])
    expect(byEmail.external_id).toBeNull() // found, not rewritten
    expect(orgBy(state, 'g-ghost')).toMatchObject({ name: 'Ghost Org' })
    expect(membersOf(state, orgBy(state, 'g-ghost').id)).toEqual([])
  })

  test('a group for a new groupId without a name fails with the reason; the other groups of the batch go', async () => {
    t = await startTestService()
    await identify([{ id: 'u1', email: 'ann@example.com', name: 'Ann' }])
    await t.post('/v1/batch', {
      batch: [
        { type: 'group', userId: 'u1', groupId: 'nameless', traits: { plan: 'pro' } },
        { type: 'group', userId: 'u1', groupId: 'named', traits: { name: 'Named' } },
      ],
    })
    const dead = await t.waitFor(async () => {
      const d = await jobs('dead')
      return d.length === 1 ? d : null
    })
    expect(dead[0].lastError).toBe(
      'MAPPING_ORGANIZATION_NAME_MISSING: name: no Zendesk organization has external_id "nameless", and Zendesk needs a name (traits.name) to create one',
    )
    const state = await t.waitFor(async () => {
      const s = await t!.state()
      return s.organization_memberships.length === 1 ? s : null
    })
    expect(state.organizations.map((o: any) => o.external_id)).toEqual(['named'])
  })

  test('without userId a group fails with the reason, unless sendGroupCallsWithoutUserId upserts only the organization', async () => {
    t = await startTestService()
    await t.post('/v1/group', { anonymousId: 'a1', groupId: 'anon-org', traits: { name: 'Anon' } })
    const dead = await t.waitFor(async () => {
      const d = await jobs('dead')
      return d.length === 1 ? d : null
    })
    expect(dead[0].lastError).toMatch(/^MAPPING_GROUP_WITHOUT_USER_ID: userId: .*sendGroupCallsWithoutUserId/)
    expect((await t.state()).organizations).toEqual([])
    expect(await requests('organizations')).toEqual([])
    await t.stop()

    t = await startTestService({ configYaml: withSettings('{ sendGroupCallsWithoutUserId: true }') })
    await t.post('/v1/group', { anonymousId: 'a1', groupId: 'anon-org', traits: { name: 'Anon' } })
    await t.waitFor(async () => (await counts()).done === 1)
    const state = await t.state()
    expect(state.organizations).toMatchObject([{ external_id: 'anon-org', name: 'Anon' }])
    expect(state.organization_memberships).toEqual([])
    expect(await requests('users')).toEqual([])
  })

  test('150 group calls for new organizations go out as 2 create_many jobs, 2 user lookups and 2 membership create_many jobs; repeated, as 2 lookups', async () => {
    t = await startTestService()
    const people = Array.from({ length: 150 }, (_, i) => ({
      id: `u${i}`,
      email: `p${i}@example.com`,
      name: `P ${i}`,
    }))
    await identify(people)
    const before = (await requests('/api/v2/')).length

    await t.post('/v1/batch', {
      batch: people.map((p, i) => ({
        type: 'group',
        userId: p.id,
        groupId: `org-${i}`,
        traits: { name: `Org ${i}`, domainNames: `org${i}.example` },
      })),
    })
    await t.waitFor(async () => (await counts()).done === 300)
    const state = await t.state()
    expect(state.organizations).toHaveLength(150)
    expect(state.organization_memberships).toHaveLength(150)
    expect(membersOf(state, orgBy(state, 'org-149').id)).toEqual([userBy(state, 'u149').id])

    const count = async (path: string, method: string) =>
      (await requests(path)).filter((r) => r.method === method).length
    // Organizations the service has not met are created without a lookup first.
    expect(await count('organizations/show_many', 'GET')).toBe(0)
    expect(await count('organizations/create_many', 'POST')).toBe(2)
    expect(await count('organizations/update_many', 'PUT')).toBe(0)
    expect(await count('users/show_many', 'GET')).toBe(2)
    expect(await count('organization_memberships/create_many', 'POST')).toBe(2)
    // No custom traits: the organization fields are never listed.
    expect(await count('organization_fields', 'GET')).toBe(0)
    const all = (await requests('/api/v2/')).slice(before)
    // 6 calls and the job-status polls, for 150 group calls.
    expect(all.filter((r) => !r.path.includes('job_statuses')).length).toBe(6)

    // The same groups again: the service remembers these organizations, so it looks them up
    // (2 show_many) to compare, finds nothing to change and creates nothing.
    await t.post('/v1/batch', {
      batch: people.map((p, i) => ({
        type: 'group',
        userId: p.id,
        groupId: `org-${i}`,
        traits: { name: `Org ${i}`, domainNames: `org${i}.example` },
      })),
    })
    await t.waitFor(async () => (await counts()).done === 450)
    expect(await count('organizations/show_many', 'GET')).toBe(2)
    expect(await count('organizations/create_many', 'POST')).toBe(2)
    expect(await count('organizations/update_many', 'PUT')).toBe(0)
    const again = await t.state()
    expect(again.organizations).toHaveLength(150)
    expect(again.organization_memberships).toHaveLength(150)
    expect(await jobs('dead')).toEqual([])
  })

  test('an organization made in Zendesk before the service met it is updated in place, not made twice', async () => {
    t = await startTestService()
    await identify([{ id: 'u1', email: 'ann@example.com', name: 'Ann' }])
    // Made by an admin: the service has never seen this external id, so it tries to create it first.
    const made = await zendesk('POST', 'organizations', {
      organization: { name: 'Acme', external_id: 'acme-1', tags: ['old'] },
    })
    await t.post('/v1/group', {
      userId: 'u1',
      groupId: 'Acme-1',
      messageId: 'g1',
      traits: { name: 'Acme Inc', tags: 'vip' },
    })
    await t.waitFor(async () => (await counts()).done === 2)
    const state = await t.state()
    expect(state.organizations).toHaveLength(1)
    expect(orgBy(state, 'acme-1')).toMatchObject({
      id: made.organization.id,
      name: 'Acme Inc',
      tags: ['vip'],
    })
    expect(membersOf(state, made.organization.id)).toEqual([userBy(state, 'u1').id])
    // Zendesk refused the create (the external id is taken); the refusal was looked up and updated.
    expect((await requests('organizations/create_many')).length).toBe(1)
    expect((await requests('organizations/show_many')).length).toBe(1)
    expect((await requests('organizations/update_many')).length).toBe(1)
    expect(await jobs('dead')).toEqual([])
  })
})
