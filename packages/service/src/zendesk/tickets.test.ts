import { describe, expect, test } from 'vitest'

import { createMany, listByExternalId, update, updateMany } from './tickets.js'

const ticket = { subject: 'S', comment: { body: 'C' } }

describe('ticket request builders', () => {
  test('bulk calls take 1 to 100 tickets and use the account budget', () => {
    expect(createMany([ticket])).toMatchObject({
      method: 'POST',
      path: 'tickets/create_many',
      body: { tickets: [ticket] },
      limitClass: 'account',
    })
    expect(updateMany([{ id: 1, status: 'open' }])).toMatchObject({
      method: 'PUT',
      path: 'tickets/update_many',
      body: { tickets: [{ id: 1, status: 'open' }] },
    })
    expect(() => createMany([])).toThrow(RangeError)
    expect(() => updateMany(Array.from({ length: 101 }, (_, id) => ({ id })))).toThrow(
      'tickets/update_many takes 1 to 100 tickets, got 101',
    )
  })

  test('a single ticket update counts against Zendesk’s ticket-update limits, per ticket', () => {
    expect(update(42, { status: 'solved' })).toEqual({
      api: 'support',
      method: 'PUT',
      path: 'tickets/42',
      body: { ticket: { status: 'solved' } },
      limitClass: 'ticket-update',
      limitKey: '42',
    })
  })

  test('tickets are listed by external id with a page size of 1 to 100', () => {
    expect(listByExternalId('ord 1', 1).query).toEqual({ external_id: 'ord 1', 'page[size]': '1' })
    expect(listByExternalId('x').query).toEqual({ external_id: 'x', 'page[size]': '100' })
  })
})
