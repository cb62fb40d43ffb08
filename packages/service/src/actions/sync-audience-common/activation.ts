/**
 * What the two audience actions share (docs/audiences.md): an activation's configuration, the
 * note that marks a profile excluded, the action fields, and the reading of mapped attributes.
 *
 * An activation is configured per destination (config.ts `activations`): which audiences, which
 * target (`support-users` or `sell-contacts`), mappings from source paths of the audience event
 * (`$.email`, `$.userId`, `$.attributes.person.name.lastName`) to target fields, and per audience
 * how its membership is written. Each activation becomes an instance of its target's action
 * (`createSupportUsersActivation`, `createSellContactsActivation`) whose records carry that
 * configuration; delivery routes the activation's audience events to it.
 */
import type { MappingValue } from '../../mapping/mapping.js'
import type { AudienceEvent, AudienceStatus, StreamNames } from '../../spec/audiences.js'
import { DeliveryNote } from '../define-action.js'

export const ACTIVATION_TARGETS = ['support-users', 'sell-contacts'] as const
export type ActivationTarget = (typeof ACTIVATION_TARGETS)[number]

/** How a Support user shows an audience: a tag, or a user field (checkbox, or text holding the status). */
export const REPRESENTATIONS = ['tag', 'checkbox', 'text'] as const
export type Representation = (typeof REPRESENTATIONS)[number]

export interface ActivationAudience {
  /** The audience id (the key in AEP's `segmentMembership.ups`). */
  id: string
  /** The audience key in stream events (track property, identify trait); defaults to the id. */
  key: string
  /** support-users: tag or user field. */
  representation: Representation
  /** support-users, tag: the tag added while a member. */
  tag: string
  /** support-users, checkbox/text: the user field key. */
  field: string
  /** sell-contacts: the contact custom field holding the status (AEP's "Mapping ID"). */
  mappingId: string
}

export interface ActivationConfig {
  id: string
  target: ActivationTarget
  audiences: ActivationAudience[]
  /** Target field → where its value comes from in the audience event (defaults merged in). */
  mappings: Record<string, MappingValue>
  stream: StreamNames
  /**
   * sell-contacts: a contact custom field that holds the person's userId. When set, contacts are
   * matched by it (so an email change updates the contact instead of creating another).
   */
  sellMatchField: string | null
}

/** An activation with no audiences: what the registered (unconfigured) actions run with. */
export const UNCONFIGURED: ActivationConfig = {
  id: 'unconfigured',
  target: 'support-users',
  audiences: [],
  mappings: {},
  stream: { enteredEvent: '', exitedEvent: '', keyProperty: '', identifyTraits: false },
  sellMatchField: null,
}

/** A profile the activation did not send, and why (counted as excluded, not failed). */
export class ExcludedProfile extends DeliveryNote {
  /** The activation that excluded it (a job may go to several activations). */
  readonly activationId: string

  constructor(reason: string, activationId: string) {
    super(reason)
    this.activationId = activationId
  }
}

export function isExcluded(v: unknown): v is ExcludedProfile {
  return v instanceof ExcludedProfile
}

/** The fields both audience actions take: the audience event, and the mapped target attributes. */
export const audienceFields = {
  profile: {
    label: 'Audience event',
    description: 'The person’s identities, attributes and memberships (docs/audiences.md).',
    type: 'object',
    required: true,
    default: { '@path': '$' },
  },
  attributes: {
    label: 'Attributes',
    description: 'Target field → value, from the activation’s mappings.',
    type: 'object',
    default: {},
  },
} as const

/** The memberships of an event that this activation handles, with their audience config. */
export function membershipsOf(
  event: AudienceEvent,
  config: ActivationConfig,
): { audience: ActivationAudience; status: AudienceStatus }[] {
  return config.audiences.flatMap((audience) => {
    const m = event.audiences[audience.id]
    return m ? [{ audience, status: m.status }] : []
  })
}

/** The profile as the event carries it (payload field `profile`), defensively typed. */
export function asAudienceEvent(v: unknown): AudienceEvent {
  const e = (typeof v === 'object' && v !== null ? v : {}) as Partial<AudienceEvent>
  return {
    type: 'audience',
    messageId: e.messageId ?? '',
    receivedAt: e.receivedAt ?? '',
    timestamp: e.timestamp ?? '',
    userId: typeof e.userId === 'string' ? e.userId : null,
    email: typeof e.email === 'string' ? e.email.toLowerCase() : null,
    attributes: e.attributes ?? {},
    audiences: e.audiences ?? {},
    origin: e.origin ?? 'profile',
  }
}

/** A mapped attribute as text; null when absent or empty. */
export function text(v: unknown): string | null {
  if (typeof v === 'string') {
    return v.trim() === '' ? null : v.trim()
  }
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : null
}

/** A path mapping from the configuration's short form (`$.attributes.x`) or a full mapping value. */
export function mappingOf(v: MappingValue): MappingValue {
  return typeof v === 'string' && (v === '$' || v.startsWith('$.')) ? { '@path': v } : v
}

/** The mapping of the `attributes` field: every target field's mapping, short paths expanded. */
export function attributesMapping(mappings: Record<string, MappingValue>): Record<string, MappingValue> {
  const out: Record<string, MappingValue> = {}
  for (const [target, source] of Object.entries(mappings)) {
    if (source !== null) {
      out[target] = mappingOf(source)
    }
  }
  return out
}

/** JSONata for "the first of these attribute paths that has a value". */
export function firstOf(...paths: [string, ...string[]]): MappingValue {
  const last = paths[paths.length - 1] ?? paths[0]
  return { '@jsonata': paths.slice(0, -1).reduceRight((acc, p) => `${p} ? ${p} : (${acc})`, last) }
}

/** Tag-safe text: lower-case, runs of other characters as `_` (Zendesk tags have no spaces). */
export function tagOf(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9_\-:]+/g, '_')
    .replace(/^_+|_+$/g, '')
}
