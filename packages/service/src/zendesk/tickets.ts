/**
 * Request builders for the Tickets API [OAS] (facts §6, §8.2). One function per endpoint; each
 * returns a ZendeskRequest value, never performs I/O.
 *
 * Zendesk's lists for the enumerated ticket fields are fixed [OAS]; actions check them before any
 * call so that a bad value fails with its reason instead of a job-result 422.
 */
import type { ZendeskRequest } from './request.js'

export const TICKET_STATUSES = ['new', 'open', 'pending', 'hold', 'solved', 'closed'] as const
export const TICKET_PRIORITIES = ['urgent', 'high', 'normal', 'low'] as const
export const TICKET_TYPES = ['problem', 'incident', 'question', 'task'] as const

/** Zendesk's bulk limit: 100 tickets per `create_many` or `update_many` call [OAS]. */
export const TICKETS_BULK_MAX = 100

export interface TicketComment {
  body: string
  /** Absent: Zendesk's default (public for a new ticket; an update follows the first comment). */
  public?: boolean
}

export interface TicketCustomField {
  id: number
  value: unknown
}

/** A new ticket as `tickets/create_many` takes it (facts §6). */
export interface ZendeskTicketInput {
  subject: string
  comment: TicketComment
  /** Matched by email; an unknown email creates an end user named `name` (facts §6). */
  requester?: { email: string; name?: string }
  requester_id?: number
  priority?: string
  type?: string
  status?: string
  tags?: string[]
  custom_fields?: TicketCustomField[]
  /** Not unique on tickets: Zendesk never refuses a second ticket with the same one (facts §6). */
  external_id?: string
}

/** Changes to one ticket, as `PUT tickets/{id}` and `tickets/update_many` take them (facts §6). */
export interface ZendeskTicketChanges {
  subject?: string
  status?: string
  priority?: string
  type?: string
  /** Tags added to the ticket's; `tags` would replace them all. */
  additional_tags?: string[]
  remove_tags?: string[]
  /** Merged by id with the ticket's values (observed, facts §6). */
  custom_fields?: TicketCustomField[]
  /** Appended to the ticket's conversation. */
  comment?: TicketComment
}

function checkBulkSize(endpoint: string, n: number): void {
  if (n === 0 || n > TICKETS_BULK_MAX) {
    throw new RangeError(`${endpoint} takes 1 to ${TICKETS_BULK_MAX} tickets, got ${n}`)
  }
}

/**
 * `POST /api/v2/tickets/create_many` (≤ 100): answers a job status whose results are `{id, index}`
 * per ticket in request order, or a failure with `error` and `details` (facts §6, §7).
 */
export function createMany(tickets: ZendeskTicketInput[]): ZendeskRequest {
  checkBulkSize('tickets/create_many', tickets.length)
  return {
    api: 'support',
    method: 'POST',
    path: 'tickets/create_many',
    body: { tickets },
    limitClass: 'account',
  }
}

/**
 * `GET /api/v2/tickets?external_id=…`: the tickets with this external id, oldest first. The id is
 * not unique on tickets, so there may be several; `pageSize` caps how many come back (cursor
 * pagination, 1–100) [OAS ListTickets] (facts §6, §11). Zendesk has no bulk form of this lookup.
 */
export function listByExternalId(externalId: string, pageSize = 100): ZendeskRequest {
  return {
    api: 'support',
    method: 'GET',
    path: 'tickets',
    query: { external_id: externalId, 'page[size]': String(Math.min(Math.max(pageSize, 1), 100)) },
    limitClass: 'account',
  }
}

/**
 * `PUT /api/v2/tickets/update_many` with `{"tickets":[{id, …}]}` (≤ 100): a different change per
 * ticket; answers a job status whose results follow the request's order (facts §6, §7).
 * `additional_tags` and `remove_tags` are accepted. Bulk updates are the way around the
 * per-request ticket-update limit of `PUT tickets/{id}` (facts §8.2).
 */
export function updateMany(tickets: ({ id: number } & ZendeskTicketChanges)[]): ZendeskRequest {
  checkBulkSize('tickets/update_many', tickets.length)
  return {
    api: 'support',
    method: 'PUT',
    path: 'tickets/update_many',
    body: { tickets },
    limitClass: 'account',
  }
}

/**
 * `PUT /api/v2/tickets/{id}`: Zendesk limits it to 100 a minute per account and 30 per 10 minutes
 * per ticket (facts §8.2), hence its own budget (`ticket-update`, counted per ticket id).
 */
export function update(id: number, changes: ZendeskTicketChanges): ZendeskRequest {
  return {
    api: 'support',
    method: 'PUT',
    path: `tickets/${id}`,
    body: { ticket: changes },
    limitClass: 'ticket-update',
    limitKey: String(id),
  }
}
