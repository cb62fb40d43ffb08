/**
 * User, organization and ticket fields (facts §3; OpenAPI `CustomFieldObject`, `TicketFieldObject`):
 * the field definitions and how values given in `user_fields` / `organization_fields` / a ticket's
 * `custom_fields` are checked and stored.
 *
 * - `key`: required, unique per kind, letters, digits and underscores, not only digits [D-uf].
 * - `type`: text (default), textarea, checkbox, date, integer, decimal, regexp, dropdown, lookup,
 *   multiselect. `regexp` needs `regexp_for_validation`; `dropdown` and `multiselect` need
 *   `custom_field_options`; `lookup` needs `relationship_target_type`.
 * - Values for keys that are not defined (or whose field is inactive) are ignored, as Zendesk
 *   ignores unknown attributes (facts §2.5, unverified). Values of the wrong type are a 422
 *   `InvalidValue` on `user_fields` / `organization_fields` (unverified). `null` or `""` clears a
 *   value (unverified).
 * - The show endpoints take an id or a key [OAS `UserFieldId`].
 *
 * Ticket fields [OAS `ListTicketFields`, `CreateTicketField`]: no `key` (a ticket names its field
 * values by field id), types text, textarea, checkbox, date, integer, decimal, regexp,
 * partialcreditcard, multiselect, tagger (a single-select dropdown: needs options) and lookup. The
 * list holds Zendesk's system fields (subject, description, status, type, priority, group,
 * assignee) before the custom ones, and is not paginated unless cursor parameters are given.
 * A ticket's `custom_fields` entry for a custom ticket field is checked like a user field value
 * (a wrong value is a 422 `InvalidValue` on `custom_fields`, unverified) and stored as Zendesk
 * answers ticket values: text for text, numbers and dates (`2027-01-31`), true/false for a
 * checkbox, the tag for tagger, a list of tags for multiselect. An inactive field's value is
 * dropped. An id that is no ticket field is kept as given: tests may name fields they never
 * defined (Zendesk most likely drops it, unverified).
 */
import type { Account, CustomFieldRecord, Json, JsonObject } from '../account.js'
import { ApiError, detailsCollector, recordInvalid, type ErrorDetails, type FieldError } from '../errors.js'
import type { SeedFields } from '../options.js'

export const CUSTOM_FIELD_TYPES = [
  'text',
  'textarea',
  'checkbox',
  'date',
  'integer',
  'decimal',
  'regexp',
  'dropdown',
  'lookup',
  'multiselect',
] as const

/** Custom ticket-field types [OAS `CreateTicketField`]. */
export const TICKET_FIELD_TYPES = [
  'text',
  'textarea',
  'checkbox',
  'date',
  'integer',
  'decimal',
  'regexp',
  'partialcreditcard',
  'multiselect',
  'tagger',
  'lookup',
] as const

export type FieldKind = 'user' | 'organization' | 'ticket'

export function fieldsOf(account: Account, kind: FieldKind): Map<number, CustomFieldRecord> {
  return kind === 'user'
    ? account.data.userFields
    : kind === 'organization'
      ? account.data.organizationFields
      : account.data.ticketFields
}

/** Zendesk's system ticket fields [OAS `TicketFieldObject`]; fixed ids, outside the id sequence. */
const SYSTEM_TICKET_FIELDS: readonly { id: number; type: string; title: string }[] = [
  { id: 359_999_901, type: 'subject', title: 'Subject' },
  { id: 359_999_902, type: 'description', title: 'Description' },
  { id: 359_999_903, type: 'status', title: 'Status' },
  { id: 359_999_904, type: 'tickettype', title: 'Type' },
  { id: 359_999_905, type: 'priority', title: 'Priority' },
  { id: 359_999_906, type: 'group', title: 'Group' },
  { id: 359_999_907, type: 'assignee', title: 'Assignee' },
]

/** The system ticket fields as the list and show endpoints answer them. */
export function systemTicketFields(account: Account): JsonObject[] {
  return SYSTEM_TICKET_FIELDS.map((f, i) => ({
    url: account.apiUrl(`ticket_fields/${f.id}`),
    id: f.id,
    type: f.type,
    title: f.title,
    raw_title: f.title,
    description: '',
    raw_description: '',
    position: i,
    active: true,
    required: false,
    removable: false,
    system: true,
  }))
}

/** The fields in their configured order (`position`, then creation), as the list endpoint returns them [D-uf]. */
export function listCustomFields(account: Account, kind: FieldKind): CustomFieldRecord[] {
  return [...fieldsOf(account, kind).values()].sort((a, b) => a.position - b.position || a.id - b.id)
}

/** `GET /{kind}_fields/{id_or_key}`: the path parameter is an id or a key [OAS `UserFieldId`]. */
export function findCustomField(
  account: Account,
  kind: FieldKind,
  idOrKey: string,
): CustomFieldRecord | null {
  const fields = fieldsOf(account, kind)
  if (/^\d+$/.test(idOrKey)) {
    const byId = fields.get(Number(idOrKey))
    if (byId) {
      return byId
    }
  }
  // Ticket fields have no key.
  return kind === 'ticket' ? null : ([...fields.values()].find((f) => f.key === idOrKey) ?? null)
}

/**
 * Creates the seeded custom fields (`EmulatorOptions.fields`), in order; throws on a field Zendesk
 * would refuse, naming it.
 */
export function seedCustomFields(account: Account, seed: SeedFields | undefined): void {
  for (const kind of ['user', 'organization', 'ticket'] as const) {
    for (const [i, input] of (seed?.[kind] ?? []).entries()) {
      try {
        createCustomField(account, kind, input as JsonObject)
      } catch (err) {
        const details = err instanceof ApiError ? JSON.stringify(err.body) : String(err)
        throw new Error(`Invalid emulator options: fields.${kind}[${i}]: ${details}`, { cause: err })
      }
    }
  }
}

/** `zen:user`, `zen:organization`, `zen:ticket` or `zen:custom_object:{key}` [D-uf]. */
const LOOKUP_TARGET = /^zen:(user|organization|ticket|custom_object:[A-Za-z0-9_]+)$/

/** Creates a field definition; throws 422 with per-field details. */
export function createCustomField(account: Account, kind: FieldKind, input: JsonObject): CustomFieldRecord {
  const { details, add } = detailsCollector()
  const fields = fieldsOf(account, kind)
  const key = kind !== 'ticket' && typeof input.key === 'string' ? input.key : ''
  const title = typeof input.title === 'string' ? input.title : ''
  const type = input.type === undefined ? 'text' : input.type
  const types: readonly string[] = kind === 'ticket' ? TICKET_FIELD_TYPES : CUSTOM_FIELD_TYPES
  if (kind === 'ticket') {
    // No key to check: ticket fields have none.
  } else if (!key) {
    add('key', 'BlankValue', 'Key: cannot be blank')
  } else if (!/^[A-Za-z0-9_]+$/.test(key) || /^\d+$/.test(key)) {
    add(
      'key',
      'InvalidValue',
      'Key: is invalid: use only letters, numbers and underscores, and not only numbers',
    )
  } else if ([...fields.values()].some((f) => f.key === key)) {
    add('key', 'DuplicateValue', `Key: ${key} has already been taken`)
  }
  if (!title) {
    add('title', 'BlankValue', 'Title: cannot be blank')
  }
  if (typeof type !== 'string' || !types.includes(type)) {
    add('type', 'InvalidValue', `Type: is not included in the list`)
  }
  const options = Array.isArray(input.custom_field_options) ? input.custom_field_options : []
  if (typeof type === 'string' && types.includes(type)) {
    checkTypeSettings(type, input, add)
  }
  if (Object.keys(details).length > 0) {
    throw recordInvalid(details)
  }
  const now = account.nowIso()
  const description = typeof input.description === 'string' ? input.description : ''
  const record: CustomFieldRecord = {
    id: account.nextId(),
    key,
    type: type as string,
    title,
    raw_title: title,
    description,
    raw_description: description,
    position: typeof input.position === 'number' ? input.position : fields.size,
    active: input.active !== false,
    system: false,
    regexp_for_validation:
      typeof input.regexp_for_validation === 'string' ? input.regexp_for_validation : null,
    tag: type === 'checkbox' && typeof input.tag === 'string' ? input.tag : null,
    custom_field_options: buildOptions(account, [], options),
    relationship_target_type:
      typeof input.relationship_target_type === 'string' ? input.relationship_target_type : null,
    created_at: now,
    updated_at: now,
  }
  fields.set(record.id, record)
  return record
}

/**
 * The settings a type needs (facts §3): options for dropdown and multiselect, a valid pattern for
 * regexp, a target for lookup. On update only the settings given are checked.
 */
function checkTypeSettings(
  type: string,
  input: JsonObject,
  add: (field: string, error: string, description: string) => void,
  partial = false,
): void {
  if (hasOptions(type) && !(partial && input.custom_field_options === undefined)) {
    const options = Array.isArray(input.custom_field_options) ? input.custom_field_options : []
    if (options.length === 0) {
      add('custom_field_options', 'BlankValue', 'Field options: cannot be blank')
    } else if (
      !options.every(
        (o) => isJsonObject(o) && nonBlank(o.name) && (nonBlank(o.value) || typeof o.value === 'number'),
      )
    ) {
      // Each option needs a name (the label) and a value (the tag) [D-uf]; the message is unverified.
      add('custom_field_options', 'InvalidValue', 'Field options: each option needs a name and a value')
    }
  }
  if (type === 'regexp' && !(partial && input.regexp_for_validation === undefined)) {
    if (typeof input.regexp_for_validation !== 'string' || input.regexp_for_validation === '') {
      add('regexp_for_validation', 'BlankValue', 'Regular expression: cannot be blank')
    } else if (!isValidRegExp(input.regexp_for_validation)) {
      add('regexp_for_validation', 'InvalidValue', 'Regular expression: is invalid')
    }
  }
  if (type === 'lookup' && !(partial && input.relationship_target_type === undefined)) {
    if (typeof input.relationship_target_type !== 'string') {
      add('relationship_target_type', 'BlankValue', 'Relationship target type: cannot be blank')
    } else if (!LOOKUP_TARGET.test(input.relationship_target_type)) {
      add('relationship_target_type', 'InvalidValue', 'Relationship target type: is invalid')
    }
  }
}

/**
 * The option list of a create or update: an option with the `id` of an existing one updates it
 * (keeping its id), any other is new. The order given is the new order [OAS `UpdateUserField`].
 */
function buildOptions(
  account: Account,
  existing: CustomFieldRecord['custom_field_options'],
  given: Json[],
): CustomFieldRecord['custom_field_options'] {
  return given.flatMap((o) => {
    if (!isJsonObject(o)) {
      return []
    }
    const name = typeof o.name === 'string' ? o.name : ''
    const value = typeof o.value === 'string' || typeof o.value === 'number' ? String(o.value) : ''
    const kept = typeof o.id === 'number' ? existing.find((x) => x.id === o.id) : undefined
    return [{ id: kept?.id ?? account.nextId(), name, raw_name: name, value }]
  })
}

/** Types whose values are option tags. */
function hasOptions(type: string): boolean {
  return type === 'dropdown' || type === 'multiselect' || type === 'tagger'
}

/**
 * Visits the stored value of a field on every record of its kind (users' `user_fields`,
 * organizations' `organization_fields`, tickets' `custom_fields`); `set` replaces it, `remove`
 * takes it away.
 */
function forEachValue(
  account: Account,
  kind: FieldKind,
  field: CustomFieldRecord,
  visit: (value: Json | undefined, set: (v: Json) => void, remove: () => void) => void,
): void {
  if (kind === 'ticket') {
    for (const t of account.data.tickets.values()) {
      const entry = t.custom_fields.find((e) => e.id === field.id)
      visit(
        entry?.value,
        (v) => {
          if (entry) {
            entry.value = v
          }
        },
        () => {
          t.custom_fields = t.custom_fields.filter((e) => e.id !== field.id)
        },
      )
    }
    return
  }
  const all =
    kind === 'user'
      ? [...account.data.users.values()].map((u) => u.user_fields)
      : [...account.data.organizations.values()].map((o) => o.organization_fields)
  for (const values of all) {
    visit(
      values[field.key],
      (v) => {
        values[field.key] = v
      },
      () => {
        delete values[field.key]
      },
    )
  }
}

/**
 * `PUT /{kind}_fields/{id}`. `key` and `type` cannot change and are ignored (unverified). Updating
 * a dropdown or multiselect replaces the whole option list; options left out are deleted and
 * their values removed from every record [OAS `UpdateUserField`].
 */
export function updateCustomField(
  account: Account,
  kind: FieldKind,
  field: CustomFieldRecord,
  input: JsonObject,
): CustomFieldRecord {
  const details: ErrorDetails = {}
  const add = (name: string, error: string, description: string): void => {
    ;(details[name] ??= []).push({ description, error })
  }
  if (input.title !== undefined && !nonBlank(input.title)) {
    add('title', 'BlankValue', 'Title: cannot be blank')
  }
  checkTypeSettings(field.type, input, add, true)
  if (Object.keys(details).length > 0) {
    throw recordInvalid(details)
  }
  if (typeof input.title === 'string') {
    field.title = input.title
    field.raw_title = typeof input.raw_title === 'string' ? input.raw_title : input.title
  }
  if (typeof input.description === 'string') {
    field.description = input.description
    field.raw_description =
      typeof input.raw_description === 'string' ? input.raw_description : input.description
  }
  if (typeof input.position === 'number') {
    field.position = input.position
  }
  if (typeof input.active === 'boolean') {
    field.active = input.active
  }
  if (field.type === 'regexp' && typeof input.regexp_for_validation === 'string') {
    field.regexp_for_validation = input.regexp_for_validation
  }
  if (field.type === 'checkbox' && (typeof input.tag === 'string' || input.tag === null)) {
    field.tag = input.tag
  }
  if (hasOptions(field.type) && Array.isArray(input.custom_field_options)) {
    field.custom_field_options = buildOptions(account, field.custom_field_options, input.custom_field_options)
    const allowed = new Set(field.custom_field_options.map((o) => o.value))
    forEachValue(account, kind, field, (v, set) => {
      if (typeof v === 'string' && !allowed.has(v)) {
        set(null)
      } else if (Array.isArray(v)) {
        set(v.filter((x) => typeof x === 'string' && allowed.has(x)))
      }
    })
  }
  field.updated_at = account.nowIso()
  return field
}

/** `DELETE /{kind}_fields/{id}`: the definition goes, and with it every stored value. */
export function deleteCustomField(account: Account, kind: FieldKind, field: CustomFieldRecord): void {
  fieldsOf(account, kind).delete(field.id)
  forEachValue(account, kind, field, (_v, _set, remove) => remove())
}

export function presentCustomField(account: Account, kind: FieldKind, f: CustomFieldRecord): JsonObject {
  if (kind === 'ticket') {
    return presentTicketField(account, f)
  }
  const out: JsonObject = {
    url: account.apiUrl(`${kind}_fields/${f.id}`),
    id: f.id,
    type: f.type,
    key: f.key,
    title: f.title,
    raw_title: f.raw_title,
    description: f.description,
    raw_description: f.raw_description,
    position: f.position,
    active: f.active,
    system: f.system,
    regexp_for_validation: f.regexp_for_validation,
    created_at: f.created_at,
    updated_at: f.updated_at,
  }
  if (f.type === 'checkbox') {
    out.tag = f.tag
  }
  if (f.type === 'dropdown' || f.type === 'multiselect') {
    out.custom_field_options = f.custom_field_options
  }
  if (f.type === 'lookup') {
    out.relationship_target_type = f.relationship_target_type
  }
  return out
}

/** A custom ticket field as Zendesk answers it [OAS `TicketFieldObject`]: no key. */
function presentTicketField(account: Account, f: CustomFieldRecord): JsonObject {
  const out: JsonObject = {
    url: account.apiUrl(`ticket_fields/${f.id}`),
    id: f.id,
    type: f.type,
    title: f.title,
    raw_title: f.raw_title,
    description: f.description,
    raw_description: f.raw_description,
    position: f.position,
    active: f.active,
    required: false,
    removable: true,
    system: false,
    regexp_for_validation: f.regexp_for_validation,
    created_at: f.created_at,
    updated_at: f.updated_at,
  }
  if (f.type === 'checkbox') {
    out.tag = f.tag
  }
  if (f.type === 'tagger' || f.type === 'multiselect') {
    out.custom_field_options = f.custom_field_options
  }
  if (f.type === 'lookup') {
    out.relationship_target_type = f.relationship_target_type
  }
  return out
}

/**
 * A ticket's `custom_fields` entries checked against the custom ticket fields (see the header):
 * the entries to store, in Zendesk's ticket value forms, and one error per value of the wrong type.
 */
export function checkTicketFieldValues(
  account: Account,
  entries: readonly { id: number; value: Json }[],
): { entries: { id: number; value: Json }[]; errors: FieldError[] } {
  const out: { id: number; value: Json }[] = []
  const errors: FieldError[] = []
  for (const { id, value } of entries) {
    const field = account.data.ticketFields.get(id)
    if (!field) {
      out.push({ id, value })
      continue
    }
    if (!field.active) {
      continue
    }
    if (value === null || value === '') {
      out.push({ id, value: null })
      continue
    }
    const v = coerce(field, value)
    if (v === undefined) {
      errors.push({
        description: `${field.title}: ${JSON.stringify(value)} is not a valid ${field.type} value`,
        error: 'InvalidValue',
      })
      continue
    }
    out.push({ id, value: ticketForm(field, v) })
  }
  return { entries: out, errors }
}

/** A checked value as a ticket answers it: text, except checkboxes and multiselect lists. */
function ticketForm(field: CustomFieldRecord, v: Json): Json {
  if (field.type === 'checkbox' || field.type === 'multiselect' || field.type === 'lookup') {
    return v
  }
  if (field.type === 'date' && typeof v === 'string') {
    return v.slice(0, 10)
  }
  return typeof v === 'number' ? String(v) : v
}

/**
 * Checks incoming custom-field values against the definitions and merges them into the current
 * ones, without throwing: unknown and inactive keys are dropped, `null` clears a value, and each
 * value of the wrong type becomes one error (on the `<kind>_fields` attribute, naming the field).
 */
export function checkCustomFieldValues(
  account: Account,
  kind: FieldKind,
  current: Record<string, Json>,
  incoming: Json | undefined,
): { values: Record<string, Json>; errors: FieldError[] } {
  if (incoming === undefined || incoming === null) {
    return { values: current, errors: [] }
  }
  const prefix = `${kind}_fields`
  if (!isJsonObject(incoming)) {
    return {
      values: current,
      errors: [{ description: `${prefix}: must be an object keyed by field key`, error: 'InvalidValue' }],
    }
  }
  const byKey = new Map([...fieldsOf(account, kind).values()].map((f) => [f.key, f]))
  const values: Record<string, Json> = { ...current }
  const errors: FieldError[] = []
  for (const [key, raw] of Object.entries(incoming)) {
    const field = byKey.get(key)
    if (!field?.active) {
      continue
    }
    if (raw === null || raw === '') {
      values[key] = null
      continue
    }
    const value = coerce(field, raw)
    if (value === undefined) {
      errors.push({
        description: `${field.title}: ${JSON.stringify(raw)} is not a valid ${field.type} value`,
        error: 'InvalidValue',
      })
      continue
    }
    values[key] = value
  }
  return { values, errors }
}

/**
 * Merges incoming custom-field values into the current ones. Unknown keys are dropped; values of
 * the wrong type are a 422 on `<kind>_fields` listing each bad field. `null` clears a value.
 */
export function mergeCustomFieldValues(
  account: Account,
  kind: FieldKind,
  current: Record<string, Json>,
  incoming: Json | undefined,
): Record<string, Json> {
  const { values, errors } = checkCustomFieldValues(account, kind, current, incoming)
  if (errors.length > 0) {
    throw recordInvalid({ [`${kind}_fields`]: errors })
  }
  return values
}

/** Every defined key, with null for missing values, as Zendesk returns `user_fields`. */
export function presentCustomFieldValues(
  account: Account,
  kind: FieldKind,
  values: Record<string, Json>,
): Record<string, Json> {
  const out: Record<string, Json> = {}
  for (const f of fieldsOf(account, kind).values()) {
    out[f.key] = values[f.key] ?? null
  }
  return out
}

function isJsonObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function nonBlank(v: Json | undefined): boolean {
  return typeof v === 'string' && v.trim() !== ''
}

function isValidRegExp(source: string): boolean {
  try {
    new RegExp(source)
    return true
  } catch {
    return false
  }
}

function coerce(field: CustomFieldRecord, raw: Json): Json | undefined {
  switch (field.type) {
    case 'checkbox':
      if (typeof raw === 'boolean') {
        return raw
      }
      if (raw === 'true' || raw === 'false') {
        return raw === 'true'
      }
      return undefined
    case 'integer': {
      const n = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : raw
      return typeof n === 'number' && Number.isInteger(n) ? n : undefined
    }
    case 'decimal': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw
      return typeof n === 'number' && Number.isFinite(n) ? n : undefined
    }
    case 'date': {
      if (typeof raw !== 'string') {
        return undefined
      }
      const m = /^(\d{4}-\d{2}-\d{2})/.exec(raw)
      return m && !Number.isNaN(Date.parse(m[1] ?? '')) ? `${m[1]}T00:00:00Z` : undefined
    }
    case 'dropdown':
    case 'tagger':
      return typeof raw === 'string' && field.custom_field_options.some((o) => o.value === raw)
        ? raw
        : undefined
    case 'multiselect': {
      const list = Array.isArray(raw) ? raw : [raw]
      return list.every((v) => typeof v === 'string' && field.custom_field_options.some((o) => o.value === v))
        ? list
        : undefined
    }
    case 'regexp':
      return typeof raw === 'string' && new RegExp(field.regexp_for_validation ?? '').test(raw)
        ? raw
        : undefined
    case 'lookup':
      return typeof raw === 'number' || typeof raw === 'string' ? raw : undefined
    default:
      return typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean'
        ? String(raw)
        : undefined
  }
}
