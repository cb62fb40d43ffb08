/**
 * The internal audience event (docs/audiences.md): one person's identities, attributes and audience
 * memberships. Two inputs produce it:
 *
 * - `POST /v1/audiences`: profile exports in the shape AEP's streaming HTTP destinations send
 *   (`identityMap`, XDM attributes, `segmentMembership.ups`), parsed by `parseAudienceProfile`;
 * - the event stream: a track named "Audience Entered" / "Audience Exited" with an audience key,
 *   or an identify whose trait `<audience_key>` is true or false (Segment Engage style), turned
 *   into the same event by `audienceEventFromStream` at delivery, with the names the activation
 *   configures.
 *
 * It is queued as a job payload of `type: 'audience'`, a type SDKs cannot send (spec/events.ts
 * accepts only the Segment call types), so only activations take it.
 */
import type { SpecEvent } from './events.js'
import type { Reason } from './events.js'

export const AUDIENCE_EVENT = 'audience' as const
export const AUDIENCE_STATUSES = ['realized', 'existing', 'exited'] as const
export type AudienceStatus = (typeof AUDIENCE_STATUSES)[number]

export interface AudienceMembership {
  status: AudienceStatus
  /** When the profile qualified (or exited), as the sender said; informative. */
  lastQualificationTime?: string
}

export interface AudienceEvent {
  type: typeof AUDIENCE_EVENT
  messageId: string
  receivedAt: string
  timestamp: string
  /** The person's id in the sender's systems (Zendesk `external_id`); null when unknown. */
  userId: string | null
  /** Lower-cased; null when unknown. */
  email: string | null
  /** Nested (XDM-like) attributes; flat dotted keys (`person.name.lastName`) are expanded. */
  attributes: Record<string, unknown>
  /** Memberships by audience id. */
  audiences: Record<string, AudienceMembership>
  /** Where it came from: a profile export, a stream event, or a mirror's computed exit. */
  origin: 'profile' | 'track' | 'identify' | 'mirror'
}

export type AudienceParseResult = { ok: true; event: AudienceEvent } | { ok: false; reasons: Reason[] }

/** identityMap namespaces read as the email (case-insensitive). */
const EMAIL_NAMESPACES = new Set(['email', 'emails', 'email_lc_sha256_plain'])
/** identityMap namespaces read as the person's id / Zendesk external_id (case-insensitive). */
const USER_ID_NAMESPACES = new Set(['userid', 'user_id', 'crmid', 'externalid', 'external_id'])
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const MAX_AUDIENCES = 1000

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** `{"person.name.lastName": "Lee"}` → `{person: {name: {lastName: "Lee"}}}`; nested keys are kept. */
export function expandAttributes(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const put = (path: string[], value: unknown): void => {
    let cur = out
    for (const [i, key] of path.entries()) {
      if (i === path.length - 1) {
        cur[key] = isObject(value) && isObject(cur[key]) ? { ...cur[key], ...value } : value
        return
      }
      const next = cur[key]
      if (!isObject(next)) {
        cur[key] = {}
      }
      cur = cur[key] as Record<string, unknown>
    }
  }
  // Nested values first, then dotted keys, so that a dotted key refines a nested object.
  const entries = Object.entries(input).sort(([a], [b]) => Number(a.includes('.')) - Number(b.includes('.')))
  for (const [key, value] of entries) {
    put(
      key.split('.').filter((k) => k !== ''),
      isObject(value) ? expandAttributes(value) : value,
    )
  }
  return out
}

function firstIdentity(identityMap: Record<string, unknown>, namespaces: Set<string>): unknown {
  for (const [ns, list] of Object.entries(identityMap)) {
    if (namespaces.has(ns.toLowerCase()) && Array.isArray(list)) {
      const ids = list as unknown[]
      // AEP marks one identity of a namespace primary; else the first one counts.
      const primary = ids.find((i) => isObject(i) && i.primary === true) ?? ids[0]
      if (isObject(primary)) {
        return primary.id
      }
    }
  }
  return undefined
}

export interface ProfileContext {
  receivedAt: string
  newMessageId: () => string
}

/**
 * Validates one AEP profile export and turns it into an audience event. Every problem is named
 * with its path, e.g. `segmentMembership.ups.seg1.status: must be realized, existing or exited`.
 */
export function parseAudienceProfile(raw: unknown, ctx: ProfileContext): AudienceParseResult {
  if (!isObject(raw)) {
    return { ok: false, reasons: [{ path: '', message: 'must be a JSON object' }] }
  }
  const reasons: Reason[] = []
  const { identityMap, segmentMembership, userId: rawUserId, ...rest } = raw
  let email: string | null = null
  let userId: string | null = null
  if (identityMap !== undefined && !isObject(identityMap)) {
    reasons.push({ path: 'identityMap', message: 'must be an object of namespaces' })
  } else if (isObject(identityMap)) {
    const e = firstIdentity(identityMap, EMAIL_NAMESPACES)
    if (e !== undefined) {
      if (typeof e !== 'string' || !EMAIL.test(e.trim())) {
        reasons.push({ path: 'identityMap.Email', message: 'must be an email address' })
      } else {
        email = e.trim().toLowerCase()
      }
    }
    const u = firstIdentity(identityMap, USER_ID_NAMESPACES)
    if (typeof u === 'string' || typeof u === 'number') {
      userId = String(u).trim() || null
    }
  }
  if (typeof rawUserId === 'string' || typeof rawUserId === 'number') {
    userId = String(rawUserId).trim() || userId
  } else if (rawUserId !== undefined && rawUserId !== null) {
    reasons.push({ path: 'userId', message: 'must be a string' })
  }
  if (email === null && userId === null && !reasons.some((r) => r.path.startsWith('identityMap'))) {
    reasons.push({
      path: 'identityMap',
      message: 'needs an Email identity (or a userId / CRMID identity) to find the person in Zendesk',
    })
  }
  const audiences: Record<string, AudienceMembership> = {}
  const ups = isObject(segmentMembership) ? segmentMembership.ups : undefined
  if (!isObject(ups)) {
    reasons.push({
      path: 'segmentMembership.ups',
      message: 'must be an object of audience memberships ({"<audience id>": {"status": …}})',
    })
  } else {
    const ids = Object.keys(ups)
    if (ids.length === 0) {
      reasons.push({ path: 'segmentMembership.ups', message: 'must list at least one audience' })
    } else if (ids.length > MAX_AUDIENCES) {
      reasons.push({ path: 'segmentMembership.ups', message: `must list at most ${MAX_AUDIENCES} audiences` })
    }
    for (const [id, m] of Object.entries(ups)) {
      const status = isObject(m) ? m.status : undefined
      if (typeof status !== 'string' || !(AUDIENCE_STATUSES as readonly string[]).includes(status)) {
        reasons.push({
          path: `segmentMembership.ups.${id}.status`,
          message: `must be ${AUDIENCE_STATUSES.join(', ')}`,
        })
        continue
      }
      const time = isObject(m) ? m.lastQualificationTime : undefined
      audiences[id] = {
        status: status as AudienceStatus,
        ...(typeof time === 'string' ? { lastQualificationTime: time } : {}),
      }
    }
  }
  if (reasons.length > 0) {
    return { ok: false, reasons }
  }
  // Attributes: everything else, nested as sent, or flat (`person.name.lastName` or `last_name`).
  const attributes = expandAttributes(isObject(rest.attributes) ? { ...rest, ...rest.attributes } : rest)
  delete attributes.attributes
  return {
    ok: true,
    event: {
      type: AUDIENCE_EVENT,
      messageId: ctx.newMessageId(),
      receivedAt: ctx.receivedAt,
      timestamp: ctx.receivedAt,
      userId,
      email,
      attributes,
      audiences,
      origin: 'profile',
    },
  }
}

export function isAudienceEvent(payload: unknown): payload is AudienceEvent {
  return isObject(payload) && payload.type === AUDIENCE_EVENT
}

/** The key that orders a person's audience jobs: the same as their stream events when a userId is known. */
export function audienceOrderingKey(event: Pick<AudienceEvent, 'userId' | 'email'>): string {
  return event.userId !== null ? `user:${event.userId}` : `email:${event.email ?? ''}`
}

/** How stream events name audiences (configurable per activation; Segment Engage's names by default). */
export interface StreamNames {
  enteredEvent: string
  exitedEvent: string
  /** The track property holding the audience key. */
  keyProperty: string
  /** Whether identifies with a boolean trait `<audience_key>` change memberships. */
  identifyTraits: boolean
}

export const DEFAULT_STREAM_NAMES: StreamNames = {
  enteredEvent: 'Audience Entered',
  exitedEvent: 'Audience Exited',
  keyProperty: 'audience_key',
  identifyTraits: true,
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : null
}

/**
 * A track or identify as an audience event, or the event itself when it already is one.
 * `keys` maps stream audience keys to audience ids (an audience's key defaults to its id); keys
 * not in it are ignored. Returns an event with no audiences when the stream event names none.
 */
export function audienceEventFromStream(
  event: unknown,
  names: StreamNames,
  keys: ReadonlyMap<string, string>,
): AudienceEvent {
  if (isAudienceEvent(event)) {
    return event
  }
  const e = (isObject(event) ? event : {}) as Partial<SpecEvent> & Record<string, unknown>
  const context = isObject(e.context) ? e.context : {}
  const contextTraits = isObject(context.traits) ? context.traits : {}
  const traits = isObject(e.traits) ? e.traits : {}
  const properties = isObject(e.properties) ? e.properties : {}
  const attributes = expandAttributes(e.type === 'identify' ? { ...contextTraits, ...traits } : contextTraits)
  const audiences: Record<string, AudienceMembership> = {}
  const at = typeof e.timestamp === 'string' ? e.timestamp : undefined
  const member = (status: AudienceStatus): AudienceMembership => ({
    status,
    ...(at !== undefined ? { lastQualificationTime: at } : {}),
  })
  if (e.type === 'track') {
    const key = str(properties[names.keyProperty])
    const id = key !== null ? keys.get(key) : undefined
    if (id !== undefined && (e.event === names.enteredEvent || e.event === names.exitedEvent)) {
      audiences[id] = member(e.event === names.enteredEvent ? 'realized' : 'exited')
    }
  } else if (e.type === 'identify' && names.identifyTraits) {
    for (const [key, id] of keys) {
      const v = traits[key]
      if (typeof v === 'boolean') {
        audiences[id] = member(v ? 'realized' : 'exited')
      }
    }
  }
  const email = str(contextTraits.email) ?? str(traits.email) ?? str(properties.email)
  return {
    type: AUDIENCE_EVENT,
    messageId: typeof e.messageId === 'string' ? e.messageId : '',
    receivedAt: typeof e.receivedAt === 'string' ? e.receivedAt : '',
    timestamp: at ?? '',
    userId: str(e.userId),
    email: email !== null ? email.toLowerCase() : null,
    attributes,
    audiences,
    origin: e.type === 'identify' ? 'identify' : 'track',
  }
}
