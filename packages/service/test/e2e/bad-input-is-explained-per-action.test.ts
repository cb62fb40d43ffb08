/**
 * Issue 4's acceptance: bad input, per action, gets a clear reason naming the field, in the
 * delivery log (or in ingest's answer, for what ingest refuses), and nothing else is lost: each
 * bad event travels in one batch beside valid ones of several types, and those reach Zendesk.
 */
import { afterEach, describe, expect, it } from 'vitest'

import { orgBy, orgsOf, startCompat, userBy, type CompatService } from '../compat.js'

let t: CompatService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

const ann = { name: 'Ann', email: 'ann@example.com' }

/** Valid events of every type, for `u-ann` (all must reach Zendesk beside the bad ones). */
const valid = (tag: string): Record<string, unknown>[] => [
  { type: 'identify', messageId: `${tag}-identify`, userId: 'u-ann', traits: ann },
  {
    type: 'track',
    messageId: `${tag}-track`,
    userId: 'u-ann',
    event: 'Order Completed',
    properties: { total: 1 },
  },
  {
    type: 'group',
    messageId: `${tag}-group`,
    userId: 'u-ann',
    groupId: 'g-valid',
    traits: { name: 'Valid Org' },
    context: { traits: ann },
  },
  {
    type: 'track',
    messageId: `${tag}-ticket`,
    userId: 'u-ann',
    event: 'Ticket Created',
    properties: { subject: 'Valid ticket', comment: 'Please help', email: ann.email },
  },
]

/** The valid events arrived: the user, the event, the organization with Ann in it, the ticket. */
async function validArrived(tag: string): Promise<void> {
  for (const kind of ['identify', 'track', 'group', 'ticket']) {
    expect(await t!.logOf(`${tag}-${kind}`)).toMatchObject({ outcome: 'delivered', reason: null })
  }
  const state = await t!.state()
  const user = userBy(state, 'u-ann')
  expect(user).toMatchObject(ann)
  expect(
    state.user_events.filter((e: any) => e.type === 'Order Completed' && e.user_id === user.id),
  ).toHaveLength(1)
  expect(orgsOf(state, user.id)).toContain(orgBy(state, 'g-valid').id)
  expect(state.tickets.filter((x: any) => x.subject === 'Valid ticket')).toHaveLength(1)
}

describe('bad input is explained per action, and the valid events beside it arrive', () => {
  it('track-event: a track without any identifier fails naming the identifiers it needs', async () => {
    t = await startCompat(null)
    await t.send([
      { type: 'track', messageId: 'no-identifier', anonymousId: 'anon-1', event: 'Clicked', properties: {} },
      { type: 'track', messageId: 'too-long', userId: 'x'.repeat(61), event: 'Clicked', properties: {} },
      ...valid('v'),
    ])
    expect(await t.logOf('no-identifier')).toMatchObject({
      outcome: 'failed',
      actions: ['track-event'],
      reason:
        'MAPPING_NO_IDENTIFIER: a track needs context.zendesk_user_id, an email (context.traits.email or properties.email) or a userId',
    })
    expect(await t.logOf('too-long')).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/^MAPPING_IDENTIFIER_TOO_LONG: userId: 61 characters/),
    })
    await validArrived('v')
  })

  it('upsert-organization: a group without groupId is refused at ingest naming groupId; without a name or a userId it fails naming them', async () => {
    t = await startCompat(null)
    const r = await t.post('/v1/batch', {
      batch: [
        { type: 'group', messageId: 'no-group-id', userId: 'u-ann', traits: { name: 'Nameless' } },
        {
          type: 'identify',
          messageId: 'beside',
          userId: 'u-beside',
          traits: { name: 'Beside', email: 'beside@example.com' },
        },
      ],
    })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({
      accepted: 1,
      rejected: [{ index: 0, reasons: [{ path: 'groupId', message: 'is required' }] }],
    })

    await t.send([
      { type: 'group', messageId: 'no-name', userId: 'u-ann', groupId: 'g-new', traits: { plan: 'pro' } },
      {
        type: 'group',
        messageId: 'no-user',
        anonymousId: 'anon-2',
        groupId: 'g-other',
        traits: { name: 'Other' },
      },
      ...valid('v'),
    ])
    expect(await t.logOf('no-name')).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(
        /^MAPPING_ORGANIZATION_NAME_MISSING: name: no Zendesk organization has external_id "g-new", and Zendesk needs a name/,
      ),
    })
    expect(await t.logOf('no-user')).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/^MAPPING_GROUP_WITHOUT_USER_ID: userId: /),
    })
    const state = await t.state()
    expect(orgBy(state, 'g-new')).toBeUndefined()
    expect(orgBy(state, 'g-other')).toBeUndefined()
    expect(userBy(state, 'u-beside')).toMatchObject({ name: 'Beside' })
    await validArrived('v')
  })

  it('create-ticket: a ticket without a subject, or without a comment, fails naming the field', async () => {
    t = await startCompat(null)
    await t.send([
      {
        type: 'track',
        messageId: 'no-subject',
        userId: 'u-ann',
        event: 'Ticket Created',
        properties: { comment: 'Help', email: ann.email },
      },
      {
        type: 'track',
        messageId: 'no-comment',
        userId: 'u-ann',
        event: 'Ticket Created',
        properties: { subject: 'Only a subject', email: ann.email },
      },
      ...valid('v'),
    ])
    expect(await t.logOf('no-subject')).toMatchObject({
      outcome: 'failed',
      actions: ['create-ticket'],
      reason: 'MAPPING_TICKET_MISSING_FIELD: subject: a new ticket needs a subject (properties.subject)',
    })
    expect(await t.logOf('no-comment')).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/^MAPPING_TICKET_MISSING_FIELD: comment: /),
    })
    expect((await t.state()).tickets.map((x: any) => x.subject)).toEqual(['Valid ticket'])
    await validArrived('v')
  })

  it('update-ticket: an update that names no ticket, or an unknown one, fails with why', async () => {
    t = await startCompat(null)
    await t.send([
      {
        type: 'track',
        messageId: 'no-ticket',
        userId: 'u-ann',
        event: 'Ticket Updated',
        properties: { status: 'solved' },
      },
      {
        type: 'track',
        messageId: 'unknown-ticket',
        userId: 'u-ann',
        event: 'Ticket Updated',
        properties: { external_id: 'nope', status: 'solved' },
      },
      ...valid('v'),
    ])
    expect(await t.logOf('no-ticket')).toMatchObject({
      outcome: 'failed',
      actions: ['update-ticket'],
      reason: expect.stringMatching(/ticket_id/),
    })
    expect(await t.logOf('unknown-ticket')).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/^ZD_TICKET_NOT_FOUND: no ticket with external_id "nope"/),
    })
    await validArrived('v')
  })

  it('update-organization-membership: a company.id that matches nothing fails naming company.id; the user is still upserted', async () => {
    t = await startCompat(null)
    const acme = (
      await t.zendesk('POST', 'organizations', { organization: { name: 'Acme', external_id: 'acme' } })
    ).organization.id
    await t.send([
      {
        type: 'identify',
        messageId: 'no-such-org',
        userId: 'u-bob',
        traits: { name: 'Bob', email: 'bob@example.com', company: { id: 'no-such-org' } },
      },
      {
        type: 'identify',
        messageId: 'acme',
        userId: 'u-cy',
        traits: { name: 'Cy', email: 'cy@example.com', company: { id: 'acme' } },
      },
      ...valid('v'),
    ])
    expect(await t.logOf('no-such-org')).toMatchObject({
      outcome: 'failed',
      actions: ['upsert-user', 'update-organization-membership'],
      reason:
        'MEMBERSHIP_ORGANIZATION_NOT_FOUND: company.id: no Zendesk organization has the id or external_id "no-such-org"',
    })
    const state = await t.state()
    expect(userBy(state, 'u-bob')).toMatchObject({ name: 'Bob' })
    expect(orgsOf(state, userBy(state, 'u-cy').id)).toEqual([acme])
    await validArrived('v')
  })

  it('upsert-user: a new user without a name, or with a malformed email, fails with Zendesk’s reason naming the field', async () => {
    t = await startCompat(null)
    await t.send([
      {
        type: 'identify',
        messageId: 'nameless',
        userId: 'u-nameless',
        traits: { email: 'nameless@example.com' },
      },
      {
        type: 'identify',
        messageId: 'bad-email',
        userId: 'u-bad',
        traits: { name: 'Bad', email: 'not-an-email' },
      },
      ...valid('v'),
    ])
    expect(await t.logOf('nameless')).toMatchObject({
      outcome: 'failed',
      actions: ['upsert-user'],
      reason: expect.stringMatching(/^ZD_ITEM_USERCREATEERROR: Name: /),
    })
    expect(await t.logOf('bad-email')).toMatchObject({
      outcome: 'failed',
      reason: expect.stringContaining('Email: not-an-email is not properly formatted'),
    })
    await validArrived('v')
  })
})
