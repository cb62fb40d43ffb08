/**
 * Custom fields of users, organizations and tickets (facts §3, OpenAPI `CustomFieldObject` and
 * `TicketFieldObject`): the request builders that list and create them, the catalog of one
 * kind's fields by the keys events use, and how an event's value becomes a value the field's
 * type takes (or the reason it cannot). Pure: no I/O.
 *
 * Keys. User and organization fields have a `key` (letters, digits, underscores); a trait named
 * `planType`, `plan-type` or `Plan Type` means the field `plan_type`. Ticket fields have no key,
 * only an id and a title: a ticket's custom field is named by its id (`"360001"`), or by its
 * title in snake_case (`order_number` for "Order number"), when exactly one active field has it.
 *
 * Values (Zendesk refuses a value its type cannot take, so such values are never sent):
 * - checkbox: true/false, `"true"`/`"false"` (any case), 1/0 and `"1"`/`"0"`;
 * - date: `YYYY-MM-DD` from a date, an ISO timestamp (the day as written, whatever its offset),
 *   or epoch seconds or milliseconds (the UTC day);
 * - integer: whole numbers and strings of digits; decimal: finite numbers and numeric strings;
 * - dropdown (users, organizations) and tagger (tickets): the option's tag (`value`), given as
 *   that tag or as the option's name (the label admins see), in any case; multiselect: a list of
 *   those (or one);
 * - text, textarea, partialcreditcard: strings, with numbers and booleans written as text; regexp:
 *   the same, and it must match the field's pattern; lookup: a record id.
 * - `null` clears a value of any type; so does `""` for a type that is not text.
 */
import { boundedMemo } from '../lib/bounded-memo.js'
import type { ZendeskRequest } from './request.js'

export type FieldKind = 'user' | 'organization' | 'ticket'

export const FIELD_KINDS: readonly FieldKind[] = ['user', 'organization', 'ticket']

/** A custom field as `GET {kind}_fields` answers it (the parts we use). */
export interface ZendeskCustomField {
  id: number
  /** User and organization fields only. */
  key?: string
  title: string
  type: string
  active?: boolean
  description?: string | null
  regexp_for_validation?: string | null
  custom_field_options?: { name?: string; value: string }[]
}

/** The types we create from a value; the others need settings a value cannot give. */
export type CreatedFieldType = 'checkbox' | 'integer' | 'decimal' | 'date' | 'text'

/** Ticket-field types that are Zendesk's own ticket attributes, not custom fields [OAS]. */
const SYSTEM_TICKET_FIELD_TYPES: ReadonlySet<string> = new Set([
  'subject',
  'description',
  'status',
  'custom_status',
  'tickettype',
  'priority',
  'group',
  'assignee',
])

/** `user_fields`, `organization_fields`, `ticket_fields`: the path and the list's property. */
export function fieldsPath(kind: FieldKind): string {
  return `${kind}_fields`
}

/** Where a record carries its values: `user_fields`, `organization_fields`, or `custom_fields`. */
export function valuesAttribute(kind: FieldKind): string {
  return kind === 'ticket' ? 'custom_fields' : `${kind}_fields`
}

/**
 * `GET /api/v2/{kind}_fields`: user and organization fields in offset pages of 100 [D-uf];
 * ticket fields all at once (the list has cursor pagination or none, no offset pages, and holds
 * the system fields too) [OAS `ListTicketFields`].
 */
export function listFields(kind: FieldKind, page = 1): ZendeskRequest {
  return {
    api: 'support',
    method: 'GET',
    path: fieldsPath(kind),
    ...(kind === 'ticket'
      ? {}
      : { query: page > 1 ? { per_page: '100', page: String(page) } : { per_page: '100' } }),
    limitClass: 'account',
  }
}

/** `POST /api/v2/{user|organization}_fields` (admins only) [D-uf]. */
export function createField(
  kind: Exclude<FieldKind, 'ticket'>,
  field: { key: string; title: string; type: CreatedFieldType; description?: string },
): ZendeskRequest {
  return {
    api: 'support',
    method: 'POST',
    path: fieldsPath(kind),
    body: { [`${kind}_field`]: field },
    limitClass: 'account',
  }
}

/**
 * `planType`, `plan-type` and `Plan Type` all become `plan_type`. Remembered per name: a sync meets
 * the same few names in every event (four regular expressions per name and event were ~1.5% of the
 * service's CPU in `identify-sync`).
 */
export const snakeCase = boundedMemo((key: string): string =>
  key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase(),
)

/** Zendesk's rule for a field key: letters, digits and underscores, not only digits [D-uf]. */
export function isValidFieldKey(key: string): boolean {
  return /^[A-Za-z0-9_]+$/.test(key) && !/^\d+$/.test(key)
}

const ISO_DATE = /^(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/

/** Whether `YYYY-MM-DD` names a real day. */
function isRealDay(day: string): boolean {
  const parsed = new Date(`${day}T00:00:00Z`)
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === day
}

/** The day of `2027-01-31` or of an ISO timestamp (as written), or null. */
export function isoDay(value: string): string | null {
  const day = ISO_DATE.exec(value.trim())?.[1]
  return day !== undefined && isRealDay(day) ? day : null
}

/** `2027-01-31`, or a full ISO timestamp such as `2027-01-31T09:30:00.000Z`, of a real day. */
export function isIsoDate(value: string): boolean {
  return isoDay(value) !== null
}

/** Epoch numbers below this are seconds (until the year 5138), above it milliseconds. */
const EPOCH_MS_FROM = 1e11

/** The UTC day of epoch seconds or milliseconds, or null. */
function epochDay(n: number): string | null {
  if (!Number.isFinite(n)) {
    return null
  }
  const d = new Date(Math.abs(n) < EPOCH_MS_FROM ? n * 1000 : n)
  return Number.isNaN(d.getTime()) ? null : d.toISOString().slice(0, 10)
}

/** The field type a value calls for when a field is created; null when none (null, objects). */
export function fieldTypeOf(value: unknown): CreatedFieldType | null {
  switch (typeof value) {
    case 'boolean':
      return 'checkbox'
    case 'number':
      return Number.isSafeInteger(value) ? 'integer' : Number.isFinite(value) ? 'decimal' : null
    case 'string':
      return isIsoDate(value) ? 'date' : 'text'
    default:
      return null
  }
}

/**
 * The type of a field that must take all these values: their common type, `decimal` for whole
 * and fractional numbers together, else `text` (which takes any scalar).
 */
export function fieldTypeFor(values: readonly unknown[]): CreatedFieldType | null {
  const types = new Set(values.map(fieldTypeOf).filter((t) => t !== null))
  if (types.size <= 1) {
    return [...types][0] ?? null
  }
  if ([...types].every((t) => t === 'integer' || t === 'decimal')) {
    return 'decimal'
  }
  return 'text'
}

export type Coerced = { ok: true; value: unknown } | { ok: false; reason: string }

const ok = (value: unknown): Coerced => ({ ok: true, value })
const no = (reason: string): Coerced => ({ ok: false, reason })
const shown = (v: unknown): string => JSON.stringify(v) ?? String(v)

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/** A scalar as text; null for anything else. */
function asText(raw: unknown): string | null {
  return typeof raw === 'string'
    ? raw
    : typeof raw === 'number' && Number.isFinite(raw)
      ? String(raw)
      : typeof raw === 'boolean'
        ? String(raw)
        : null
}

/** The option a value names: its tag exactly, else its tag or its name in any case. */
function optionTag(field: ZendeskCustomField, raw: unknown): string | null {
  const text = asText(raw)?.trim()
  if (text === undefined || text === '') {
    return null
  }
  const options = field.custom_field_options ?? []
  const lower = text.toLowerCase()
  const found =
    options.find((o) => o.value === text) ??
    options.find((o) => o.value.toLowerCase() === lower) ??
    options.find((o) => (o.name ?? '').trim().toLowerCase() === lower)
  return found ? found.value : null
}

function optionList(field: ZendeskCustomField): string {
  const tags = (field.custom_field_options ?? []).map((o) => o.value)
  const list = tags.slice(0, 10).join(', ')
  return tags.length > 10 ? `${list}, …` : list
}

/**
 * An event's value as the field's type takes it (see the header), or the reason it cannot be
 * sent. Coercing a coerced value gives it back unchanged.
 */
export function coerceFieldValue(field: ZendeskCustomField, raw: unknown): Coerced {
  if (raw === null) {
    return ok(null)
  }
  if (raw === '' && !['text', 'textarea', 'partialcreditcard'].includes(field.type)) {
    return ok(null)
  }
  if (Array.isArray(raw) && field.type !== 'multiselect') {
    return no(`a list is not a ${field.type} value`)
  }
  switch (field.type) {
    case 'checkbox': {
      if (typeof raw === 'boolean') {
        return ok(raw)
      }
      const t = asText(raw)?.trim().toLowerCase()
      return t === 'true' || t === '1'
        ? ok(true)
        : t === 'false' || t === '0'
          ? ok(false)
          : no(`${shown(raw)} is not a checkbox value (true or false)`)
    }
    case 'integer': {
      const n = typeof raw === 'string' && /^[+-]?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw
      return typeof n === 'number' && Number.isSafeInteger(n)
        ? ok(n)
        : no(`${shown(raw)} is not a whole number`)
    }
    case 'decimal': {
      const n = typeof raw === 'string' && DECIMAL.test(raw.trim()) ? Number(raw.trim()) : raw
      return typeof n === 'number' && Number.isFinite(n) ? ok(n) : no(`${shown(raw)} is not a number`)
    }
    case 'date': {
      const day = typeof raw === 'string' ? isoDay(raw) : typeof raw === 'number' ? epochDay(raw) : null
      return day !== null
        ? ok(day)
        : no(`${shown(raw)} is not a date (YYYY-MM-DD, an ISO timestamp or epoch seconds)`)
    }
    case 'dropdown':
    case 'tagger': {
      const tag = optionTag(field, raw)
      return tag !== null
        ? ok(tag)
        : no(`${shown(raw)} is not an option of this field (${optionList(field)})`)
    }
    case 'multiselect': {
      const list: unknown[] = Array.isArray(raw) ? raw : [raw]
      const tags = list.map((v) => optionTag(field, v))
      const bad = list.filter((_v, i) => tags[i] === null)
      return bad.length === 0
        ? ok([...new Set(tags)])
        : no(
            `${bad.map(shown).join(', ')} ${bad.length === 1 ? 'is not an option' : 'are not options'} of this field (${optionList(field)})`,
          )
    }
    case 'lookup': {
      const id = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw
      return typeof id === 'number' && Number.isSafeInteger(id) && id > 0
        ? ok(id)
        : no(`${shown(raw)} is not a record id`)
    }
    case 'regexp': {
      const text = asText(raw)
      if (text === null) {
        return no(`${shown(raw)} is not text`)
      }
      const pattern = field.regexp_for_validation
      if (!pattern) {
        return ok(text)
      }
      try {
        return new RegExp(pattern).test(text) ? ok(text) : no(`${shown(raw)} does not match ${pattern}`)
      } catch {
        return ok(text)
      }
    }
    default: {
      // text, textarea, partialcreditcard, and types Zendesk may add: text is the safe form.
      const text = asText(raw)
      return text !== null ? ok(text) : no(`${shown(raw)} is not text`)
    }
  }
}

/** Why a key has no field: said in the delivery log. */
export interface Unmatched {
  key: string
  reason: string
}

/**
 * The fields of one kind as actions see them: looked up by the keys events use. Only active
 * custom fields take values; an inactive one is named as such.
 */
export class FieldCatalog {
  readonly kind: FieldKind
  /** Active fields by key (users, organizations) or by id and snake_case title (tickets). */
  private readonly byKey = new Map<string, ZendeskCustomField>()
  /** Keys of inactive fields. */
  private readonly inactive = new Set<string>()
  /** Snake_case titles that several active ticket fields share. */
  private readonly ambiguous = new Set<string>()
  /** Why a missing key has no field, beyond its absence (e.g. not created: the cap). */
  private readonly hints = new Map<string, string>()
  /** Every field, active or not (field creation must not repeat a key). */
  readonly fields: readonly ZendeskCustomField[]

  constructor(kind: FieldKind, fields: readonly ZendeskCustomField[]) {
    this.kind = kind
    this.fields = fields.filter((f) => kind !== 'ticket' || !SYSTEM_TICKET_FIELD_TYPES.has(f.type))
    for (const f of this.fields) {
      const keys = kind === 'ticket' ? [String(f.id)] : f.key !== undefined ? [f.key] : []
      for (const k of keys) {
        if (f.active === false) {
          this.inactive.add(k)
        } else {
          this.byKey.set(k, f)
        }
      }
      if (kind === 'ticket' && f.active !== false) {
        const title = snakeCase(f.title)
        if (title === '' || /^\d+$/.test(title)) {
          continue
        }
        if (this.byKey.has(title) || this.ambiguous.has(title)) {
          this.byKey.delete(title)
          this.ambiguous.add(title)
        } else {
          this.byKey.set(title, f)
        }
      }
    }
  }

  /** The key an event's name for a field is looked up by: snake_case, or a ticket field's id. */
  keyOf(name: string): string {
    const trimmed = name.trim()
    return this.kind === 'ticket' && /^\d+$/.test(trimmed) ? String(Number(trimmed)) : snakeCase(trimmed)
  }

  /** The active field an event's name means, or why none. */
  find(name: string): ZendeskCustomField | Unmatched {
    // A key given exactly as Zendesk has it (an admin's `PlanType`) wins over its snake_case form.
    const exact = this.kind === 'ticket' ? undefined : this.byKey.get(name)
    if (exact) {
      return exact
    }
    const key = this.keyOf(name)
    const field = this.byKey.get(key)
    if (field) {
      return field
    }
    const what = `${this.kind} field`
    if (this.inactive.has(key)) {
      return { key, reason: `the ${what} is inactive` }
    }
    if (this.ambiguous.has(key)) {
      return { key, reason: `several ticket fields are titled like this; name it by its id` }
    }
    const hint = this.hints.get(key)
    return { key, reason: hint === undefined ? `no such ${what}` : `no such ${what}; ${hint}` }
  }

  /** Says why a missing key has no field (delivery: creation failed, or the cap was reached). */
  explain(key: string, why: string): void {
    this.hints.set(key, why)
  }

  /** Whether a key is taken by a field, active or not (users and organizations). */
  hasKey(key: string): boolean {
    return this.byKey.has(key) || this.inactive.has(key)
  }

  /** Active keys (users and organizations), as the older `userFieldKeys` gave them. */
  activeKeys(): ReadonlySet<string> {
    return new Set([...this.byKey.entries()].filter(([k, f]) => f.key === k).map(([k]) => k))
  }
}

/** What an action keeps of an event's custom-field values, and what it leaves out and why. */
export interface FieldValues {
  /** Field key (tickets: id) → value as the type takes it. */
  values: Record<string, unknown>
  /** Names that are no active field. */
  unknown: Unmatched[]
  /** Fields whose value the type cannot take. */
  invalid: Unmatched[]
}

/**
 * The values of these candidates (an event's name → value) that the catalog's fields take.
 * Names are looked up as `FieldCatalog.find` says; undefined values are skipped.
 */
export function fieldValues(
  catalog: FieldCatalog,
  candidates: Readonly<Record<string, unknown>>,
): FieldValues {
  const out: FieldValues = { values: {}, unknown: [], invalid: [] }
  for (const [name, raw] of Object.entries(candidates)) {
    if (raw === undefined) {
      continue
    }
    const found = catalog.find(name)
    if (!('id' in found)) {
      out.unknown.push(
        found.key === '' ? { key: name, reason: 'not a possible field key (no letters or digits)' } : found,
      )
      continue
    }
    const key = catalog.kind === 'ticket' ? String(found.id) : (found.key ?? '')
    const c = coerceFieldValue(found, raw)
    if (c.ok) {
      out.values[key] = c.value
    } else {
      out.invalid.push({ key: catalog.kind === 'ticket' ? name.trim() : key, reason: c.reason })
    }
  }
  return out
}

/**
 * What the delivery log says of the values left out; null when none was. Unknown names come
 * first, because Zendesk would have dropped them without a word.
 */
export function fieldValuesNote(kind: FieldKind, v: Pick<FieldValues, 'unknown' | 'invalid'>): string | null {
  const attr = valuesAttribute(kind)
  const parts: string[] = []
  const list = (items: Unmatched[]): string => items.map((u) => `${u.key} (${u.reason})`).join(', ')
  if (v.unknown.length > 0) {
    parts.push(`${attr} left out (Zendesk would drop them silently): ${list(v.unknown)}`)
  }
  if (v.invalid.length > 0) {
    parts.push(`${attr} values left out (the field's type cannot take them): ${list(v.invalid)}`)
  }
  return parts.length > 0 ? parts.join('; ') : null
}

/**
 * An event's custom-field candidates: every value but nested objects (never a field), under the
 * names the event gives, without the attributes the record has a place for.
 */
export function fieldCandidates(
  source: Readonly<Record<string, unknown>> | undefined,
  standard: ReadonlySet<string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(source ?? {})) {
    if (standard.has(name) || value === undefined) {
      continue
    }
    if (
      Array.isArray(value)
        ? value.some((v) => typeof v === 'object' && v !== null)
        : typeof value === 'object' && value !== null
    ) {
      continue
    }
    out[name] = value
  }
  return out
}
