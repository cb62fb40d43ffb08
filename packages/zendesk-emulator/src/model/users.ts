/**
 * Users and identities (facts §2). Rules kept here:
 *
 * - `name` is required on create; a blank one is 422 on `name` ("is too short").
 * - The email is the primary email identity; emails are stored lower-case and unique across
 *   the account (422 DuplicateValue on `email`). `email` is writable on create only: on update it
 *   adds a secondary identity (verified if `verified` is given with it) (facts §2.5).
 * - `external_id` is unique, case-insensitively (422 DuplicateValue on `external_id`).
 * - `organization_id` on create adds the default membership; on update it replaces every
 *   membership (facts §2.2).
 * - Deleting a user is a soft delete (`active: false`); memberships go, identities stay but no
 *   longer count for uniqueness. The user can still be shown by id (unverified) but is no longer
 *   found, listed or updated.
 * - Every check runs before anything is written, including `user_fields` values and the emails of
 *   an `identities` array, so a 422 leaves the account unchanged.
 * - `create_or_update` matching and precedence: see `findUpsertTarget`.
 */
import {
  str,
  type Account,
  type IdentityRecord,
  type Json,
  type JsonObject,
  type UserRecord,
} from '../account.js'
import {
  detailsCollector,
  fieldInvalid,
  recordInvalid,
  recordNotFound,
  type ErrorDetails,
} from '../errors.js'
import { checkCustomFieldValues, mergeCustomFieldValues, presentCustomFieldValues } from './custom-fields.js'
import { addMembership, membershipsOfUser, removeMembership, replaceMemberships } from './memberships.js'

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const ROLES = new Set(['end-user', 'agent', 'admin'])

/** Attributes stored verbatim in `extra` when given (writable, no rules of their own here). */
const EXTRA_KEYS = [
  'signature',
  'moderator',
  'only_private_comments',
  'restricted_agent',
  'default_group_id',
  'custom_role_id',
  'remote_photo_url',
  'shared_agent',
  'chat_only',
] as const

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase()
}

export function findUserByEmail(account: Account, email: string): UserRecord | null {
  for (const identity of account.data.identities.withValue('email', normalizeEmail(email))) {
    const user = account.data.users.get(identity.user_id)
    if (user?.active) {
      return user
    }
  }
  return null
}

export function findUserByExternalId(account: Account, externalId: string): UserRecord | null {
  const user = account.data.users.byExternal(externalId)
  return user?.active ? user : null
}

export function findUser(account: Account, id: number): UserRecord | null {
  const user = account.data.users.get(id)
  return user?.active ? user : null
}

export function requireUser(account: Account, id: number): UserRecord {
  const user = findUser(account, id)
  if (!user) {
    throw recordNotFound()
  }
  return user
}

export function identitiesOf(account: Account, userId: number): IdentityRecord[] {
  return account.data.identities
    .ofUser(userId)
    .sort((a, b) => Number(b.primary) - Number(a.primary) || a.id - b.id)
}

export function primaryEmail(account: Account, userId: number): string | null {
  return identitiesOf(account, userId).find((i) => i.type === 'email' && i.primary)?.value ?? null
}

/** Adds an identity; the first email identity of a user becomes primary. */
export function addIdentity(
  account: Account,
  userId: number,
  type: string,
  rawValue: string,
  verified: boolean,
): IdentityRecord {
  const value = type === 'email' || type === 'twitter' ? normalizeEmail(rawValue) : rawValue
  if (type === 'email') {
    if (!EMAIL.test(value)) {
      throw fieldInvalid('email', 'InvalidValue', `Email: ${value} is not properly formatted`)
    }
    const owner = findUserByEmail(account, value)
    if (owner && owner.id !== userId) {
      throw fieldInvalid('email', 'DuplicateValue', `Email: ${value} is already being used by another user`)
    }
    const same = identitiesOf(account, userId).find((i) => i.type === 'email' && i.value === value)
    if (same) {
      return same
    }
  }
  const now = account.nowIso()
  const identity: IdentityRecord = {
    id: account.nextId(),
    user_id: userId,
    type,
    value,
    verified,
    primary: !identitiesOf(account, userId).some((i) => i.type === type && i.primary),
    created_at: now,
    updated_at: now,
  }
  account.data.identities.set(identity.id, identity)
  return identity
}

/** Identity types `POST users/{id}/identities` accepts [OAS `CreateUserIdentity`]. */
export const CREATABLE_IDENTITY_TYPES = [
  'email',
  'twitter',
  'facebook',
  'google',
  'agent_forwarding',
  'phone_number',
] as const

/**
 * `POST users/{id}/identities` with `{identity: {type, value, verified?, primary?}}`. An email
 * follows the user email rules (format, unique in the account); `primary` is writable on create
 * only [OAS]. Messages for a bad type or a blank value are unverified.
 */
export function createIdentity(account: Account, user: UserRecord, input: JsonObject): IdentityRecord {
  const type = input.type
  if (typeof type !== 'string' || !(CREATABLE_IDENTITY_TYPES as readonly string[]).includes(type)) {
    throw fieldInvalid('type', 'InvalidValue', 'Type: is not included in the list')
  }
  const value = str(input.value)?.trim() ?? ''
  if (value === '') {
    throw fieldInvalid('value', 'BlankValue', 'Value: cannot be blank')
  }
  const identity = addIdentity(account, user.id, type, value, input.verified === true)
  if (input.primary === true) {
    makePrimaryIdentity(account, identity)
  }
  user.updated_at = account.nowIso()
  return identity
}

/** Makes an identity the primary one of its type. */
export function makePrimaryIdentity(account: Account, identity: IdentityRecord): void {
  for (const i of identitiesOf(account, identity.user_id)) {
    if (i.type === identity.type) {
      i.primary = i.id === identity.id
      i.updated_at = account.nowIso()
    }
  }
}

/**
 * `PUT users/{id}/identities/{iid}` with `{identity: {value?, verified?}}`: sets `verified` or
 * changes the value; `primary` cannot be changed here (make_primary does it) and is ignored
 * [OAS `UpdateUserIdentity`]. A new email value follows the email rules (format, unique in the
 * account).
 */
export function updateIdentity(
  account: Account,
  identity: IdentityRecord,
  input: JsonObject,
): IdentityRecord {
  let value = identity.value
  if (input.value !== undefined) {
    const raw = str(input.value)?.trim() ?? ''
    if (raw === '') {
      throw fieldInvalid('value', 'BlankValue', 'Value: cannot be blank')
    }
    value = identity.type === 'email' || identity.type === 'twitter' ? normalizeEmail(raw) : raw
    if (identity.type === 'email' && value !== identity.value) {
      if (!EMAIL.test(value)) {
        throw fieldInvalid('email', 'InvalidValue', `Email: ${value} is not properly formatted`)
      }
      const owner = findUserByEmail(account, value)
      if (owner) {
        throw fieldInvalid('email', 'DuplicateValue', `Email: ${value} is already being used by another user`)
      }
    }
  }
  const updated: IdentityRecord = {
    ...identity,
    value,
    verified: typeof input.verified === 'boolean' ? input.verified : identity.verified,
    updated_at: account.nowIso(),
  }
  // The map indexes identities by value: store a new record rather than change the old one.
  account.data.identities.set(updated.id, updated)
  return updated
}

/**
 * `DELETE users/{id}/identities/{iid}` (204). When the primary identity of its type goes, the
 * oldest remaining one of that type becomes primary (unverified: the docs do not say).
 */
export function deleteIdentity(account: Account, identity: IdentityRecord): void {
  account.data.identities.delete(identity.id)
  if (identity.primary) {
    const next = identitiesOf(account, identity.user_id).find((i) => i.type === identity.type)
    if (next) {
      makePrimaryIdentity(account, next)
    }
  }
}

/** Checks the attributes that have uniqueness or format rules; collects every problem. */
function validate(account: Account, input: JsonObject, self: UserRecord | null): ErrorDetails {
  const { details, add } = detailsCollector()
  if (self === null || input.name !== undefined) {
    const name = str(input.name)?.trim() ?? ''
    if (name === '') {
      add('name', 'BlankValue', 'Name:  is too short (minimum one character)')
    }
  }
  if (input.email !== undefined && input.email !== null) {
    const email = typeof input.email === 'string' ? normalizeEmail(input.email) : ''
    if (!EMAIL.test(email)) {
      add('email', 'InvalidValue', `Email: ${email} is not properly formatted`)
    } else {
      const owner = findUserByEmail(account, email)
      if (owner && owner.id !== self?.id) {
        add('email', 'DuplicateValue', `Email: ${email} is already being used by another user`)
      }
    }
  }
  if (input.external_id !== undefined && input.external_id !== null) {
    const ext = str(input.external_id)
    if (ext === null) {
      add('external_id', 'InvalidValue', 'External ID: is invalid')
    } else {
      const owner = findUserByExternalId(account, ext)
      if (owner && owner.id !== self?.id) {
        add('external_id', 'DuplicateValue', `External ID: ${ext} has already been taken`)
      }
    }
  }
  if (input.role !== undefined && (typeof input.role !== 'string' || !ROLES.has(input.role))) {
    add('role', 'InvalidValue', 'Role: is not included in the list')
  }
  if (input.organization_id !== undefined && input.organization_id !== null) {
    if (typeof input.organization_id !== 'number' || !account.data.organizations.has(input.organization_id)) {
      add('organization_id', 'InvalidValue', 'Organization: is invalid')
    }
  }
  // `identities` is read on create only; its emails follow the same rules as `email`.
  if (self === null && Array.isArray(input.identities)) {
    for (const raw of input.identities) {
      if (isJsonObject(raw) && raw.type === 'email' && typeof raw.value === 'string') {
        const email = normalizeEmail(raw.value)
        if (!EMAIL.test(email)) {
          add('email', 'InvalidValue', `Email: ${email} is not properly formatted`)
        } else if (findUserByEmail(account, email)) {
          add('email', 'DuplicateValue', `Email: ${email} is already being used by another user`)
        }
      }
    }
  }
  // Checked here, before anything is written, so that a bad value leaves the user unchanged.
  const fields = checkCustomFieldValues(account, 'user', self?.user_fields ?? {}, input.user_fields)
  if (fields.errors.length > 0) {
    details.user_fields = fields.errors
  }
  return details
}

function isJsonObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Copies the simple writable attributes from a request onto a record. */
function assign(account: Account, user: UserRecord, input: JsonObject): void {
  if (typeof input.name === 'string' && input.name.trim() !== '') {
    user.name = input.name.trim()
  }
  if (input.external_id !== undefined) {
    account.data.users.setExternalId(user, str(input.external_id))
  }
  for (const key of ['alias', 'details', 'notes', 'locale', 'time_zone'] as const) {
    const v = input[key]
    if (typeof v === 'string') {
      user[key] = v
    }
  }
  if (typeof input.time_zone === 'string') {
    user.iana_time_zone = input.time_zone
  }
  if (input.phone !== undefined) {
    user.phone = str(input.phone)
  }
  if (typeof input.role === 'string' && ROLES.has(input.role)) {
    user.role = input.role as UserRecord['role']
  }
  if (typeof input.suspended === 'boolean') {
    user.suspended = input.suspended
  }
  if (typeof input.shared_phone_number === 'boolean') {
    user.shared_phone_number = input.shared_phone_number
  }
  if (typeof input.ticket_restriction === 'string' || input.ticket_restriction === null) {
    user.ticket_restriction = input.ticket_restriction ?? null
  }
  if (Array.isArray(input.tags)) {
    user.tags = normalizeTags(input.tags)
  }
  for (const key of EXTRA_KEYS) {
    const v = input[key]
    if (v !== undefined) {
      user.extra[key] = v
    }
  }
  user.user_fields = mergeCustomFieldValues(account, 'user', user.user_fields, input.user_fields)
}

export function normalizeTags(tags: Json[]): string[] {
  const out: string[] = []
  for (const t of tags) {
    if (typeof t === 'string' || typeof t === 'number') {
      for (const part of String(t).toLowerCase().split(/\s+/)) {
        if (part && !out.includes(part)) {
          out.push(part)
        }
      }
    }
  }
  return out
}

/** Creates a user from a `{user: …}` body; throws 422 RecordInvalid listing every problem. */
export function createUser(account: Account, input: JsonObject): UserRecord {
  const details = validate(account, input, null)
  if (Object.keys(details).length > 0) {
    throw recordInvalid(details)
  }
  const now = account.nowIso()
  const email = typeof input.email === 'string' ? normalizeEmail(input.email) : null
  const user: UserRecord = {
    id: account.nextId(),
    name: '',
    external_id: null,
    alias: null,
    active: true,
    created_at: now,
    updated_at: now,
    locale: 'en-US',
    locale_id: 1,
    time_zone: 'Eastern Time (US & Canada)',
    iana_time_zone: 'America/New_York',
    organization_id: null,
    phone: null,
    shared_phone_number: null,
    role: 'end-user',
    details: '',
    notes: '',
    // skip_verify_email only suppresses the verification email; it does not verify (facts §2.5).
    verified: input.verified === true,
    suspended: false,
    tags: [],
    ticket_restriction: 'requested',
    user_fields: {},
    extra: {},
  }
  // Validate field values before the record exists, so a 422 leaves no half-created user.
  assign(account, user, input)
  // "If role is end-user but custom_role_id is set, the role becomes agent" [D-users].
  if (input.role === undefined && typeof input.custom_role_id === 'number') {
    user.role = 'agent'
  }
  if (user.role !== 'end-user') {
    user.ticket_restriction = null
  }
  account.data.users.set(user.id, user)
  if (email) {
    addIdentity(account, user.id, 'email', email, user.verified)
  }
  if (Array.isArray(input.identities)) {
    for (const raw of input.identities) {
      if (raw && typeof raw === 'object' && !Array.isArray(raw) && typeof raw.type === 'string') {
        const value = str(raw.value)
        if (value !== null) {
          addIdentity(account, user.id, raw.type, value, raw.verified === true)
        }
      }
    }
  }
  if (typeof input.organization_id === 'number') {
    addMembership(account, user.id, input.organization_id)
  }
  return user
}

/**
 * Updates a user from a `{user: …}` body. `email` adds a secondary identity; `organization_id`
 * replaces the memberships.
 */
export function updateUser(account: Account, user: UserRecord, input: JsonObject): UserRecord {
  const details = validate(account, input, user)
  if (Object.keys(details).length > 0) {
    throw recordInvalid(details)
  }
  assign(account, user, input)
  if (typeof input.email === 'string') {
    const email = normalizeEmail(input.email)
    const has = identitiesOf(account, user.id).some((i) => i.type === 'email' && i.value === email)
    if (!has) {
      addIdentity(account, user.id, 'email', email, input.verified === true)
    }
  } else if (typeof input.verified === 'boolean') {
    const primary = identitiesOf(account, user.id).find((i) => i.type === 'email' && i.primary)
    if (primary) {
      primary.verified = input.verified
    }
    user.verified = input.verified
  }
  if (input.organization_id !== undefined) {
    replaceMemberships(
      account,
      user.id,
      typeof input.organization_id === 'number' ? input.organization_id : null,
    )
  }
  user.updated_at = account.nowIso()
  return user
}

/**
 * `users/create_or_update` picks the user to update "by e-mail address or external ID" [D-users].
 * When both are given and point at different users, `createOrUpdatePrecedence` decides which one
 * is updated (external_id first by default, facts §2.5, unverified); the other attribute then
 * belongs to somebody else and the update is a 422 DuplicateValue on it.
 */
export function findUpsertTarget(account: Account, input: JsonObject): UserRecord | null {
  const ext = input.external_id !== undefined ? str(input.external_id) : null
  const byExternalId = ext !== null ? findUserByExternalId(account, ext) : null
  const byEmail = typeof input.email === 'string' ? findUserByEmail(account, input.email) : null
  return account.config.createOrUpdatePrecedence === 'external_id'
    ? (byExternalId ?? byEmail)
    : (byEmail ?? byExternalId)
}

/**
 * Creates the user, or updates the one `findUpsertTarget` picks. On an update the stored
 * `external_id` takes the request's casing [D-users], and a new `email` becomes a secondary
 * identity (facts §2.5).
 */
export function createOrUpdateUser(
  account: Account,
  input: JsonObject,
): { user: UserRecord; created: boolean } {
  const target = findUpsertTarget(account, input)
  if (!target) {
    return { user: createUser(account, input), created: true }
  }
  return { user: updateUser(account, target, input), created: false }
}

/** A user by id, including soft-deleted ones (`active: false`), for `GET users/{id}` (unverified). */
export function findUserIncludingDeleted(account: Account, id: number): UserRecord | null {
  return account.data.users.get(id) ?? null
}

/** Active users, oldest first. */
export function activeUsers(account: Account): UserRecord[] {
  return [...account.data.users.values()].filter((u) => u.active).sort((a, b) => a.id - b.id)
}

/**
 * Soft delete: the user becomes inactive and loses its memberships. Its identities stay on the
 * record, so the answer still shows the email (the document's soft-deleted user example keeps it
 * [OAS `DeletedUserResponseExample`]), but they no longer count: the email and external id are
 * free for a new user, as a soft-deleted user who writes in again gets a new profile (secondary
 * source, unverified for the API).
 */
export function deleteUser(account: Account, user: UserRecord): void {
  for (const m of membershipsOfUser(account, user.id)) {
    removeMembership(account, m.id)
  }
  user.active = false
  user.updated_at = account.nowIso()
}

/** The user as the API shows it to an admin. */
export function presentUser(account: Account, user: UserRecord): JsonObject {
  const phone = identitiesOf(account, user.id).find((i) => i.type === 'phone_number' && i.primary)
  return {
    id: user.id,
    url: account.apiUrl(`users/${user.id}`),
    name: user.name,
    email: primaryEmail(account, user.id),
    created_at: user.created_at,
    updated_at: user.updated_at,
    time_zone: user.time_zone,
    iana_time_zone: user.iana_time_zone,
    phone: user.phone ?? phone?.value ?? null,
    shared_phone_number: user.shared_phone_number,
    photo: null,
    locale_id: user.locale_id,
    locale: user.locale,
    organization_id: user.organization_id,
    role: user.role,
    verified: user.verified,
    external_id: user.external_id,
    tags: user.tags,
    alias: user.alias,
    active: user.active,
    shared: false,
    shared_agent: (user.extra.shared_agent as boolean | undefined) ?? false,
    last_login_at: null,
    two_factor_auth_enabled: null,
    signature: (user.extra.signature as string | undefined) ?? null,
    details: user.details,
    notes: user.notes,
    role_type: null,
    custom_role_id: (user.extra.custom_role_id as number | undefined) ?? null,
    moderator: (user.extra.moderator as boolean | undefined) ?? false,
    ticket_restriction: user.ticket_restriction,
    only_private_comments: (user.extra.only_private_comments as boolean | undefined) ?? false,
    restricted_agent: (user.extra.restricted_agent as boolean | undefined) ?? user.role !== 'admin',
    suspended: user.suspended,
    default_group_id: (user.extra.default_group_id as number | undefined) ?? null,
    report_csv: false,
    chat_only: (user.extra.chat_only as boolean | undefined) ?? false,
    user_fields: presentCustomFieldValues(account, 'user', user.user_fields),
  }
}

export function presentIdentity(account: Account, i: IdentityRecord): JsonObject {
  return {
    url: account.apiUrl(`users/${i.user_id}/identities/${i.id}`),
    id: i.id,
    user_id: i.user_id,
    type: i.type,
    value: i.value,
    verified: i.verified,
    primary: i.primary,
    created_at: i.created_at,
    updated_at: i.updated_at,
    undeliverable_count: 0,
    deliverable_state: 'deliverable',
    // `verified` is deprecated in favour of `verification_method` [OAS `UserIdentityObject`].
    verification_method: i.verified ? 'low' : 'none',
    verified_at: null,
  }
}

/** The seeded account: the admin user. */
export function seedUsers(account: Account): void {
  createUser(account, {
    name: account.seed.adminName,
    email: account.seed.adminEmail,
    role: 'admin',
    verified: true,
  })
}
