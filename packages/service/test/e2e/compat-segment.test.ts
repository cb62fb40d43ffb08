/**
 * Segment's Zendesk destination (seed 004), statement by statement, through the real path with
 * `preset: segment`: HTTP in, queue, delivery, the emulator's state out. docs/compatibility.md
 * lists each statement beside its test here (or elsewhere) and says where we differ on purpose.
 */
import { afterEach, describe, expect, it } from 'vitest'

import { orgBy, orgsOf, startCompat, userBy, type CompatService } from '../compat.js'

let t: CompatService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

describe('Segment (seed 004), preset: segment', () => {
  it('identify inserts or updates a user record in Zendesk', async () => {
    t = await startCompat('segment')
    await t.send([
      {
        type: 'identify',
        userId: '97980cfea0067',
        traits: { name: 'Peter Gibbons', email: 'peter@example.com', plan: 'premium' },
      },
    ])
    await t.send([
      {
        type: 'identify',
        userId: '97980cfea0067',
        traits: { name: 'Peter G. Gibbons', email: 'peter@example.com' },
      },
    ])
    const users = (await t.state()).users.filter((u: any) => u.email === 'peter@example.com')
    expect(users).toHaveLength(1)
    expect(users[0]).toMatchObject({
      name: 'Peter G. Gibbons',
      external_id: '97980cfea0067',
      role: 'end-user',
    })
  })

  it('an identify needs a name (or first_name and last_name) to create the user; the others of the batch go', async () => {
    t = await startCompat('segment')
    await t.send([
      {
        type: 'identify',
        messageId: 'nameless',
        userId: 'u-nameless',
        traits: { email: 'nameless@example.com' },
      },
      {
        type: 'identify',
        messageId: 'named',
        userId: 'u-named',
        traits: { email: 'named@example.com', name: 'Named' },
      },
    ])
    const state = await t.state()
    expect(userBy(state, 'u-named')).toMatchObject({ name: 'Named' })
    expect(userBy(state, 'u-nameless')).toBeUndefined()
    expect(await t.logOf('nameless')).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/name/i),
    })
    // Better: a known user is updated without a name (found by traits.email, Segment's match).
    await t.send([
      {
        type: 'identify',
        messageId: 'rename-free',
        userId: 'u-named',
        traits: { email: 'named@example.com', phone: '+14155550100' },
      },
    ])
    expect(await t.logOf('rename-free')).toMatchObject({ outcome: 'delivered' })
    expect(userBy(await t.state(), 'u-named')).toMatchObject({ name: 'Named', phone: '+14155550100' })
    // Segment matches by traits.email: an identify without one is refused, naming the field.
    await t.send([{ type: 'identify', messageId: 'no-email', userId: 'u-named', traits: { phone: '+1' } }])
    expect(await t.logOf('no-email')).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/^MAPPING_USER_EMAIL_REQUIRED: email: /),
    })
  })

  it('firstName and lastName (or first_name and last_name) sent separately are joined into name', async () => {
    t = await startCompat('segment')
    await t.send([
      {
        type: 'identify',
        userId: 'u-camel',
        traits: { email: 'camel@example.com', firstName: 'Peter', lastName: 'Gibbons' },
      },
      {
        type: 'identify',
        userId: 'u-snake',
        traits: { email: 'snake@example.com', first_name: 'Joanna', last_name: 'Smith' },
      },
    ])
    const state = await t.state()
    expect(userBy(state, 'u-camel').name).toBe('Peter Gibbons')
    expect(userBy(state, 'u-snake').name).toBe('Joanna Smith')
  })

  it("the role trait is reserved in Zendesk: it never changes the user's role", async () => {
    t = await startCompat('segment')
    await t.send([
      {
        type: 'identify',
        userId: 'u-role',
        traits: { email: 'role@example.com', name: 'Role', role: 'admin' },
      },
    ])
    expect(userBy(await t.state(), 'u-role')).toMatchObject({ role: 'end-user' })
  })

  it('user attributes: email, name, organizationId → organization_id, timezone → time_zone, phone, userId → external_id', async () => {
    t = await startCompat('segment')
    const org = await t.zendesk('POST', 'organizations', {
      organization: { name: 'Pokemon', external_id: 'pk' },
    })
    await t.send([
      {
        type: 'identify',
        userId: '12345',
        traits: {
          name: 'Pikachu',
          email: 'pikachu@pokemon.com',
          timezone: 'America/Los_Angeles',
          organizationId: org.organization.id,
          phone: '763-555-2342',
        },
      },
    ])
    const user = userBy(await t.state(), '12345')
    expect(user).toMatchObject({
      name: 'Pikachu',
      email: 'pikachu@pokemon.com',
      organization_id: org.organization.id,
      phone: '763-555-2342',
      external_id: '12345',
    })
    expect(user.iana_time_zone).toBe('America/Los_Angeles')
  })

  it('Enable Removing Users from Organizations: an identify with traits.company.id and company.remove: true removes the user from that organization', async () => {
    t = await startCompat('segment', '{ removeUsersFromOrganizations: true }')
    const a = (await t.zendesk('POST', 'organizations', { organization: { name: 'A', external_id: '6789' } }))
      .organization.id
    const b = (await t.zendesk('POST', 'organizations', { organization: { name: 'B', external_id: 'b' } }))
      .organization.id
    await t.send([
      { type: 'identify', userId: '12345', traits: { name: 'Pikachu', email: 'pikachu@pokemon.com' } },
    ])
    const user = userBy(await t.state(), '12345')
    await t.zendesk('POST', 'organization_memberships/create_many', {
      organization_memberships: [a, b].map((organization_id) => ({ user_id: user.id, organization_id })),
    })
    await t.waitFor(async () => orgsOf(await t!.state(), user.id).length === 2)
    await t.send([
      {
        type: 'identify',
        userId: '12345',
        traits: { name: 'Pikachu', email: 'pikachu@pokemon.com', company: { id: '6789', remove: true } },
      },
    ])
    expect(orgsOf(await t.state(), user.id)).toEqual([b])
  })

  it('with the removal setting enabled but without company.remove, the standard identify creates or updates the user', async () => {
    t = await startCompat('segment', '{ removeUsersFromOrganizations: true }')
    const a = (await t.zendesk('POST', 'organizations', { organization: { name: 'A', external_id: '6789' } }))
      .organization.id
    await t.send([
      {
        type: 'identify',
        userId: '12345',
        traits: { name: 'Pikachu', email: 'pikachu@pokemon.com', company: { id: '6789' } },
      },
    ])
    const state = await t.state()
    expect(userBy(state, '12345')).toMatchObject({ name: 'Pikachu' })
    // Ours too (issue 4): company.id adds the membership.
    expect(orgsOf(state, userBy(state, '12345').id)).toEqual([a])
  })

  it('Create Users as Verified: verified comes from the setting on every request and cannot be overwritten per request', async () => {
    t = await startCompat('segment', '{ verified: true }')
    await t.send([
      { type: 'identify', userId: 'u-v', traits: { name: 'V', email: 'v@example.com', verified: false } },
    ])
    expect(userBy(await t.state(), 'u-v').verified).toBe(true)
    await t.stop()
    t = await startCompat('segment')
    await t.send([
      { type: 'identify', userId: 'u-nv', traits: { name: 'NV', email: 'nv@example.com', verified: true } },
    ])
    expect(userBy(await t.state(), 'u-nv').verified).toBe(false)
  })

  it('track events are sent only when the event is listed in the Events setting and a userId is included', async () => {
    t = await startCompat('segment', '{ events: [Article Completed, Ticket Created] }')
    await t.send([
      {
        type: 'track',
        messageId: 'listed',
        userId: 'u1',
        event: 'Article Completed',
        properties: { title: 'How to Create a Tracking Plan' },
      },
      { type: 'track', messageId: 'unlisted', userId: 'u1', event: 'Article Started', properties: {} },
      {
        type: 'track',
        messageId: 'anonymous',
        anonymousId: 'a1',
        event: 'Article Completed',
        properties: { email: 'a1@example.com' },
      },
      // No ticket actions in Segment: a listed "Ticket Created" is an ordinary event.
      {
        type: 'track',
        messageId: 'ticket',
        userId: 'u1',
        event: 'Ticket Created',
        properties: { subject: 'Hi', comment: 'Help' },
      },
    ])
    const state = await t.state()
    expect(state.user_events.map((e: any) => e.type).sort()).toEqual(['Article Completed', 'Ticket Created'])
    expect(state.tickets).toHaveLength(0)
    expect(await t.logOf('unlisted')).toMatchObject({ outcome: 'skipped', actions: [] })
    expect(await t.logOf('anonymous')).toMatchObject({ outcome: 'skipped', actions: [] })
    // The reasons say which condition failed, not that the event's name is unknown.
    expect((await t.logOf('anonymous')).reason).toMatch(/track-event requires \$\.userId, which is missing$/)
    expect((await t.logOf('unlisted')).reason).toMatch(/track-event takes only track events named "/)
    // Without the Events setting, Segment sends no track at all.
    await t.stop()
    t = await startCompat('segment')
    await t.send([
      { type: 'track', messageId: 'none', userId: 'u1', event: 'Article Completed', properties: {} },
    ])
    expect(await t.logOf('none')).toMatchObject({ outcome: 'skipped' })
    expect((await t.state()).user_events).toHaveLength(0)
  })

  it('properties.email ties the event to the user by email; without it, the userId is sent as external_id', async () => {
    t = await startCompat('segment', '{ events: [Article Completed] }')
    await t.send([
      { type: 'identify', userId: 'u-ann', traits: { name: 'Ann', email: 'ann@example.com' } },
      { type: 'identify', userId: 'u-bob', traits: { name: 'Bob', email: 'bob@example.com' } },
    ])
    await t.send([
      {
        type: 'track',
        userId: 'someone-else',
        event: 'Article Completed',
        properties: { email: 'ann@example.com', course: 'Intro' },
      },
      { type: 'track', userId: 'u-bob', event: 'Article Completed', properties: { course: 'Intro' } },
    ])
    const state = await t.state()
    const ann = state.users.find((u: any) => u.email === 'ann@example.com')
    const bob = userBy(state, 'u-bob')
    expect(state.user_events.map((e: any) => e.user_id).sort()).toEqual([ann.id, bob.id].sort())
    expect(state.user_events.every((e: any) => e.properties.course === 'Intro')).toBe(true)
  })

  it('a track identifier over 60 characters fails before any call (Zendesk profile identifiers take at most 60)', async () => {
    t = await startCompat('segment', '{ events: [Article Completed] }')
    await t.send([
      {
        type: 'track',
        messageId: 'long',
        userId: 'x'.repeat(61),
        event: 'Article Completed',
        properties: {},
      },
      { type: 'track', messageId: 'ok', userId: 'x'.repeat(60), event: 'Article Completed', properties: {} },
    ])
    expect(await t.logOf('long')).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/^MAPPING_IDENTIFIER_TOO_LONG: userId: 61 characters/),
    })
    expect(await t.logOf('ok')).toMatchObject({ outcome: 'delivered' })
    expect(await t.requests('events')).toBe(1)
  })

  it('a userId that matches no Zendesk user: the event is kept on a user Zendesk creates (Segment returns an error)', async () => {
    t = await startCompat('segment', '{ events: [Article Completed] }')
    await t.send([
      {
        type: 'track',
        messageId: 'unknown',
        userId: 'nobody-yet',
        event: 'Article Completed',
        properties: {},
      },
    ])
    expect(await t.logOf('unknown')).toMatchObject({ outcome: 'delivered' })
    const state = await t.state()
    expect(state.user_events).toHaveLength(1)
    expect(state.user_events[0].user_id).toBe(userBy(state, 'nobody-yet').id)
  })

  it('group inserts or updates an organization, matched by the groupId', async () => {
    t = await startCompat('segment')
    await t.send([
      { type: 'identify', userId: '6789', traits: { name: 'Magic', email: 'magic@example.com' } },
    ])
    await t.send([
      {
        type: 'group',
        groupId: '908172409',
        userId: '6789',
        traits: { name: 'LA Lakers', url: 'https://lakers.com' },
      },
    ])
    await t.send([
      { type: 'group', groupId: '908172409', userId: '6789', traits: { name: 'Los Angeles Lakers' } },
    ])
    const orgs = (await t.state()).organizations
    expect(orgs).toHaveLength(1)
    expect(orgs[0]).toMatchObject({ external_id: '908172409', name: 'Los Angeles Lakers' })
  })

  it('an organization name that another organization has: nothing is updated, and the reason is logged', async () => {
    t = await startCompat('segment')
    await t.zendesk('POST', 'organizations', {
      organization: { name: 'LA Lakers', external_id: 'other', notes: 'kept' },
    })
    await t.send([
      { type: 'identify', userId: '6789', traits: { name: 'Magic', email: 'magic@example.com' } },
    ])
    await t.send([
      {
        type: 'group',
        messageId: 'dup',
        groupId: '908172409',
        userId: '6789',
        traits: { name: 'LA Lakers' },
      },
      { type: 'group', messageId: 'fine', groupId: 'g2', userId: '6789', traits: { name: 'Celtics' } },
    ])
    expect(await t.logOf('dup')).toMatchObject({ outcome: 'failed', reason: expect.stringMatching(/name/i) })
    expect(await t.logOf('fine')).toMatchObject({ outcome: 'delivered' })
    const state = await t.state()
    expect(orgBy(state, '908172409')).toBeUndefined()
    expect(orgBy(state, 'other')).toMatchObject({ name: 'LA Lakers', notes: 'kept' })
  })

  it('every group call links the organization to the user making the request', async () => {
    t = await startCompat('segment')
    await t.send([
      { type: 'identify', userId: '6789', traits: { name: 'Magic', email: 'magic@example.com' } },
    ])
    await t.send([{ type: 'group', groupId: 'g1', userId: '6789', traits: { name: 'Lakers' } }])
    await t.send([
      { type: 'group', messageId: 'again', groupId: 'g1', userId: '6789', traits: { name: 'Lakers' } },
    ])
    await t.send([{ type: 'group', groupId: 'g2', userId: '6789', traits: { name: 'Celtics' } }])
    const state = await t.state()
    expect(orgsOf(state, userBy(state, '6789').id)).toEqual(
      [orgBy(state, 'g1').id, orgBy(state, 'g2').id].sort(),
    )
    expect(await t.logOf('again')).toMatchObject({ outcome: 'delivered' })
  })

  it('organization attributes: name, domainNames → domain_names, tags, groupId → external_id, url, deleted', async () => {
    t = await startCompat('segment')
    for (const [key, type] of [
      ['url', 'text'],
      ['deleted', 'checkbox'],
    ]) {
      await t.zendesk('POST', 'organization_fields', { organization_field: { key, title: key, type } })
    }
    await t.send([
      { type: 'identify', userId: '6789', traits: { name: 'Magic', email: 'magic@example.com' } },
    ])
    await t.send([
      {
        type: 'group',
        groupId: '908172409',
        userId: '6789',
        traits: {
          name: 'LA Lakers',
          domainNames: ['lakers.com', 'nba.com'],
          tags: 'basketball west',
          url: 'https://lakers.com',
          deleted: true,
        },
      },
    ])
    const org = orgBy(await t.state(), '908172409')
    expect(org).toMatchObject({
      name: 'LA Lakers',
      domain_names: ['lakers.com', 'nba.com'],
      tags: ['basketball', 'west'],
      organization_fields: { url: 'https://lakers.com', deleted: true },
    })
    // Zendesk's url is the API address of the record; deleted: true never deletes the organization.
    expect(org.url).not.toBe('https://lakers.com')
  })
})
