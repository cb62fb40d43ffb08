import { beforeEach, describe, expect, test } from 'vitest'

import { seededAdminId, useTestEmulator } from './client.js'

const zd = useTestEmulator()
let adminId: number

beforeEach(async () => {
  adminId = await seededAdminId(zd)
})

async function createTicket(ticket: Record<string, unknown>): Promise<any> {
  const r = await zd.post('/api/v2/tickets', { ticket: { comment: { body: 'Help, please' }, ...ticket } })
  expect(r.status, r.text).toBe(201)
  return r.body.ticket
}

async function usersWithEmail(email: string): Promise<any[]> {
  const state = await zd.state()
  const ids = state.identities
    .filter((i: any) => i.type === 'email' && i.value === email)
    .map((i: any) => i.user_id)
  return state.users.filter((u: any) => ids.includes(u.id))
}

describe('creating a ticket', () => {
  test('answers 201 with the ticket, an audit and a Location header; the ticket reads back the same', async () => {
    const r = await zd.post('/api/v2/tickets.json', {
      ticket: {
        subject: 'Printer on fire',
        comment: { body: 'The smoke is very colorful.' },
        requester_id: adminId,
        priority: 'urgent',
        type: 'incident',
        tags: ['Printer', 'fire'],
        external_id: 'order-1',
        custom_fields: [{ id: 27642, value: '745' }],
      },
    })
    expect(r.status).toBe(201)
    const t = r.body.ticket
    expect(r.headers.get('location')).toBe(`${zd.url}/api/v2/tickets/${t.id}.json`)
    expect(t).toMatchObject({
      url: `${zd.url}/api/v2/tickets/${t.id}.json`,
      subject: 'Printer on fire',
      raw_subject: 'Printer on fire',
      description: 'The smoke is very colorful.',
      status: 'new',
      priority: 'urgent',
      type: 'incident',
      requester_id: adminId,
      submitter_id: adminId,
      assignee_id: null,
      tags: ['printer', 'fire'],
      external_id: 'order-1',
      custom_fields: [{ id: 27642, value: '745' }],
      is_public: true,
    })
    expect(r.body.audit.ticket_id).toBe(t.id)
    expect(r.body.audit.events[0]).toMatchObject({ type: 'Comment', body: 'The smoke is very colorful.' })

    const read = await zd.get(`/api/v2/tickets/${t.id}`)
    expect(read.status).toBe(200)
    expect(read.body.ticket).toEqual(t)
  })

  test('a requester given by an unknown email is created as an end user named from the request', async () => {
    const t = await createTicket({ requester: { name: 'Jane Roe', email: 'Jane@Example.com' } })
    const [user, ...others] = await usersWithEmail('jane@example.com')
    expect(others).toEqual([])
    expect(user).toMatchObject({ id: t.requester_id, name: 'Jane Roe', role: 'end-user' })
    expect(t.submitter_id).toBe(adminId)
  })

  test('an unknown requester without a name is named after the email’s local part', async () => {
    const t = await createTicket({ requester: { email: 'sam.smith@example.com' } })
    const [user] = await usersWithEmail('sam.smith@example.com')
    expect(user).toMatchObject({ id: t.requester_id, name: 'sam.smith' })
  })

  test('a requester given by a known email is reused, not duplicated', async () => {
    const first = await createTicket({ requester: { name: 'Jane Roe', email: 'jane@example.com' } })
    const second = await createTicket({ requester: { name: 'Someone Else', email: 'JANE@example.com' } })
    expect(second.requester_id).toBe(first.requester_id)
    const users = await usersWithEmail('jane@example.com')
    expect(users.map((u) => u.name)).toEqual(['Jane Roe'])
  })

  test('a requester given by external_id is matched; an unknown one is created with that external id', async () => {
    const first = await createTicket({
      requester: { name: 'Kim', email: 'kim@example.com', external_id: 'crm-7' },
    })
    const again = await createTicket({ requester: { external_id: 'crm-7' } })
    expect(again.requester_id).toBe(first.requester_id)

    const fresh = await createTicket({ requester: { external_id: 'crm-8' } })
    const state = await zd.state()
    expect(state.users.find((u: any) => u.id === fresh.requester_id)).toMatchObject({
      external_id: 'crm-8',
      name: 'User crm-8',
      role: 'end-user',
    })
  })

  test('without any requester, the authenticated user is the requester', async () => {
    const t = await createTicket({})
    expect(t.requester_id).toBe(adminId)
  })

  test('assigning an agent at creation opens the ticket', async () => {
    const t = await createTicket({ assignee_id: adminId })
    expect(t).toMatchObject({ status: 'open', assignee_id: adminId })
  })
})

describe('comments', () => {
  test('are kept in order; a later comment’s public flag defaults to the first comment’s', async () => {
    const t = await createTicket({ comment: { body: 'Internal first note', public: false } })
    await zd.put(`/api/v2/tickets/${t.id}`, { ticket: { comment: { body: 'Second' } } })
    await zd.put(`/api/v2/tickets/${t.id}`, {
      ticket: { comment: { html_body: '<p>Third &amp; last</p>', public: true } },
    })

    const r = await zd.get(`/api/v2/tickets/${t.id}/comments.json`)
    expect(r.status).toBe(200)
    expect(r.body.comments.map((c: any) => [c.body, c.public, c.author_id])).toEqual([
      ['Internal first note', false, adminId],
      ['Second', false, adminId],
      ['Third & last', true, adminId],
    ])
    expect(r.body.comments[2].html_body).toBe('<p>Third &amp; last</p>')
    expect(r.body.count).toBe(3)
  })

  test('a comment’s author_id is kept', async () => {
    const requester = await createTicket({ requester: { name: 'Ann', email: 'ann@example.com' } })
    const t = await createTicket({
      requester_id: requester.requester_id,
      comment: { body: 'From Ann', author_id: requester.requester_id },
    })
    const r = await zd.get(`/api/v2/tickets/${t.id}/comments`)
    expect(r.body.comments[0].author_id).toBe(requester.requester_id)
  })
})

describe('updating a ticket', () => {
  test('replaces tags, adds and removes tags, merges custom fields and appends the comment', async () => {
    const t = await createTicket({
      tags: ['a', 'b'],
      custom_fields: [
        { id: 1, value: 'one' },
        { id: 2, value: 'two' },
      ],
    })
    const r = await zd.put(`/api/v2/tickets/${t.id}`, {
      ticket: {
        status: 'pending',
        priority: 'low',
        subject: 'Renamed',
        additional_tags: ['c'],
        remove_tags: ['a'],
        custom_fields: [
          { id: 2, value: 'TWO' },
          { id: 3, value: 'three' },
        ],
        comment: { body: 'We are on it' },
        external_id: 'ext-9',
      },
    })
    expect(r.status).toBe(200)
    expect(r.body.ticket).toMatchObject({
      status: 'pending',
      priority: 'low',
      subject: 'Renamed',
      tags: ['b', 'c'],
      external_id: 'ext-9',
      custom_fields: [
        { id: 1, value: 'one' },
        { id: 2, value: 'TWO' },
        { id: 3, value: 'three' },
      ],
    })
    expect(r.body.audit.events.map((e: any) => e.type)).toContain('Change')

    const replaced = await zd.put(`/api/v2/tickets/${t.id}`, { ticket: { tags: ['x', 'y'] } })
    expect(replaced.body.ticket.tags).toEqual(['x', 'y'])
    const comments = await zd.get(`/api/v2/tickets/${t.id}/comments`)
    expect(comments.body.comments.map((c: any) => c.body)).toEqual(['Help, please', 'We are on it'])
  })

  test('assigning an agent to a new ticket opens it', async () => {
    const t = await createTicket({})
    const r = await zd.put(`/api/v2/tickets/${t.id}`, { ticket: { assignee_id: adminId } })
    expect(r.body.ticket).toMatchObject({ status: 'open', assignee_id: adminId })
  })

  test('a closed ticket cannot be updated', async () => {
    const t = await createTicket({ status: 'closed' })
    const r = await zd.put(`/api/v2/tickets/${t.id}`, { ticket: { subject: 'Again' } })
    expect(r.status).toBe(422)
    expect(r.body).toEqual({
      error: 'RecordInvalid',
      description: 'Record validation errors',
      details: {
        status: [{ description: 'Status: closed prevents ticket update', error: 'ClosedPreventsUpdate' }],
      },
    })
  })

  test('a deleted ticket is gone', async () => {
    const t = await createTicket({})
    expect((await zd.del(`/api/v2/tickets/${t.id}`)).status).toBe(204)
    expect((await zd.get(`/api/v2/tickets/${t.id}`)).status).toBe(404)
  })
})

describe('errors', () => {
  test('a ticket without a comment is 422 on description', async () => {
    const r = await zd.post('/api/v2/tickets', { ticket: { subject: 'No body' } })
    expect(r.status).toBe(422)
    expect(r.body).toEqual({
      error: 'RecordInvalid',
      description: 'Record validation errors',
      details: { description: [{ description: 'Description: cannot be blank', error: 'BlankValue' }] },
    })
  })

  test('values outside Zendesk’s lists are 422 InvalidValue, all reported at once', async () => {
    const r = await zd.post('/api/v2/tickets', {
      ticket: { comment: { body: 'x' }, priority: 'whenever', status: 'done', type: 'chore' },
    })
    expect(r.status).toBe(422)
    expect(r.body.details).toEqual({
      priority: [{ description: 'Priority: is not included in the list', error: 'InvalidValue' }],
      status: [{ description: 'Status: is not included in the list', error: 'InvalidValue' }],
      type: [{ description: 'Type: is not included in the list', error: 'InvalidValue' }],
    })
    const update = await zd.put(`/api/v2/tickets/${(await createTicket({})).id}`, {
      ticket: { priority: 'whenever' },
    })
    expect(update.status).toBe(422)
    expect(update.body.details.priority[0].error).toBe('InvalidValue')
  })

  test('a rejected ticket creates no requester', async () => {
    const r = await zd.post('/api/v2/tickets', {
      ticket: { comment: { body: 'x' }, priority: 'whenever', requester: { email: 'ghost@example.com' } },
    })
    expect(r.status).toBe(422)
    expect(await usersWithEmail('ghost@example.com')).toEqual([])
  })

  test('unknown users are 422 on requester and assignee; an end user cannot be the assignee', async () => {
    const endUser = (await createTicket({ requester: { email: 'end@example.com' } })).requester_id
    const r = await zd.post('/api/v2/tickets', {
      ticket: { comment: { body: 'x' }, requester_id: 1, assignee_id: endUser },
    })
    expect(r.status).toBe(422)
    expect(r.body.details).toEqual({
      requester: [{ description: 'Requester: is invalid', error: 'InvalidValue' }],
      assignee: [{ description: 'Assignee: is invalid', error: 'InvalidValue' }],
    })
  })

  test('unknown tickets are 404 RecordNotFound', async () => {
    const notFound = { error: 'RecordNotFound', description: 'Not found' }
    for (const r of [
      await zd.get('/api/v2/tickets/999'),
      await zd.put('/api/v2/tickets/999.json', { ticket: { status: 'open' } }),
      await zd.get('/api/v2/tickets/999/comments'),
      await zd.del('/api/v2/tickets/999'),
      await zd.get('/api/v2/tickets/abc'),
    ]) {
      expect(r.status).toBe(404)
      expect(r.body).toEqual(notFound)
    }
  })

  test('a body without a ticket object is 400', async () => {
    const r = await zd.post('/api/v2/tickets', { subject: 'flat' })
    expect(r.status).toBe(400)
  })
})

describe('bulk endpoints', () => {
  test('create_many answers a queued job; results come in request order, with the failure in place', async () => {
    const r = await zd.post('/api/v2/tickets/create_many.json', {
      tickets: [
        { subject: 'one', comment: { body: 'first' } },
        { subject: 'two' },
        { subject: 'three', comment: { body: 'third' }, requester: { email: 'bulk@example.com' } },
      ],
    })
    expect(r.status).toBe(200)
    expect(r.body.job_status).toMatchObject({ status: 'queued', total: 3, progress: null, results: null })
    expect(r.headers.get('zendesk-ratelimit-inflight-jobs')).toMatch(/^total=30; remaining=\d+; resets=\d+$/)

    const job = await zd.waitForJob(r.body.job_status.id)
    expect(job.status).toBe('completed')
    expect(job.results).toEqual([
      { id: expect.any(Number), index: 0 },
      {
        id: 1,
        index: 1,
        action: 'create',
        status: 'Failed',
        success: false,
        error: 'RecordInvalid',
        details: 'Description: cannot be blank',
      },
      { id: expect.any(Number), index: 2 },
    ])
    const subjects = await Promise.all(
      [job.results[0].id, job.results[2].id].map(
        async (id: number) => (await zd.get(`/api/v2/tickets/${id}`)).body.ticket.subject,
      ),
    )
    expect(subjects).toEqual(['one', 'three'])
    expect(await usersWithEmail('bulk@example.com')).toHaveLength(1)
  })

  test('create_many with more than 100 tickets is 400', async () => {
    const tickets = Array.from({ length: 101 }, () => ({ comment: { body: 'x' } }))
    expect((await zd.post('/api/v2/tickets/create_many', { tickets })).status).toBe(400)
  })

  test('update_many with ids applies one change to each ticket and reports unknown ids as failures', async () => {
    const a = await createTicket({ tags: ['keep'] })
    const b = await createTicket({})
    const r = await zd.put(`/api/v2/tickets/update_many.json?ids=${a.id},999,${b.id}`, {
      ticket: { status: 'solved', additional_tags: ['bulk'] },
    })
    expect(r.status).toBe(200)
    expect(r.body.job_status.status).toBe('queued')
    const job = await zd.waitForJob(r.body.job_status.id)
    expect(job.results).toEqual([
      { id: a.id, action: 'update', status: 'Updated', success: true },
      {
        id: 999,
        index: 1,
        action: 'update',
        status: 'Failed',
        success: false,
        error: 'RecordNotFound',
        details: 'Not found',
      },
      { id: b.id, action: 'update', status: 'Updated', success: true },
    ])
    const shown = await zd.get(`/api/v2/tickets/show_many?ids=${a.id},${b.id}`)
    expect(shown.body.tickets.map((t: any) => [t.status, t.tags])).toEqual([
      ['solved', ['keep', 'bulk']],
      ['solved', ['bulk']],
    ])
  })

  test('update_many with a tickets array applies each item’s own changes', async () => {
    const a = await createTicket({})
    const b = await createTicket({})
    const r = await zd.put('/api/v2/tickets/update_many', {
      tickets: [
        { id: a.id, priority: 'high', comment: { body: 'bulk note', public: false } },
        { id: b.id, priority: 'whenever' },
      ],
    })
    const job = await zd.waitForJob(r.body.job_status.id)
    expect(job.results[0]).toEqual({ id: a.id, action: 'update', status: 'Updated', success: true })
    expect(job.results[1]).toMatchObject({
      id: b.id,
      success: false,
      status: 'Failed',
      error: 'RecordInvalid',
      details: 'Priority: is not included in the list',
    })
    expect((await zd.get(`/api/v2/tickets/${a.id}`)).body.ticket.priority).toBe('high')
    expect((await zd.get(`/api/v2/tickets/${b.id}`)).body.ticket.priority).toBeNull()
    const comments = (await zd.get(`/api/v2/tickets/${a.id}/comments`)).body.comments
    expect(comments[1]).toMatchObject({ body: 'bulk note', public: false })
  })

  test('update_many without ids or tickets is 400', async () => {
    expect((await zd.put('/api/v2/tickets/update_many', { ticket: { status: 'open' } })).status).toBe(400)
  })

  test('nothing changes before the job completes', async () => {
    const a = await createTicket({})
    zd.emulator.configure({ jobDelayMs: 60_000 })
    const r = await zd.put(`/api/v2/tickets/update_many?ids=${a.id}`, { ticket: { status: 'solved' } })
    expect(r.body.job_status.status).toBe('queued')
    expect((await zd.get(`/api/v2/tickets/${a.id}`)).body.ticket.status).toBe('new')
  })
})

describe('reading tickets', () => {
  test('show_many returns the known tickets in the order asked', async () => {
    const a = await createTicket({ subject: 'A' })
    const b = await createTicket({ subject: 'B' })
    const r = await zd.get(`/api/v2/tickets/show_many.json?ids=${b.id},12345,${a.id}`)
    expect(r.status).toBe(200)
    expect(r.body.tickets.map((t: any) => t.subject)).toEqual(['B', 'A'])
  })

  test('show_many with more than 100 ids is 400', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => i + 1).join(',')
    expect((await zd.get(`/api/v2/tickets/show_many?ids=${ids}`)).status).toBe(400)
  })

  test('tickets are found by external_id, which need not be unique', async () => {
    const a = await createTicket({ external_id: 'shared' })
    const b = await createTicket({ external_id: 'shared' })
    await createTicket({ external_id: 'other' })
    const r = await zd.get('/api/v2/tickets.json?external_id=shared')
    expect(r.status).toBe(200)
    expect(r.body.tickets.map((t: any) => t.id)).toEqual([a.id, b.id])
    expect(r.body.count).toBe(2)
    expect((await zd.get('/api/v2/tickets?external_id=none')).body.tickets).toEqual([])
  })

  test('the list holds every ticket, oldest first, with offset pagination', async () => {
    const created = [await createTicket({}), await createTicket({}), await createTicket({})]
    const all = await zd.get('/api/v2/tickets')
    expect(all.body.tickets.map((t: any) => t.id)).toEqual(created.map((t) => t.id))
    const page = await zd.get('/api/v2/tickets?per_page=2')
    expect(page.body.tickets).toHaveLength(2)
    expect(page.body.next_page).toContain('page=2')
  })
})

describe('ticket update limits', () => {
  test('30 updates per 10 minutes per user per ticket, then 429 with Retry-After; other tickets are unaffected', async () => {
    const t = await createTicket({})
    const other = await createTicket({})
    for (let i = 0; i < 30; i++) {
      const r = await zd.put(`/api/v2/tickets/${t.id}`, { ticket: { subject: `s${i}` } })
      expect(r.status).toBe(200)
    }
    const limited = await zd.put(`/api/v2/tickets/${t.id}`, { ticket: { subject: 'one too many' } })
    expect(limited.status).toBe(429)
    const retryAfter = Number(limited.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(60)
    expect(retryAfter).toBeLessThanOrEqual(600)
    expect((await zd.get(`/api/v2/tickets/${t.id}`)).body.ticket.subject).toBe('s29')
    expect((await zd.put(`/api/v2/tickets/${other.id}`, { ticket: { subject: 'fine' } })).status).toBe(200)
  })

  test('100 ticket updates a minute per account, then 429', async () => {
    const tickets = [
      await createTicket({}),
      await createTicket({}),
      await createTicket({}),
      await createTicket({}),
    ]
    for (let i = 0; i < 100; i++) {
      const t = tickets[i % 4]
      const r = await zd.put(`/api/v2/tickets/${t.id}`, { ticket: { subject: `s${i}` } })
      expect(r.status).toBe(200)
    }
    const fifth = await createTicket({})
    const limited = await zd.put(`/api/v2/tickets/${fifth.id}`, { ticket: { subject: 'over' } })
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60)
  })

  test('High Volume raises the account’s ticket-update limit to 300 a minute', async () => {
    zd.emulator.configure({ plan: 'high_volume' })
    const tickets = [
      await createTicket({}),
      await createTicket({}),
      await createTicket({}),
      await createTicket({}),
    ]
    for (let i = 0; i < 101; i++) {
      const r = await zd.put(`/api/v2/tickets/${tickets[i % 4].id}`, { ticket: { subject: `s${i}` } })
      expect(r.status).toBe(200)
    }
  })

  test('the limits are off when rate limits are switched off', async () => {
    zd.emulator.configure({ rateLimits: false })
    const t = await createTicket({})
    for (let i = 0; i < 31; i++) {
      expect((await zd.put(`/api/v2/tickets/${t.id}`, { ticket: { subject: `s${i}` } })).status).toBe(200)
    }
  })

  test('the time scale shortens the per-ticket window', async () => {
    // 10 minutes / 300 = a 2-second window.
    zd.emulator.configure({ timeScale: 300 })
    const t = await createTicket({})
    for (let i = 0; i < 30; i++) {
      await zd.put(`/api/v2/tickets/${t.id}`, { ticket: { subject: `s${i}` } })
    }
    const limited = await zd.put(`/api/v2/tickets/${t.id}`, { ticket: { subject: 'over' } })
    expect(limited.status).toBe(429)
    const retryAfter = Number(limited.headers.get('retry-after'))
    expect(retryAfter).toBeLessThanOrEqual(2)
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 50))
    expect((await zd.put(`/api/v2/tickets/${t.id}`, { ticket: { subject: 'again' } })).status).toBe(200)
  })
})
