import { mapLimit } from '../../lib/map-limit.js'
import { AppError, ERROR_KINDS } from '../../errors.js'
import {
  createMany,
  listByExternalId,
  TICKETS_BULK_MAX,
  type ZendeskTicketInput,
} from '../../zendesk/tickets.js'
import { showManyByExternalIds } from '../../zendesk/users.js'
import { defineAction, DeliveryNote, type ActionZendesk, type PayloadOf } from '../define-action.js'
import {
  COMMENT_MAPPING,
  COMMENT_PUBLIC_MAPPING,
  CUSTOM_FIELDS_MAPPING,
  customFieldList,
  enumValue,
  mergeCustomFields,
  resultError,
  tagList,
} from '../ticket-values.js'

/** Idempotency lookups sent at once (one per external id: Zendesk has no bulk form). */
const LOOKUP_CONCURRENCY = 8

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

function toRecord(p: Payload): CreateTicketRecord {
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
  const customFields = customFieldList('customFields', p.customFields)
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
 * Idempotency: the records whose external id some ticket already has. Zendesk offers no bulk
 * lookup of tickets by external id (show_many takes ticket ids; search reads an index that lags
 * by minutes, so it misses a ticket created moments ago, which is exactly the retry case), so
 * each distinct external id costs one `GET tickets?external_id=` (page size 1: any match will
 * do). Records without an external id need none. A failed lookup fails only its record.
 */
async function findExisting(
  records: CreateTicketRecord[],
  outcomes: unknown[],
  zendesk: ActionZendesk,
): Promise<void> {
  await mapLimit(records, LOOKUP_CONCURRENCY, async (_record, i) => {
    const externalId = records[i]?.ticket.external_id
    if (externalId === undefined) {
      return
    }
    try {
      const r = await zendesk.send<{ tickets?: { id: number }[] }>(listByExternalId(externalId, 1))
      const first = r.body.tickets?.[0]
      if (first) {
        outcomes[i] = new DeliveryNote(
          `ticket ${first.id} already has external_id "${externalId}"; no second ticket was created`,
        )
      }
    } catch (err) {
      outcomes[i] = err
    }
  })
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
async function createOnce(records: CreateTicketRecord[], zendesk: ActionZendesk): Promise<unknown[]> {
  const outcomes: unknown[] = records.map(() => null)
  await findExisting(records, outcomes, zendesk)
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
  try {
    const results = await zendesk.runJob(createMany(batch.map((b) => b.ticket)))
    for (const [position, { i }] of batch.entries()) {
      outcomes[i] = resultError(results, position)
    }
  } catch (err) {
    // The bulk call or its job failed as a whole: every ticket of it gets that error (a retry
    // is safe: the idempotency lookup finds the tickets a lost job did create).
    for (const { i } of batch) {
      outcomes[i] = err
    }
  }
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
  bulk: {
    maxSize: TICKETS_BULK_MAX,
    item: toRecord,
    key: (r) => (r.ticket.external_id !== undefined ? `x:${r.ticket.external_id}` : null),
    merge,
    // perform: creating a ticket once per external id needs lookups before the bulk call
    // (idempotency; requesters known only by external id), then create_many and its job results.
    async perform(batchRecords, zendesk) {
      // Records of one external id that reached this batch unmerged (a partial batch carried
      // from an earlier round is not merged with the next round's) still make one ticket.
      const { records, groups } = mergeByExternalId(batchRecords)
      const outcomes = await createOnce(records, zendesk)
      return groups.map((g) => outcomes[g] ?? null)
    },
  },
})
