/**
 * Custom ticket fields end to end (issue 4, "Custom fields"): "Ticket Created" and "Ticket
 * Updated" tracks → queue → delivery → the emulator's tickets. A ticket names a field by its id
 * or by its title in snake_case; values are coerced to the field's type; what is left out is
 * named in the delivery log.
 */
import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

const ticketFields = [
  { title: 'Order number', type: 'text' },
  {
    title: 'Region',
    type: 'tagger',
    custom_field_options: [
      { name: 'Europe', value: 'eu' },
      { name: 'Americas', value: 'am' },
    ],
  },
  { title: 'Refund', type: 'checkbox' },
  { title: 'Seats', type: 'integer' },
  { title: 'Due', type: 'date' },
  {
    title: 'Products',
    type: 'multiselect',
    custom_field_options: [{ name: 'Widget', value: 'prod_widget' }],
  },
]

async function logged(messageId: string): Promise<any> {
  const r = await fetch(`${t!.url}/admin/api/delivery-log?message_id=${messageId}`)
  return ((await r.json()) as { entries: any[] }).entries[0]
}

const settled = (messageId: string) => t!.waitFor(() => logged(messageId))

/** The seeded ticket fields' ids by title. */
async function fieldIds(): Promise<Record<string, number>> {
  const state = await t!.state()
  return Object.fromEntries(state.ticket_fields.map((f: any) => [f.title, f.id]))
}

const created = (messageId: string, properties: Record<string, unknown>) => ({
  type: 'track',
  event: 'Ticket Created',
  userId: 'cust-1',
  messageId,
  properties: {
    subject: 'Order never arrived',
    comment: 'Two weeks now.',
    requester: { email: 'ann@example.com', name: 'Ann' },
    ...properties,
  },
})

const ticketBy = async (externalId: string): Promise<any> =>
  (await t!.state()).tickets.find((x: any) => x.external_id === externalId)

describe('ticket custom fields', () => {
  test('named by title or id, coerced to each field’s type; an unknown name is in the delivery log and the ticket is created', async () => {
    t = await startTestService({ emulator: { fields: { ticket: ticketFields } } })
    const id = await fieldIds()
    await t.post(
      '/v1/track',
      created('t1', {
        external_id: 'order-1',
        custom_fields: {
          order_number: 'A-1',
          region: 'Europe',
          Refund: 1,
          seats: '3',
          due: '2027-01-31T09:00:00Z',
          [String(id.Products)]: 'Widget',
          warehouse: 'north',
        },
      }),
    )
    expect(await settled('t1')).toMatchObject({
      outcome: 'delivered',
      reason: 'custom_fields left out (Zendesk would drop them silently): warehouse (no such ticket field)',
    })
    const ticket = await ticketBy('order-1')
    expect(ticket.custom_fields).toEqual([
      { id: id['Order number'], value: 'A-1' },
      { id: id.Region, value: 'eu' },
      { id: id.Refund, value: true },
      { id: id.Seats, value: '3' },
      { id: id.Due, value: '2027-01-31' },
      { id: id.Products, value: ['prod_widget'] },
    ])
  })

  test('a value its field cannot take is left out and named with the reason; the ticket is created with the rest', async () => {
    t = await startTestService({ emulator: { fields: { ticket: ticketFields } } })
    const id = await fieldIds()
    await t.post(
      '/v1/track',
      created('t1', {
        external_id: 'order-2',
        custom_fields: { region: 'Asia', seats: 'a few', order_number: 'A-2' },
      }),
    )
    const entry = await settled('t1')
    expect(entry.outcome).toBe('delivered')
    expect(entry.reason).toBe(
      "custom_fields values left out (the field's type cannot take them): " +
        'region ("Asia" is not an option of this field (eu, am)), seats ("a few" is not a whole number)',
    )
    const ticket = await ticketBy('order-2')
    expect(ticket).toMatchObject({ subject: 'Order never arrived' })
    expect(ticket.custom_fields).toEqual([{ id: id['Order number'], value: 'A-2' }])
  })

  test('a repeated ticket keeps both reasons in the delivery log: no second ticket, and what was left out', async () => {
    t = await startTestService({ emulator: { fields: { ticket: ticketFields } } })
    await t.post('/v1/track', created('t1', { external_id: 'order-9', custom_fields: { region: 'eu' } }))
    await settled('t1')
    const first = await ticketBy('order-9')
    await t.post('/v1/track', created('t2', { external_id: 'order-9', custom_fields: { colour: 'red' } }))
    expect(await settled('t2')).toMatchObject({
      outcome: 'delivered',
      reason:
        `ticket ${first.id} already has external_id "order-9"; no second ticket was created; ` +
        'custom_fields left out (Zendesk would drop them silently): colour (no such ticket field)',
    })
    expect((await t.state()).tickets).toHaveLength(1)
  })

  test('an update sets coerced values, Zendesk’s list form included, and keeps the others', async () => {
    t = await startTestService({ emulator: { fields: { ticket: ticketFields } } })
    const id = await fieldIds()
    await t.post(
      '/v1/track',
      created('t1', { external_id: 'order-3', custom_fields: { region: 'am', refund: true } }),
    )
    await settled('t1')
    const ticket = await ticketBy('order-3')
    await t.post('/v1/track', {
      type: 'track',
      event: 'Ticket Updated',
      userId: 'agent-bot',
      messageId: 'u1',
      properties: {
        ticket_id: ticket.id,
        custom_fields: [
          { id: id.Refund, value: 'false' },
          { id: 999_999, value: 'x' },
        ],
      },
    })
    expect(await settled('u1')).toMatchObject({
      outcome: 'delivered',
      reason: 'custom_fields left out (Zendesk would drop them silently): 999999 (no such ticket field)',
    })
    expect((await ticketBy('order-3')).custom_fields).toEqual([
      { id: id.Region, value: 'am' },
      { id: id.Refund, value: false },
    ])
  })
})
