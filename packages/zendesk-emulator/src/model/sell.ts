/**
 * Zendesk Sell (facts §10): contacts, contact upsert and custom-field definitions, in Sell's own
 * envelopes and error shape. Sources: the official client zendesk/basecrm-ruby [basecrm-ruby],
 * Sell's error docs [Sell-err], and a secondary reading of Sell's docs [AE-sell].
 *
 * Envelopes
 * - Requests: `{"data": {…}}` (a sibling `meta` is allowed and ignored).
 * - One resource: `{"data": {…}, "meta": {"type": "contact"}}`.
 * - Lists: `{"items": [{"data", "meta"}], "meta": {"type": "collection", "count", "links"}}`.
 *   `count` is the number of items on this page; `links` has `self`, `first_page`, and
 *   `prev_page` / `next_page` when such a page has items. The exact `meta` keys are unverified
 *   (facts §14.8); the official client only reads `items[].data` and pages until a page is empty.
 * - Errors: `{"errors": [{"error": {code, message, details[, resource, field]}, "meta"}], "meta":
 *   {"type": "errors", "http_status": "422 Unprocessable Entity", "logref": <X-Request-Id>,
 *   "links"}}` [Sell-err]. Codes come from Sell's documented lists: request errors `not_found`,
 *   `invalid_param`, `invalid_header`, `invalid_payload`, `incorrect_payload`, …; resource errors
 *   `unknown`, `missing`, `already_exists`, `blank`, `invalid_type`, `incorrect_value`.
 *
 * Contacts (choices marked unverified were not checked on a real Sell account)
 * - Create answers **200**, not 201: the secondary OpenAPI copy of Sell's docs [AE-sell] lists
 *   only 200 for `POST /v2/contacts` (unverified on a real account). Upsert answers 200 whether
 *   it created or updated.
 * - `last_name` is required for a person, `name` for an organization: 422 `blank` on that field.
 *   A person's `name` is derived as "first last" on every write (as Sell's examples show;
 *   unverified). `is_organization` is set at creation only; changing it later is 422
 *   `incorrect_value` (unverified: Sell may ignore it instead; we are loud).
 * - Attributes Sell does not know are 422 `unknown` (Sell documents that code; the official
 *   client strips such keys before sending). Read-only attributes (`id`, `creator_id`,
 *   `created_at`, `updated_at`) are ignored, so a fetched contact can be sent back.
 * - `tags` replaces the whole list [basecrm-ruby]. `custom_fields` merges by key; `null`
 *   clears a value.
 * - `custom_fields` keys are custom-field **names** (facts §10, unverified). A name that is not
 *   a contact custom field (or does not apply to this kind of contact) is **422 `unknown` on
 *   `custom_fields`**: we chose loud over silently dropping, so that a misconfigured audience
 *   "Mapping ID" shows up at once instead of looking delivered. Values are checked against the
 *   field's type (`invalid_type` / `incorrect_value`).
 * - `contact_id` must name an organization contact (422 `incorrect_value`); it is kept for
 *   people only. Deleting an organization clears `contact_id` on its people (unverified).
 * - Filters (list and upsert) compare text case-insensitively and exactly (unverified).
 * - Upsert: at least one filter (`email`, `name`, `first_name`, `last_name`,
 *   `custom_fields[<name>]`) or 400 `invalid_param`; every filter must match; more than one match
 *   is **409 `conflict`** (unverified, facts §10). Other query parameters are 400 (loud, so a
 *   misspelt filter cannot create duplicates). Filter values are not copied into a created
 *   contact: the body must carry them (unverified).
 * - Lists: `page` ≥ 1, `per_page` 1–100 (default 25); anything else is 400 `invalid_param`
 *   (unverified: Sell may clamp). `sort_by=<field>[:asc|:desc]`, also
 *   `custom_fields:<name>:desc`; default `last_name:asc` [basecrm-ruby], ties by id. Unknown
 *   list parameters are ignored.
 */
import { STATUS_CODES } from 'node:http'

import type { Account, Json, JsonObject, SellContactRecord, SellCustomFieldRecord } from '../account.js'
import { ApiError } from '../errors.js'
import { isObject } from '../http.js'

/**
 * The Sell user behind the seed token. The emulator has no Sell users; contacts record this id
 * as `creator_id` and, unless told otherwise, as `owner_id` (Sell assigns new records to their
 * creator; unverified).
 */
export const SELL_USER_ID = 1_000_001

const MORE_INFO = 'https://developer.zendesk.com/api-reference/sales-crm/errors/'

// ---------------------------------------------------------------------------------------------
// Errors

export interface SellErrorItem {
  code: string
  message: string
  details: string
  /** Resource errors (422) only. */
  resource?: string
  field?: string | null
}

/** A Sell error before it knows its request id; the route layer turns it into an `ApiError`. */
export class SellError extends Error {
  readonly status: number
  readonly errors: SellErrorItem[]
  readonly headers: Record<string, string>

  constructor(status: number, errors: SellErrorItem[], headers: Record<string, string> = {}) {
    super(`emulated Sell error ${status}: ${errors.map((e) => e.code).join(', ')}`)
    this.status = status
    this.errors = errors
    this.headers = headers
  }
}

/** Sell's error body [Sell-err]. `logref` is the request's `X-Request-Id`. */
export function sellErrorBody(status: number, errors: SellErrorItem[], logref: string): JsonObject {
  return {
    errors: errors.map((e) => {
      const error: JsonObject =
        e.resource !== undefined ? { resource: e.resource, field: e.field ?? null } : {}
      Object.assign(error, { code: e.code, message: e.message, details: e.details })
      return { error, meta: { type: 'error', links: { more_info: MORE_INFO } } }
    }),
    meta: {
      type: 'errors',
      http_status: `${status} ${STATUS_CODES[status] ?? 'Error'}`,
      logref,
      links: { more_info: MORE_INFO },
    },
  }
}

/** Error messages are localised by Sell and announced with `Content-Language` [Sell-err]. */
export function toApiError(err: SellError, logref: string): ApiError {
  return new ApiError(err.status, sellErrorBody(err.status, err.errors, logref), {
    'content-language': 'en',
    ...err.headers,
  })
}

export function sellNotFound(details = 'Requested resource was not found.'): SellError {
  return new SellError(404, [{ code: 'not_found', message: 'Not Found', details }])
}

export function invalidParam(details: string): SellError {
  return new SellError(400, [{ code: 'invalid_param', message: 'Invalid query parameter', details }])
}

function resourceError(
  resource: string,
  field: string | null,
  code: string,
  message: string,
  details: string,
): SellErrorItem {
  return { code, message, details, resource, field }
}

/** The `data` of a `{"data": {…}}` request body; 422 `incorrect_payload` otherwise (unverified status). */
export function requestData(body: unknown): JsonObject {
  const data = isObject(body) ? body.data : undefined
  if (!isObject(data)) {
    throw new SellError(422, [
      {
        code: 'incorrect_payload',
        message: 'Payload is incorrect',
        details: 'The request body must be a JSON object with a "data" object: {"data": {…}}',
      },
    ])
  }
  return data
}

// ---------------------------------------------------------------------------------------------
// Envelopes and pagination

export function single(type: string, data: JsonObject): JsonObject {
  return { data, meta: { type } }
}

export interface PageRequest {
  page: number
  perPage: number
}

export const DEFAULT_PER_PAGE = 25
export const MAX_PER_PAGE = 100

export function parsePage(q: Record<string, string>): PageRequest {
  const page = q.page === undefined ? 1 : positiveInt(q.page)
  if (page === null) {
    throw invalidParam('page must be a positive integer (pages are numbered from 1)')
  }
  const perPage = q.per_page === undefined ? DEFAULT_PER_PAGE : positiveInt(q.per_page)
  if (perPage === null || perPage > MAX_PER_PAGE) {
    throw invalidParam(`per_page must be an integer from 1 to ${MAX_PER_PAGE}`)
  }
  return { page, perPage }
}

/** One page of a collection, with Sell's list envelope. `path` is e.g. `/v2/contacts`. */
export function collection(
  account: Account,
  path: string,
  q: Record<string, string>,
  type: string,
  all: JsonObject[],
  { page, perPage }: PageRequest,
): JsonObject {
  const start = (page - 1) * perPage
  const items = all.slice(start, start + perPage)
  const link = (p: number): string => {
    const params = new URLSearchParams({ ...q, page: String(p), per_page: String(perPage) })
    return `${account.baseUrl}${path}?${params.toString()}`
  }
  const links: JsonObject = { self: link(page), first_page: link(1) }
  if (page > 1 && start - perPage < all.length) {
    links.prev_page = link(page - 1)
  }
  if (start + perPage < all.length) {
    links.next_page = link(page + 1)
  }
  return {
    items: items.map((data) => single(type, data)),
    meta: { type: 'collection', count: items.length, links },
  }
}

function positiveInt(raw: string): number | null {
  return /^\d+$/.test(raw) && Number(raw) >= 1 ? Number(raw) : null
}

// ---------------------------------------------------------------------------------------------
// Custom fields

export const SELL_RESOURCE_TYPES = ['contact', 'lead', 'deal', 'prospect_and_customer'] as const
export type SellResourceType = (typeof SELL_RESOURCE_TYPES)[number]

/** Sell's custom field types [basecrm-ruby] [AE-sell]. */
export const SELL_CUSTOM_FIELD_TYPES = [
  'address',
  'bool',
  'date',
  'datetime',
  'email',
  'list',
  'multi_select_list',
  'number',
  'phone',
  'string',
  'text',
  'url',
] as const

export function isSellResourceType(v: unknown): v is SellResourceType {
  return typeof v === 'string' && (SELL_RESOURCE_TYPES as readonly string[]).includes(v)
}

export function sellCustomFields(account: Account, resourceType: SellResourceType): SellCustomFieldRecord[] {
  return [...account.data.sellCustomFields.values()].filter((f) => f.resource_type === resourceType)
}

function contactCustomField(account: Account, name: string): SellCustomFieldRecord | null {
  return sellCustomFields(account, 'contact').find((f) => f.name === name) ?? null
}

/**
 * Creates a custom-field definition. Sell has no public API for this (fields are made in the
 * admin UI); the emulator offers it so that tests can set an account up.
 */
export function createSellCustomField(
  account: Account,
  resourceType: SellResourceType,
  input: JsonObject,
): SellCustomFieldRecord {
  const errors: SellErrorItem[] = []
  const fail = (field: string, code: string, message: string, details: string): void => {
    errors.push(resourceError('custom_field', field, code, message, details))
  }
  const name = typeof input.name === 'string' ? input.name.trim() : ''
  if (input.name !== undefined && typeof input.name !== 'string') {
    fail('name', 'invalid_type', 'is of the wrong type', 'name must be a string')
  } else if (name === '') {
    fail('name', 'blank', "can't be blank", 'name is required')
  } else if (sellCustomFields(account, resourceType).some((f) => f.name === name)) {
    fail(
      'name',
      'already_exists',
      'has already been taken',
      `a ${resourceType} custom field "${name}" exists`,
    )
  }
  const type = input.type ?? 'string'
  if (typeof type !== 'string' || !(SELL_CUSTOM_FIELD_TYPES as readonly string[]).includes(type)) {
    fail(
      'type',
      'incorrect_value',
      'is not included in the list',
      `type must be one of ${SELL_CUSTOM_FIELD_TYPES.join(', ')}`,
    )
  }
  const rawChoices = input.choices ?? []
  const choiceNames = Array.isArray(rawChoices)
    ? rawChoices.map((c) =>
        typeof c === 'string' ? c : isObject(c) && typeof c.name === 'string' ? c.name : null,
      )
    : null
  if (choiceNames === null || choiceNames.some((c) => c === null || c.trim() === '')) {
    fail(
      'choices',
      'invalid_type',
      'is of the wrong type',
      'choices must be a list of names or {"name"} objects',
    )
  } else if ((type === 'list' || type === 'multi_select_list') && choiceNames.length === 0) {
    fail('choices', 'blank', "can't be blank", `a ${String(type)} field needs choices`)
  }
  for (const flag of ['for_contact', 'for_organisation'] as const) {
    if (input[flag] !== undefined && typeof input[flag] !== 'boolean') {
      fail(flag, 'invalid_type', 'is of the wrong type', `${flag} must be a boolean`)
    }
  }
  if (errors.length > 0) {
    throw new SellError(422, errors)
  }
  const now = account.nowIso()
  const record: SellCustomFieldRecord = {
    id: account.nextId(),
    name,
    type: type as string,
    resource_type: resourceType,
    choices:
      type === 'list' || type === 'multi_select_list'
        ? (choiceNames ?? []).map((c) => ({ id: account.nextId(), name: (c ?? '').trim() }))
        : [],
    for_contact: input.for_contact !== false,
    for_organisation: input.for_organisation !== false,
    created_at: now,
    updated_at: now,
  }
  account.data.sellCustomFields.set(record.id, record)
  return record
}

export function presentSellCustomField(f: SellCustomFieldRecord): JsonObject {
  const out: JsonObject = { id: f.id, name: f.name, type: f.type }
  if (f.type === 'list' || f.type === 'multi_select_list') {
    out.choices = f.choices.map((c) => ({ id: c.id, name: c.name }))
  }
  if (f.resource_type === 'contact') {
    out.for_contact = f.for_contact
    out.for_organisation = f.for_organisation
  }
  out.created_at = f.created_at
  out.updated_at = f.updated_at
  return out
}

type Coerced = { value: Json } | { error: 'invalid_type' | 'incorrect_value'; details: string }

/** Checks one custom-field value against its field's type. */
function coerceCustomValue(field: SellCustomFieldRecord, raw: Json): Coerced {
  const wrongType = (expected: string): Coerced => ({
    error: 'invalid_type',
    details: `custom field "${field.name}" (${field.type}) expects ${expected}, got ${JSON.stringify(raw)}`,
  })
  const badValue = (why: string): Coerced => ({
    error: 'incorrect_value',
    details: `custom field "${field.name}" (${field.type}): ${why}, got ${JSON.stringify(raw)}`,
  })
  const choice = (v: string): string | null =>
    field.choices.find((c) => c.name.toLowerCase() === v.toLowerCase())?.name ?? null
  switch (field.type) {
    case 'bool':
      if (typeof raw === 'boolean') {
        return { value: raw }
      }
      return raw === 'true' || raw === 'false' ? { value: raw === 'true' } : wrongType('a boolean')
    case 'number': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw
      return typeof n === 'number' && Number.isFinite(n) ? { value: n } : wrongType('a number')
    }
    case 'date':
      if (typeof raw !== 'string') {
        return wrongType('a date string')
      }
      return /^\d{4}-\d{2}-\d{2}$/.test(raw) && !Number.isNaN(Date.parse(raw))
        ? { value: raw }
        : badValue('a date is YYYY-MM-DD')
    case 'datetime':
      if (typeof raw !== 'string') {
        return wrongType('an ISO 8601 date-time string')
      }
      return Number.isNaN(Date.parse(raw)) ? badValue('not an ISO 8601 date-time') : { value: raw }
    case 'list': {
      if (typeof raw !== 'string') {
        return wrongType('one choice name')
      }
      const c = choice(raw)
      return c === null ? badValue('not one of the choices') : { value: c }
    }
    case 'multi_select_list': {
      const list = typeof raw === 'string' ? [raw] : raw
      if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
        return wrongType('a list of choice names')
      }
      const names = list.map((v) => choice(v))
      return names.every((n) => n !== null) ? { value: names } : badValue('not all are choices')
    }
    case 'address':
      return isObject(raw) ? { value: raw } : wrongType('an address object')
    default:
      return typeof raw === 'string' ? { value: raw } : wrongType('a string')
  }
}

/** Merges incoming custom-field values (keyed by name); problems are pushed to `fail`. */
function mergeCustomFields(
  account: Account,
  isOrganization: boolean,
  current: Record<string, Json>,
  incoming: Json,
  fail: (field: string, code: string, message: string, details: string) => void,
): Record<string, Json> {
  if (!isObject(incoming)) {
    fail(
      'custom_fields',
      'invalid_type',
      'is of the wrong type',
      'custom_fields must be an object keyed by custom field name',
    )
    return current
  }
  const next: Record<string, Json> = { ...current }
  for (const [name, raw] of Object.entries(incoming)) {
    const field = contactCustomField(account, name)
    const applies = field !== null && (isOrganization ? field.for_organisation : field.for_contact)
    if (!field || !applies) {
      fail(
        'custom_fields',
        'unknown',
        'is an unknown attribute',
        field
          ? `custom field "${name}" does not apply to ${isOrganization ? 'organizations' : 'people'}`
          : `"${name}" is not a contact custom field of this account`,
      )
      continue
    }
    if (raw === null) {
      delete next[name]
      continue
    }
    const c = coerceCustomValue(field, raw)
    if ('error' in c) {
      fail(
        'custom_fields',
        c.error,
        c.error === 'invalid_type' ? 'is of the wrong type' : 'is invalid',
        c.details,
      )
    } else {
      next[name] = c.value
    }
  }
  return next
}

// ---------------------------------------------------------------------------------------------
// Contacts

/** Text attributes stored as given (string or null). */
const TEXT_FIELDS = [
  'name',
  'first_name',
  'last_name',
  'email',
  'customer_status',
  'prospect_status',
  'title',
  'description',
  'industry',
  'website',
  'phone',
  'mobile',
  'fax',
  'twitter',
  'facebook',
  'linkedin',
  'skype',
] as const
const ID_FIELDS = ['owner_id', 'contact_id', 'parent_organization_id'] as const
const ADDRESS_FIELDS = ['address', 'billing_address', 'shipping_address'] as const
const ADDRESS_KEYS = ['line1', 'city', 'postal_code', 'state', 'country'] as const
const READ_ONLY = new Set(['id', 'creator_id', 'created_at', 'updated_at'])
const WRITABLE = new Set<string>([
  ...TEXT_FIELDS,
  ...ID_FIELDS,
  ...ADDRESS_FIELDS,
  'is_organization',
  'tags',
  'custom_fields',
])
const STATUSES: Record<string, readonly string[]> = {
  customer_status: ['none', 'current', 'past'],
  prospect_status: ['none', 'current', 'lost'],
}

export function findContact(account: Account, id: number): SellContactRecord {
  const c = account.data.sellContacts.get(id)
  if (!c) {
    throw sellNotFound(`contact ${id} was not found`)
  }
  return c
}

/** A stored attribute, whether it has its own column in the record or lives in `extra`. */
function attr(c: SellContactRecord, key: string): Json {
  switch (key) {
    case 'id':
      return c.id
    case 'creator_id':
      return c.creator_id
    case 'is_organization':
      return c.is_organization
    case 'name':
      return c.name
    case 'first_name':
      return c.first_name
    case 'last_name':
      return c.last_name
    case 'email':
      return c.email
    case 'created_at':
      return c.created_at
    case 'updated_at':
      return c.updated_at
    default:
      return c.extra[key] ?? null
  }
}

function setAttr(c: SellContactRecord, key: string, value: Json): void {
  switch (key) {
    case 'name':
    case 'first_name':
    case 'last_name':
    case 'email':
      c[key] = typeof value === 'string' ? value : null
      return
    default:
      c.extra[key] = value
  }
}

function isBlank(v: Json): boolean {
  return typeof v !== 'string' || v.trim() === ''
}

/**
 * Applies a `data` object to a new (`existing` null) or stored contact and returns the result;
 * every problem is collected into one 422 (Sell returns several errors at once [Sell-err]).
 */
function writeContact(
  account: Account,
  existing: SellContactRecord | null,
  input: JsonObject,
): SellContactRecord {
  const errors: SellErrorItem[] = []
  const fail = (field: string, code: string, message: string, details: string): void => {
    errors.push(resourceError('contact', field, code, message, details))
  }
  for (const key of Object.keys(input)) {
    if (!WRITABLE.has(key) && !READ_ONLY.has(key)) {
      fail(key, 'unknown', 'is an unknown attribute', `"${key}" is not a contact attribute`)
    }
  }

  let isOrganization = existing?.is_organization ?? false
  const givenKind = input.is_organization
  if (givenKind !== undefined) {
    if (typeof givenKind !== 'boolean') {
      fail('is_organization', 'invalid_type', 'is of the wrong type', 'is_organization must be a boolean')
    } else if (existing && givenKind !== existing.is_organization) {
      fail(
        'is_organization',
        'incorrect_value',
        'cannot be changed',
        'is_organization can be set only when the contact is created',
      )
    } else {
      isOrganization = givenKind
    }
  }

  const now = account.nowIso()
  const next: SellContactRecord = existing
    ? {
        ...existing,
        custom_fields: { ...existing.custom_fields },
        tags: [...existing.tags],
        extra: { ...existing.extra },
      }
    : {
        id: 0,
        creator_id: SELL_USER_ID,
        is_organization: isOrganization,
        name: null,
        first_name: null,
        last_name: null,
        email: null,
        custom_fields: {},
        tags: [],
        extra: { owner_id: SELL_USER_ID, customer_status: 'none', prospect_status: 'none' },
        created_at: now,
        updated_at: now,
      }

  for (const key of TEXT_FIELDS) {
    const v = input[key]
    if (v === undefined) {
      continue
    }
    if (v !== null && typeof v !== 'string') {
      fail(key, 'invalid_type', 'is of the wrong type', `${key} must be a string`)
    } else if (v !== null && STATUSES[key] && !STATUSES[key].includes(v)) {
      fail(
        key,
        'incorrect_value',
        'is not included in the list',
        `${key} must be one of ${STATUSES[key].join(', ')}`,
      )
    } else {
      setAttr(next, key, v)
    }
  }
  for (const key of ID_FIELDS) {
    const v = input[key]
    if (v === undefined) {
      continue
    }
    if (v !== null && !(typeof v === 'number' && Number.isInteger(v) && v > 0)) {
      fail(key, 'invalid_type', 'is of the wrong type', `${key} must be a positive integer or null`)
    } else {
      setAttr(next, key, v)
    }
  }
  const orgId = next.extra.contact_id ?? null
  if (isOrganization) {
    // "The field will be set only if the contact is an individual" [basecrm-ruby].
    next.extra.contact_id = null
  } else if (input.contact_id !== undefined && orgId !== null) {
    const org = typeof orgId === 'number' ? account.data.sellContacts.get(orgId) : undefined
    if (!org?.is_organization) {
      fail(
        'contact_id',
        'incorrect_value',
        'is invalid',
        `contact_id ${JSON.stringify(orgId)} is not an organization contact`,
      )
    }
  }
  for (const key of ADDRESS_FIELDS) {
    const v = input[key]
    if (v === undefined) {
      continue
    }
    if (v === null) {
      setAttr(next, key, null)
      continue
    }
    if (!isObject(v)) {
      fail(key, 'invalid_type', 'is of the wrong type', `${key} must be an object`)
      continue
    }
    const current = next.extra[key]
    const merged: JsonObject = isObject(current) ? { ...current } : {}
    for (const [k, value] of Object.entries(v)) {
      if (!(ADDRESS_KEYS as readonly string[]).includes(k)) {
        fail(`${key}/${k}`, 'unknown', 'is an unknown attribute', `${key} has ${ADDRESS_KEYS.join(', ')}`)
      } else if (value !== null && typeof value !== 'string') {
        fail(`${key}/${k}`, 'invalid_type', 'is of the wrong type', `${key}.${k} must be a string`)
      } else {
        merged[k] = value
      }
    }
    setAttr(next, key, merged)
  }
  if (input.tags !== undefined) {
    const tags = input.tags
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
      fail('tags', 'invalid_type', 'is of the wrong type', 'tags must be a list of strings')
    } else {
      // Tags replace the whole list [basecrm-ruby]; duplicates collapse.
      next.tags = [...new Set(tags.map((t) => t.trim()).filter((t) => t !== ''))]
    }
  }
  if (input.custom_fields !== undefined && input.custom_fields !== null) {
    next.custom_fields = mergeCustomFields(
      account,
      isOrganization,
      next.custom_fields,
      input.custom_fields,
      fail,
    )
  }

  if (isOrganization) {
    if (isBlank(next.name)) {
      fail('name', 'blank', "can't be blank", 'name is required for an organization contact')
    }
  } else if (isBlank(next.last_name)) {
    fail('last_name', 'blank', "can't be blank", 'last_name is required for an individual contact')
  } else {
    next.name = [next.first_name, next.last_name].filter((s) => s !== null && s.trim() !== '').join(' ')
  }

  if (errors.length > 0) {
    throw new SellError(422, errors)
  }
  if (!existing) {
    next.id = account.nextId()
  }
  next.updated_at = now
  account.data.sellContacts.set(next.id, next)
  return next
}

export function createContact(account: Account, input: JsonObject): SellContactRecord {
  return writeContact(account, null, input)
}

export function updateContact(
  account: Account,
  contact: SellContactRecord,
  input: JsonObject,
): SellContactRecord {
  return writeContact(account, contact, input)
}

export function deleteContact(account: Account, contact: SellContactRecord): void {
  account.data.sellContacts.delete(contact.id)
  if (contact.is_organization) {
    for (const c of account.data.sellContacts.values()) {
      if (c.extra.contact_id === contact.id) {
        c.extra.contact_id = null
      }
    }
  }
}

function presentAddress(v: Json | undefined): JsonObject {
  const a = isObject(v) ? v : {}
  return Object.fromEntries(ADDRESS_KEYS.map((k) => [k, a[k] ?? null]))
}

export function presentContact(c: SellContactRecord): JsonObject {
  const out: JsonObject = {
    id: c.id,
    creator_id: c.creator_id,
    owner_id: attr(c, 'owner_id'),
    is_organization: c.is_organization,
    contact_id: attr(c, 'contact_id'),
    parent_organization_id: attr(c, 'parent_organization_id'),
  }
  for (const key of TEXT_FIELDS) {
    out[key] = attr(c, key)
  }
  for (const key of ADDRESS_FIELDS) {
    out[key] = presentAddress(c.extra[key])
  }
  out.tags = [...c.tags]
  out.custom_fields = { ...c.custom_fields }
  out.created_at = c.created_at
  out.updated_at = c.updated_at
  return out
}

// ---------------------------------------------------------------------------------------------
// Filters, sorting, listing, upsert

type Predicate = (c: SellContactRecord) => boolean

const TEXT_FILTERS = new Set([
  'email',
  'name',
  'first_name',
  'last_name',
  'customer_status',
  'prospect_status',
])
const ID_FILTERS = new Set(['contact_id', 'owner_id', 'creator_id'])
const ADDRESS_FILTER = /^address\[(city|country|postal_code|state)\]$/
const CUSTOM_FIELD_FILTER = /^custom_fields\[(.+)\]$/
const UPSERT_FILTERS = new Set(['email', 'name', 'first_name', 'last_name'])
const PAGING_PARAMS = new Set(['page', 'per_page', 'sort_by'])
const SORTABLE = new Set<string>([...TEXT_FIELDS, ...ID_FIELDS, ...READ_ONLY, 'is_organization'])

function sameText(stored: Json, wanted: string): boolean {
  return typeof stored === 'string' && stored.toLowerCase() === wanted.toLowerCase()
}

function customValueMatches(field: SellCustomFieldRecord, stored: Json | undefined, wanted: string): boolean {
  if (stored === undefined || stored === null) {
    return false
  }
  switch (field.type) {
    case 'bool':
      return typeof stored === 'boolean' && String(stored) === wanted.toLowerCase()
    case 'number':
      return wanted.trim() !== '' && Number(wanted) === stored
    case 'multi_select_list':
      return Array.isArray(stored) && stored.some((v) => sameText(v, wanted))
    default:
      return sameText(stored, wanted)
  }
}

/** One predicate per filter parameter; `null` for a parameter that is not a filter. */
function filterFor(account: Account, key: string, value: string): Predicate | null {
  if (TEXT_FILTERS.has(key)) {
    return (c) => sameText(attr(c, key), value)
  }
  if (ID_FILTERS.has(key)) {
    const id = positiveInt(value)
    if (id === null) {
      throw invalidParam(`${key} must be a positive integer`)
    }
    return (c) => attr(c, key) === id
  }
  if (key === 'is_organization') {
    if (value !== 'true' && value !== 'false') {
      throw invalidParam('is_organization must be true or false')
    }
    return (c) => c.is_organization === (value === 'true')
  }
  if (key === 'ids') {
    const ids = value.split(',').map((s) => positiveInt(s.trim()))
    if (ids.some((id) => id === null)) {
      throw invalidParam('ids must be a comma-separated list of contact ids')
    }
    return (c) => ids.includes(c.id)
  }
  const address = ADDRESS_FILTER.exec(key)
  if (address) {
    const part = address[1] ?? ''
    return (c) => sameText(presentAddress(c.extra.address)[part] ?? null, value)
  }
  const custom = CUSTOM_FIELD_FILTER.exec(key)
  if (custom) {
    const field = contactCustomField(account, custom[1] ?? '')
    if (!field) {
      throw invalidParam(`custom_fields[${custom[1] ?? ''}]: no contact custom field has this name`)
    }
    return (c) => customValueMatches(field, c.custom_fields[field.name], value)
  }
  return null
}

function sortContacts(account: Account, contacts: SellContactRecord[], sortBy: string | undefined): void {
  const spec = sortBy ?? 'last_name:asc'
  let key: (c: SellContactRecord) => Json
  let direction: string
  const custom = /^custom_fields:(.+?)(?::(asc|desc))?$/.exec(spec)
  if (custom) {
    const field = contactCustomField(account, custom[1] ?? '')
    if (!field) {
      throw invalidParam(`sort_by: no contact custom field is named "${custom[1] ?? ''}"`)
    }
    key = (c) => c.custom_fields[field.name] ?? null
    direction = custom[2] ?? 'asc'
  } else {
    const m = /^([a-z_]+)(?::(asc|desc))?$/.exec(spec)
    const name = m?.[1] ?? ''
    if (!m || !SORTABLE.has(name)) {
      throw invalidParam(`sort_by must be <attribute>[:asc|:desc], got "${spec}"`)
    }
    key = (c) => attr(c, name)
    direction = m[2] ?? 'asc'
  }
  const sign = direction === 'desc' ? -1 : 1
  contacts.sort((a, b) => {
    const x = key(a)
    const y = key(b)
    let order: number
    if (x === null || y === null) {
      // Empty values sort last ascending, first descending.
      order = x === y ? 0 : x === null ? 1 : -1
    } else if (typeof x === 'number' && typeof y === 'number') {
      order = x - y
    } else {
      const xs = (typeof x === 'string' ? x : JSON.stringify(x)).toLowerCase()
      const ys = (typeof y === 'string' ? y : JSON.stringify(y)).toLowerCase()
      order = xs < ys ? -1 : xs > ys ? 1 : 0
    }
    return order !== 0 ? order * sign : a.id - b.id
  })
}

/** `GET /v2/contacts`: filters (all must match), sorting, one page. */
export function listContacts(account: Account, q: Record<string, string>): JsonObject {
  const page = parsePage(q)
  const predicates: Predicate[] = []
  for (const [key, value] of Object.entries(q)) {
    if (!PAGING_PARAMS.has(key)) {
      const p = filterFor(account, key, value)
      if (p) {
        predicates.push(p)
      }
    }
  }
  const matches = [...account.data.sellContacts.values()].filter((c) => predicates.every((p) => p(c)))
  sortContacts(account, matches, q.sort_by)
  return collection(account, '/v2/contacts', q, 'contact', matches.map(presentContact), page)
}

/**
 * `POST /v2/contacts/upsert?<filters>`: creates the contact, or updates the one contact that
 * matches every filter.
 */
export function upsertContact(
  account: Account,
  q: Record<string, string>,
  input: JsonObject,
): SellContactRecord {
  const predicates: Predicate[] = []
  for (const [key, value] of Object.entries(q)) {
    const allowed = UPSERT_FILTERS.has(key) || CUSTOM_FIELD_FILTER.test(key)
    const p = allowed ? filterFor(account, key, value) : null
    if (!p) {
      throw invalidParam(
        `"${key}" is not an upsert filter; use email, name, first_name, last_name or custom_fields[<name>]`,
      )
    }
    predicates.push(p)
  }
  if (predicates.length === 0) {
    throw invalidParam('at least one filter query parameter is required, e.g. ?email=…')
  }
  const matches = [...account.data.sellContacts.values()].filter((c) => predicates.every((p) => p(c)))
  if (matches.length > 1) {
    throw new SellError(409, [
      {
        code: 'conflict',
        message: 'Conflict',
        details: `${matches.length} contacts match the filters; an upsert needs filters that match at most one`,
      },
    ])
  }
  const [match] = matches
  return match ? updateContact(account, match, input) : createContact(account, input)
}
