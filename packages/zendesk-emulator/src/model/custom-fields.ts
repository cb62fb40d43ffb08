/**
 * User fields and organization fields (facts §3): the field definitions and how values given in
 * `user_fields` / `organization_fields` are checked and stored.
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
 */
import type { Account, CustomFieldRecord, Json, JsonObject } from '../account.js'
import { detailsCollector, recordInvalid, type ErrorDetails, type FieldError } from '../errors.js'

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

export type FieldKind = 'user' | 'organization'

export function fieldsOf(account: Account, kind: FieldKind): Map<number, CustomFieldRecord> {
  return kind === 'user' ? account.data.userFields : account.data.organizationFields
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
  return [...fields.values()].find((f) => f.key === idOrKey) ?? null
}

/** `zen:user`, `zen:organization`, `zen:ticket` or `zen:custom_object:{key}` [D-uf]. */
const LOOKUP_TARGET = /^zen:(user|organization|ticket|custom_object:[A-Za-z0-9_]+)$/

/** Creates a field definition; throws 422 with per-field details. */
export function createCustomField(account: Account, kind: FieldKind, input: JsonObject): CustomFieldRecord {
  const { details, add } = detailsCollector()
  const fields = fieldsOf(account, kind)
  const key = typeof input.key === 'string' ? input.key : ''
  const title = typeof input.title === 'string' ? input.title : ''
  const type = input.type === undefined ? 'text' : input.type
  if (!key) {
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
  if (typeof type !== 'string' || !(CUSTOM_FIELD_TYPES as readonly string[]).includes(type)) {
    add('type', 'InvalidValue', `Type: is not included in the list`)
  }
  const options = Array.isArray(input.custom_field_options) ? input.custom_field_options : []
  if (typeof type === 'string') {
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
  if (
    (type === 'dropdown' || type === 'multiselect') &&
    !(partial && input.custom_field_options === undefined)
  ) {
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

/** The stored values of every record of a kind (users' `user_fields`, organizations' `organization_fields`). */
function storedValues(account: Account, kind: FieldKind): Record<string, Json>[] {
  return kind === 'user'
    ? [...account.data.users.values()].map((u) => u.user_fields)
    : [...account.data.organizations.values()].map((o) => o.organization_fields)
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
  if (
    (field.type === 'dropdown' || field.type === 'multiselect') &&
    Array.isArray(input.custom_field_options)
  ) {
    field.custom_field_options = buildOptions(account, field.custom_field_options, input.custom_field_options)
    const allowed = new Set(field.custom_field_options.map((o) => o.value))
    for (const values of storedValues(account, kind)) {
      const v = values[field.key]
      if (typeof v === 'string' && !allowed.has(v)) {
        values[field.key] = null
      } else if (Array.isArray(v)) {
        values[field.key] = v.filter((x) => typeof x === 'string' && allowed.has(x))
      }
    }
  }
  field.updated_at = account.nowIso()
  return field
}

/** `DELETE /{kind}_fields/{id}`: the definition goes, and with it every stored value. */
export function deleteCustomField(account: Account, kind: FieldKind, field: CustomFieldRecord): void {
  fieldsOf(account, kind).delete(field.id)
  for (const values of storedValues(account, kind)) {
    delete values[field.key]
  }
}

export function presentCustomField(account: Account, kind: FieldKind, f: CustomFieldRecord): JsonObject {
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
