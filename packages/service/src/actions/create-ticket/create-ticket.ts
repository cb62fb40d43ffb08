/**
 * `create-ticket`: a "Ticket Created" track (Customer.io's trigger) becomes a Zendesk ticket,
 * created with `tickets/create_many` (100 a job). Properties map to subject, first comment,
 * requester, priority, type, status, tags, custom fields and `external_id`.
 *
 * Idempotent: the same `external_id` never creates a second ticket. Zendesk does not enforce it
 * (ticket external ids are not unique, facts §6) and has no bulk lookup by it (one
 * `GET tickets?external_id=` per ticket: alone 1,000 requests per 1,000 events), so the action
 * remembers what it sent, in the destination's action memory (store/action-memory.ts, SQLite):
 *
 * | memory for the external id | what happens                                                  |
 * | -------------------------- | ------------------------------------------------------------- |
 * | nothing                    | created without a lookup: this destination never sent it      |
 * | `created:<ticket id>`      | delivered with a note naming the ticket; no request           |
 * | `sending:<time>`           | looked up in Zendesk (`GET tickets?external_id=`): found, the |
 * |                            | ticket is noted; not found, it is created, unless the mark is |
 * |                            | under 2 minutes old (the job may not have run yet): then the  |
 * |                            | record is retried when the 2 minutes are over                 |
 *
 * `sending` is written (and committed) before the `create_many` request goes out, and replaced
 * by `created:<id>` from the job's result, or removed when Zendesk refused that ticket or
 * answered the request itself with an error (no job was made). It is left as it is whenever the
 * outcome is unknown: no answer, a failed or lost job, a stop or kill, a lease that ran out and
 * another worker took over. So the signal that a job "may already have been sent" is this mark
 * itself, written before the send, not the job's `attempts` (a rate-limited retry, a lease
 * expiry and a restart leave attempts unchanged). Only those records cost a lookup.
 * - Within one delivery round, records with one external id merge into one (the later values
 *   winning); the queue drops a repeated messageId within its dedupe window.
 * - Two batches of one destination never work on one external id at once: a record whose
 *   external id another batch of this worker holds (`hold`) is retried a moment later, and then
 *   finds that batch's mark. One worker delivers a destination at a time (its delivery lease).
 * - Tickets made outside this service (or before its database) are not looked for. Without an
 *   action memory (a delivery set up without one), every external id is looked up as before.
 */
import { AppError, ERROR_KINDS } from '../../errors.js'
import type { ActionMemory } from '../../lib/action-memory.js'
import { ZendeskError } from '../../zendesk/errors.js'
import { resultAt, type JobResult } from '../../zendesk/job-statuses.js'
import { createMany, TICKETS_BULK_MAX, type ZendeskTicketInput } from '../../zendesk/tickets.js'
import { showManyByExternalIds } from '../../zendesk/users.js'
import {
  defineAction,
  DeliveryNote,
  type ActionContext,
  type ActionZendesk,
  type PayloadOf,
} from '../define-action.js'
import {
  COMMENT_MAPPING,
  COMMENT_PUBLIC_MAPPING,
  CUSTOM_FIELDS_MAPPING,
  enumValue,
  mergeCustomFields,
  resultError,
  tagList,
  ticketCustomFields,
  ticketFieldCandidates,
  ticketIdsByExternalId,
} from '../ticket-values.js'

/** The action memory's value for an external id being created (`sending:<epoch ms>`). */
const SENDING = 'sending'
/**
 * How long after its `sending` mark a ticket that a lookup does not find may still be on its way
 * (a bulk job Zendesk has accepted but not run yet): within it, the record is tried again once
 * the time is over instead of being created now. Zendesk runs bulk jobs in seconds (facts §7).
 */
const UNCONFIRMED_WAIT_MS = 2 * 60_000
/** The prefix of the value for an external id whose ticket exists: `created:<ticket id>`. */
const CREATED = 'created:'

const alreadyCreated = (ticketId: number | string, externalId: string): DeliveryNote =>
  new DeliveryNote(`ticket ${ticketId} already has external_id "${externalId}"; no second ticket was created`)

const fields = {
  subject: {
    label: 'Subject',
    description: 'The ticket’s subject. Required.',
    type: 'string',
    default: { '@path': '$.properties.subject' },
  },
  comment: {
    label: 'Comment',
    description:
      'The first comment (the ticket’s description): properties.comment (text, or {body, public}), else properties.body or properties.description. Required.',
    type: 'string',
    default: COMMENT_MAPPING,
  },
  commentPublic: {
    label: 'Public comment',
    description: 'Whether the first comment is public (Zendesk’s default: yes).',
    type: 'boolean',
    default: COMMENT_PUBLIC_MAPPING,
  },
  requesterEmail: {
    label: 'Requester email',
    description:
      'Who asks: matched by email in Zendesk, and created as an end user when unknown. properties.requester.email, else properties.email, else the person’s email (context.traits.email).',
    type: 'string',
    default: {
      '@jsonata':
        'properties.requester.email ? properties.requester.email : (properties.email ? properties.email : context.traits.email)',
    },
  },
  requesterName: {
    label: 'Requester name',
    description: 'The name Zendesk gives a requester it creates.',
    type: 'string',
    default: { '@jsonata': 'properties.requester.name ? properties.requester.name : context.traits.name' },
  },
  requesterExternalId: {
    label: 'Requester external ID',
    description:
      'Who asks, when no email is given: the Zendesk user with this external_id (properties.requester.external_id, else the userId).',
    type: 'string',
    default: {
      '@jsonata': 'properties.requester.external_id ? properties.requester.external_id : userId',
    },
  },
  priority: {
    label: 'Priority',
    description: 'urgent, high, normal or low.',
    type: 'string',
    default: { '@path': '$.properties.priority' },
  },
  type: {
    label: 'Type',
    description: 'problem, incident, question or task.',
    type: 'string',
    default: { '@path': '$.properties.type' },
  },
  status: {
    label: 'Status',
    description: 'new, open, pending, hold, solved or closed (Zendesk’s default: new).',
    type: 'string',
    default: { '@path': '$.properties.status' },
  },
  tags: {
    label: 'Tags',
    description: 'The ticket’s tags.',
    type: 'array',
    default: { '@path': '$.properties.tags' },
  },
  customFields: {
    label: 'Custom fields',
    description:
      'Ticket field values: an object of ticket-field id → value, or Zendesk’s list [{id, value}] (properties.custom_fields).',
    type: 'object',
    default: CUSTOM_FIELDS_MAPPING,
  },
  externalId: {
    label: 'External ID',
    description:
      'The ticket’s id in your systems (properties.external_id). A ticket is created once per external ID: a repeated event finds the first ticket and creates no other.',
    type: 'string',
    default: { '@jsonata': 'properties.external_id ? properties.external_id : properties.externalId' },
  },
} as const

type Payload = PayloadOf<typeof fields>

/** One ticket to create; its requester is settled in `perform` (a user may need looking up). */
export interface CreateTicketRecord {
  ticket: Omit<ZendeskTicketInput, 'requester' | 'requester_id'>
  requester: { email?: string; name?: string; externalId?: string }
}

function toRecord(p: Payload, ctx: ActionContext): CreateTicketRecord {
  const missing = [
    ...(p.subject === undefined ? ['subject: a new ticket needs a subject (properties.subject)'] : []),
    ...(p.comment === undefined
      ? [
          'comment: a new ticket needs a comment (properties.comment, properties.body or properties.description)',
        ]
      : []),
  ]
  if (p.subject === undefined || p.comment === undefined) {
    throw new AppError(ERROR_KINDS.invalidEvent, 'MAPPING_TICKET_MISSING_FIELD', missing.join('; '), {
      field: p.subject === undefined ? 'subject' : 'comment',
    })
  }
  if (p.requesterEmail === undefined && p.requesterExternalId === undefined) {
    throw new AppError(
      ERROR_KINDS.invalidEvent,
      'MAPPING_TICKET_NO_REQUESTER',
      'requester: a new ticket needs a requester email (properties.requester.email, properties.email or context.traits.email) or external id (properties.requester.external_id or userId)',
      { field: 'requesterEmail' },
    )
  }
  const ticket: CreateTicketRecord['ticket'] = {
    subject: p.subject,
    comment: { body: p.comment, ...(p.commentPublic !== undefined ? { public: p.commentPublic } : {}) },
  }
  const priority = enumValue('priority', p.priority)
  const type = enumValue('type', p.type)
  const status = enumValue('status', p.status)
  const tags = tagList('tags', p.tags)
  const customFields = ticketCustomFields('customFields', p.customFields, ctx)
  if (priority !== undefined) {
    ticket.priority = priority
  }
  if (type !== undefined) {
    ticket.type = type
  }
  if (status !== undefined) {
    ticket.status = status
  }
  if (tags !== undefined) {
    ticket.tags = tags
  }
  if (customFields !== undefined) {
    ticket.custom_fields = customFields
  }
  if (p.externalId !== undefined) {
    ticket.external_id = p.externalId
  }
  return {
    ticket,
    requester: {
      ...(p.requesterEmail !== undefined ? { email: p.requesterEmail.toLowerCase() } : {}),
      ...(p.requesterName !== undefined ? { name: p.requesterName } : {}),
      ...(p.requesterExternalId !== undefined ? { externalId: p.requesterExternalId } : {}),
    },
  }
}

/** Two events for one external id in a window: one ticket, the later values winning. */
function merge(a: CreateTicketRecord, b: CreateTicketRecord): CreateTicketRecord {
  const ticket = { ...a.ticket, ...b.ticket }
  const customFields = mergeCustomFields(a.ticket.custom_fields, b.ticket.custom_fields)
  if (customFields !== undefined) {
    ticket.custom_fields = customFields
  }
  return { ticket, requester: b.requester }
}

/**
 * Idempotency: the records (of `which`) whose external id some ticket already has. Zendesk offers
 * no bulk lookup of tickets by external id (show_many takes ticket ids; search reads an index that
 * lags by minutes, so it misses a ticket created moments ago, which is exactly the retry case), so
 * each distinct external id costs one `GET tickets?external_id=` (page size 1: any match will
 * do). Records without an external id need none. A failed lookup fails only its record. Returns
 * the ticket id found per external id.
 */
async function findExisting(
  records: CreateTicketRecord[],
  outcomes: unknown[],
  zendesk: ActionZendesk,
  which: readonly number[],
): Promise<Map<string, number>> {
  const lookups = which.flatMap((i) => {
    const externalId = records[i]?.ticket.external_id
    return externalId === undefined ? [] : [[i, externalId] as const]
  })
  // Page size 1: any match will do.
  const ids = await ticketIdsByExternalId(zendesk, lookups, outcomes, 1)
  const found = new Map<string, number>()
  for (const [i, externalId] of lookups) {
    const first = ids.get(i)?.[0]
    if (first !== undefined) {
      found.set(externalId, first)
      outcomes[i] = alreadyCreated(first, externalId)
    }
  }
  return found
}

/**
 * With an action memory: settles the records whose external id another batch holds (`busy`: they
 * are retried shortly) or its memory says were created, and looks up those it marked `sending`
 * (see the file's comment). `held` are the external ids this batch holds.
 */
async function checkMemory(
  records: CreateTicketRecord[],
  outcomes: unknown[],
  zendesk: ActionZendesk,
  memory: ActionMemory,
  ids: { busy: ReadonlySet<string>; held: readonly string[] },
  now: number,
): Promise<void> {
  const { busy, held } = ids
  const known = await memory.recall(held)
  const toLookUp: number[] = []
  /** When each external id to look up was marked `sending` (0: unknown, an old mark). */
  const markedAt = new Map<string, number>()
  for (const [i, r] of records.entries()) {
    const externalId = r.ticket.external_id
    if (externalId === undefined) {
      continue
    }
    const value = known.get(externalId)
    if (busy.has(externalId)) {
      outcomes[i] = new AppError(
        ERROR_KINDS.transient,
        'TICKET_CREATE_IN_PROGRESS',
        `external_id "${externalId}": another batch is creating its ticket right now; tried again shortly`,
      )
    } else if (value?.startsWith(CREATED)) {
      outcomes[i] = alreadyCreated(value.slice(CREATED.length), externalId)
    } else if (value === SENDING || value?.startsWith(`${SENDING}:`)) {
      toLookUp.push(i)
      markedAt.set(externalId, Number(value.slice(SENDING.length + 1)) || 0)
    }
  }
  const found = await findExisting(records, outcomes, zendesk, toLookUp)
  await memory.remember([...found].map(([externalId, id]) => [externalId, `${CREATED}${id}`] as const))
  for (const i of toLookUp) {
    const externalId = records[i]?.ticket.external_id ?? ''
    const waitMs = (markedAt.get(externalId) ?? 0) + UNCONFIRMED_WAIT_MS - now
    if (outcomes[i] === null && !found.has(externalId) && waitMs > 0) {
      // Not in Zendesk yet, but the earlier send may still be a job Zendesk has not run.
      outcomes[i] = new AppError(
        ERROR_KINDS.transient,
        'TICKET_CREATE_UNCONFIRMED',
        `external_id "${externalId}": an earlier attempt sent this ticket and its outcome is unknown; looked up again in ${Math.ceil(waitMs / 1000)} s before it is created`,
        { retryAfterS: Math.ceil(waitMs / 1000) },
      )
    }
  }
}

/**
 * Requesters given by external id only, resolved to Zendesk user ids with one `users/show_many`
 * call: Zendesk documents a requester matched or created by email, not by external id (facts §6).
 * Returns external id (lower-cased: user external ids match in any case) → user id.
 */
async function resolveRequesters(
  records: CreateTicketRecord[],
  outcomes: unknown[],
  zendesk: ActionZendesk,
): Promise<Map<string, number>> {
  const wanted = records.flatMap((r, i) =>
    outcomes[i] === null && r.requester.email === undefined && r.requester.externalId !== undefined
      ? [{ i, externalId: r.requester.externalId }]
      : [],
  )
  const found = new Map<string, number>()
  const ids = [...new Set(wanted.map((w) => w.externalId))]
  if (ids.length === 0) {
    return found
  }
  try {
    const r = await zendesk.send<{ users?: { id: number; external_id: string | null }[] }>(
      showManyByExternalIds(ids),
    )
    for (const u of r.body.users ?? []) {
      if (u.external_id !== null) {
        found.set(u.external_id.toLowerCase(), u.id)
      }
    }
  } catch (err) {
    for (const { i } of wanted) {
      outcomes[i] = err
    }
  }
  return found
}

/** One record per external id, the later values winning; `groups[i]` is where record i went. */
function mergeByExternalId(records: CreateTicketRecord[]): {
  records: CreateTicketRecord[]
  groups: number[]
} {
  const out: CreateTicketRecord[] = []
  const at = new Map<string, number>()
  const groups = records.map((r) => {
    const externalId = r.ticket.external_id
    const known = externalId !== undefined ? at.get(externalId) : undefined
    const earlier = known !== undefined ? out[known] : undefined
    if (known !== undefined && earlier) {
      out[known] = merge(earlier, r)
      return known
    }
    out.push(r)
    if (externalId !== undefined) {
      at.set(externalId, out.length - 1)
    }
    return out.length - 1
  })
  return { records: out, groups }
}

/** Creates the tickets that no ticket's external id already stands for; one outcome per record. */
async function createOnce(
  records: CreateTicketRecord[],
  zendesk: ActionZendesk,
  memory: ActionMemory | null,
  now: () => number,
): Promise<unknown[]> {
  const outcomes: unknown[] = records.map(() => null)
  if (memory === null) {
    await findExisting(
      records,
      outcomes,
      zendesk,
      records.map((_, i) => i),
    )
    return createRest(records, outcomes, zendesk, null, now)
  }
  const ids = [
    ...new Set(records.flatMap((r) => (r.ticket.external_id !== undefined ? [r.ticket.external_id] : []))),
  ]
  const busy = new Set(memory.hold(ids))
  const held = ids.filter((id) => !busy.has(id))
  try {
    await checkMemory(records, outcomes, zendesk, memory, { busy, held }, now())
    return await createRest(records, outcomes, zendesk, memory, now)
  } finally {
    memory.release(held)
  }
}

/** Creates the tickets of the records whose outcome is still open (null). */
async function createRest(
  records: CreateTicketRecord[],
  outcomes: unknown[],
  zendesk: ActionZendesk,
  memory: ActionMemory | null,
  now: () => number,
): Promise<unknown[]> {
  const userIds = await resolveRequesters(records, outcomes, zendesk)
  const batch: { i: number; ticket: ZendeskTicketInput }[] = []
  for (const [i, r] of records.entries()) {
    if (outcomes[i] !== null) {
      continue
    }
    const { email, name, externalId } = r.requester
    if (email !== undefined) {
      batch.push({
        i,
        ticket: { ...r.ticket, requester: { email, ...(name !== undefined ? { name } : {}) } },
      })
      continue
    }
    const userId = externalId !== undefined ? userIds.get(externalId.toLowerCase()) : undefined
    if (userId === undefined) {
      outcomes[i] = new AppError(
        ERROR_KINDS.rejected,
        'ZD_REQUESTER_NOT_FOUND',
        `requester: no Zendesk user has external_id "${externalId ?? ''}", and the event gives no email to create one`,
      )
      continue
    }
    batch.push({ i, ticket: { ...r.ticket, requester_id: userId } })
  }
  if (batch.length === 0) {
    return outcomes
  }
  // Marked before the request goes out: from here until the job reports, the outcome is unknown.
  const sending = batch.flatMap((b) => (b.ticket.external_id !== undefined ? [b.ticket.external_id] : []))
  await memory?.remember(sending.map((externalId) => [externalId, `${SENDING}:${now()}`] as const))
  let results: JobResult[]
  try {
    results = await zendesk.runJob(createMany(batch.map((b) => b.ticket)))
  } catch (err) {
    // The bulk call or its job failed as a whole: every ticket of it gets that error. When
    // Zendesk answered the call itself with an error (429, 5xx, 4xx), it made no job and no
    // ticket: the marks go. Otherwise (no answer, a failed or lost job, a stop) they stay, and
    // the retry looks the tickets up first.
    if (err instanceof ZendeskError && err.status !== null) {
      await memory?.forget(sending)
    }
    for (const { i } of batch) {
      outcomes[i] = err
    }
    return outcomes
  }
  const created: [string, string][] = []
  const refused: string[] = []
  for (const [position, { i, ticket }] of batch.entries()) {
    outcomes[i] = resultError(results, position)
    const id = resultAt(results, position)?.id
    if (ticket.external_id === undefined) {
      continue
    }
    if (outcomes[i] === null && typeof id === 'number') {
      created.push([ticket.external_id, `${CREATED}${id}`])
    } else if (outcomes[i] instanceof AppError && outcomes[i].kind === ERROR_KINDS.rejected) {
      // Zendesk refused this ticket: none was made, and the next event may try again.
      refused.push(ticket.external_id)
    }
  }
  await memory?.remember(created)
  await memory?.forget(refused)
  return outcomes
}

export const createTicket = defineAction({
  id: 'create-ticket',
  title: 'Create ticket',
  description:
    'Creates a Zendesk ticket from a "Ticket Created" track: subject, first comment, requester, priority, type, status, tags and custom fields; once per external ID.',
  // Customer.io's default trigger (seed 003): type = "track" and event = "Ticket Created".
  defaultTrigger: { types: ['track'], events: ['Ticket Created'] },
  fields,
  customFields: { kind: 'ticket', candidates: ticketFieldCandidates },
  bulk: {
    maxSize: TICKETS_BULK_MAX,
    item: toRecord,
    key: (r) => (r.ticket.external_id !== undefined ? `x:${r.ticket.external_id}` : null),
    merge,
    // perform: creating a ticket once per external id needs lookups before the bulk call
    // (idempotency; requesters known only by external id), then create_many and its job results.
    async perform(batchRecords, zendesk, env) {
      // Records of one external id that reached this batch unmerged (a partial batch carried
      // from an earlier round is not merged with the next round's) still make one ticket.
      const { records, groups } = mergeByExternalId(batchRecords)
      const outcomes = await createOnce(records, zendesk, env?.memory ?? null, env?.now ?? (() => 0))
      return groups.map((g) => outcomes[g] ?? null)
    },
  },
})
