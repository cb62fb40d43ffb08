/**
 * What the delivery log says about one settled job (store/delivery-log.ts): the event it carried,
 * the actions it went to, its outcome and why. Pure; the worker calls it where jobs settle.
 *
 * - No action took the event: `skipped`, with the reason (page, screen and alias have no Zendesk
 *   action unless a subscription adds one; a track's name may be outside a subscription's list).
 * - Delivered: no reason, unless the action said why nothing changed (a DeliveryNote).
 * - Retry, failed, parked: the outcome's reason (our validation message, or Zendesk's error code
 *   and details).
 */
import { DeliveryNote } from '../actions/define-action.js'
import type { Job } from '../queue/queue.js'
import type { NewDeliveryLogEntry } from '../store/delivery-log.js'
import type { Outcome } from './outcome.js'

/** The fields of an event the log shows; payloads are events, read defensively. */
interface EventView {
  type?: unknown
  event?: unknown
  messageId?: unknown
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)

/** Why no action took an event. */
export function skipReason(event: EventView): string {
  const type = str(event.type) ?? 'unknown'
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
    reason = skipReason(event)
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
