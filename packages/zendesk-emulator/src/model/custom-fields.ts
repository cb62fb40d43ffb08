/**
 * User fields and organization fields (facts §3): the field definitions and how values given in
 * `user_fields` / `organization_fields` are checked and stored.
 *
 * - `key`: required, unique per kind, letters, digits and underscores, not only digits [D-uf].
 * - `type`: text (default), textarea, checkbox, date, integer, decimal, regexp, dropdown, lookup,
 *   multiselect. `regexp` needs `regexp_for_validation`; `dropdown` and `multiselect` need
 *   `custom_field_options`; `lookup` needs `relationship_target_type`.
 * - Values for keys that are not defined are ignored, as Zendesk ignores unknown attributes
 *   (facts §2.5, unverified). Values of the wrong type are a 422 `InvalidValue` (unverified).
 */
import type { Account, CustomFieldRecord, Json, JsonObject } from '../account.js'
import { fieldInvalid, recordInvalid, type ErrorDetails } from '../errors.js'

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

/** Creates a field definition; throws 422 with per-field details. */
export function createCustomField(account: Account, kind: FieldKind, input: JsonObject): CustomFieldRecord {
  const details: ErrorDetails = {}
  const add = (field: string, error: string, description: string): void => {
    ;(details[field] ??= []).push({ description, error })
  }
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
  if ((type === 'dropdown' || type === 'multiselect') && options.length === 0) {
    add('custom_field_options', 'BlankValue', 'Field options: cannot be blank')
  }
  if (type === 'regexp' && typeof input.regexp_for_validation !== 'string') {
    add('regexp_for_validation', 'BlankValue', 'Regular expression: cannot be blank')
  }
  if (type === 'lookup' && typeof input.relationship_target_type !== 'string') {
    add('relationship_target_type', 'BlankValue', 'Relationship target type: cannot be blank')
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
    custom_field_options: options.flatMap((o) => {
      if (typeof o !== 'object' || o === null || Array.isArray(o)) {
        return []
      }
      const name = typeof o.name === 'string' ? o.name : ''
      const value = typeof o.value === 'string' ? o.value : ''
      return [{ id: account.nextId(), name, raw_name: name, value }]
    }),
    relationship_target_type:
      typeof input.relationship_target_type === 'string' ? input.relationship_target_type : null,
    created_at: now,
    updated_at: now,
  }
  fields.set(record.id, record)
  return record
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
 * Merges incoming custom-field values into the current ones. Unknown keys are dropped; a value of
 * the wrong type is a 422 on `<prefix>` naming the key. `null` clears a value.
 */
export function mergeCustomFieldValues(
  account: Account,
  kind: FieldKind,
  current: Record<string, Json>,
  incoming: Json | undefined,
): Record<string, Json> {
  if (incoming === undefined || incoming === null) {
    return current
  }
  const prefix = `${kind}_fields`
  if (typeof incoming !== 'object' || Array.isArray(incoming)) {
    throw fieldInvalid(prefix, 'InvalidValue', `${prefix}: must be an object keyed by field key`)
  }
  const byKey = new Map([...fieldsOf(account, kind).values()].map((f) => [f.key, f]))
  const next: Record<string, Json> = { ...current }
  for (const [key, raw] of Object.entries(incoming)) {
    const field = byKey.get(key)
    if (!field) {
      continue
    }
    if (raw === null) {
      next[key] = null
      continue
    }
    const value = coerce(field, raw)
    if (value === undefined) {
      throw fieldInvalid(
        prefix,
        'InvalidValue',
        `${field.title}: ${JSON.stringify(raw)} is not a valid ${field.type} value`,
      )
    }
    next[key] = value
  }
  return next
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
