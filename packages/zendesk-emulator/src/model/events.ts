/**
 * Events and Profiles API, "Sunshine" user events (facts §9; not in the OpenAPI document).
 *
 * Tracking an event (`POST user_profiles/events`):
 *
 *   validate → find the profile by (source, type, any identifier)
 *            ├─ found: merge new identifiers, name and attributes into it; its user is kept
 *            └─ none:  match a Zendesk user by a standard identifier (email, external_id,
 *                      phone_number, twitter, facebook, sdk), else create an end user named
 *                      profile.name, else the email, else "User <external_id>" [D-profiles]
 *          → link: email / phone / twitter / facebook / sdk identifiers become user identities
 *            (when no other user holds them); an external_id identifier is written to the
 *            user's `external_id` when the user has none [D-creating-profiles]
 *          → store the event (created_at defaults to the receipt time) → 202
 *
 * Validation errors use the newer `{"errors":[{code, id, title, detail}]}` shape with 400; the
 * codes and texts are the emulator's own (Zendesk documents the shape, not the list of codes).
 * `email` and `twitter` identifier values are lower-cased [D-anatomy].
 */
import type { Account, Json, JsonObject, ProfileRecord, UserEventRecord, UserRecord } from '../account.js'
import { ApiError } from '../errors.js'
import { addIdentity, createUser, findUser, findUserByEmail, findUserByExternalId } from './users.js'

/** Identifier types Zendesk links to the user [D-profiles]. */
export const STANDARD_IDENTIFIER_TYPES = [
  'email',
  'phone_number',
  'twitter',
  'facebook',
  'sdk',
  'external_id',
]
/** The types that become user identities (external_id goes to `user.external_id` instead). */
const IDENTITY_TYPES = new Set(['email', 'phone_number', 'twitter', 'facebook', 'sdk'])
/** `source: "zendesk"` is reserved for Zendesk's own events [D-events]. */
const RESERVED_SOURCE = 'zendesk'

export interface Identifier {
  type: string
  value: string
}

export interface TrackInput {
  profile: {
    source: string
    type: string
    name: string | null
    identifiers: Identifier[]
    attributes: JsonObject
  }
  event: {
    source: string
    type: string
    description: string | null
    created_at: string | null
    properties: JsonObject
  }
}

export interface EventsApiProblem {
  code: string
  title: string
  detail: string
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function uuid(account: Account): string {
  const h = account.randomHex(32)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** A ULID-like id (26 characters, time-ordered), the form Zendesk's profile ids take. */
function ulid(account: Account): string {
  let time = account.now()
  let out = ''
  for (let i = 0; i < 10; i++) {
    out = (CROCKFORD[time % 32] ?? '0') + out
    time = Math.floor(time / 32)
  }
  for (let i = 0; i < 16; i++) {
    out += CROCKFORD[Math.floor(account.nextRandom() * 32)] ?? '0'
  }
  return out
}

/** An Events API error answer: `{"errors":[{code, id, title, detail}]}`. */
export function eventsError(account: Account, status: number, problems: EventsApiProblem[]): ApiError {
  return new ApiError(status, {
    errors: problems.map((p) => ({ code: p.code, id: uuid(account), title: p.title, detail: p.detail })),
  })
}

function normalizeIdentifier(type: string, value: string): Identifier {
  return { type, value: type === 'email' || type === 'twitter' ? value.trim().toLowerCase() : value }
}

/**
 * Reads `{profile, event}`; every problem is reported at once as a 400. `needsProfile` is false
 * for tracking against an existing profile by id, where only the event is given.
 */
export function parseTrackBody(account: Account, body: unknown, needsProfile = true): TrackInput {
  const problems: EventsApiProblem[] = []
  const missing = (path: string): void => {
    problems.push({ code: 'MissingField', title: 'Missing required field', detail: `${path} is required` })
  }
  const invalid = (path: string, why: string): void => {
    problems.push({ code: 'InvalidField', title: 'Invalid field', detail: `${path} ${why}` })
  }
  const text = (obj: JsonObject, key: string, path: string): string => {
    const v = obj[key]
    if (v === undefined || v === null || v === '') {
      missing(path)
      return ''
    }
    if (typeof v !== 'string') {
      invalid(path, 'must be a string')
      return ''
    }
    return v
  }
  const root: JsonObject = isObject(body as Json) ? (body as JsonObject) : {}

  const profile: TrackInput['profile'] = { source: '', type: '', name: null, identifiers: [], attributes: {} }
  const rawProfile = root.profile
  if (!isObject(rawProfile)) {
    if (needsProfile) {
      missing('profile')
    }
  } else {
    profile.source = text(rawProfile, 'source', 'profile.source')
    profile.type = text(rawProfile, 'type', 'profile.type')
    if (typeof rawProfile.name === 'string' && rawProfile.name.trim() !== '') {
      profile.name = rawProfile.name.trim()
    }
    if (rawProfile.attributes !== undefined && rawProfile.attributes !== null) {
      if (isObject(rawProfile.attributes)) {
        profile.attributes = rawProfile.attributes
      } else {
        invalid('profile.attributes', 'must be an object')
      }
    }
    const ids = rawProfile.identifiers
    if (!Array.isArray(ids) || ids.length === 0) {
      if (ids === undefined || ids === null || (Array.isArray(ids) && ids.length === 0)) {
        missing('profile.identifiers')
      } else {
        invalid('profile.identifiers', 'must be an array of {type, value} objects')
      }
    } else {
      ids.forEach((raw, i) => {
        const type = isObject(raw) && typeof raw.type === 'string' ? raw.type.trim() : ''
        const value =
          isObject(raw) && (typeof raw.value === 'string' || typeof raw.value === 'number')
            ? String(raw.value).trim()
            : ''
        if (type === '' || value === '') {
          invalid(`profile.identifiers[${i}]`, 'must have a non-empty type and value')
          return
        }
        const id = normalizeIdentifier(type, value)
        if (!profile.identifiers.some((x) => x.type === id.type && x.value === id.value)) {
          profile.identifiers.push(id)
        }
      })
    }
  }

  const event: TrackInput['event'] = {
    source: '',
    type: '',
    description: null,
    created_at: null,
    properties: {},
  }
  const rawEvent = root.event
  if (!isObject(rawEvent)) {
    missing('event')
  } else {
    event.source = text(rawEvent, 'source', 'event.source')
    event.type = text(rawEvent, 'type', 'event.type')
    if (event.source.toLowerCase() === RESERVED_SOURCE) {
      problems.push({
        code: 'ReservedSource',
        title: 'Reserved source',
        detail: "event.source 'zendesk' is reserved for Zendesk standard events",
      })
    }
    if (typeof rawEvent.description === 'string') {
      event.description = rawEvent.description
    }
    const props = rawEvent.properties
    if (props === undefined || props === null) {
      missing('event.properties')
    } else if (!isObject(props)) {
      invalid('event.properties', 'must be a JSON object')
    } else {
      event.properties = props
    }
    const created = rawEvent.created_at
    if (created !== undefined && created !== null) {
      if (typeof created !== 'string' || Number.isNaN(Date.parse(created))) {
        invalid('event.created_at', 'must be an ISO 8601 date-time')
      } else {
        event.created_at = created
      }
    }
  }
  if (problems.length > 0) {
    throw eventsError(account, 400, problems)
  }
  return { profile, event }
}

function findProfile(
  account: Account,
  source: string,
  type: string,
  ids: Identifier[],
): ProfileRecord | null {
  for (const p of account.data.profiles.values()) {
    if (
      p.source === source &&
      p.type === type &&
      p.identifiers.some((a) => ids.some((b) => a.type === b.type && a.value === b.value))
    ) {
      return p
    }
  }
  return null
}

/** The user holding an identity of this type and value, if any. */
function userByIdentity(account: Account, type: string, value: string): UserRecord | null {
  for (const i of account.data.identities.withValue(type, value)) {
    return findUser(account, i.user_id)
  }
  return null
}

/** The Zendesk user a standard identifier points at, trying identifiers in the order given. */
function matchUser(account: Account, ids: Identifier[]): UserRecord | null {
  for (const id of ids) {
    const user =
      id.type === 'email'
        ? findUserByEmail(account, id.value)
        : id.type === 'external_id'
          ? findUserByExternalId(account, id.value)
          : IDENTITY_TYPES.has(id.type)
            ? userByIdentity(account, id.type, id.value)
            : null
    if (user) {
      return user
    }
  }
  return null
}

/** Name of a user created for a profile: its name, else the email, else "User <external_id>", … */
function fallbackName(profile: TrackInput['profile']): string {
  if (profile.name !== null) {
    return profile.name
  }
  const of = (type: string): string | undefined => profile.identifiers.find((i) => i.type === type)?.value
  const email = of('email')
  if (email !== undefined) {
    return email
  }
  const external = of('external_id')
  if (external !== undefined) {
    return `User ${external}`
  }
  const other = of('phone_number') ?? profile.identifiers[0]?.value
  return other !== undefined ? `User ${other}` : 'Anonymous user'
}

/** Copies standard identifiers onto the user, never taking one another user already holds. */
function linkIdentifiers(account: Account, user: UserRecord, ids: Identifier[]): void {
  let changed = false
  for (const id of ids) {
    if (id.type === 'external_id') {
      if (user.external_id === null && findUserByExternalId(account, id.value) === null) {
        account.data.users.setExternalId(user, id.value)
        changed = true
      }
      continue
    }
    if (!IDENTITY_TYPES.has(id.type)) {
      continue
    }
    const holder =
      id.type === 'email' ? findUserByEmail(account, id.value) : userByIdentity(account, id.type, id.value)
    if (holder) {
      continue
    }
    try {
      addIdentity(account, user.id, id.type, id.value, false)
      changed = true
    } catch (err) {
      // A malformed email stays on the profile only; the event itself is still accepted (unverified).
      if (!(err instanceof ApiError)) {
        throw err
      }
    }
  }
  if (changed) {
    user.updated_at = account.nowIso()
  }
}

function upsertProfile(account: Account, input: TrackInput['profile'], userId: number): ProfileRecord {
  const now = account.nowIso()
  const existing = findProfile(account, input.source, input.type, input.identifiers)
  if (existing) {
    for (const id of input.identifiers) {
      if (!existing.identifiers.some((x) => x.type === id.type && x.value === id.value)) {
        existing.identifiers.push(id)
      }
    }
    if (input.name !== null) {
      existing.name = input.name
    }
    existing.attributes = { ...existing.attributes, ...input.attributes }
    existing.user_id = userId
    existing.updated_at = now
    return existing
  }
  const profile: ProfileRecord = {
    id: ulid(account),
    user_id: userId,
    source: input.source,
    type: input.type,
    name: input.name,
    identifiers: [...input.identifiers],
    attributes: input.attributes,
    created_at: now,
    updated_at: now,
  }
  account.data.profiles.set(profile.id, profile)
  return profile
}

function storeEvent(account: Account, profile: ProfileRecord, input: TrackInput['event']): UserEventRecord {
  const now = account.nowIso()
  const event: UserEventRecord = {
    id: ulid(account),
    profile_id: profile.id,
    user_id: profile.user_id,
    source: input.source,
    type: input.type,
    description: input.description,
    properties: input.properties,
    created_at: input.created_at ?? now,
    received_at: now,
  }
  account.data.userEvents.push(event)
  return event
}

/**
 * Tracks an event: upserts the profile, links (or creates) the Zendesk user, stores the event.
 * `user` forces the Zendesk user (`POST users/{id}/events`).
 */
export function trackEvent(
  account: Account,
  input: TrackInput,
  user: UserRecord | null = null,
): { profile: ProfileRecord; event: UserEventRecord } {
  const existing = findProfile(account, input.profile.source, input.profile.type, input.profile.identifiers)
  const owner =
    user ??
    (existing ? findUser(account, existing.user_id) : null) ??
    matchUser(account, input.profile.identifiers) ??
    createUser(account, { name: fallbackName(input.profile), role: 'end-user' })
  linkIdentifiers(account, owner, input.profile.identifiers)
  const profile = upsertProfile(account, input.profile, owner.id)
  return { profile, event: storeEvent(account, profile, input.event) }
}

/** Tracks an event against an existing profile (`POST user_profiles/{profile_id}/events`). */
export function trackEventForProfile(
  account: Account,
  profile: ProfileRecord,
  event: TrackInput['event'],
): UserEventRecord {
  return storeEvent(account, profile, event)
}

/** The 202 answer of every tracking endpoint [D-events]. */
export function trackedBody(profile: ProfileRecord): JsonObject {
  return { profile_id: profile.id, status: 'received', user_id: String(profile.user_id) }
}

/** Finds a profile by an identifier query `source:type:identifier_type:value` [D-profiles]. */
export function profileByIdentifierQuery(account: Account, q: string): ProfileRecord | null {
  const parts = q.split(':')
  if (parts.length < 4) {
    return null
  }
  const [source = '', type = '', idType = ''] = parts
  const id = normalizeIdentifier(idType, parts.slice(3).join(':'))
  return findProfile(account, source, type, [id])
}

export interface EventFilter {
  source?: string
  type?: string
  startTime?: number
  endTime?: number
}

/** Events of a user or a profile, newest first (the order is unverified), filtered [D-events]. */
export function listEvents(
  account: Account,
  of: { userId: number } | { profileId: string },
  filter: EventFilter,
): UserEventRecord[] {
  return account.data.userEvents
    .map((e, seq) => ({ e, seq }))
    .filter(({ e }) => ('userId' in of ? e.user_id === of.userId : e.profile_id === of.profileId))
    .filter(({ e }) => filter.source === undefined || e.source === filter.source)
    .filter(({ e }) => filter.type === undefined || e.type === filter.type)
    .filter(({ e }) => filter.startTime === undefined || Date.parse(e.created_at) >= filter.startTime)
    .filter(({ e }) => filter.endTime === undefined || Date.parse(e.created_at) <= filter.endTime)
    .sort((a, b) => Date.parse(b.e.created_at) - Date.parse(a.e.created_at) || b.seq - a.seq)
    .map(({ e }) => e)
}

/** An event as the read endpoints show it [D-events JSON format]. */
export function presentEvent(e: UserEventRecord): JsonObject {
  const out: JsonObject = {
    id: e.id,
    source: e.source,
    type: e.type,
    created_at: e.created_at,
    received_at: e.received_at,
    properties: e.properties,
  }
  if (e.description !== null) {
    out.description = e.description
  }
  return out
}
