import { describe, expect, test } from 'vitest'

import { DeliveryNote } from '../actions/define-action.js'
import { AppError, ERROR_KINDS } from '../errors.js'
import type { Job } from '../queue/queue.js'
import { deliveryLogEntry, skipReason, triggerMisses } from './delivery-log-entry.js'

function job(payload: unknown, attempts = 0): Job {
  return {
    id: 12,
    destinationId: 'default',
    orderingKey: 'user:u1',
    dedupeKey: 'm-12',
    payload,
    state: 'leased',
    attempts,
    availableAt: 0,
    leasedUntil: null,
    lastError: null,
    createdAt: 0,
    updatedAt: 0,
  }
}

const at = Date.parse('2026-11-21T00:00:00Z')

describe('what the delivery log says about a settled job', () => {
  test('an event no action takes is skipped, with why; page, screen and alias say they have no Zendesk action', () => {
    expect(skipReason({ type: 'page' })).toBe(
      'page calls have no Zendesk action; subscribe one to change this',
    )
    expect(skipReason({ type: 'screen' })).toBe(
      'screen calls have no Zendesk action; subscribe one to change this',
    )
    expect(skipReason({ type: 'alias' })).toMatch(/^alias calls have no Zendesk action; .*alias-external-id/)
    expect(skipReason({ type: 'track', event: 'Scrolled' })).toBe(
      'no subscription takes track events named "Scrolled"',
    )
    expect(skipReason({ type: 'identify' })).toBe('no subscription takes identify events')
    const e = deliveryLogEntry({
      destinationId: 'default',
      job: job({ type: 'page', messageId: 'm-12', name: 'Home' }),
      actions: [],
      error: null,
      outcome: { kind: 'delivered' },
      at,
    })
    expect(e).toEqual({
      destinationId: 'default',
      jobId: 12,
      messageId: 'm-12',
      type: 'page',
      event: null,
      actions: [],
      outcome: 'skipped',
      reason: 'page calls have no Zendesk action; subscribe one to change this',
      attempt: 1,
      at,
    })
  })

  test('a skip names the trigger condition the event failed: a required path missing, a name outside the allowlist', () => {
    // The Segment preset's track subscription: an allowlist and a userId (seed 004).
    const segment = { types: ['track' as const], events: ['Article Completed'], whenAny: ['$.userId'] }
    const anonymous = { type: 'track' as const, event: 'Article Completed', anonymousId: 'a1' }
    expect(triggerMisses(segment, anonymous)).toEqual(['requires $.userId, which is missing'])
    expect(triggerMisses(segment, { type: 'track', event: 'Scrolled', userId: 'u1' })).toEqual([
      'takes only track events named "Article Completed"',
    ])
    expect(triggerMisses(segment, { type: 'track', event: 'Article Completed', userId: 'u1' })).toEqual([])
    expect(triggerMisses(segment, { type: 'identify' })).toEqual(['takes only track events'])
    expect(
      triggerMisses(
        { types: ['track'], exceptEvents: ['Ticket Created'] },
        { type: 'track', event: 'Ticket Created' },
      ),
    ).toEqual(['leaves out track events named "Ticket Created"'])
    expect(
      triggerMisses({ types: ['group'], whenAny: ['$.userId', '$.traits.user_id'] }, { type: 'group' }),
    ).toEqual(['requires one of $.userId, $.traits.user_id, all missing'])
    const e = deliveryLogEntry({
      destinationId: 'default',
      job: job({ ...anonymous, messageId: 'm-12' }),
      actions: [],
      missed: [{ actionId: 'track-event', misses: triggerMisses(segment, anonymous) }],
      error: null,
      outcome: { kind: 'delivered' },
      at,
    })
    expect(e).toMatchObject({
      outcome: 'skipped',
      event: 'Article Completed',
      reason:
        'no subscription takes this track event ("Article Completed"): track-event requires $.userId, which is missing',
    })
    // No subscription of the type at all: the generic reason.
    expect(skipReason({ type: 'track', event: 'Scrolled' }, [])).toBe(
      'no subscription takes track events named "Scrolled"',
    )
  })

  test('a delivery has no reason, unless the action said why nothing changed', () => {
    const base = {
      destinationId: 'default',
      job: job({ type: 'track', event: 'Signed Up', messageId: 'm-12' }, 2),
      actions: ['track-event'],
      outcome: { kind: 'delivered' } as const,
      at,
    }
    expect(deliveryLogEntry({ ...base, error: null })).toMatchObject({
      outcome: 'delivered',
      reason: null,
      event: 'Signed Up',
      attempt: 3,
    })
    expect(deliveryLogEntry({ ...base, error: new DeliveryNote('nothing to move') })).toMatchObject({
      outcome: 'delivered',
      reason: 'nothing to move',
    })
  })

  test('retries, failures and parks carry the outcome’s reason', () => {
    const e = deliveryLogEntry({
      destinationId: 'default',
      job: job({ type: 'identify', messageId: 'm-12' }),
      actions: ['upsert-user'],
      error: new AppError(
        ERROR_KINDS.rejected,
        'ZD_ITEM_USERCREATEERROR',
        'Email: x is not properly formatted',
      ),
      outcome: { kind: 'failed', reason: 'ZD_ITEM_USERCREATEERROR: Email: x is not properly formatted' },
      at,
    })
    expect(e).toMatchObject({
      outcome: 'failed',
      reason: 'ZD_ITEM_USERCREATEERROR: Email: x is not properly formatted',
      actions: ['upsert-user'],
    })
  })
})
