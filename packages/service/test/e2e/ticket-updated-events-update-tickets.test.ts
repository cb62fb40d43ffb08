import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

async function jobs(state: string): Promise<any[]> {
  const r = await fetch(`${t!.url}/admin/api/destinations/default/jobs?state=${state}`)
  return ((await r.json()) as { jobs: any[] }).jobs
}

/** Ticket writes the service made (the seeding below is excluded: it comes first). */
async function ticketWrites(): Promise<string[]> {
  const r = await fetch(
    `${t!.emulator.url}/__emulator/requests?path=${encodeURIComponent('/api/v2/tickets')}`,
  )
  const log = ((await r.json()) as { requests: { method: string; path: string }[] }).requests
  return log.filter((e) => e.method === 'PUT').map((e) => `${e.method} ${e.path}`)
}

/** A ticket made directly in Zendesk (the emulator), as an agent would. */
async function seedTicket(ticket: Record<string, unknown>): Promise<any> {
  const { adminEmail, apiToken } = t!.emulator.seed
  const r = await fetch(`${t!.emulator.url}/api/v2/tickets.json`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${adminEmail}/token:${apiToken}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ ticket }),
  })
  expect(r.status).toBe(201)
  return ((await r.json()) as { ticket: any }).ticket
}

function ticketUpdated(userId: string, properties: Record<string, unknown>) {
  return { type: 'track', event: 'Ticket Updated', userId, properties }
}

async function ticket(id: number): Promise<any> {
  return (await t!.state()).tickets.find((x: any) => x.id === id)
}

describe('"Ticket Updated" tracks update Zendesk tickets', () => {
  test('by id, out of the box: status, priority, tags added and removed, a private comment appended, custom fields merged; one update goes as a single PUT', async () => {
    // Custom fields go only to ticket fields Zendesk has (custom-fields-tickets.test.ts has the rest).
    t = await startTestService({
      emulator: { fields: { ticket: [{ title: 'Refund state', type: 'text' }] } },
    })
    const refundField: number = (await t.state()).ticket_fields[0].id
    const seeded = await seedTicket({
      subject: 'Order 1001 never arrived',
      comment: { body: 'Where is my parcel?' },
      requester: { email: 'ann@example.com', name: 'Ann' },
      tags: ['waiting', 'shipping'],
      custom_fields: [{ id: 1, value: 'a' }],
    })
    await t.post('/v1/track', {
      userId: 'agent-bot',
      event: 'Ticket Updated',
      properties: {
        ticket_id: seeded.id,
        status: 'pending',
        priority: 'low',
        add_tags: ['refund'],
        remove_tags: ['waiting'],
        comment: { body: 'Refund approved by finance.', public: false },
        custom_fields: { [refundField]: 'refunded' },
      },
    })
    await t.waitFor(async () => (await jobs('done')).length === 1)
    const updated = await ticket(seeded.id)
    expect(updated).toMatchObject({
      status: 'pending',
      priority: 'low',
      tags: ['shipping', 'refund'],
      custom_fields: [
        { id: 1, value: 'a' },
        { id: refundField, value: 'refunded' },
      ],
    })
    expect(updated.comments.map((c: any) => [c.body, c.public])).toEqual([
      ['Where is my parcel?', true],
      ['Refund approved by finance.', false],
    ])
    expect(await ticketWrites()).toEqual([`PUT /api/v2/tickets/${seeded.id}.json`])
  })

  test('by external_id and by id in one batch: one update_many; an unknown ticket fails alone with its reason', async () => {
    t = await startTestService()
    const a = await seedTicket({
      subject: 'A',
      comment: { body: 'a' },
      requester: { email: 'a@example.com' },
      external_id: 'ext-a',
      tags: ['new_customer'],
    })
    const b = await seedTicket({
      subject: 'B',
      comment: { body: 'b' },
      requester: { email: 'b@example.com' },
    })
    await t.post('/v1/batch', {
      batch: [
        ticketUpdated('u1', { external_id: 'ext-a', status: 'solved', remove_tags: ['new_customer'] }),
        ticketUpdated('u2', { ticket_id: b.id, status: 'open', comment: 'Looking into it.', public: true }),
        ticketUpdated('u3', { external_id: 'nope', status: 'solved' }),
        ticketUpdated('u4', { ticket_id: 999_999, status: 'solved' }),
      ],
    })
    const dead = await t.waitFor(async () => {
      const d = await jobs('dead')
      return d.length === 2 ? d : null
    })
    expect(dead.map((j) => j.lastError).sort()).toEqual([
      'ZD_ITEM_RECORDNOTFOUND: no ticket with id 999999 (Zendesk: Not found)',
      'ZD_TICKET_NOT_FOUND: no ticket with external_id "nope"',
    ])
    await t.waitFor(async () => (await jobs('done')).length === 2)
    expect(await ticket(a.id)).toMatchObject({ status: 'solved', tags: [] })
    const updatedB = await ticket(b.id)
    expect(updatedB.status).toBe('open')
    expect(updatedB.comments.at(-1)).toMatchObject({ body: 'Looking into it.', public: true })
    expect(await ticketWrites()).toEqual(['PUT /api/v2/tickets/update_many.json'])
  })

  test('two updates of one ticket in one batch: both comments are appended in order, the later status wins', async () => {
    t = await startTestService()
    const c = await seedTicket({
      subject: 'C',
      comment: { body: 'c' },
      requester: { email: 'c@example.com' },
    })
    await t.post('/v1/batch', {
      batch: [
        ticketUpdated('u1', { ticket_id: c.id, status: 'pending', comment: 'First note', public: false }),
        ticketUpdated('u1', {
          ticket_id: c.id,
          status: 'solved',
          comment: 'Second note',
          add_tags: ['done'],
        }),
      ],
    })
    await t.waitFor(async () => (await jobs('done')).length === 2)
    const updated = await ticket(c.id)
    expect(updated).toMatchObject({ status: 'solved', tags: ['done'] })
    expect(updated.comments.map((x: any) => x.body)).toEqual(['c', 'First note', 'Second note'])
    expect(updated.comments[1].public).toBe(false)
  })

  test('an update that names no ticket fails with its reason before any call', async () => {
    t = await startTestService()
    await t.post('/v1/track', { userId: 'u1', event: 'Ticket Updated', properties: { status: 'solved' } })
    const [failed] = await t.waitFor(async () => {
      const d = await jobs('dead')
      return d.length === 1 ? d : null
    })
    expect(failed.lastError).toMatch(/^MAPPING_TICKET_NO_ID: ticketId: a ticket update needs/)
    expect(await ticketWrites()).toEqual([])
  })
})
