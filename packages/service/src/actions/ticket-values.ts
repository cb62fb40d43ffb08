/**
 * What the two ticket actions (create-ticket, update-ticket) share: checking the values an event
 * gives for a ticket's fields before any call, the default mappings they read from a track's
 * properties, finding tickets by external id, and turning a bulk job's per-ticket results into
 * per-record outcomes.
 */
import { AppError, ERROR_KINDS } from '../errors.js'
import { mapLimit } from '../lib/map-limit.js'
import { resultAt, isFailedResult, type JobResult } from '../zendesk/job-statuses.js'
import {
  listByExternalId,
  TICKET_PRIORITIES,
  TICKET_STATUSES,
  TICKET_TYPES,
  type TicketCustomField,
} from '../zendesk/tickets.js'
import type { MappingValue } from '../mapping/mapping.js'
import { recordFieldValues } from './custom-field-values.js'
import type { ActionContext, ActionZendesk } from './define-action.js'

/** External-id lookups sent at once (Zendesk has no bulk lookup of tickets by external id). */
const LOOKUP_CONCURRENCY = 8

/**
 * The ids of the tickets carrying each lookup's external id (at most `pageSize`, up to 100), by
 * the lookup's record index: one `GET tickets?external_id=` each, a few at once. A failed lookup
 * fails only its record: its error is written to `outcomes[i]` and it has no entry.
 */
export async function ticketIdsByExternalId(
  zendesk: ActionZendesk,
  lookups: readonly (readonly [i: number, externalId: string])[],
  outcomes: unknown[],
  pageSize = 100,
): Promise<Map<number, number[]>> {
  const found = new Map<number, number[]>()
  await mapLimit(lookups, LOOKUP_CONCURRENCY, async ([i, externalId]) => {
    try {
      const r = await zendesk.send<{ tickets?: { id: number }[] }>(listByExternalId(externalId, pageSize))
      found.set(
        i,
        (r.body.tickets ?? []).map((t) => t.id),
      )
    } catch (err) {
      outcomes[i] = err
    }
  })
  return found
}

/**
 * Custom fields as an object of ticket-field id → value. Zendesk's own list form
 * (`[{id, value}]`) is turned into that object, so either may be sent.
 */
export const CUSTOM_FIELDS_MAPPING: MappingValue = {
  '@jsonata':
    '($cf := properties.custom_fields ? properties.custom_fields : properties.customFields; $type($cf) = "array" ? $merge($cf.{ $string(id): value }) : $cf)',
}

/** A comment's text: `properties.comment` (a string, or Zendesk's `{body}`), else body or description. */
export const COMMENT_MAPPING: MappingValue = {
  '@jsonata':
    'properties.comment.body ? properties.comment.body : (properties.comment ? properties.comment : (properties.body ? properties.body : properties.description))',
}

/** Whether the comment is public: `properties.comment.public`, else `properties.public`. */
export const COMMENT_PUBLIC_MAPPING: MappingValue = {
  '@jsonata': '$exists(properties.comment.public) ? properties.comment.public : properties.public',
}

function invalid(code: string, field: string, reason: string): AppError {
  return new AppError(ERROR_KINDS.invalidEvent, code, `${field}: ${reason}`, { field })
}

/** A status, priority or type from an event: lower-cased and one of Zendesk's values [OAS]. */
export function enumValue(
  field: 'status' | 'priority' | 'type',
  value: string | undefined,
): string | undefined {
  if (value === undefined) {
    return undefined
  }
  const allowed: readonly string[] =
    field === 'status' ? TICKET_STATUSES : field === 'priority' ? TICKET_PRIORITIES : TICKET_TYPES
  const v = value.toLowerCase()
  if (!allowed.includes(v)) {
    throw invalid('MAPPING_TICKET_INVALID_VALUE', field, `"${value}" is not one of ${allowed.join(', ')}`)
  }
  return v
}

/** Tags from an event: words (strings or numbers), trimmed, blanks dropped, each once. */
export function tagList(field: string, value: unknown[] | undefined): string[] | undefined {
  if (value === undefined) {
    return undefined
  }
  const tags: string[] = []
  for (const v of value) {
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw invalid('MAPPING_TICKET_INVALID_TAGS', field, 'must be a list of words')
    }
    const tag = String(v).trim()
    if (tag !== '' && !tags.includes(tag)) {
      tags.push(tag)
    }
  }
  return tags
}

/** Custom fields from an object of ticket-field id → value, as Zendesk's `[{id, value}]`. */
export function customFieldList(
  field: string,
  value: Record<string, unknown> | undefined,
): TicketCustomField[] | undefined {
  if (value === undefined) {
    return undefined
  }
  return Object.entries(value).map(([key, v]) => {
    if (!/^\d+$/.test(key.trim())) {
      throw invalid(
        'MAPPING_TICKET_INVALID_CUSTOM_FIELD',
        field,
        `"${key}" is not a ticket field id (a number)`,
      )
    }
    return { id: Number(key.trim()), value: v ?? null }
  })
}

/**
 * Custom fields from an object of ticket-field id (or title in snake_case) → value. With the
 * list of ticket fields in the context, each value is coerced to its field's type and what is
 * left out (no such field, or a value the type cannot take) is noted for the delivery log
 * (zendesk/custom-fields.ts); without it, ids are sent as given (`customFieldList`).
 */
export function ticketCustomFields(
  field: string,
  value: Record<string, unknown> | undefined,
  ctx: ActionContext,
): TicketCustomField[] | undefined {
  if (value === undefined) {
    return undefined
  }
  const values = recordFieldValues('ticket', value, ctx)
  if (values === undefined) {
    return customFieldList(field, value)
  }
  return Object.entries(values).map(([id, v]) => ({ id: Number(id), value: v }))
}

/** The candidates of the ticket actions' custom fields (delivery prepares the ticket fields). */
export const ticketFieldCandidates = (p: {
  customFields?: Record<string, unknown>
}): Record<string, unknown> => p.customFields ?? {}

/** Custom fields merged by id, later values winning; undefined when neither side has any. */
export function mergeCustomFields(
  earlier: TicketCustomField[] | undefined,
  later: TicketCustomField[] | undefined,
): TicketCustomField[] | undefined {
  if (!earlier || !later) {
    return later ?? earlier
  }
  const merged = new Map(earlier.map((f) => [f.id, f.value]))
  for (const f of later) {
    merged.set(f.id, f.value)
  }
  return [...merged].map(([id, value]) => ({ id, value }))
}

/**
 * What one ticket's job result means for its record: null when it succeeded, else a `rejected`
 * error carrying Zendesk's code and details (never retried: Zendesk refused the record), or a
 * transient error when the job has no result for it.
 */
export function resultError(
  results: JobResult[],
  position: number,
  notFound?: () => string,
): AppError | null {
  const r = resultAt(results, position)
  if (!r) {
    return new AppError(
      ERROR_KINDS.transient,
      'ZD_JOB_RESULT_MISSING',
      `the job has ${results.length} results; none for ticket ${position + 1}`,
    )
  }
  if (!isFailedResult(r)) {
    return null
  }
  const code = `ZD_ITEM_${(r.error ?? 'FAILED').toUpperCase()}`
  const details = r.details ?? r.error ?? 'failed'
  if (notFound && r.error === 'RecordNotFound') {
    return new AppError(ERROR_KINDS.rejected, code, `${notFound()} (Zendesk: ${details})`)
  }
  return new AppError(ERROR_KINDS.rejected, code, details)
}
