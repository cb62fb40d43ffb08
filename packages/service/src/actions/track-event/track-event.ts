import { mapLimit } from '../../lib/map-limit.js'
import { AppError, ERROR_KINDS } from '../../errors.js'
import { trackEvent as trackEventRequest, trackUserEvent, type UserEventBody } from '../../zendesk/events.js'
import { defineAction, type ActionContext, type PayloadOf } from '../define-action.js'

/** Segment documents 60 characters as the limit of a Zendesk profile identifier. */
export const MAX_IDENTIFIER_LENGTH = 60
/** Events sent at once: the Events API takes one event per call. */
const CONCURRENCY = 8

const fields = {
  zendeskUserId: {
    label: 'Zendesk user ID',
    description: 'The Zendesk user the event belongs to, when the sender knows it.',
    type: 'integer',
    default: { '@path': '$.context.zendesk_user_id' },
  },
  email: {
    label: 'Email',
    description: 'Profile identifier: the person’s email (context.traits.email or properties.email).',
    type: 'string',
    default: { '@jsonata': 'context.traits.email ? context.traits.email : properties.email' },
  },
  externalId: {
    label: 'External ID',
    description: 'Profile identifier: the person’s id in your systems (the userId).',
    type: 'string',
    default: { '@path': '$.userId' },
  },
  name: {
    label: 'Name',
    description: 'The profile’s name, used when Zendesk creates the user.',
    type: 'string',
    default: { '@path': '$.context.traits.name' },
  },
  eventType: {
    label: 'Event type',
    description: 'The event’s type in Zendesk: the track’s event name.',
    type: 'string',
    required: true,
    default: { '@path': '$.event' },
  },
  properties: {
    label: 'Properties',
    description: 'The event’s properties, passed on as they are.',
    type: 'object',
    default: { '@path': '$.properties' },
  },
  timestamp: {
    label: 'Time',
    description: 'When the event happened.',
    type: 'string',
    default: { '@path': '$.timestamp' },
  },
} as const

type Payload = PayloadOf<typeof fields>

export interface TrackRecord {
  userId: number | null
  body: UserEventBody
}

function setting(ctx: ActionContext, key: string, fallback: string): string {
  const v = ctx.settings[key]
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : fallback
}

function toRecord(p: Payload, ctx: ActionContext): TrackRecord {
  const identifiers = [
    ...(p.email !== undefined ? [{ type: 'email', value: p.email.toLowerCase() }] : []),
    ...(p.externalId !== undefined ? [{ type: 'external_id', value: p.externalId }] : []),
  ]
  for (const id of identifiers) {
    if (id.value.length > MAX_IDENTIFIER_LENGTH) {
      throw new AppError(
        ERROR_KINDS.invalidEvent,
        'MAPPING_IDENTIFIER_TOO_LONG',
        `${id.type === 'email' ? 'email' : 'userId'}: ${id.value.length} characters; Zendesk profile identifiers take at most ${MAX_IDENTIFIER_LENGTH}`,
        { field: id.type === 'email' ? 'email' : 'externalId' },
      )
    }
  }
  if (identifiers.length === 0 && p.zendeskUserId === undefined) {
    throw new AppError(
      ERROR_KINDS.invalidEvent,
      'MAPPING_NO_IDENTIFIER',
      'a track needs context.zendesk_user_id, an email (context.traits.email or properties.email) or a userId',
    )
  }
  if (identifiers.length === 0 && p.zendeskUserId !== undefined) {
    identifiers.push({ type: 'zendesk_user_id', value: String(p.zendeskUserId) })
  }
  // Profile source and type are settings: a profile is keyed by source, type and identifier, so
  // using the event name as its type (as RudderStack does) would split a person over profiles.
  const source = setting(ctx, 'eventSource', 'zendesk-destination')
  const body: UserEventBody = {
    profile: {
      source: setting(ctx, 'profileSource', source),
      type: setting(ctx, 'profileType', 'customer'),
      identifiers,
      ...(p.name !== undefined ? { name: p.name } : {}),
    },
    event: {
      source,
      type: p.eventType,
      properties: p.properties ?? {},
      ...(p.timestamp !== undefined ? { created_at: p.timestamp } : {}),
    },
  }
  return { userId: p.zendeskUserId ?? null, body }
}

export const trackEvent = defineAction({
  id: 'track-event',
  title: 'Track event',
  description: 'Sends a track call to Zendesk’s Events API, on the profile of the person it names.',
  // As Customer.io's Track Event: the ticket events belong to create-ticket and update-ticket.
  defaultTrigger: { types: ['track'], exceptEvents: ['Ticket Created', 'Ticket Updated'] },
  fields,
  bulk: {
    maxSize: 100,
    item: toRecord,
    // Every event is its own record: events are never merged.
    key: () => null,
    merge: (_earlier, later) => later,
    // perform: the Events API has no bulk endpoint; each event is one call, a few at a time.
    perform: (records, zendesk) =>
      mapLimit(records, CONCURRENCY, async (r): Promise<unknown> => {
        try {
          await zendesk.send(r.userId !== null ? trackUserEvent(r.userId, r.body) : trackEventRequest(r.body))
          return null
        } catch (err) {
          return err
        }
      }),
  },
})
