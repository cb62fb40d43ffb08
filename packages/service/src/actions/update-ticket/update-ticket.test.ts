import { describe, expect, test } from 'vitest'

import { buildPayload } from '../build-payload.js'
import type { ActionContext } from '../define-action.js'
import { updateTicket, type UpdateTicketRecord } from './update-ticket.js'

const ctx: ActionContext = { userFieldKeys: null, settings: {} }

async function recordFor(properties: Record<string, unknown>): Promise<UpdateTicketRecord> {
  const event = { type: 'track', event: 'Ticket Updated', userId: 'u1', properties }
  return updateTicket.bulk.item(await buildPayload(updateTicket.fields, undefined, event), ctx)
}

describe('update-ticket', () => {
  test('is triggered by a track named "Ticket Updated", as in Customer.io', () => {
    expect(updateTicket.defaultTrigger).toEqual({ types: ['track'], events: ['Ticket Updated'] })
  })

  test('properties map to the changes: status, priority, tags added and removed, a private comment, custom fields', async () => {
    expect(
      await recordFor({
        ticket_id: '42',
        status: 'Solved',
        priority: 'low',
        add_tags: ['refunded'],
        remove_tags: 'waiting',
        comment: 'Refund sent.',
        public: false,
        custom_fields: [{ id: 360001, value: 'refunded' }],
      }),
    ).toEqual({
      target: { id: 42 },
      changes: {
        status: 'solved',
        priority: 'low',
        additional_tags: ['refunded'],
        remove_tags: ['waiting'],
        custom_fields: [{ id: 360001, value: 'refunded' }],
      },
      comments: [{ body: 'Refund sent.', public: false }],
    })
  })

  test('the ticket is found by its id, else by its external id; properties.tags adds tags', async () => {
    expect(await recordFor({ ticketId: 7, external_id: 'x-1', type: 'task' })).toMatchObject({
      target: { id: 7 },
    })
    expect(await recordFor({ externalId: 'x-1', tags: ['a', 'b'] })).toEqual({
      target: { externalId: 'x-1' },
      changes: { additional_tags: ['a', 'b'] },
      comments: [],
    })
  })

  test('an update that names no ticket, or changes nothing, is refused before any call', async () => {
    await expect(recordFor({ status: 'open' })).rejects.toMatchObject({
      kind: 'invalid_event',
      code: 'MAPPING_TICKET_NO_ID',
      field: 'ticketId',
    })
    await expect(recordFor({ ticket_id: 1 })).rejects.toMatchObject({
      kind: 'invalid_event',
      code: 'MAPPING_TICKET_NOTHING_TO_UPDATE',
    })
    await expect(recordFor({ ticket_id: 1, status: 'done' })).rejects.toMatchObject({
      code: 'MAPPING_TICKET_INVALID_VALUE',
      message: 'status: "done" is not one of new, open, pending, hold, solved, closed',
    })
    await expect(recordFor({ ticket_id: 'abc', status: 'open' })).rejects.toMatchObject({
      message: 'ticketId: must be a whole number',
    })
  })

  test('updates of one ticket merge: later values win, tags end as the last event says, every comment is kept', async () => {
    const a = await recordFor({
      ticket_id: 5,
      status: 'pending',
      add_tags: ['x', 'y'],
      remove_tags: ['z'],
      comment: 'first',
      custom_fields: { '1': 'a', '2': 'b' },
    })
    const b = await recordFor({
      ticket_id: 5,
      status: 'open',
      priority: 'high',
      add_tags: ['z'],
      remove_tags: ['y'],
      comment: 'second',
      public: true,
      custom_fields: { '2': 'c' },
    })
    expect(updateTicket.bulk.key(a)).toBe('id:5')
    expect(updateTicket.bulk.merge(a, b)).toEqual({
      target: { id: 5 },
      changes: {
        status: 'open',
        priority: 'high',
        additional_tags: ['x', 'z'],
        remove_tags: ['y'],
        custom_fields: [
          { id: 1, value: 'a' },
          { id: 2, value: 'c' },
        ],
      },
      comments: [{ body: 'first' }, { body: 'second', public: true }],
    })
  })

  test('updates by external id merge with each other, not with updates by ticket id', async () => {
    const byExternal = await recordFor({ external_id: 'ord-1', status: 'open' })
    const byId = await recordFor({ ticket_id: 1, status: 'open' })
    expect(updateTicket.bulk.key(byExternal)).toBe('x:ord-1')
    expect(updateTicket.bulk.key(byId)).not.toBe(updateTicket.bulk.key(byExternal))
  })
})
