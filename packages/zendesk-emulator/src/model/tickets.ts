/**
 * Tickets and their comments (facts §6). Rules kept here:
 *
 * - A ticket needs a first comment (`comment.body` or `comment.html_body`; a plain `description`
 *   string is taken as the body too). Without one: 422 on `description` ("cannot be blank").
 *   The first comment's body is the ticket's read-only `description` [OAS].
 * - Requester: `requester_id`, or a `requester` object matched by `email` (then `external_id`,
 *   which Zendesk does not document but the sync needs); an unknown one is created as an end
 *   user named `requester.name`, else the email's local part, else "User <external_id>". With no
 *   requester at all the acting user is the requester.
 * - Submitter: `submitter_id`, else the acting user (unverified). The first comment's author is
 *   `comment.author_id`, else the submitter [OAS: "the submitter always becomes the author of
 *   the first comment"].
 * - `status` defaults to `new`, or `open` when an assignee is given; assigning a `new` ticket
 *   later opens it. Enumerated fields (`status`, `priority`, `type`) outside Zendesk's lists are
 *   422 InvalidValue. `organization_id` must be one of the requester's organizations [OAS].
 * - A closed ticket cannot be updated: 422 on `status` (the "closed prevents ticket update" text
 *   is from community reports, unverified).
 * - Updates: `tags` replaces, `additional_tags` / `remove_tags` edit; `custom_fields` merge by id
 *   (observed by a mock author, facts §6); a `comment` is appended, and its `public` defaults to
 *   the first comment's [OAS]. At most 5,000 comments per ticket; more is a 422 [OAS].
 * - `external_id` is not unique on tickets [OAS].
 * - `custom_fields` of custom ticket fields are checked and stored in Zendesk's value forms
 *   (model/custom-fields.ts `checkTicketFieldValues`); an id that is no ticket field is stored as given.
 *
 * Validation runs before anything is written, so a 422 leaves no half-created requester.
 */
import {
  str,
  type Account,
  type CommentRecord,
  type Json,
  type JsonObject,
  type TicketRecord,
  type UserRecord,
} from '../account.js'
import { ApiError, bulkFailure, detailsCollector, recordInvalid, recordNotFound } from '../errors.js'
import { checkTicketFieldValues } from './custom-fields.js'
import { membershipsOfUser } from './memberships.js'
import { createUser, findUser, findUserByEmail, findUserByExternalId, normalizeTags } from './users.js'

export const TICKET_STATUSES = ['new', 'open', 'pending', 'hold', 'solved', 'closed'] as const
export const TICKET_PRIORITIES = ['urgent', 'high', 'normal', 'low'] as const
export const TICKET_TYPES = ['problem', 'incident', 'question', 'task'] as const
/** A ticket holds at most 5,000 comments, public and private [OAS]. */
export const MAX_COMMENTS = 5000

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/**
 * Every real account has a default brand and ticket form, and captured tickets always carry their
 * ids as integers; brands and forms are not modelled, so every ticket reports these.
 */
export const DEFAULT_BRAND_ID = 360_000_000
export const DEFAULT_TICKET_FORM_ID = 359_999_999

/** What a request to create or update a ticket changes, after validation. */
interface CommentInput {
  body: string
  html_body: string
  public: boolean | null
  author_id: number | null
}

/** An audit event as the create and update answers show it (scalar fields only). */
type AuditEvent = JsonObject

export interface TicketWrite {
  ticket: TicketRecord
  audit: JsonObject
}

type Add = ReturnType<typeof detailsCollector>['add']

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isStaff(user: UserRecord): boolean {
  return user.role === 'agent' || user.role === 'admin'
}

export function findTicket(account: Account, id: number): TicketRecord | null {
  return account.data.tickets.get(id) ?? null
}

export function requireTicket(account: Account, id: number): TicketRecord {
  const ticket = findTicket(account, id)
  if (!ticket) {
    throw recordNotFound()
  }
  return ticket
}

/** Every ticket, oldest first. */
export function listTickets(account: Account): TicketRecord[] {
  return [...account.data.tickets.values()].sort((a, b) => a.id - b.id)
}

/** Tickets with this external id; it is not unique on tickets, so there may be several [OAS]. */
export function ticketsByExternalId(account: Account, externalId: string): TicketRecord[] {
  return listTickets(account).filter((t) => t.external_id === externalId)
}

/** `status`, `priority` and `type` must be one of Zendesk's values; `priority`/`type` may be null. */
function checkEnums(input: JsonObject, add: Add): void {
  const check = (key: string, label: string, allowed: readonly string[], nullable: boolean): void => {
    const v = input[key]
    if (v === undefined || (v === null && nullable)) {
      return
    }
    if (typeof v !== 'string' || !allowed.includes(v)) {
      add(key, 'InvalidValue', `${label}: is not included in the list`)
    }
  }
  check('status', 'Status', TICKET_STATUSES, false)
  check('priority', 'Priority', TICKET_PRIORITIES, true)
  check('type', 'Type', TICKET_TYPES, true)
}

/** A user reference (`requester_id`, `assignee_id`, …): must be an active user (agents only for assignee). */
function checkUserRef(
  account: Account,
  v: Json | undefined,
  field: string,
  label: string,
  add: Add,
  staffOnly = false,
): UserRecord | null {
  if (v === undefined || v === null) {
    return null
  }
  const user = typeof v === 'number' ? findUser(account, v) : null
  if (!user || (staffOnly && !isStaff(user))) {
    add(field, 'InvalidValue', `${label}: is invalid`)
    return null
  }
  return user
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** Zendesk renders a plain body as HTML paragraphs; the exact markup is unverified. */
function bodyToHtml(body: string): string {
  const paragraphs = body
    .split(/\n{2,}/)
    .map((p) => `<p dir="auto">${escapeHtml(p).replace(/\n/g, '<br>')}</p>`)
    .join('')
  return `<div class="zd-comment" dir="auto">${paragraphs}</div>`
}

function htmlToText(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/p>/gi, '\n\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .trim()
}

/** Reads `comment: {body | html_body, public, author_id}`; null when it carries no text. */
function parseComment(account: Account, raw: Json | undefined, add: Add): CommentInput | null {
  if (!isObject(raw)) {
    return null
  }
  const html = typeof raw.html_body === 'string' && raw.html_body.trim() !== '' ? raw.html_body : null
  const body = typeof raw.body === 'string' && raw.body.trim() !== '' ? raw.body : null
  if (html === null && body === null) {
    return null
  }
  const author = checkUserRef(account, raw.author_id, 'author', 'Author', add)
  return {
    body: body ?? htmlToText(html ?? ''),
    html_body: html ?? bodyToHtml(body ?? ''),
    public: typeof raw.public === 'boolean' ? raw.public : null,
    author_id: author?.id ?? null,
  }
}

/** `custom_fields: [{id, value}]` → the entries with a numeric id, later ones winning. */
function parseCustomFields(raw: Json | undefined): { id: number; value: Json }[] | null {
  if (!Array.isArray(raw)) {
    return null
  }
  const out = new Map<number, Json>()
  for (const entry of raw) {
    if (isObject(entry) && typeof entry.id === 'number') {
      out.set(entry.id, entry.value ?? null)
    }
  }
  return [...out].map(([id, value]) => ({ id, value }))
}

/** `custom_fields` checked against the ticket fields; each wrong value is an error on `custom_fields`. */
function checkCustomFields(
  account: Account,
  raw: Json | undefined,
  add: Add,
): { id: number; value: Json }[] | null {
  const parsed = parseCustomFields(raw)
  if (!parsed) {
    return null
  }
  const { entries, errors } = checkTicketFieldValues(account, parsed)
  for (const e of errors) {
    add('custom_fields', e.error, e.description)
  }
  return entries
}

function mergeCustomFields(
  current: { id: number; value: Json }[],
  updates: { id: number; value: Json }[],
): { id: number; value: Json }[] {
  const merged = new Map(current.map((f) => [f.id, f.value]))
  for (const u of updates) {
    merged.set(u.id, u.value)
  }
  return [...merged].map(([id, value]) => ({ id, value }))
}

/** How the requester of a new ticket will be found or created; nothing is written yet. */
type RequesterPlan = { kind: 'existing'; user: UserRecord } | { kind: 'new'; input: JsonObject } | null

function planRequester(account: Account, raw: Json | undefined, add: Add): RequesterPlan {
  if (!isObject(raw)) {
    if (raw !== undefined && raw !== null) {
      add('requester', 'InvalidValue', 'Requester: is invalid')
    }
    return null
  }
  const email =
    typeof raw.email === 'string' && raw.email.trim() !== '' ? raw.email.trim().toLowerCase() : null
  const externalId = str(raw.external_id)
  const name = typeof raw.name === 'string' ? raw.name.trim() : ''
  if (email !== null) {
    const user = findUserByEmail(account, email)
    if (user) {
      return { kind: 'existing', user }
    }
  }
  if (externalId !== null && externalId !== '') {
    const user = findUserByExternalId(account, externalId)
    if (user) {
      return { kind: 'existing', user }
    }
  }
  if (email === null && (externalId === null || externalId === '')) {
    add('requester', 'InvalidValue', 'Requester: needs an email or an external_id')
    return null
  }
  if (email !== null && !EMAIL.test(email)) {
    add('requester', 'InvalidValue', `Requester: Email: ${email} is not properly formatted`)
    return null
  }
  const fallback = email !== null ? (email.split('@')[0] ?? email) : `User ${externalId ?? ''}`
  const input: JsonObject = { name: name !== '' ? name : fallback, role: 'end-user' }
  if (email !== null) {
    input.email = email
  }
  if (externalId !== null && externalId !== '') {
    input.external_id = externalId
  }
  if (typeof raw.locale === 'string') {
    input.locale = raw.locale
  }
  return { kind: 'new', input }
}

/** Creates the planned requester; a 422 from the user rules is reported on `requester`. */
function commitRequester(account: Account, plan: Exclude<RequesterPlan, null>): UserRecord {
  if (plan.kind === 'existing') {
    return plan.user
  }
  try {
    return createUser(account, plan.input)
  } catch (err) {
    if (err instanceof ApiError && err.status === 422) {
      const { details } = bulkFailure(err)
      throw recordInvalid({ requester: [{ description: `Requester: ${details}`, error: 'InvalidValue' }] })
    }
    throw err
  }
}

/** The organization must be one the requester belongs to [OAS]. */
function checkOrganization(
  account: Account,
  v: Json | undefined,
  requester: UserRecord | null,
  add: Add,
): number | null | undefined {
  if (v === undefined) {
    return undefined
  }
  if (v === null) {
    return null
  }
  const ok =
    typeof v === 'number' &&
    account.data.organizations.has(v) &&
    requester !== null &&
    membershipsOfUser(account, requester.id).some((m) => m.organization_id === v)
  if (!ok) {
    add('organization_id', 'InvalidValue', 'Organization: is invalid')
    return undefined
  }
  return v
}

function newComment(
  account: Account,
  input: CommentInput,
  authorId: number,
  isPublic: boolean,
): CommentRecord {
  return {
    id: account.nextId(),
    type: 'Comment',
    author_id: authorId,
    body: input.body,
    html_body: input.html_body,
    plain_body: htmlToText(input.html_body),
    public: isPublic,
    created_at: account.nowIso(),
  }
}

function commentEvent(c: CommentRecord): AuditEvent {
  return {
    id: c.id,
    type: 'Comment',
    author_id: c.author_id,
    body: c.body,
    html_body: c.html_body,
    plain_body: c.plain_body,
    public: c.public,
    attachments: [],
  }
}

const AUDITED_FIELDS = [
  'subject',
  'status',
  'priority',
  'type',
  'requester_id',
  'assignee_id',
  'group_id',
  'organization_id',
] as const

function audit(
  account: Account,
  ticket: TicketRecord,
  authorId: number,
  before: TicketRecord | null,
  comment: CommentRecord | null,
): JsonObject {
  const events: AuditEvent[] = []
  if (comment) {
    events.push(commentEvent(comment))
  }
  for (const field of AUDITED_FIELDS) {
    const value = ticket[field]
    const previous = before ? before[field] : null
    if (value === null || value === previous) {
      continue
    }
    events.push(
      before
        ? { id: account.nextId(), type: 'Change', field_name: field, value, previous_value: previous }
        : { id: account.nextId(), type: 'Create', field_name: field, value },
    )
  }
  return {
    id: account.nextId(),
    ticket_id: ticket.id,
    created_at: ticket.updated_at,
    author_id: authorId,
    metadata: { system: {}, custom: {} },
    via: { channel: 'api', source: { from: {}, to: {}, rel: null } },
    events,
  }
}

/**
 * Creates a ticket from a `{ticket: …}` body on behalf of `actorId` (the authenticated user).
 * Throws 422 RecordInvalid listing every problem, before anything is written.
 */
export function createTicket(account: Account, input: JsonObject, actorId: number | null): TicketWrite {
  const { details, add } = detailsCollector()
  checkEnums(input, add)
  let comment = parseComment(account, input.comment, add)
  if (!comment && typeof input.description === 'string' && input.description.trim() !== '') {
    comment = {
      body: input.description,
      html_body: bodyToHtml(input.description),
      public: null,
      author_id: null,
    }
  }
  if (!comment) {
    add('description', 'BlankValue', 'Description: cannot be blank')
  }
  const actor = actorId !== null ? findUser(account, actorId) : null
  const requesterById = checkUserRef(account, input.requester_id, 'requester', 'Requester', add)
  const plan: RequesterPlan =
    input.requester_id !== undefined && input.requester_id !== null
      ? requesterById && { kind: 'existing', user: requesterById }
      : planRequester(account, input.requester, add)
  const submitter = checkUserRef(account, input.submitter_id, 'submitter', 'Submitter', add)
  const assignee = checkUserRef(account, input.assignee_id, 'assignee', 'Assignee', add, true)
  const knownRequester = plan?.kind === 'existing' ? plan.user : plan === null ? actor : null
  const organizationId = checkOrganization(account, input.organization_id, knownRequester, add)
  const customFields = checkCustomFields(account, input.custom_fields, add)
  if (Object.keys(details).length > 0 || !comment) {
    throw recordInvalid(details)
  }

  const requester = plan ? commitRequester(account, plan) : actor
  if (!requester) {
    throw recordInvalid({ requester: [{ description: 'Requester: is invalid', error: 'InvalidValue' }] })
  }
  const submitterId = submitter?.id ?? actor?.id ?? requester.id
  const now = account.nowIso()
  const subject = typeof input.subject === 'string' ? input.subject : null
  const first = newComment(account, comment, comment.author_id ?? submitterId, comment.public ?? true)
  const ticket: TicketRecord = {
    id: account.nextId(),
    external_id: str(input.external_id),
    subject,
    raw_subject: subject,
    description: first.body,
    type: typeof input.type === 'string' ? input.type : null,
    priority: typeof input.priority === 'string' ? input.priority : null,
    status: typeof input.status === 'string' ? input.status : assignee ? 'open' : 'new',
    requester_id: requester.id,
    submitter_id: submitterId,
    assignee_id: assignee?.id ?? null,
    organization_id: organizationId === undefined ? requester.organization_id : organizationId,
    group_id: typeof input.group_id === 'number' ? input.group_id : null,
    tags: Array.isArray(input.tags) ? normalizeTags(input.tags) : [],
    custom_fields: customFields ?? [],
    comments: [first],
    created_at: now,
    updated_at: now,
  }
  account.data.tickets.set(ticket.id, ticket)
  return { ticket, audit: audit(account, ticket, submitterId, null, first) }
}

/** Applies a `{ticket: …}` update; throws 422 RecordInvalid (nothing changed) on any problem. */
export function updateTicket(
  account: Account,
  ticket: TicketRecord,
  input: JsonObject,
  actorId: number | null,
): TicketWrite {
  const { details, add } = detailsCollector()
  if (ticket.status === 'closed') {
    add('status', 'ClosedPreventsUpdate', 'Status: closed prevents ticket update')
    throw recordInvalid(details)
  }
  checkEnums(input, add)
  const comment = parseComment(account, input.comment, add)
  if (comment && ticket.comments.length >= MAX_COMMENTS) {
    add('base', 'TooManyComments', `Comments: a ticket can hold at most ${MAX_COMMENTS} comments`)
  }
  const requester =
    input.requester_id === undefined
      ? findUser(account, ticket.requester_id)
      : checkUserRef(account, input.requester_id, 'requester', 'Requester', add)
  if (input.requester_id === null) {
    add('requester', 'InvalidValue', 'Requester: is invalid')
  }
  const assignee = checkUserRef(account, input.assignee_id, 'assignee', 'Assignee', add, true)
  const organizationId = checkOrganization(account, input.organization_id, requester, add)
  const customFields = checkCustomFields(account, input.custom_fields, add)
  if (Object.keys(details).length > 0) {
    throw recordInvalid(details)
  }

  const before: TicketRecord = { ...ticket }
  if (typeof input.subject === 'string') {
    ticket.subject = input.subject
    ticket.raw_subject = input.subject
  }
  if (typeof input.status === 'string') {
    ticket.status = input.status
  } else if (ticket.status === 'new' && assignee) {
    ticket.status = 'open'
  }
  if (input.priority !== undefined) {
    ticket.priority = typeof input.priority === 'string' ? input.priority : null
  }
  if (input.type !== undefined) {
    ticket.type = typeof input.type === 'string' ? input.type : null
  }
  if (requester && input.requester_id !== undefined) {
    ticket.requester_id = requester.id
  }
  if (input.assignee_id !== undefined) {
    ticket.assignee_id = assignee?.id ?? null
  }
  if (organizationId !== undefined) {
    ticket.organization_id = organizationId
  }
  if (input.group_id !== undefined) {
    ticket.group_id = typeof input.group_id === 'number' ? input.group_id : null
  }
  if (input.external_id !== undefined) {
    ticket.external_id = str(input.external_id)
  }
  if (Array.isArray(input.tags)) {
    ticket.tags = normalizeTags(input.tags)
  }
  if (Array.isArray(input.additional_tags)) {
    ticket.tags = normalizeTags([...ticket.tags, ...input.additional_tags])
  }
  if (Array.isArray(input.remove_tags)) {
    const removed = new Set(normalizeTags(input.remove_tags))
    ticket.tags = ticket.tags.filter((t) => !removed.has(t))
  }
  if (customFields) {
    ticket.custom_fields = mergeCustomFields(ticket.custom_fields, customFields)
  }
  const authorId = actorId ?? ticket.submitter_id
  let added: CommentRecord | null = null
  if (comment) {
    const initialPublic = ticket.comments[0]?.public ?? true
    added = newComment(account, comment, comment.author_id ?? authorId, comment.public ?? initialPublic)
    ticket.comments.push(added)
  }
  ticket.updated_at = account.nowIso()
  return { ticket, audit: audit(account, ticket, authorId, before, added) }
}

export function deleteTicket(account: Account, ticket: TicketRecord): void {
  account.data.tickets.delete(ticket.id)
}

/**
 * Bulk create (`tickets/create_many`): one result per item in request order, `{id, index}` [OAS
 * CreateResourceResult], or `{id: index, index, action: "create", status: "Failed", success: false,
 * error, details}`: a failed item's `id` is its position, as observed for users (facts §2.3); the
 * shape for tickets is unverified.
 */
export function createTicketsWork(
  account: Account,
  items: JsonObject[],
  actorId: number | null,
): () => Json[] {
  return () =>
    items.map((item, index) => {
      try {
        return { id: createTicket(account, item, actorId).ticket.id, index }
      } catch (err) {
        return { id: index, index, action: 'create', status: 'Failed', success: false, ...bulkFailure(err) }
      }
    })
}

/**
 * Bulk update (`tickets/update_many`): each item is a ticket id (or null when the item had none)
 * and the changes to apply. Results are `{id, action: "update", status: "Updated", success: true}`
 * [OAS UpdateResourceResult] or `{id, index, action, status: "Failed", success: false, error,
 * details}` [OAS FailedResult] (facts §7); an item without an id reports its position as `id`.
 */
export function updateTicketsWork(
  account: Account,
  items: { id: number | null; changes: JsonObject }[],
  actorId: number | null,
): () => Json[] {
  return () =>
    items.map(({ id, changes }, index) => {
      try {
        if (id === null) {
          throw recordNotFound()
        }
        updateTicket(account, requireTicket(account, id), changes, actorId)
        return { id, action: 'update', status: 'Updated', success: true }
      } catch (err) {
        return {
          id: id ?? index,
          index,
          action: 'update',
          status: 'Failed',
          success: false,
          ...bulkFailure(err),
        }
      }
    })
}

/** The ticket as the API shows it to an agent [OAS TicketObject]. */
export function presentTicket(account: Account, t: TicketRecord): JsonObject {
  return {
    url: account.apiUrl(`tickets/${t.id}`),
    id: t.id,
    external_id: t.external_id,
    via: { channel: 'api', source: { from: {}, to: {}, rel: null } },
    created_at: t.created_at,
    updated_at: t.updated_at,
    generated_timestamp: Math.floor(Date.parse(t.updated_at) / 1000),
    type: t.type,
    subject: t.subject,
    raw_subject: t.raw_subject,
    description: t.description,
    priority: t.priority,
    status: t.status,
    recipient: null,
    requester_id: t.requester_id,
    submitter_id: t.submitter_id,
    assignee_id: t.assignee_id,
    organization_id: t.organization_id,
    group_id: t.group_id,
    collaborator_ids: [],
    follower_ids: [],
    email_cc_ids: [],
    forum_topic_id: null,
    problem_id: null,
    has_incidents: false,
    is_public: t.comments.some((c) => c.public),
    due_at: null,
    tags: t.tags,
    custom_fields: t.custom_fields,
    satisfaction_rating: null,
    sharing_agreement_ids: [],
    fields: t.custom_fields,
    followup_ids: [],
    ticket_form_id: DEFAULT_TICKET_FORM_ID,
    brand_id: DEFAULT_BRAND_ID,
    allow_channelback: false,
    allow_attachments: true,
    from_messaging_channel: false,
  }
}

/** A comment as `GET tickets/{id}/comments` shows it [OAS TicketCommentObject]. */
export function presentComment(c: CommentRecord): JsonObject {
  return {
    id: c.id,
    type: c.type,
    author_id: c.author_id,
    body: c.body,
    html_body: c.html_body,
    plain_body: c.plain_body,
    public: c.public,
    attachments: [],
    via: { channel: 'api', source: { from: {}, to: {}, rel: null } },
    metadata: { system: {}, custom: {} },
    created_at: c.created_at,
  }
}
