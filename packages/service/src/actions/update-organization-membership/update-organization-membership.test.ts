import { describe, expect, test } from 'vitest'

import { buildPayload } from '../build-payload.js'
import { DeliveryNote, type ActionContext, type ActionZendesk } from '../define-action.js'
import { asZendeskId, updateOrganizationMembership } from './update-organization-membership.js'

const ctx: ActionContext = { userFieldKeys: null, settings: {} }
const removing: ActionContext = { userFieldKeys: null, settings: { removeUsersFromOrganizations: true } }

async function recordFor(event: unknown, c: ActionContext = ctx) {
  return updateOrganizationMembership.bulk.item(
    await buildPayload(updateOrganizationMembership.fields, undefined, event),
    c,
  )
}

const identify = (traits: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'identify',
  userId: 'u1',
  traits: { email: 'Ann@Example.com', name: 'Ann', ...traits },
  ...extra,
})

/** A Zendesk that must not be called. */
const noCalls: ActionZendesk = {
  send: () => Promise.reject(new Error('no call expected')),
  runJob: () => Promise.reject(new Error('no call expected')),
}

describe('update-organization-membership records', () => {
  test('an identify with company.id (string or number) adds a membership of that user', async () => {
    const expected = {
      op: 'add',
      companyId: '6789',
      externalId: 'u1',
      email: 'ann@example.com',
      creatable: true,
    }
    expect(await recordFor(identify({ company: { id: '6789' } }))).toEqual(expected)
    expect(await recordFor(identify({ company: { id: 6789 } }))).toEqual(expected)
  })

  test('company may come in context.traits, as RudderStack sends it', async () => {
    const r = await recordFor({
      type: 'identify',
      userId: 'u1',
      context: { traits: { company: { id: 'acme' } } },
    })
    expect(r).toEqual({ op: 'add', companyId: 'acme', externalId: 'u1', creatable: false })
  })

  test('an identify without company.id is skipped, and perform makes no call for it', async () => {
    const r = await recordFor(identify({ company: { name: 'Acme' } }))
    expect(r).toEqual({ op: 'skip' })
    expect(updateOrganizationMembership.bulk.key(r)).toBeNull()
    expect(await updateOrganizationMembership.bulk.perform([r], noCalls)).toEqual([null])
  })

  test('remove: true removes only with removeUsersFromOrganizations on; off, nothing changes and the log says why', async () => {
    const event = identify({ company: { id: 'acme', remove: true } })
    expect(await recordFor(event, removing)).toMatchObject({ op: 'remove', companyId: 'acme' })
    const off = await recordFor(event)
    expect(off).toMatchObject({ op: 'ignore' })
    const [outcome] = await updateOrganizationMembership.bulk.perform([off], noCalls)
    expect(outcome).toBeInstanceOf(DeliveryNote)
    expect((outcome as DeliveryNote).reason).toMatch(/removeUsersFromOrganizations is off/)
  })

  test('a membership change without userId or email is refused before any call', async () => {
    await expect(
      recordFor({ type: 'identify', anonymousId: 'a1', traits: { company: { id: 'acme' } } }),
    ).rejects.toMatchObject({ kind: 'invalid_event', code: 'MAPPING_MEMBER_WITHOUT_IDENTIFIER' })
  })

  test('records of one person and organization merge, the later winning; other organizations stay apart', async () => {
    const add = await recordFor(identify({ company: { id: 'Acme' } }), removing)
    const remove = await recordFor(identify({ company: { id: 'acme', remove: true } }), removing)
    const other = await recordFor(identify({ company: { id: 'globex' } }), removing)
    const bulk = updateOrganizationMembership.bulk
    expect(bulk.key(add)).toBe(bulk.key(remove))
    expect(bulk.key(other)).not.toBe(bulk.key(add))
    expect(bulk.merge(add, remove)).toEqual(remove)
  })

  test('digits may be a Zendesk id; anything else is only an external id', () => {
    expect(asZendeskId('900001329943')).toBe(900001329943)
    expect(asZendeskId('acme')).toBeNull()
    expect(asZendeskId('0')).toBeNull()
    expect(asZendeskId('12345678901234567890')).toBeNull()
  })
})
