import { describe, expect, test } from 'vitest'

import { createEmulator } from '../src/index.js'
import { useTestEmulator } from './client.js'

/** Seeded fields: they exist from the start and after every reset. */
const fields = {
  user: [{ key: 'plan', title: 'Plan', type: 'text' }],
  organization: [
    {
      key: 'tier',
      title: 'Tier',
      type: 'dropdown',
      custom_field_options: [{ name: 'Gold plan', value: 'gold' }],
    },
  ],
  ticket: [
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
    { title: 'Products', type: 'multiselect', custom_field_options: [{ name: 'A', value: 'prod_a' }] },
  ],
}

const zd = useTestEmulator({ fields, rateLimits: false })

async function ticketFieldIds(): Promise<Record<string, number>> {
  const list = await zd.get('/api/v2/ticket_fields.json')
  return Object.fromEntries(
    (list.body.ticket_fields as any[]).filter((f) => !f.system).map((f) => [f.title, f.id]),
  )
}

async function adminId(): Promise<number> {
  return (await zd.get('/api/v2/users/me.json')).body.user.id
}

describe('seeded custom fields', () => {
  test('exist from the start and again after a reset, for every kind', async () => {
    for (let round = 0; round < 2; round += 1) {
      const users = await zd.get('/api/v2/user_fields.json')
      expect(users.body.user_fields.map((f: any) => f.key)).toEqual(['plan'])
      const orgs = await zd.get('/api/v2/organization_fields.json')
      expect(orgs.body.organization_fields[0]).toMatchObject({
        key: 'tier',
        type: 'dropdown',
        custom_field_options: [{ name: 'Gold plan', value: 'gold' }],
      })
      expect(Object.keys(await ticketFieldIds())).toEqual([
        'Order number',
        'Region',
        'Refund',
        'Seats',
        'Due',
        'Products',
      ])
      zd.reset()
    }
  })

  test('a field Zendesk would refuse is refused at start, naming it', async () => {
    await expect(
      createEmulator({ fields: { ticket: [{ title: 'Region', type: 'tagger' }] } }),
    ).rejects.toThrow(/fields\.ticket\[0\].*custom_field_options/)
  })
})

describe('ticket fields', () => {
  test('the list holds the system fields first, then the custom ones, without a key; not paginated', async () => {
    const list = await zd.get('/api/v2/ticket_fields.json?per_page=2')
    expect(list.status).toBe(200)
    const all = list.body.ticket_fields as any[]
    expect(all.filter((f) => f.system).map((f) => f.type)).toEqual([
      'subject',
      'description',
      'status',
      'tickettype',
      'priority',
      'group',
      'assignee',
    ])
    expect(all).toHaveLength(13)
    expect(all.find((f) => f.title === 'Region')).toMatchObject({
      type: 'tagger',
      active: true,
      removable: true,
      custom_field_options: [
        { name: 'Europe', value: 'eu' },
        { name: 'Americas', value: 'am' },
      ],
    })
    expect(all.every((f) => !('key' in f))).toBe(true)
    // Cursor pagination on request [OAS].
    const page = await zd.get('/api/v2/ticket_fields.json?page[size]=10')
    expect(page.body.ticket_fields).toHaveLength(10)
    expect(page.body.meta.has_more).toBe(true)
  })

  test('create needs a title and a ticket type; tagger needs options; show, update and delete by id', async () => {
    const bad = await zd.post('/api/v2/ticket_fields.json', { ticket_field: { type: 'dropdown' } })
    expect(bad.status).toBe(422)
    expect(Object.keys(bad.body.details).sort()).toEqual(['title', 'type'])
    const noOptions = await zd.post('/api/v2/ticket_fields.json', {
      ticket_field: { type: 'tagger', title: 'Size' },
    })
    expect(noOptions.body.details.custom_field_options[0].error).toBe('BlankValue')

    const created = await zd.post('/api/v2/ticket_fields.json', {
      ticket_field: { type: 'decimal', title: 'Amount' },
    })
    expect(created.status).toBe(201)
    const id = created.body.ticket_field.id
    expect((await zd.get(`/api/v2/ticket_fields/${id}.json`)).body.ticket_field.title).toBe('Amount')
    await zd.put(`/api/v2/ticket_fields/${id}.json`, { ticket_field: { active: false } })
    expect((await zd.get(`/api/v2/ticket_fields/${id}`)).body.ticket_field.active).toBe(false)
    expect((await zd.del(`/api/v2/ticket_fields/${id}`)).status).toBe(204)
    expect((await zd.get(`/api/v2/ticket_fields/${id}`)).status).toBe(404)
  })

  test('ticket values are checked against their field and stored as Zendesk answers them', async () => {
    const ids = await ticketFieldIds()
    const f = (title: string): number => ids[title] ?? 0
    const r = await zd.post('/api/v2/tickets.json', {
      ticket: {
        subject: 'S',
        comment: { body: 'C' },
        requester_id: await adminId(),
        custom_fields: [
          { id: f('Order number'), value: 'A-1' },
          { id: f('Region'), value: 'eu' },
          { id: f('Refund'), value: true },
          { id: f('Seats'), value: 12 },
          { id: f('Due'), value: '2027-01-31' },
          { id: f('Products'), value: ['prod_a'] },
          { id: 42, value: 'not a field: kept as given' },
        ],
      },
    })
    expect(r.status).toBe(201)
    expect(r.body.ticket.custom_fields).toEqual([
      { id: f('Order number'), value: 'A-1' },
      { id: f('Region'), value: 'eu' },
      { id: f('Refund'), value: true },
      { id: f('Seats'), value: '12' },
      { id: f('Due'), value: '2027-01-31' },
      { id: f('Products'), value: ['prod_a'] },
      { id: 42, value: 'not a field: kept as given' },
    ])
  })

  test('a value the field does not take is a 422 naming the field; nothing is written', async () => {
    const ids = await ticketFieldIds()
    const before = (await zd.state()).tickets.length
    const r = await zd.post('/api/v2/tickets.json', {
      ticket: {
        subject: 'S',
        comment: { body: 'C' },
        requester_id: await adminId(),
        custom_fields: [
          { id: ids.Region, value: 'Europe' },
          { id: ids.Seats, value: 'many' },
        ],
      },
    })
    expect(r.status).toBe(422)
    expect(r.body.details.custom_fields).toEqual([
      { description: 'Region: "Europe" is not a valid tagger value', error: 'InvalidValue' },
      { description: 'Seats: "many" is not a valid integer value', error: 'InvalidValue' },
    ])
    expect((await zd.state()).tickets).toHaveLength(before)
  })

  test('an update merges checked values; an option removed from the field clears it on tickets', async () => {
    const ids = await ticketFieldIds()
    const created = await zd.post('/api/v2/tickets.json', {
      ticket: {
        subject: 'S',
        comment: { body: 'C' },
        requester_id: await adminId(),
        custom_fields: [{ id: ids.Region, value: 'am' }],
      },
    })
    const t = created.body.ticket
    const updated = await zd.put(`/api/v2/tickets/${t.id}.json`, {
      ticket: { custom_fields: [{ id: ids.Refund, value: 'false' }] },
    })
    expect(updated.body.ticket.custom_fields).toEqual([
      { id: ids.Region, value: 'am' },
      { id: ids.Refund, value: false },
    ])
    await zd.put(`/api/v2/ticket_fields/${ids.Region}.json`, {
      ticket_field: { custom_field_options: [{ name: 'Europe', value: 'eu' }] },
    })
    const read = await zd.get(`/api/v2/tickets/${t.id}.json`)
    expect(read.body.ticket.custom_fields).toContainEqual({ id: ids.Region, value: null })
  })
})

describe('user and organization field lists page like other lists', () => {
  test('offset pages of per_page, with next_page', async () => {
    for (let i = 0; i < 3; i += 1) {
      await zd.post('/api/v2/user_fields.json', { user_field: { key: `f${i}`, title: `F${i}` } })
    }
    const first = await zd.get('/api/v2/user_fields.json?per_page=2')
    expect(first.body.user_fields.map((f: any) => f.key)).toEqual(['plan', 'f0'])
    expect(first.body.count).toBe(4)
    expect(first.body.next_page).toContain('page=2')
    const second = await zd.get('/api/v2/user_fields.json?per_page=2&page=2')
    expect(second.body.user_fields.map((f: any) => f.key)).toEqual(['f1', 'f2'])
    expect(second.body.next_page).toBeNull()
  })
})
