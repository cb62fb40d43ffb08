import { AppError, ERROR_KINDS } from '../../errors.js'
import { ZendeskError } from '../../zendesk/errors.js'
import {
  TICKETS_BULK_MAX,
  update,
  updateMany,
  type TicketComment,
  type ZendeskTicketChanges,
} from '../../zendesk/tickets.js'
import { defineAction, type ActionContext, type ActionZendesk, type PayloadOf } from '../define-action.js'
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

const fields = {
  ticketId: {
    label: 'Ticket ID',
    description: 'The Zendesk ticket to update (properties.ticket_id or properties.ticketId).',
    type: 'integer',
    default: { '@jsonata': 'properties.ticket_id ? properties.ticket_id : properties.ticketId' },
  },
  externalId: {
    label: 'External ID',
    description:
      'Finds the ticket by its external_id when no ticket ID is given (properties.external_id or properties.externalId).',
    type: 'string',
    default: { '@jsonata': 'properties.external_id ? properties.external_id : properties.externalId' },
  },
  subject: {
    label: 'Subject',
    description: 'A new subject.',
    type: 'string',
    default: { '@path': '$.properties.subject' },
  },
  status: {
    label: 'Status',
    description: 'new, open, pending, hold, solved or closed.',
    type: 'string',
    default: { '@path': '$.properties.status' },
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
  comment: {
    label: 'Comment',
    description:
      'A comment to append: properties.comment (text, or {body, public}), else properties.body or properties.description.',
    type: 'string',
    default: COMMENT_MAPPING,
  },
  commentPublic: {
    label: 'Public comment',
    description:
      'Whether the comment is public (false: an internal note). Zendesk’s default follows the ticket’s first comment.',
    type: 'boolean',
    default: COMMENT_PUBLIC_MAPPING,
  },
  addTags: {
    label: 'Tags to add',
    description:
      'Added to the ticket’s tags, the others kept (properties.add_tags, properties.addTags, properties.additional_tags or properties.tags).',
    type: 'array',
    default: {
      '@jsonata':
        'properties.add_tags ? properties.add_tags : (properties.addTags ? properties.addTags : (properties.additional_tags ? properties.additional_tags : properties.tags))',
    },
  },
  removeTags: {
    label: 'Tags to remove',
    description: 'Removed from the ticket’s tags (properties.remove_tags or properties.removeTags).',
    type: 'array',
    default: { '@jsonata': 'properties.remove_tags ? properties.remove_tags : properties.removeTags' },
  },
  customFields: {
    label: 'Custom fields',
    description:
      'Ticket field values to set, the others kept: an object of ticket-field id → value, or Zendesk’s list [{id, value}] (properties.custom_fields).',
    type: 'object',
    default: CUSTOM_FIELDS_MAPPING,
  },
} as const

type Payload = PayloadOf<typeof fields>

/** Changes to one ticket, and how to find it. */
export interface UpdateTicketRecord {
  /** The Zendesk ticket id, or the external id to look it up by. */
  target: { id: number } | { externalId: string }
  changes: Omit<ZendeskTicketChanges, 'comment'>
  /** Comments to append, oldest first: merged events keep every one of them. */
  comments: TicketComment[]
}

function toRecord(p: Payload, ctx: ActionContext): UpdateTicketRecord {
  const target =
    p.ticketId !== undefined
      ? { id: p.ticketId }
      : p.externalId !== undefined
        ? { externalId: p.externalId }
        : null
  if (target === null) {
    throw new AppError(
      ERROR_KINDS.invalidEvent,
      'MAPPING_TICKET_NO_ID',
      'ticketId: a ticket update needs the ticket’s id (properties.ticket_id) or external id (properties.external_id)',
      { field: 'ticketId' },
    )
  }
  const changes: UpdateTicketRecord['changes'] = {}
  const status = enumValue('status', p.status)
  const priority = enumValue('priority', p.priority)
  const type = enumValue('type', p.type)
  const add = tagList('addTags', p.addTags)
  const remove = tagList('removeTags', p.removeTags)
  const customFields = ticketCustomFields('customFields', p.customFields, ctx)
  if (p.subject !== undefined) {
    changes.subject = p.subject
  }
  if (status !== undefined) {
    changes.status = status
  }
  if (priority !== undefined) {
    changes.priority = priority
  }
  if (type !== undefined) {
    changes.type = type
  }
  if (add !== undefined && add.length > 0) {
    changes.additional_tags = add
  }
  if (remove !== undefined && remove.length > 0) {
    changes.remove_tags = remove
  }
  if (customFields !== undefined && customFields.length > 0) {
    changes.custom_fields = customFields
  }
  const comments: TicketComment[] =
    p.comment !== undefined
      ? [{ body: p.comment, ...(p.commentPublic !== undefined ? { public: p.commentPublic } : {}) }]
      : []
  if (Object.keys(changes).length === 0 && comments.length === 0) {
    throw new AppError(
      ERROR_KINDS.invalidEvent,
      'MAPPING_TICKET_NOTHING_TO_UPDATE',
      'properties: a ticket update needs a status, priority, type, subject, tags to add or remove, a comment or custom fields',
      { field: 'properties' },
    )
  }
  return { target, changes, comments }
}

function without(list: string[] | undefined, drop: string[] | undefined): string[] {
  return (list ?? []).filter((t) => !(drop ?? []).includes(t))
}

/**
 * Two updates of one ticket in a window: later values win; tags added and removed in turn end as
 * the last event says; custom fields merge by id; every comment is kept, in order.
 */
function merge(a: UpdateTicketRecord, b: UpdateTicketRecord): UpdateTicketRecord {
  const changes = { ...a.changes, ...b.changes }
  const added = [
    ...new Set([
      ...without(a.changes.additional_tags, b.changes.remove_tags),
      ...(b.changes.additional_tags ?? []),
    ]),
  ]
  const removed = [
    ...new Set([
      ...without(a.changes.remove_tags, b.changes.additional_tags),
      ...(b.changes.remove_tags ?? []),
    ]),
  ]
  delete changes.additional_tags
  delete changes.remove_tags
  if (added.length > 0) {
    changes.additional_tags = added
  }
  if (removed.length > 0) {
    changes.remove_tags = removed
  }
  const customFields = mergeCustomFields(a.changes.custom_fields, b.changes.custom_fields)
  if (customFields !== undefined) {
    changes.custom_fields = customFields
  }
  return { target: b.target, changes, comments: [...a.comments, ...b.comments] }
}

/**
 * The ticket ids of each record: its own, or those carrying its external id. External ids are
 * not unique on tickets (facts §6): every ticket that carries it is updated (up to 100). One
 * `GET tickets?external_id=` per distinct external id: Zendesk has no bulk form of it.
 */
async function resolveTargets(
  records: UpdateTicketRecord[],
  outcomes: unknown[],
  zendesk: ActionZendesk,
): Promise<number[][]> {
  const ids: number[][] = records.map((r) => ('id' in r.target ? [r.target.id] : []))
  const lookups = records.flatMap((r, i) =>
    'externalId' in r.target ? [[i, r.target.externalId] as const] : [],
  )
  const found = await ticketIdsByExternalId(zendesk, lookups, outcomes)
  for (const [i, externalId] of lookups) {
    const list = found.get(i)
    if (list === undefined) {
      continue
    }
    ids[i] = list
    if (list.length === 0) {
      outcomes[i] = new AppError(
        ERROR_KINDS.rejected,
        'ZD_TICKET_NOT_FOUND',
        `no ticket with external_id "${externalId}"`,
      )
    }
  }
  return ids
}

/** One update of one ticket, and the record it comes from. */
interface Entry {
  i: number
  ticket: { id: number } & ZendeskTicketChanges
}

/**
 * A record's updates of one ticket. Zendesk takes one comment per update, so merged comments go
 * as updates of their own, in order, the last one carrying the other changes.
 */
function entriesOf(i: number, id: number, r: UpdateTicketRecord): Entry[] {
  const earlier = r.comments.slice(0, -1).map((comment) => ({ i, ticket: { id, comment } }))
  const last = r.comments.at(-1)
  return [...earlier, { i, ticket: { id, ...r.changes, ...(last !== undefined ? { comment: last } : {}) } }]
}

function notFoundText(r: UpdateTicketRecord, id: number): string {
  return 'externalId' in r.target
    ? `no ticket with id ${id} (external_id "${r.target.externalId}")`
    : `no ticket with id ${id}`
}

export const updateTicket = defineAction({
  id: 'update-ticket',
  title: 'Update ticket',
  description:
    'Updates a Zendesk ticket from a "Ticket Updated" track, found by id or external ID: status, priority, type, subject, tags added and removed, a public or private comment, custom fields.',
  // Customer.io's default trigger (seed 003): type = "track" and event = "Ticket Updated".
  defaultTrigger: { types: ['track'], events: ['Ticket Updated'] },
  fields,
  customFields: { kind: 'ticket', candidates: ticketFieldCandidates },
  bulk: {
    maxSize: TICKETS_BULK_MAX,
    item: toRecord,
    key: (r) => ('id' in r.target ? `id:${r.target.id}` : `x:${r.target.externalId}`),
    merge,
    // perform: tickets named by external id must be looked up first, and Zendesk's ticket-update
    // limits (facts §8.2) call for update_many (a job) for several updates but allow one PUT
    // (cheaper: no job to poll) when the batch holds a single update.
    async perform(records, zendesk) {
      const outcomes: unknown[] = records.map(() => null)
      const ids = await resolveTargets(records, outcomes, zendesk)
      const entries = records.flatMap((r, i) =>
        outcomes[i] === null ? (ids[i] ?? []).flatMap((id) => entriesOf(i, id, r)) : [],
      )
      const fail = (i: number, err: unknown): void => {
        if (outcomes[i] === null) {
          outcomes[i] = err
        }
      }
      const [only] = entries
      if (entries.length === 1 && only) {
        const { id, ...changes } = only.ticket
        const record = records[only.i]
        try {
          await zendesk.send(update(id, changes))
        } catch (err) {
          fail(
            only.i,
            err instanceof ZendeskError && err.status === 404 && record
              ? new AppError(ERROR_KINDS.rejected, 'ZD_TICKET_NOT_FOUND', notFoundText(record, id), {
                  cause: err,
                })
              : err,
          )
        }
        return outcomes
      }
      // In order, one job after the other: a ticket's updates must not overtake each other.
      for (let start = 0; start < entries.length; start += TICKETS_BULK_MAX) {
        const chunk = entries.slice(start, start + TICKETS_BULK_MAX)
        try {
          const results = await zendesk.runJob(updateMany(chunk.map((e) => e.ticket)))
          for (const [position, { i, ticket }] of chunk.entries()) {
            const record = records[i]
            const err = resultError(results, position, () => (record ? notFoundText(record, ticket.id) : ''))
            if (err !== null) {
              fail(i, err)
            }
          }
        } catch (err) {
          for (const { i } of chunk) {
            fail(i, err)
          }
        }
      }
      return outcomes
    },
  },
})
