/**
 * Tickets [OAS] (facts §6, §8.2). Rules live in model/tickets.ts.
 *
 * `PUT tickets/{id}` carries Zendesk's two ticket-update limits on top of the account limit:
 * 30 updates per 10 minutes per user per ticket, and 100 a minute per account (300 with High
 * Volume). Zendesk documents no `Zendesk-RateLimit-*` header name for them, so none is sent.
 * The bulk endpoints answer 200 with a queued job, as the OpenAPI document says.
 */
import type { FastifyRequest } from 'fastify'

import type { JsonObject } from '../account.js'
import { badRequest } from '../errors.js'
import {
  isObject,
  listParam,
  numericParam,
  paginate,
  query,
  send,
  wrapped,
  wrappedList,
  type RouteModule,
} from '../http.js'
import { presentJob, startJob } from '../model/jobs.js'
import {
  createTicket,
  createTicketsWork,
  deleteTicket,
  listTickets,
  presentComment,
  presentTicket,
  requireTicket,
  ticketsByExternalId,
  updateTicket,
  updateTicketsWork,
} from '../model/tickets.js'
import { enforceBuckets, MINUTE } from '../rate-limit.js'

/** Ticket updates per user per ticket, per 10 minutes [D-rl]. */
const PER_TICKET_UPDATES = 30
/** Ticket updates per account per minute, and with the High Volume add-on [D-rl]. */
const ACCOUNT_UPDATES = 100
const ACCOUNT_UPDATES_HIGH_VOLUME = 300

function actorOf(request: FastifyRequest): number | null {
  return request.auth.userId
}

export const ticketRoutes: RouteModule = (app, { account, limiter }) => {
  app.get('/api/v2/tickets', (request) => {
    const externalId = query(request).external_id
    const tickets = externalId !== undefined ? ticketsByExternalId(account, externalId) : listTickets(account)
    return paginate(
      request,
      account,
      'tickets',
      'tickets',
      tickets.map((t) => presentTicket(account, t)),
    )
  })

  app.post('/api/v2/tickets', (request, reply) => {
    const { ticket, audit } = createTicket(account, wrapped(request.body, 'ticket'), actorOf(request))
    return send(
      reply,
      201,
      { ticket: presentTicket(account, ticket), audit },
      { location: account.apiUrl(`tickets/${ticket.id}`) },
    )
  })

  app.post('/api/v2/tickets/create_many', (request, reply) => {
    const items = wrappedList(request.body, 'tickets')
    const { job, headers } = startJob(
      account,
      // The job type for tickets is unverified; "Bulk Create User" is the observed user form.
      'Bulk Create Ticket',
      items.length,
      createTicketsWork(account, items, actorOf(request)),
    )
    return send(reply, 200, { job_status: presentJob(account, job) }, headers)
  })

  app.put('/api/v2/tickets/update_many', (request, reply) => {
    const ids = listParam(request, 'ids')
    let items: { id: number | null; changes: JsonObject }[]
    if (ids !== null) {
      const changes = wrapped(request.body, 'ticket')
      items = ids.map((raw) => ({ id: /^\d+$/.test(raw) ? Number(raw) : null, changes }))
    } else if (isObject(request.body) && request.body.tickets !== undefined) {
      items = wrappedList(request.body, 'tickets').map((t) => {
        const { id, ...changes } = t
        return { id: typeof id === 'number' ? id : null, changes }
      })
    } else {
      throw badRequest('InvalidParameter', 'Give ids in the query with a ticket object, or a tickets array')
    }
    const { job, headers } = startJob(
      account,
      'Bulk Update Ticket',
      items.length,
      updateTicketsWork(account, items, actorOf(request)),
    )
    return send(reply, 200, { job_status: presentJob(account, job) }, headers)
  })

  app.get('/api/v2/tickets/show_many', (request) => {
    const ids = listParam(request, 'ids') ?? []
    const tickets = ids.flatMap((raw) => {
      const ticket = /^\d+$/.test(raw) ? account.data.tickets.get(Number(raw)) : undefined
      return ticket ? [presentTicket(account, ticket)] : []
    })
    return { tickets }
  })

  app.get('/api/v2/tickets/:ticket_id', (request) => {
    const ticket = requireTicket(account, numericParam(request, 'ticket_id'))
    return { ticket: presentTicket(account, ticket) }
  })

  app.put('/api/v2/tickets/:ticket_id', (request, reply) => {
    const ticket = requireTicket(account, numericParam(request, 'ticket_id'))
    if (account.config.rateLimits) {
      const perAccount = account.config.plan === 'high_volume' ? ACCOUNT_UPDATES_HIGH_VOLUME : ACCOUNT_UPDATES
      enforceBuckets(
        limiter,
        [
          {
            key: `ticket-updates:${actorOf(request) ?? 'anonymous'}:${ticket.id}`,
            limit: PER_TICKET_UPDATES,
            windowMs: 10 * MINUTE,
          },
          { key: 'ticket-updates:account', limit: perAccount, windowMs: MINUTE },
        ],
        (name, value) => void reply.header(name, value),
      )
    }
    const result = updateTicket(account, ticket, wrapped(request.body, 'ticket'), actorOf(request))
    return { ticket: presentTicket(account, result.ticket), audit: result.audit }
  })

  app.delete('/api/v2/tickets/:ticket_id', (request, reply) => {
    deleteTicket(account, requireTicket(account, numericParam(request, 'ticket_id')))
    return reply.code(204).send()
  })

  app.get('/api/v2/tickets/:ticket_id/comments', (request) => {
    const ticket = requireTicket(account, numericParam(request, 'ticket_id'))
    const comments = query(request).sort_order === 'desc' ? [...ticket.comments].reverse() : ticket.comments
    return paginate(
      request,
      account,
      `tickets/${ticket.id}/comments`,
      'comments',
      comments.map(presentComment),
    )
  })
}
