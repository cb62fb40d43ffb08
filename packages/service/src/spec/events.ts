/**
 * The Segment / RudderStack event spec: one zod schema per call type, with the fields each type
 * requires (Segment's HTTP Tracking API):
 *
 * | type     | required                         |
 * | -------- | -------------------------------- |
 * | identify | userId or anonymousId            |
 * | track    | userId or anonymousId, `event`   |
 * | group    | userId or anonymousId, `groupId` |
 * | page     | userId or anonymousId            |
 * | screen   | userId or anonymousId            |
 * | alias    | userId, `previousId`             |
 *
 * Unknown fields are kept (SDKs add `_metadata`, `channel`, …). Ids may arrive as numbers and
 * are turned into strings, as Segment does.
 */
import { z } from 'zod'

export const EVENT_TYPES = ['identify', 'track', 'group', 'page', 'screen', 'alias'] as const
export type EventType = (typeof EVENT_TYPES)[number]

const id = z
  .union([z.string(), z.number()], {
    // Say which: zod's own "Invalid input" names neither the absence nor the expected types.
    error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string or a number'),
  })
  .transform((v) => String(v))
  .pipe(z.string().trim().min(1, 'must not be empty'))

// A plain object, checked without copying it (z.record copies every key: traits and context are
// the largest parts of an event, and nothing below reads into them).
const object = z.custom<Record<string, unknown>>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  { error: 'must be an object' },
)
const timestamp = z.union([z.string(), z.number()]).optional()

const common = z
  .object({
    messageId: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
    userId: id.nullish(),
    anonymousId: id.nullish(),
    timestamp,
    originalTimestamp: timestamp,
    sentAt: timestamp,
    context: object.optional(),
    integrations: object.optional(),
  })
  .loose()

const needsIdentity = <
  T extends { userId?: string | null | undefined; anonymousId?: string | null | undefined },
>(
  e: T,
  ctx: z.RefinementCtx,
): void => {
  if (!e.userId && !e.anonymousId) {
    ctx.addIssue({ code: 'custom', path: ['userId'], message: 'userId or anonymousId is required' })
  }
}

export const identifySchema = common
  .extend({ type: z.literal('identify'), traits: object.optional() })
  .superRefine(needsIdentity)
export const trackSchema = common
  .extend({
    type: z.literal('track'),
    event: z.string({ error: 'is required' }).trim().min(1, 'must not be empty'),
    properties: object.optional(),
  })
  .superRefine(needsIdentity)
export const groupSchema = common
  .extend({ type: z.literal('group'), groupId: id, traits: object.optional() })
  .superRefine(needsIdentity)
export const pageSchema = common
  .extend({ type: z.literal('page'), name: z.string().optional(), properties: object.optional() })
  .superRefine(needsIdentity)
export const screenSchema = common
  .extend({ type: z.literal('screen'), name: z.string().optional(), properties: object.optional() })
  .superRefine(needsIdentity)
export const aliasSchema = common.extend({
  type: z.literal('alias'),
  userId: id,
  previousId: id,
})

const schemas = {
  identify: identifySchema,
  track: trackSchema,
  group: groupSchema,
  page: pageSchema,
  screen: screenSchema,
  alias: aliasSchema,
} as const

export type IdentifyEvent = z.infer<typeof identifySchema>
export type TrackEvent = z.infer<typeof trackSchema>
export type GroupEvent = z.infer<typeof groupSchema>
export type PageEvent = z.infer<typeof pageSchema>
export type ScreenEvent = z.infer<typeof screenSchema>
export type AliasEvent = z.infer<typeof aliasSchema>

/** A validated event, plus what the service adds on receipt. */
export type SpecEvent = (IdentifyEvent | TrackEvent | GroupEvent | PageEvent | ScreenEvent | AliasEvent) & {
  messageId: string
  receivedAt: string
  timestamp: string
}

/** Why an event was rejected: the field path (e.g. `traits.email`, `event`) and the reason. */
export interface Reason {
  path: string
  message: string
}

export type ParseResult = { ok: true; event: SpecEvent } | { ok: false; reasons: Reason[] }

export interface ParseContext {
  /** The type implied by the endpoint (`/v1/identify`), or null for batch items. */
  impliedType: EventType | null
  receivedAt: string
  /** Makes a messageId for events that have none. */
  newMessageId: () => string
}

/** Validates one raw event and fills in messageId, receivedAt and timestamp. */
export function parseEvent(raw: unknown, ctx: ParseContext): ParseResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, reasons: [{ path: '', message: 'must be a JSON object' }] }
  }
  let input = raw as Record<string, unknown>
  if (ctx.impliedType !== null) {
    if (input.type === undefined || input.type === null) {
      input = { ...input, type: ctx.impliedType }
    }
    if (input.type !== ctx.impliedType) {
      return {
        ok: false,
        reasons: [{ path: 'type', message: `must be "${ctx.impliedType}" on this endpoint` }],
      }
    }
  }
  const type = input.type
  if (typeof type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(type)) {
    return { ok: false, reasons: [{ path: 'type', message: `must be one of ${EVENT_TYPES.join(', ')}` }] }
  }
  const result = schemas[type as EventType].safeParse(input)
  if (!result.success) {
    return {
      ok: false,
      reasons: result.error.issues.map((i) => ({
        path: i.path.map(String).join('.'),
        message: i.message,
      })),
    }
  }
  // zod's output is a fresh object (never the input): completed in place rather than copied again.
  const event = result.data as SpecEvent & { timestamp?: string | number }
  const ts = event.timestamp ?? event.originalTimestamp
  event.messageId ??= ctx.newMessageId()
  event.receivedAt = ctx.receivedAt
  event.timestamp =
    ts === undefined ? ctx.receivedAt : typeof ts === 'number' ? new Date(ts).toISOString() : ts
  return { ok: true, event }
}

/** The key that orders a person's events: events with the same key are delivered in order. */
export function orderingKeyOf(event: SpecEvent): string {
  if (event.type === 'group') {
    return `group:${event.groupId}`
  }
  return `user:${event.userId ?? event.anonymousId ?? ''}`
}
