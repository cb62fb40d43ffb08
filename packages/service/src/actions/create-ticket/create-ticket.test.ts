import { describe, expect, test } from 'vitest'

import { inProcessActionMemory } from '../../lib/action-memory.js'
import type { ZendeskRequest, ZendeskResponse } from '../../zendesk/request.js'
import { buildPayload } from '../build-payload.js'
import { DeliveryNote, type ActionContext, type ActionZendesk } from '../define-action.js'
import { createTicket, type CreateTicketRecord } from './create-ticket.js'

const ctx: ActionContext = { userFieldKeys: null, settings: {} }

async function recordFor(event: unknown): Promise<CreateTicketRecord> {
  return createTicket.bulk.item(await buildPayload(createTicket.fields, undefined, event), ctx)
}

const ticketCreated = {
  type: 'track',
  event: 'Ticket Created',
  userId: 'u1',
  properties: {
    subject: 'Order 1001 never arrived',
    comment: 'It has been two weeks.',
    requester: { email: 'Ann@Example.com', name: 'Ann Lee' },
    priority: 'High',
    type: 'incident',
    status: 'open',
    tags: ['shipping', 'vip', 'shipping', ' '],
    custom_fields: { '360001': 'order-1001', '360002': 42 },
    external_id: 'order-1001-issue',
  },
}

describe('create-ticket', () => {
  test('is triggered by a track named "Ticket Created", as in Customer.io', () => {
    expect(createTicket.defaultTrigger).toEqual({ types: ['track'], events: ['Ticket Created'] })
  })

  test('properties map to the ticket: subject, comment, requester, priority, type, status, tags, custom fields, external id', async () => {
    expect(await recordFor(ticketCreated)).toEqual({
      ticket: {
        subject: 'Order 1001 never arrived',
        comment: { body: 'It has been two weeks.' },
        priority: 'high',
        type: 'incident',
        status: 'open',
        tags: ['shipping', 'vip'],
        custom_fields: [
          { id: 360001, value: 'order-1001' },
          { id: 360002, value: 42 },
        ],
        external_id: 'order-1001-issue',
      },
      requester: { email: 'ann@example.com', name: 'Ann Lee', externalId: 'u1' },
    })
  })

  test('the comment may be Zendesk’s {body, public}; custom fields may be Zendesk’s [{id, value}] list', async () => {
    const r = await recordFor({
      ...ticketCreated,
      properties: {
        subject: 'S',
        comment: { body: 'internal only', public: false },
        custom_fields: [{ id: 7, value: true }],
      },
    })
    expect(r.ticket.comment).toEqual({ body: 'internal only', public: false })
    expect(r.ticket.custom_fields).toEqual([{ id: 7, value: true }])
    const list = await recordFor({
      ...ticketCreated,
      properties: {
        subject: 'S',
        body: 'b',
        public: true,
        customFields: [
          { id: 7, value: 'a' },
          { id: 8, value: 'b' },
        ],
      },
    })
    expect(list.ticket.comment).toEqual({ body: 'b', public: true })
    expect(list.ticket.custom_fields).toEqual([
      { id: 7, value: 'a' },
      { id: 8, value: 'b' },
    ])
  })

  test('the requester defaults to the person who sent the track: their email and name, else their userId', async () => {
    const base = { type: 'track', event: 'Ticket Created', properties: { subject: 'S', comment: 'C' } }
    expect(
      (await recordFor({ ...base, userId: 'u9', context: { traits: { email: 'Bo@x.io', name: 'Bo' } } }))
        .requester,
    ).toEqual({ email: 'bo@x.io', name: 'Bo', externalId: 'u9' })
    expect((await recordFor({ ...base, userId: 'u9' })).requester).toEqual({ externalId: 'u9' })
  })

  test('a missing subject or comment is refused before any call, naming the field', async () => {
    const { subject: _subject, ...noSubject } = ticketCreated.properties
    await expect(recordFor({ ...ticketCreated, properties: noSubject })).rejects.toMatchObject({
      kind: 'invalid_event',
      code: 'MAPPING_TICKET_MISSING_FIELD',
      field: 'subject',
      message: 'subject: a new ticket needs a subject (properties.subject)',
    })
    const { comment: _comment, ...noComment } = ticketCreated.properties
    await expect(recordFor({ ...ticketCreated, properties: noComment })).rejects.toMatchObject({
      kind: 'invalid_event',
      field: 'comment',
      message: expect.stringMatching(/^comment: a new ticket needs a comment/),
    })
    await expect(recordFor({ ...ticketCreated, properties: { priority: 'low' } })).rejects.toMatchObject({
      message: expect.stringMatching(/^subject: .*; comment: /),
    })
  })

  test('a ticket with nobody to ask for it is refused', async () => {
    await expect(
      recordFor({
        type: 'track',
        event: 'Ticket Created',
        anonymousId: 'a1',
        properties: { subject: 'S', comment: 'C' },
      }),
    ).rejects.toMatchObject({ kind: 'invalid_event', code: 'MAPPING_TICKET_NO_REQUESTER' })
  })

  test('values outside Zendesk’s lists, tags that are not words and custom-field keys that are not ids are refused', async () => {
    await expect(
      recordFor({ ...ticketCreated, properties: { ...ticketCreated.properties, priority: 'critical' } }),
    ).rejects.toMatchObject({
      kind: 'invalid_event',
      code: 'MAPPING_TICKET_INVALID_VALUE',
      message: 'priority: "critical" is not one of urgent, high, normal, low',
    })
    await expect(
      recordFor({ ...ticketCreated, properties: { ...ticketCreated.properties, tags: [{ a: 1 }] } }),
    ).rejects.toMatchObject({ code: 'MAPPING_TICKET_INVALID_TAGS', field: 'tags' })
    await expect(
      recordFor({
        ...ticketCreated,
        properties: { ...ticketCreated.properties, custom_fields: { plan: 'pro' } },
      }),
    ).rejects.toMatchObject({
      code: 'MAPPING_TICKET_INVALID_CUSTOM_FIELD',
      message: 'customFields: "plan" is not a ticket field id (a number)',
    })
  })

  test('records with the same external id merge, the later one winning, custom fields merged by id', async () => {
    const first = await recordFor(ticketCreated)
    const second = await recordFor({
      ...ticketCreated,
      properties: {
        subject: 'Order 1001 arrived damaged',
        comment: 'The box was crushed.',
        requester: { email: 'ann@example.com' },
        tags: ['damaged'],
        custom_fields: { '360002': 43, '360003': 'x' },
        external_id: 'order-1001-issue',
      },
    })
    expect(createTicket.bulk.key(first)).toBe(createTicket.bulk.key(second))
    expect(createTicket.bulk.merge(first, second)).toEqual({
      ticket: {
        subject: 'Order 1001 arrived damaged',
        comment: { body: 'The box was crushed.' },
        priority: 'high',
        type: 'incident',
        status: 'open',
        tags: ['damaged'],
        custom_fields: [
          { id: 360001, value: 'order-1001' },
          { id: 360002, value: 43 },
          { id: 360003, value: 'x' },
        ],
        external_id: 'order-1001-issue',
      },
      requester: { email: 'ann@example.com', externalId: 'u1' },
    })
  })

  test('tickets without an external id are never merged', async () => {
    const { external_id: _e, ...props } = ticketCreated.properties
    expect(createTicket.bulk.key(await recordFor({ ...ticketCreated, properties: props }))).toBeNull()
  })
})

describe('create-ticket remembers the tickets it creates (the action memory)', () => {
  test('an external id it created is noted without a request, one marked sending is looked up, a new one goes straight to create_many, and one external id is never in two batches at once', async () => {
    const memory = inProcessActionMemory()
    const now = 1_800_000_000_000
    await memory.remember([
      ['known', 'created:7'],
      ['maybe', `sending:${now - 5 * 60_000}`],
      ['young', `sending:${now - 30_000}`],
    ])
    const sent: string[] = []
    let jobStarted = (): void => {}
    const started = new Promise<void>((resolve) => (jobStarted = resolve))
    let finishJob = (): void => {}
    const zendesk: ActionZendesk = {
      send<T>(req: ZendeskRequest): Promise<ZendeskResponse<T>> {
        sent.push(`${req.method} ${req.path} ${String(req.query?.external_id)}`)
        // The lookup finds no ticket: the earlier send never reached Zendesk.
        return Promise.resolve({ status: 200, headers: {}, body: { tickets: [] } as T })
      },
      async runJob(req) {
        sent.push(`${req.method} ${req.path}`)
        jobStarted()
        await new Promise<void>((done) => (finishJob = done))
        const tickets = (req.body as { tickets: unknown[] }).tickets
        return tickets.map((_, i) => ({ id: 100 + i, index: i, status: 'Created', success: true }))
      },
    }
    const record = (externalId: string): Promise<CreateTicketRecord> =>
      recordFor({ ...ticketCreated, properties: { ...ticketCreated.properties, external_id: externalId } })
    const first = createTicket.bulk.perform(
      [await record('known'), await record('maybe'), await record('new'), await record('young')],
      zendesk,
      { memory, now: () => now },
    )
    await started
    // While the first batch creates "new", a second batch with it waits (retried shortly).
    const second = await createTicket.bulk.perform([await record('new')], zendesk, { memory, now: () => now })
    expect(second[0]).toMatchObject({ code: 'TICKET_CREATE_IN_PROGRESS' })
    expect(Object.fromEntries(await memory.recall(['maybe', 'new']))).toEqual({
      maybe: `sending:${now}`,
      new: `sending:${now}`,
    })
    finishJob()
    const outcomes = await first
    expect(outcomes[0]).toBeInstanceOf(DeliveryNote)
    expect((outcomes[0] as DeliveryNote).reason).toBe(
      'ticket 7 already has external_id "known"; no second ticket was created',
    )
    expect(outcomes.slice(1, 3)).toEqual([null, null])
    // Marked 30 s ago and not in Zendesk: that send may be a job Zendesk has not run yet, so it
    // is looked up again when 2 minutes have passed, not created now.
    expect(outcomes[3]).toMatchObject({ code: 'TICKET_CREATE_UNCONFIRMED', retryAfterS: 90 })
    expect(sent).toEqual(['GET tickets maybe', 'GET tickets young', 'POST tickets/create_many'])
    expect(Object.fromEntries(await memory.recall(['maybe', 'new']))).toEqual({
      maybe: 'created:100',
      new: 'created:101',
    })
    // Released: a later batch with "new" finds the ticket without asking Zendesk.
    const third = await createTicket.bulk.perform([await record('new')], zendesk, { memory, now: () => now })
    expect((third[0] as DeliveryNote).reason).toContain('ticket 101 already has external_id "new"')
    expect(sent).toHaveLength(3)
  })
})
