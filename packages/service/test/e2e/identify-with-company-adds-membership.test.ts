import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, WRITE_KEY, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

/** A config file with the default destination (the harness points it at the emulator). */
const removingConfig = `
sources:
  - { id: web, writeKey: ${WRITE_KEY}, destinations: [default] }
destinations:
  - id: default
    zendesk: { sandbox: true }
    settings: { removeUsersFromOrganizations: true }
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

async function organization(name: string, externalId: string): Promise<number> {
  const r = await zendesk('POST', 'organizations', { organization: { name, external_id: externalId } })
  return r.organization.id as number
}

async function counts(): Promise<Record<string, number>> {
  const r = await fetch(`${t!.url}/admin/api/destinations`)
  return ((await r.json()) as { destinations: { jobs: Record<string, number> }[] }).destinations[0]!.jobs
}

async function jobs(state: string): Promise<any[]> {
  const r = await fetch(`${t!.url}/admin/api/destinations/default/jobs?state=${state}`)
  return ((await r.json()) as { jobs: any[] }).jobs
}

async function deliveryLog(): Promise<any[]> {
  const r = await fetch(`${t!.url}/admin/api/delivery-log`)
  return ((await r.json()) as { entries: any[] }).entries
}

const userBy = (state: any, externalId: string) => state.users.find((u: any) => u.external_id === externalId)
const orgsOf = (state: any, userId: number): number[] =>
  state.organization_memberships
    .filter((m: any) => m.user_id === userId)
    .map((m: any) => m.organization_id)
    .sort()

const ann = { email: 'ann@example.com', name: 'Ann' }

/** Identifies Ann and waits until Zendesk has her. */
async function identifyAnn(): Promise<number> {
  await t!.post('/v1/identify', { userId: 'u1', traits: ann })
  const user = await t!.waitFor(async () => userBy(await t!.state(), 'u1'))
  await t!.waitFor(async () => (await counts()).done === 1)
  return user.id as number
}

describe('an identify with traits.company adds an organization membership', () => {
  test('company.id as a Zendesk id (number or string) or as an external id adds memberships; the others are kept', async () => {
    t = await startTestService()
    const acme = await organization('Acme', 'acme')
    const globex = await organization('Globex', 'globex')
    const initech = await organization('Initech', 'initech')
    const userId = await identifyAnn()

    await t.post('/v1/identify', { userId: 'u1', traits: { ...ann, company: { id: acme } } })
    await t.waitFor(async () => orgsOf(await t!.state(), userId).length === 1)
    await t.post('/v1/batch', {
      batch: [
        { type: 'identify', userId: 'u1', traits: { company: { id: String(globex) } } },
        { type: 'identify', userId: 'u1', traits: { company: { id: 'INITECH' } } },
      ],
    })
    const state = await t.waitFor(async () => {
      const s = await t!.state()
      return orgsOf(s, userId).length === 3 ? s : null
    })
    expect(orgsOf(state, userId)).toEqual([acme, globex, initech].sort())
    // The first membership stays the default one.
    expect(userBy(state, 'u1').organization_id).toBe(acme)
    await t.waitFor(async () => (await counts()).done === 4)
    expect(await jobs('dead')).toEqual([])

    // Again: the membership that exists counts as done.
    await t.post('/v1/identify', { userId: 'u1', traits: { company: { id: 'acme' } } })
    await t.waitFor(async () => (await counts()).done === 5)
    expect(await jobs('dead')).toEqual([])
    expect(orgsOf(await t.state(), userId)).toHaveLength(3)
  })

  test('a new user with a company becomes a member once upsert-user of the same identify has created them', async () => {
    // Slow bulk jobs: the membership looks the user up while upsert-user's job is still running.
    t = await startTestService({ emulator: { jobDelayMs: 300 } })
    const acme = await organization('Acme', 'acme')
    await t.post('/v1/identify', {
      userId: 'new',
      messageId: 'new',
      traits: { email: 'new@example.com', name: 'New', company: { id: 'acme' } },
    })
    const state = await t.waitFor(async () => {
      const s = await t!.state()
      const user = userBy(s, 'new')
      return user && orgsOf(s, user.id).length === 1 ? s : null
    })
    expect(orgsOf(state, userBy(state, 'new').id)).toEqual([acme])
    await t.waitFor(async () => (await counts()).done === 1)
    expect(state.users.filter((u: any) => u.email === 'new@example.com')).toHaveLength(1)
    // The first attempt found no user yet and was retried (upsert-user again: idempotent).
    const entries = (await deliveryLog()).filter((e) => e.messageId === 'new')
    expect(entries.map((e) => [e.outcome, e.attempt])).toEqual(
      expect.arrayContaining([
        ['retry', 1],
        ['delivered', 2],
      ]),
    )
    expect(entries.find((e) => e.outcome === 'retry').reason).toMatch(/^MEMBERSHIP_USER_PENDING: /)
  })

  test('company.remove with removeUsersFromOrganizations on removes that membership only', async () => {
    t = await startTestService({ configYaml: removingConfig })
    const acme = await organization('Acme', 'acme')
    const globex = await organization('Globex', 'globex')
    const userId = await identifyAnn()
    await zendesk('POST', 'organization_memberships', {
      organization_membership: { user_id: userId, organization_id: acme },
    })
    await zendesk('POST', 'organization_memberships', {
      organization_membership: { user_id: userId, organization_id: globex },
    })

    await t.post('/v1/identify', { userId: 'u1', traits: { company: { id: 'acme', remove: true } } })
    const state = await t.waitFor(async () => {
      const s = await t!.state()
      return orgsOf(s, userId).length === 1 ? s : null
    })
    expect(orgsOf(state, userId)).toEqual([globex])
    expect(userBy(state, 'u1').organization_id).toBe(globex)

    // Removing again: nothing to remove, which is done, and the log says so.
    await t.post('/v1/identify', {
      userId: 'u1',
      messageId: 'again',
      traits: { company: { id: acme, remove: true } },
    })
    await t.waitFor(async () => (await counts()).done === 3)
    const again = (await deliveryLog()).find((e) => e.messageId === 'again')
    expect(again).toMatchObject({
      outcome: 'delivered',
      reason: expect.stringContaining('nothing to remove'),
    })
    expect(orgsOf(await t.state(), userId)).toEqual([globex])
  })

  test('company.remove with the setting off (the default) neither removes nor adds the membership', async () => {
    t = await startTestService()
    const acme = await organization('Acme', 'acme')
    const userId = await identifyAnn()
    await zendesk('POST', 'organization_memberships', {
      organization_membership: { user_id: userId, organization_id: acme },
    })
    await t.post('/v1/identify', {
      userId: 'u1',
      messageId: 'rm',
      traits: { company: { id: 'acme', remove: true } },
    })
    await t.waitFor(async () => (await counts()).done === 2)
    expect(orgsOf(await t.state(), userId)).toEqual([acme])
    const entry = (await deliveryLog()).find((e) => e.messageId === 'rm')
    expect(entry.reason).toMatch(/removeUsersFromOrganizations is off/)
  })

  test('a company.id that matches nothing fails that identify alone, with the reason', async () => {
    t = await startTestService()
    const acme = await organization('Acme', 'acme')
    await t.post('/v1/batch', {
      batch: [
        { type: 'identify', userId: 'u1', traits: { ...ann, company: { id: 'ghost-co' } } },
        {
          type: 'identify',
          userId: 'u2',
          traits: { email: 'bob@example.com', name: 'Bob', company: { id: 'acme' } },
        },
      ],
    })
    const dead = await t.waitFor(async () => {
      const d = await jobs('dead')
      return d.length === 1 ? d : null
    })
    expect(dead[0].lastError).toBe(
      'MEMBERSHIP_ORGANIZATION_NOT_FOUND: company.id: no Zendesk organization has the id or external_id "ghost-co"',
    )
    const state = await t.waitFor(async () => {
      const s = await t!.state()
      const bob = userBy(s, 'u2')
      return bob && orgsOf(s, bob.id).length === 1 ? s : null
    })
    expect(orgsOf(state, userBy(state, 'u2').id)).toEqual([acme])
    // Ann herself was still upserted by upsert-user.
    expect(userBy(state, 'u1')).toMatchObject({ name: 'Ann', email: 'ann@example.com' })
  })
})
