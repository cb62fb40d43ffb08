import { describe, expect, test } from 'vitest'

import { FieldCatalog } from '../zendesk/custom-fields.js'
import { buildPayload } from './build-payload.js'
import { createTicket } from './create-ticket/create-ticket.js'
import { recordFieldValues } from './custom-field-values.js'
import type { ActionContext } from './define-action.js'
import { upsertOrganization } from './upsert-organization/upsert-organization.js'
import { upsertUser } from './upsert-user/upsert-user.js'

const users = new FieldCatalog('user', [
  { id: 1, key: 'plan', title: 'Plan', type: 'text' },
  { id: 2, key: 'seats', title: 'Seats', type: 'integer' },
])
const orgs = new FieldCatalog('organization', [
  {
    id: 3,
    key: 'tier',
    title: 'Tier',
    type: 'dropdown',
    custom_field_options: [{ name: 'Gold plan', value: 'gold' }],
  },
])
const tickets = new FieldCatalog('ticket', [
  { id: 360_001, title: 'Order number', type: 'text' },
  { id: 360_002, title: 'Refund', type: 'checkbox' },
])

function context(): { ctx: ActionContext; notes: string[] } {
  const notes: string[] = []
  return {
    ctx: {
      userFieldKeys: null,
      fields: { user: users, organization: orgs, ticket: tickets },
      settings: {},
      note: (r) => notes.push(r),
    },
    notes,
  }
}

describe('the actions send the values their fields take and note the rest', () => {
  test('without a catalog of the kind, nothing is decided here (the action keeps its older behaviour)', () => {
    const { ctx, notes } = context()
    expect(recordFieldValues('user', { plan: 'pro' }, { ...ctx, fields: {} })).toBeUndefined()
    expect(notes).toEqual([])
  })

  test('upsert-user: user_fields coerced, unknown traits noted', async () => {
    const { ctx, notes } = context()
    const payload = await buildPayload(upsertUser.fields, undefined, {
      type: 'identify',
      userId: 'u1',
      traits: { email: 'a@example.com', plan: 7, seats: '3', shoeSize: 44, address: { city: 'X' } },
    })
    expect(upsertUser.bulk.item(payload, ctx).user_fields).toEqual({ plan: '7', seats: 3 })
    expect(notes).toEqual([
      'user_fields left out (Zendesk would drop them silently): shoe_size (no such user field)',
    ])
    expect(upsertUser.customFields?.candidates(payload)).toEqual({ plan: 7, seats: '3', shoeSize: 44 })
  })

  test('upsert-organization: fields checked when the record is built, so perform sends them as they are', async () => {
    const { ctx, notes } = context()
    const payload = await buildPayload(upsertOrganization.fields, undefined, {
      type: 'group',
      groupId: 'g1',
      userId: 'u1',
      traits: { name: 'Acme', tier: 'GOLD PLAN', industry: 'rockets' },
    })
    expect(upsertOrganization.bulk.item(payload, ctx)).toMatchObject({
      fields: { tier: 'gold' },
      fieldsChecked: true,
    })
    expect(notes).toEqual([
      'organization_fields left out (Zendesk would drop them silently): industry (no such organization field)',
    ])
  })

  test('create-ticket: fields by id or title, as Zendesk’s list; bad values noted', async () => {
    const { ctx, notes } = context()
    const payload = await buildPayload(createTicket.fields, undefined, {
      type: 'track',
      event: 'Ticket Created',
      userId: 'u1',
      properties: {
        subject: 'S',
        comment: 'C',
        custom_fields: { order_number: 'A-1', '360002': 'maybe' },
      },
    })
    expect(createTicket.bulk.item(payload, ctx).ticket.custom_fields).toEqual([{ id: 360_001, value: 'A-1' }])
    expect(notes).toEqual([
      `custom_fields values left out (the field's type cannot take them): 360002 ("maybe" is not a checkbox value (true or false))`,
    ])
  })
})
