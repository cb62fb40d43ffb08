/**
 * The one emulated Zendesk account: every object it holds, in memory, plus id sequences and the
 * clock. Resources keep their rules in `model/<resource>.ts`; this file only holds the data.
 *
 * Stored records use Zendesk's own field names, so that `GET /__emulator/state` reads like the
 * API. Derived fields (`url`, the user's `email` from its primary identity, …) are filled in by
 * the presenters in `model/*`.
 */
import type { EmulatorConfig, SeedAccount } from './options.js'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

/** A string attribute as Zendesk reads it: strings as they are, numbers as text, else null. */
export function str(v: Json | undefined): string | null {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null
}

export interface UserRecord {
  id: number
  name: string
  external_id: string | null
  alias: string | null
  active: boolean
  created_at: string
  updated_at: string
  locale: string
  locale_id: number
  time_zone: string
  iana_time_zone: string
  /** The default organization (the membership with `default: true`). */
  organization_id: number | null
  phone: string | null
  shared_phone_number: boolean | null
  role: 'end-user' | 'agent' | 'admin'
  details: string
  notes: string
  verified: boolean
  suspended: boolean
  tags: string[]
  ticket_restriction: string | null
  user_fields: Record<string, Json>
  /** Other writable attributes that are stored as given (signature, moderator, …). */
  extra: JsonObject
}

export interface IdentityRecord {
  id: number
  user_id: number
  type: string
  /** Emails are stored lower-case. */
  value: string
  verified: boolean
  primary: boolean
  created_at: string
  updated_at: string
}

export interface CustomFieldRecord {
  id: number
  key: string
  type: string
  title: string
  raw_title: string
  description: string
  raw_description: string
  position: number
  active: boolean
  system: boolean
  regexp_for_validation: string | null
  tag: string | null
  custom_field_options: { id: number; name: string; raw_name: string; value: string }[]
  relationship_target_type: string | null
  created_at: string
  updated_at: string
}

export interface OrganizationRecord {
  id: number
  name: string
  external_id: string | null
  details: string | null
  notes: string | null
  domain_names: string[]
  group_id: number | null
  shared_tickets: boolean
  shared_comments: boolean
  tags: string[]
  organization_fields: Record<string, Json>
  created_at: string
  updated_at: string
}

export interface MembershipRecord {
  id: number
  user_id: number
  organization_id: number
  default: boolean
  view_tickets: boolean
  created_at: string
  updated_at: string
}

export interface CommentRecord {
  id: number
  type: 'Comment'
  author_id: number
  body: string
  html_body: string
  plain_body: string
  public: boolean
  created_at: string
}

export interface TicketRecord {
  id: number
  external_id: string | null
  subject: string | null
  raw_subject: string | null
  description: string
  type: string | null
  priority: string | null
  status: string
  requester_id: number
  submitter_id: number
  assignee_id: number | null
  organization_id: number | null
  group_id: number | null
  tags: string[]
  custom_fields: { id: number; value: Json }[]
  comments: CommentRecord[]
  created_at: string
  updated_at: string
}

export type JobStatus = 'queued' | 'working' | 'completed' | 'failed'

export interface JobRecord {
  id: string
  job_type: string
  total: number | null
  progress: number | null
  status: JobStatus
  message: string | null
  results: Json | null
  /** Epoch ms when the job status expires (404 afterwards). */
  expiresAt: number
}

export interface ProfileRecord {
  id: string
  user_id: number
  source: string
  type: string
  name: string | null
  identifiers: { type: string; value: string }[]
  attributes: JsonObject
  created_at: string
  updated_at: string
}

export interface UserEventRecord {
  id: string
  profile_id: string
  user_id: number
  source: string
  type: string
  description: string | null
  properties: JsonObject
  created_at: string
  received_at: string
}

export interface SellContactRecord {
  id: number
  /** The Sell user whose token created the contact (read-only). */
  creator_id: number
  is_organization: boolean
  /** For a person, derived from first and last name on every write (see model/sell.ts). */
  name: string | null
  first_name: string | null
  last_name: string | null
  email: string | null
  custom_fields: Record<string, Json>
  tags: string[]
  /** Other writable Sell contact attributes, stored as given. */
  extra: JsonObject
  created_at: string
  updated_at: string
}

export interface SellCustomFieldRecord {
  id: number
  name: string
  type: string
  resource_type: 'contact' | 'lead' | 'deal' | 'prospect_and_customer'
  choices: { id: number; name: string }[]
  /** Contact fields only: whether the field applies to organizations / to people. */
  for_organisation: boolean
  for_contact: boolean
  created_at: string
  updated_at: string
}

export interface OAuthTokenRecord {
  accessToken: string
  refreshToken: string | null
  clientId: string
  scope: string
  /** Epoch ms. */
  accessExpiresAt: number
  refreshExpiresAt: number | null
  revoked: boolean
}

export interface AuthorizationCodeRecord {
  code: string
  clientId: string
  redirectUri: string
  scope: string
  codeChallenge: string | null
  codeChallengeMethod: string | null
  expiresAt: number
  used: boolean
}

/**
 * Users, indexed by external id (case-insensitive) so that lookups stay constant-time for large
 * accounts. Change a stored user's `external_id` only through `setExternalId`.
 */
export class UserMap extends Map<number, UserRecord> {
  private readonly byExternalId = new Map<string, number>()

  override set(id: number, user: UserRecord): this {
    const old = super.get(id)
    if (old?.external_id != null) {
      this.byExternalId.delete(old.external_id.toLowerCase())
    }
    super.set(id, user)
    if (user.external_id !== null) {
      this.byExternalId.set(user.external_id.toLowerCase(), id)
    }
    return this
  }

  override delete(id: number): boolean {
    const old = super.get(id)
    if (old?.external_id != null && this.byExternalId.get(old.external_id.toLowerCase()) === id) {
      this.byExternalId.delete(old.external_id.toLowerCase())
    }
    return super.delete(id)
  }

  override clear(): void {
    this.byExternalId.clear()
    super.clear()
  }

  setExternalId(user: UserRecord, externalId: string | null): void {
    if (user.external_id !== null && this.byExternalId.get(user.external_id.toLowerCase()) === user.id) {
      this.byExternalId.delete(user.external_id.toLowerCase())
    }
    user.external_id = externalId
    if (externalId !== null && super.get(user.id) === user) {
      this.byExternalId.set(externalId.toLowerCase(), user.id)
    }
  }

  /** The user holding this external id (any case), if stored. */
  byExternal(externalId: string): UserRecord | undefined {
    const id = this.byExternalId.get(externalId.toLowerCase())
    return id === undefined ? undefined : super.get(id)
  }
}

/**
 * Identities, indexed by user and by (type, value). Identity `type` and `value` never change
 * once stored (only `primary` and `verified` do).
 */
export class IdentityMap extends Map<number, IdentityRecord> {
  private readonly byUser = new Map<number, Set<IdentityRecord>>()
  private readonly byValue = new Map<string, Set<IdentityRecord>>()

  override set(id: number, identity: IdentityRecord): this {
    this.delete(id)
    super.set(id, identity)
    add(this.byUser, identity.user_id, identity)
    add(this.byValue, `${identity.type}\u0000${identity.value}`, identity)
    return this
  }

  override delete(id: number): boolean {
    const old = super.get(id)
    if (old) {
      this.byUser.get(old.user_id)?.delete(old)
      this.byValue.get(`${old.type}\u0000${old.value}`)?.delete(old)
    }
    return super.delete(id)
  }

  override clear(): void {
    this.byUser.clear()
    this.byValue.clear()
    super.clear()
  }

  ofUser(userId: number): IdentityRecord[] {
    return [...(this.byUser.get(userId) ?? [])]
  }

  withValue(type: string, value: string): IdentityRecord[] {
    return [...(this.byValue.get(`${type}\u0000${value}`) ?? [])]
  }
}

function add<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  let set = index.get(key)
  if (!set) {
    set = new Set()
    index.set(key, set)
  }
  set.add(value)
}

/** Everything the account holds. A reset replaces it with a fresh seeded one. */
export interface AccountData {
  users: UserMap
  identities: IdentityMap
  userFields: Map<number, CustomFieldRecord>
  organizationFields: Map<number, CustomFieldRecord>
  /** Custom ticket fields (the system ones are constants of model/custom-fields.ts). */
  ticketFields: Map<number, CustomFieldRecord>
  organizations: Map<number, OrganizationRecord>
  memberships: Map<number, MembershipRecord>
  tickets: Map<number, TicketRecord>
  jobs: Map<string, JobRecord>
  profiles: Map<string, ProfileRecord>
  userEvents: UserEventRecord[]
  sellContacts: Map<number, SellContactRecord>
  sellCustomFields: Map<number, SellCustomFieldRecord>
  oauthTokens: Map<string, OAuthTokenRecord>
  authorizationCodes: Map<string, AuthorizationCodeRecord>
}

export function emptyAccountData(): AccountData {
  return {
    users: new UserMap(),
    identities: new IdentityMap(),
    userFields: new Map(),
    organizationFields: new Map(),
    ticketFields: new Map(),
    organizations: new Map(),
    memberships: new Map(),
    tickets: new Map(),
    jobs: new Map(),
    profiles: new Map(),
    userEvents: [],
    sellContacts: new Map(),
    sellCustomFields: new Map(),
    oauthTokens: new Map(),
    authorizationCodes: new Map(),
  }
}

/**
 * The account: data plus what every model function needs (config, seed, clock, ids, base url).
 * Model functions take it as their first argument.
 */
export class Account {
  data: AccountData = emptyAccountData()
  readonly config: EmulatorConfig
  readonly seed: SeedAccount
  /** Base URL of the running emulator (set once it listens), used in `url` fields. */
  baseUrl = 'http://127.0.0.1'
  private sequence = 0
  private random: () => number
  private timers = new Set<NodeJS.Timeout>()
  private isoSecond = Number.NaN
  private isoString = ''

  constructor(config: EmulatorConfig, seed: SeedAccount, randomSeed: number) {
    this.config = config
    this.seed = seed
    this.random = mulberry32(randomSeed)
  }

  /** Empties every resource (sequences keep counting, so ids are never reused). */
  resetData(): void {
    this.data = emptyAccountData()
  }

  /** Wall-clock epoch ms. Rate-limit windows and job delays are scaled separately (`scaled`). */
  now(): number {
    return Date.now()
  }

  nowIso(): string {
    // Zendesk's timestamps have whole seconds; a bulk job stamps hundreds of records within one,
    // so the string is made once per second (it was ~5% of the emulator's CPU in identify-sync).
    const second = Math.floor(this.now() / 1000)
    if (second !== this.isoSecond) {
      this.isoSecond = second
      this.isoString = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
    }
    return this.isoString
  }

  /** Milliseconds of emulated time → real milliseconds, under `timeScale`. */
  scaled(ms: number): number {
    return ms / this.config.timeScale
  }

  /** Next numeric id; one sequence for the account keeps ids unique across resources. */
  nextId(): number {
    this.sequence += 1
    return 360_000_000 + this.sequence
  }

  /** A pseudo-random number in [0, 1), seeded (fault shares, opaque ids). */
  nextRandom(): number {
    return this.random()
  }

  /** An opaque hex id of the given length, e.g. for job ids and tokens. */
  randomHex(length: number): string {
    let out = ''
    while (out.length < length) {
      out += Math.floor(this.random() * 0x1_0000_0000)
        .toString(16)
        .padStart(8, '0')
    }
    return out.slice(0, length)
  }

  /** Runs `fn` after `realMs` real milliseconds (already scaled); cancelled by `cancelTimers`. */
  schedule(realMs: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      fn()
    }, realMs)
    timer.unref()
    this.timers.add(timer)
  }

  cancelTimers(): void {
    for (const t of this.timers) {
      clearTimeout(t)
    }
    this.timers.clear()
  }

  apiUrl(path: string): string {
    return `${this.baseUrl}/api/v2/${path}.json`
  }
}

/** Small seeded PRNG (public-domain mulberry32), so that fault shares are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
