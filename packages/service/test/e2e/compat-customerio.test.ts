/**
 * Customer.io's Zendesk destination (seed 003), statement by statement, through the real path
 * with `preset: customerio`: HTTP in, queue, delivery, the emulator's state out.
 * docs/compatibility.md lists each statement beside its test.
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

const homer = { name: 'Homer Simpson', email: 'homer.simpson@example.com' }

describe('Customer.io (seed 003), preset: customerio', () => {
  it('supported calls are track, identify and group; page and screen are skipped with a reason', async () => {
    t = await startCompat('customerio')
    await t.send([
      { type: 'identify', messageId: 'identify', userId: '12345', traits: homer },
      { type: 'page', messageId: 'page', userId: '12345', name: 'Home' },
      { type: 'screen', messageId: 'screen', userId: '12345', name: 'Settings' },
    ])
    expect(await t.logOf('identify')).toMatchObject({ outcome: 'delivered' })
    expect(await t.logOf('page')).toMatchObject({
      outcome: 'skipped',
      reason: expect.stringMatching(/^page calls have no Zendesk action/),
    })
    expect(await t.logOf('screen')).toMatchObject({ outcome: 'skipped' })
  })

  it('Create Ticket: default trigger type = "track" and event = "Ticket Created"', async () => {
    t = await startCompat('customerio')
    await t.send([
      {
        type: 'track',
        userId: '12345',
        event: 'Ticket Created',
        properties: { subject: 'Donut shortage', comment: 'No donuts left', email: homer.email },
      },
    ])
    const state = await t.state()
    expect(state.tickets).toHaveLength(1)
    expect(state.tickets[0]).toMatchObject({ subject: 'Donut shortage' })
    expect(state.user_events).toHaveLength(0)
  })

  it('Track Event: default trigger type = "track" and event != "Ticket Created" and event != "Ticket Updated"', async () => {
    t = await startCompat('customerio')
    await t.send([{ type: 'identify', userId: '1234', traits: homer }])
    await t.send([
      {
        type: 'track',
        messageId: 'read',
        userId: '1234',
        event: 'Article Read',
        properties: { title: 'How to use Customer.io', course: 'Intro to Customer.io' },
      },
      {
        type: 'track',
        messageId: 'updated',
        userId: '1234',
        event: 'Ticket Updated',
        properties: { ticket_id: 999999, status: 'solved' },
      },
    ])
    const state = await t.state()
    expect(state.user_events.map((e: any) => e.type)).toEqual(['Article Read'])
    expect(await t.logOf('read')).toMatchObject({ actions: ['track-event'] })
    expect(await t.logOf('updated')).toMatchObject({ actions: ['update-ticket'] })
  })

  it('Update Organization Membership: identify with traits.company.id associates the user; company.remove: true removes them', async () => {
    t = await startCompat('customerio')
    const springfield = await org('Springfield Power', '6789')
    await t.send([{ type: 'identify', userId: '12345', traits: { ...homer, company: { id: '6789' } } }])
    const user = userBy(await t.state(), '12345')
    expect(orgsOf(await t.state(), user.id)).toEqual([springfield])
    // Customer.io removes on company.remove with no setting to turn on.
    await t.send([{ type: 'identify', userId: '12345', traits: { company: { id: '6789', remove: true } } }])
    expect(orgsOf(await t.state(), user.id)).toEqual([])
  })

  it('Update Ticket: default trigger type = "track" and event = "Ticket Updated"', async () => {
    t = await startCompat('customerio')
    const ticket = (
      await t.zendesk('POST', 'tickets', {
        ticket: { subject: 'Donuts', comment: { body: 'Where?' }, priority: 'low' },
      })
    ).ticket
    await t.send([
      {
        type: 'track',
        userId: '12345',
        event: 'Ticket Updated',
        properties: { ticket_id: ticket.id, priority: 'urgent' },
      },
    ])
    expect((await t.state()).tickets.find((x: any) => x.id === ticket.id)).toMatchObject({
      priority: 'urgent',
    })
  })

  it('Upsert Organization: type = "group"; with a userId the user is associated with the organization', async () => {
    t = await startCompat('customerio')
    await t.send([{ type: 'identify', userId: '1234', traits: homer }])
    await t.send([
      {
        type: 'group',
        anonymousId: 'a1',
        groupId: 'abc123',
        userId: '1234',
        traits: { name: 'SF Giants', url: 'https://mlb.com/giants' },
      },
    ])
    const state = await t.state()
    expect(orgsOf(state, userBy(state, '1234').id)).toEqual([orgBy(state, 'abc123').id])
  })

  it('Upsert User: type = "identify" inserts or updates the user record using the email', async () => {
    t = await startCompat('customerio')
    await t.send([{ type: 'identify', userId: '12345', traits: homer }])
    await t.send([{ type: 'identify', userId: '12345', traits: { ...homer, phone: '555-555-1234' } }])
    const users = (await t.state()).users.filter((u: any) => u.email === homer.email)
    expect(users).toHaveLength(1)
    expect(users[0]).toMatchObject({ name: 'Homer Simpson', phone: '555-555-1234' })
  })

  it('identify: a name, or first_name and last_name parsed into name, creates the user', async () => {
    t = await startCompat('customerio')
    await t.send([
      {
        type: 'identify',
        messageId: 'split',
        userId: 'u-split',
        traits: { email: 'marge@example.com', first_name: 'Marge', last_name: 'Simpson' },
      },
      {
        type: 'identify',
        messageId: 'nameless',
        userId: 'u-nameless',
        traits: { email: 'nobody@example.com' },
      },
    ])
    const state = await t.state()
    expect(userBy(state, 'u-split')).toMatchObject({ name: 'Marge Simpson', email: 'marge@example.com' })
    expect(userBy(state, 'u-nameless')).toBeUndefined()
    expect(await t.logOf('nameless')).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/Name/),
    })
  })

  it('identify without traits.email still creates the user, by external_id (Customer.io requires the email)', async () => {
    t = await startCompat('customerio')
    await t.send([
      { type: 'identify', messageId: 'no-email', userId: 'u-maggie', traits: { name: 'Maggie' } },
    ])
    expect(await t.logOf('no-email')).toMatchObject({ outcome: 'delivered' })
    expect(userBy(await t.state(), 'u-maggie')).toMatchObject({ name: 'Maggie', email: null })
  })

  it('trait mapping: email, name, organizationId → organization_id, timezone → time_zone, phone, userId → external_id', async () => {
    t = await startCompat('customerio')
    const orgId = await org('Springfield Power', 'spp')
    await t.send([
      {
        type: 'identify',
        userId: '12345',
        traits: { ...homer, timezone: 'America/New_York', organizationId: orgId, phone: '555-555-1234' },
      },
    ])
    const user = userBy(await t.state(), '12345')
    expect(user).toMatchObject({
      ...homer,
      organization_id: orgId,
      phone: '555-555-1234',
      external_id: '12345',
    })
    expect(user.iana_time_zone).toBe('America/New_York')
  })

  it('Create Users as Verified: users are created verified', async () => {
    t = await startCompat('customerio', '{ createUsersAsVerified: true }')
    await t.send([{ type: 'identify', userId: '12345', traits: homer }])
    expect(userBy(await t.state(), '12345')).toMatchObject({ verified: true })
    await t.stop()
    t = await startCompat('customerio')
    await t.send([{ type: 'identify', userId: '12345', traits: homer }])
    expect(userBy(await t.state(), '12345')).toMatchObject({ verified: false })
  })

  it('track: with context.zendesk_user_id the event is tracked directly under that user', async () => {
    t = await startCompat('customerio')
    const user = (await t.zendesk('POST', 'users', { user: { name: 'Bart', email: 'bart@example.com' } }))
      .user
    await t.send([
      {
        type: 'track',
        userId: 'unrelated',
        event: 'Skateboarded',
        properties: {},
        context: { zendesk_user_id: user.id },
      },
    ])
    const state = await t.state()
    expect(state.user_events.map((e: any) => e.user_id)).toEqual([user.id])
    expect(await t.requests(`users/${user.id}/events`)).toBe(1)
  })

  it('track: with an email or external_id the event goes to the user found; a user not found is created, not an error', async () => {
    t = await startCompat('customerio')
    await t.send([{ type: 'identify', userId: '1234', traits: homer }])
    await t.send([
      { type: 'track', messageId: 'known', userId: '1234', event: 'Article Read', properties: {} },
      {
        type: 'track',
        messageId: 'unknown',
        userId: 'not-in-zendesk',
        event: 'Article Read',
        properties: {},
      },
    ])
    const state = await t.state()
    expect(state.user_events.map((e: any) => e.user_id).sort()).toEqual(
      [userBy(state, '1234').id, userBy(state, 'not-in-zendesk').id].sort(),
    )
    expect(await t.logOf('unknown')).toMatchObject({ outcome: 'delivered' })
  })

  it('track: properties.email ties the event to the user by email; without it the userId is sent as external_id', async () => {
    t = await startCompat('customerio')
    await t.send([
      { type: 'identify', userId: 'u-homer', traits: homer },
      { type: 'identify', userId: 'u-lisa', traits: { name: 'Lisa', email: 'lisa@example.com' } },
    ])
    await t.send([
      { type: 'track', userId: 'anon-device', event: 'Article Read', properties: { email: homer.email } },
      { type: 'track', userId: 'u-lisa', event: 'Article Read', properties: {} },
    ])
    const state = await t.state()
    expect(state.user_events.map((e: any) => e.user_id).sort()).toEqual(
      [userByEmail(state, homer.email).id, userBy(state, 'u-lisa').id].sort(),
    )
  })

  it('group: the groupId matches the organization; a new groupId creates it, an existing one updates it', async () => {
    t = await startCompat('customerio')
    await t.send([{ type: 'group', anonymousId: 'a1', groupId: 'xyz999', traits: { name: 'SF Giants' } }])
    await t.send([
      { type: 'group', anonymousId: 'a1', groupId: 'xyz999', traits: { name: 'San Francisco Giants' } },
    ])
    const orgs = (await t.state()).organizations
    expect(orgs).toHaveLength(1)
    expect(orgs[0]).toMatchObject({ external_id: 'xyz999', name: 'San Francisco Giants' })
  })

  it('group without userId creates an organization without users', async () => {
    t = await startCompat('customerio')
    await t.send([
      {
        type: 'group',
        anonymousId: 'a1',
        groupId: 'xyz999',
        traits: { name: 'SF Giants', url: 'https://mlb.com/giants' },
      },
    ])
    const state = await t.state()
    expect(orgBy(state, 'xyz999')).toMatchObject({ name: 'SF Giants' })
    expect(state.organization_memberships).toHaveLength(0)
  })

  it('group with a userId creates an organization and adds the user', async () => {
    t = await startCompat('customerio')
    await t.send([{ type: 'identify', userId: '1234', traits: homer }])
    await t.send([
      {
        type: 'group',
        anonymousId: 'a1',
        groupId: 'abc123',
        userId: '1234',
        traits: { name: 'SF Giants', url: 'https://mlb.com/giants' },
      },
    ])
    const state = await t.state()
    expect(orgBy(state, 'abc123')).toMatchObject({ name: 'SF Giants' })
    expect(orgsOf(state, userBy(state, '1234').id)).toEqual([orgBy(state, 'abc123').id])
  })

  it('organization attributes: name, domainNames → domain_names, tags, groupId → external_id, url, deleted', async () => {
    t = await startCompat('customerio')
    await t.zendesk('POST', 'organization_fields', {
      organization_field: { key: 'url', title: 'URL', type: 'text' },
    })
    await t.send([
      {
        type: 'group',
        anonymousId: 'a1',
        groupId: 'abc123',
        traits: {
          name: 'SF Giants',
          domainNames: ['mlb.com'],
          tags: ['baseball'],
          url: 'https://mlb.com/giants',
          deleted: false,
        },
      },
    ])
    const o = orgBy(await t.state(), 'abc123')
    expect(o).toMatchObject({
      name: 'SF Giants',
      domain_names: ['mlb.com'],
      tags: ['baseball'],
      organization_fields: { url: 'https://mlb.com/giants' },
    })
  })
})
