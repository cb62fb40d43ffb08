/**
 * What the delivery log says about one settled job (store/delivery-log.ts): the event it carried,
 * the actions it went to, its outcome and why. Pure; the worker calls it where jobs settle.
 *
 * - No action took the event: `skipped`, with the reason (page, screen and alias have no Zendesk
 *   action unless a subscription adds one). When subscriptions of the event's type exist, the
 *   reason says which of their trigger conditions the event failed (`triggerMisses`): a track
 *   name outside the allowlist, or a required path such as `$.userId` missing (the Segment
 *   preset's rule), rather than blaming the event's name.
 * - Delivered: no reason, unless the action said why nothing changed (a DeliveryNote).
 * - Retry, failed, parked: the outcome's reason (our validation message, or Zendesk's error code
 *   and details).
 */
import { DeliveryNote, type Trigger } from '../actions/define-action.js'
import { readPath } from '../mapping/mapping.js'
import type { Job } from '../queue/queue.js'
import type { EventType } from '../spec/events.js'
import type { NewDeliveryLogEntry } from '../store/delivery-log.js'
import type { Outcome } from './outcome.js'

/** The fields of an event the log shows; payloads are events, read defensively. */
interface EventView {
  type?: unknown
  event?: unknown
  messageId?: unknown
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)

/** Names listed in a reason at most; an allowlist may be long. */
const MAX_NAMES = 10

function quoted(names: readonly string[]): string {
  const shown = names.slice(0, MAX_NAMES).map((n) => JSON.stringify(n))
  const more = names.length > MAX_NAMES ? ` (and ${names.length - MAX_NAMES} more)` : ''
  return shown.join(', ') + more
}

/**
 * The trigger conditions an event fails, in words (empty: the trigger takes it). The worker's
 * `matchesTrigger` is `triggerMisses(…).length === 0`, so the log's reason and the routing never
 * disagree. An event of another type than the trigger's gives one miss naming the types.
 */
export function triggerMisses(
  trigger: Trigger,
  event: { type: EventType; event?: unknown; [key: string]: unknown },
): string[] {
  if (!trigger.types.includes(event.type)) {
    return [`takes only ${trigger.types.join(', ')} events`]
  }
  const misses: string[] = []
  if (trigger.whenAny && !trigger.whenAny.some((path) => readPath(event, path) !== undefined)) {
    const paths = trigger.whenAny
    misses.push(
      paths.length === 1
        ? `requires ${paths[0]}, which is missing`
        : `requires one of ${paths.join(', ')}, all missing`,
    )
  }
  if (event.type === 'track') {
    const name = str(event.event) ?? ''
    if (trigger.exceptEvents?.includes(name)) {
      misses.push(`leaves out track events named "${name}"`)
    } else if (trigger.events && trigger.events.length > 0 && !trigger.events.includes(name)) {
      misses.push(`takes only track events named ${quoted(trigger.events)}`)
    }
  }
  return misses
}

/** A subscription that did not take the event, and why (`triggerMisses`). */
export interface TriggerMiss {
  actionId: string
  misses: string[]
}

/**
 * Why no action took an event. `missed`: the destination's subscriptions for the event's type,
 * with the conditions the event failed; the reason names them (`track-event requires $.userId,
 * which is missing`) instead of the generic text.
 */
export function skipReason(event: EventView, missed: readonly TriggerMiss[] = []): string {
  const type = str(event.type) ?? 'unknown'
  const explained = missed.filter((m) => m.misses.length > 0)
  if (explained.length > 0) {
    const name = type === 'track' ? str(event.event) : null
    const what = name !== null ? `this track event ("${name}")` : `this ${type} event`
    const why = explained.map((m) => `${m.actionId} ${m.misses.join(' and ')}`).join('; ')
    return `no subscription takes ${what}: ${why}`
  }
  switch (type) {
    case 'page':
    case 'screen':
      return `${type} calls have no Zendesk action; subscribe one to change this`
    case 'alias':
      return 'alias calls have no Zendesk action; subscribe one to change this (alias-external-id moves external_id from previousId to userId)'
    case 'track': {
      const name = str(event.event)
      return name === null
        ? 'no subscription takes track events'
        : `no subscription takes track events named "${name}"`
    }
    default:
      return `no subscription takes ${type} events`
  }
}

export function deliveryLogEntry(s: {
  destinationId: string
  job: Job
  /** The action ids whose trigger took the event. */
  actions: string[]
  /** When none took it: the subscriptions of the event's type and why they did not (skipReason). */
  missed?: readonly TriggerMiss[]
  /** The job's worst result: null, a DeliveryNote, or the error its outcome came from. */
  error: unknown
  outcome: Outcome
  at: number
}): NewDeliveryLogEntry {
  const event = (
    typeof s.job.payload === 'object' && s.job.payload !== null ? s.job.payload : {}
  ) as EventView
  const type = str(event.type)
  let outcome: NewDeliveryLogEntry['outcome']
  let reason: string | null
  if (s.outcome.kind !== 'delivered') {
    outcome = s.outcome.kind
    reason = s.outcome.reason
  } else if (s.actions.length === 0) {
    outcome = 'skipped'
    reason = skipReason(event, s.missed)
  } else {
    outcome = 'delivered'
    reason = s.error instanceof DeliveryNote ? s.error.reason : null
  }
  return {
    destinationId: s.destinationId,
    jobId: s.job.id,
    messageId: str(event.messageId) ?? s.job.dedupeKey,
    type,
    event: type === 'track' ? str(event.event) : null,
    actions: s.actions,
    outcome,
    reason,
    attempt: s.job.attempts + 1,
    at: s.at,
  }
}
