/**
 * RudderStack's Zendesk destination (seed 002; peers/rudderstack-zendesk.md), statement by
 * statement, through the real path with `preset: rudderstack`: HTTP in, queue, delivery, the
 * emulator's state out. docs/compatibility.md lists each statement beside its test.
 */
import { afterEach, describe, expect, it } from 'vitest'

import { orgBy, orgsOf, startCompat, userBy, userByEmail, type CompatService } from '../compat.js'

let t: CompatService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

const org = async (name: string, externalId: string): Promise<number> =>
  (await t!.zendesk('POST', 'organizations', { organization: { name, external_id: externalId } }))
    .organization.id as number

describe('RudderStack (seed 002), preset: rudderstack', () => {
  it('Create users as verified: users are created verified (the email verification is skipped)', async () => {
    t = await startCompat('rudderstack', '{ createUsersAsVerified: true }')
    await t.send([
      { type: 'identify', userId: '12345678', traits: { name: 'John Wick', email: 'johnwick@example.com' } },
    ])
    expect(userBy(await t.state(), '12345678')).toMatchObject({ verified: true })
  })

  it('Send Group calls without a User ID: without userId only the organization is created or updated', async () => {
    t = await startCompat('rudderstack', '{ sendGroupCallsWithoutUserId: true }')
    await t.send([{ type: 'group', anonymousId: 'anon', groupId: 'g-alone', traits: { name: 'Softworks' } }])
    const state = await t.state()
    expect(orgBy(state, 'g-alone')).toMatchObject({ name: 'Softworks' })
    expect(state.organization_memberships).toHaveLength(0)
    expect(await t.requests('users')).toBe(0)
    // Off (RudderStack's default), such a group fails with the reason and writes nothing.
    await t.stop()
    t = await startCompat('rudderstack')
    await t.send([
      { type: 'group', messageId: 'refused', anonymousId: 'anon', groupId: 'g-off', traits: { name: 'Off' } },
    ])
    expect(await t.logOf('refused')).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/^MAPPING_GROUP_WITHOUT_USER_ID: userId: /),
    })
    expect((await t.state()).organizations.filter((o: any) => o.external_id === 'g-off')).toHaveLength(0)
  })

  it('identify creates or updates a user in Zendesk, using the email in traits', async () => {
    t = await startCompat('rudderstack')
    await t.send([
      {
        type: 'identify',
        userId: '12345678',
        traits: { name: 'John Wick', email: 'johnwick@example.com', country: 'UK' },
      },
    ])
    await t.send([
      {
        type: 'identify',
        userId: '12345678',
        traits: { name: 'Jonathan Wick', email: 'johnwick@example.com' },
      },
    ])
    const users = (await t.state()).users.filter((u: any) => u.email === 'johnwick@example.com')
    expect(users).toHaveLength(1)
    expect(users[0]).toMatchObject({ name: 'Jonathan Wick', external_id: '12345678' })
  })

  it("identify mapping: email, name, organizationId → organization_id (Zendesk's organization id), timezone → time_zone, phone, userId → external_id", async () => {
    t = await startCompat('rudderstack')
    const orgId = await org('Continental', 'continental')
    await t.send([
      {
        type: 'identify',
        userId: '12345678',
        traits: {
          name: 'John Wick',
          email: 'johnwick@example.com',
          organizationId: orgId,
          timezone: 'Europe/London',
          phone: '+442079460000',
        },
      },
    ])
    const user = userBy(await t.state(), '12345678')
    expect(user).toMatchObject({
      name: 'John Wick',
      email: 'johnwick@example.com',
      organization_id: orgId,
      phone: '+442079460000',
    })
    expect(user.iana_time_zone).toBe('Europe/London')
  })

  it('Enable Removing Users from Organizations: company.id (a Zendesk organization id) with company.remove: true removes the membership', async () => {
    t = await startCompat('rudderstack', '{ removeUsersFromOrganization: true }')
    const continental = await org('Continental', 'continental')
    const other = await org('High Table', 'high-table')
    await t.send([
      { type: 'identify', userId: '12345678', traits: { name: 'John Wick', email: 'johnwick@example.com' } },
    ])
    const user = userBy(await t.state(), '12345678')
    await t.zendesk('POST', 'organization_memberships/create_many', {
      organization_memberships: [continental, other].map((organization_id) => ({
        user_id: user.id,
        organization_id,
      })),
    })
    await t.waitFor(async () => orgsOf(await t!.state(), user.id).length === 2)
    await t.send([
      {
        type: 'identify',
        userId: '12345678',
        traits: {
          name: 'John Wick',
          email: 'johnwick@example.com',
          country: 'UK',
          company: { id: continental, remove: true },
        },
      },
    ])
    // Only that membership goes (RudderStack looks at the user's first membership only).
    expect(orgsOf(await t.state(), user.id)).toEqual([other])
  })

  it('an identify with company.id but no remove changes no membership (RudderStack reads company only to remove)', async () => {
    t = await startCompat('rudderstack', '{ removeUsersFromOrganization: true }')
    const continental = await org('Continental', 'continental')
    await t.send([
      {
        type: 'identify',
        messageId: 'company',
        userId: '12345678',
        traits: { name: 'John Wick', email: 'johnwick@example.com', company: { id: continental } },
      },
    ])
    const state = await t.state()
    expect(userBy(state, '12345678')).toBeDefined()
    expect(state.organization_memberships).toHaveLength(0)
    expect(await t.logOf('company')).toMatchObject({ outcome: 'delivered', actions: ['upsert-user'] })
  })

  it('track: a track with a userId (traits of the identify in context.traits) becomes an event on that user; sourceName is its source', async () => {
    t = await startCompat('rudderstack', '{ sourceName: web-app }')
    await t.send([
      { type: 'identify', userId: '12345678', traits: { name: 'John Wick', email: 'johnwick@example.com' } },
    ])
    await t.send([
      {
        type: 'track',
        userId: '12345678',
        event: 'Track me',
        properties: { category: 'category', label: 'label', value: 'value' },
        context: { traits: { name: 'John Wick', email: 'johnwick@example.com' } },
      },
      // RudderStack has no ticket actions: "Ticket Created" is an event like any other.
      { type: 'track', userId: '12345678', event: 'Ticket Created', properties: { subject: 'Hi' } },
    ])
    const state = await t.state()
    const user = userBy(state, '12345678')
    expect(state.user_events.map((e: any) => [e.type, e.source, e.user_id]).sort()).toEqual([
      ['Ticket Created', 'web-app', user.id],
      ['Track me', 'web-app', user.id],
    ])
    expect(state.user_events.find((e: any) => e.type === 'Track me').properties).toEqual({
      category: 'category',
      label: 'label',
      value: 'value',
    })
    expect(state.tickets).toHaveLength(0)
    // One profile per person: its type is not the event name (RudderStack's), and its source is sourceName.
    expect(state.user_profiles.map((p: any) => [p.source, p.type])).toEqual([['web-app', 'customer']])
  })

  it('group creates or updates an organization in Zendesk, using the groupId', async () => {
    t = await startCompat('rudderstack')
    await t.send([
      {
        type: 'group',
        userId: '12345678',
        groupId: '123456789',
        traits: { name: 'Softworks', country: 'UK' },
        context: { traits: { name: 'John Wick', email: 'johnwick@example.com' } },
      },
    ])
    await t.send([
      { type: 'group', userId: '12345678', groupId: '123456789', traits: { name: 'Softworks Ltd' } },
    ])
    const orgs = (await t.state()).organizations
    expect(orgs).toHaveLength(1)
    expect(orgs[0]).toMatchObject({ external_id: '123456789', name: 'Softworks Ltd' })
  })

  it('the group call associates the user to the organization', async () => {
    t = await startCompat('rudderstack')
    await t.send([
      { type: 'identify', userId: '12345678', traits: { name: 'John Wick', email: 'johnwick@example.com' } },
    ])
    await t.send([{ type: 'group', userId: '12345678', groupId: '123456789', traits: { name: 'Softworks' } }])
    const state = await t.state()
    expect(orgsOf(state, userBy(state, '12345678').id)).toEqual([orgBy(state, '123456789').id])
  })

  it('group mapping: name, domainNames → domain_names, tags, groupId → external_id, url, deleted', async () => {
    t = await startCompat('rudderstack')
    await t.send([
      {
        type: 'group',
        userId: '12345678',
        groupId: '123456789',
        traits: {
          name: 'Softworks',
          domainNames: 'softworks.com, softworks.co.uk',
          tags: ['trial', 'uk'],
          url: 'https://softworks.com',
          deleted: false,
        },
        context: { traits: { name: 'John Wick', email: 'johnwick@example.com' } },
      },
    ])
    const o = orgBy(await t.state(), '123456789')
    expect(o).toMatchObject({
      name: 'Softworks',
      domain_names: ['softworks.com', 'softworks.co.uk'],
      tags: ['trial', 'uk'],
    })
    // No organization fields named url or deleted exist here: Zendesk's own url is read-only.
    expect(o.url).not.toBe('https://softworks.com')
  })

  it('no identify is needed before a group: the user in context.traits is created and associated', async () => {
    t = await startCompat('rudderstack')
    await t.send([
      {
        type: 'group',
        userId: 'first-contact',
        groupId: 'g1',
        traits: { name: 'Softworks' },
        context: { traits: { name: 'New Person', email: 'new@example.com' } },
      },
    ])
    const state = await t.state()
    const user = userBy(state, 'first-contact')
    expect(user).toMatchObject({ name: 'New Person', email: 'new@example.com' })
    expect(orgsOf(state, user.id)).toEqual([orgBy(state, 'g1').id])
  })

  it('new groupId and new email: the user and the organization are created and associated', async () => {
    t = await startCompat('rudderstack')
    await t.send([
      {
        type: 'group',
        userId: 'u-new',
        groupId: 'g-new',
        traits: { name: 'New Org' },
        context: { traits: { name: 'New User', email: 'newuser@example.com' } },
      },
    ])
    const state = await t.state()
    expect(orgsOf(state, userByEmail(state, 'newuser@example.com').id)).toEqual([orgBy(state, 'g-new').id])
  })

  it('new groupId and existing email: a new organization is created and the existing user associated with it', async () => {
    t = await startCompat('rudderstack')
    const existing = (
      await t.zendesk('POST', 'users', { user: { name: 'Existing', email: 'existing@example.com' } })
    ).user
    await t.send([
      {
        type: 'group',
        userId: 'u-existing',
        groupId: 'g-new',
        traits: { name: 'New Org' },
        context: { traits: { name: 'Existing', email: 'existing@example.com' } },
      },
    ])
    const state = await t.state()
    expect(state.users.filter((u: any) => u.email === 'existing@example.com')).toHaveLength(1)
    expect(orgsOf(state, existing.id)).toEqual([orgBy(state, 'g-new').id])
  })

  it('old groupId and new email: a new user is created with the email and associated with the organization', async () => {
    t = await startCompat('rudderstack')
    const old = await org('Old Org', 'g-old')
    await t.send([
      {
        type: 'group',
        userId: 'u-fresh',
        groupId: 'g-old',
        traits: { name: 'Old Org' },
        context: { traits: { name: 'Fresh', email: 'fresh@example.com' } },
      },
    ])
    const state = await t.state()
    expect(state.organizations).toHaveLength(1)
    expect(orgsOf(state, userByEmail(state, 'fresh@example.com').id)).toEqual([old])
  })
})
