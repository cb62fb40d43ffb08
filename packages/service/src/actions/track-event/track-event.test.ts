import { describe, expect, test } from 'vitest'

import { buildPayload } from '../build-payload.js'
import type { ActionContext } from '../define-action.js'
import { trackEvent } from './track-event.js'

const ctx: ActionContext = { userFieldKeys: null, settings: {} }

async function recordFor(event: unknown, c: ActionContext = ctx) {
  return trackEvent.bulk.item(await buildPayload(trackEvent.fields, undefined, event), c)
}

const track = {
  type: 'track',
  event: 'Order Completed',
  userId: 'u1',
  timestamp: '2026-11-21T10:00:00.000Z',
  properties: { total: 42, currency: 'EUR' },
  context: { traits: { email: 'Ann@Example.com', name: 'Ann' } },
}

describe('track-event', () => {
  test('a track becomes an Events API event with the person’s identifiers, time and properties', async () => {
    expect(await recordFor(track)).toEqual({
      userId: null,
      body: {
        profile: {
          source: 'zendesk-destination',
          type: 'customer',
          name: 'Ann',
          identifiers: [
            { type: 'email', value: 'ann@example.com' },
            { type: 'external_id', value: 'u1' },
          ],
        },
        event: {
          source: 'zendesk-destination',
          type: 'Order Completed',
          created_at: '2026-11-21T10:00:00.000Z',
          properties: { total: 42, currency: 'EUR' },
        },
      },
    })
  })

  test('the email may come from properties; context.zendesk_user_id targets that user', async () => {
    const r = await recordFor({
      type: 'track',
      event: 'E',
      anonymousId: 'a',
      properties: { email: 'x@y.io' },
      context: { zendesk_user_id: 77 },
    })
    expect(r.userId).toBe(77)
    expect(r.body.profile.identifiers).toEqual([{ type: 'email', value: 'x@y.io' }])
  })

  test('profile source and type are settings, and the profile type is never the event name', async () => {
    const r = await recordFor(track, {
      userFieldKeys: null,
      settings: { profileSource: 'shop', profileType: 'buyer', eventSource: 'web' },
    })
    expect(r.body.profile).toMatchObject({ source: 'shop', type: 'buyer' })
    expect(r.body.event.source).toBe('web')
  })

  test('an identifier over 60 characters is refused before any call, naming the field', async () => {
    await expect(recordFor({ ...track, userId: 'u'.repeat(61) })).rejects.toMatchObject({
      code: 'MAPPING_IDENTIFIER_TOO_LONG',
      kind: 'invalid_event',
      message: 'userId: 61 characters; Zendesk profile identifiers take at most 60',
    })
  })

  test('a track without any identifier is refused with the reason', async () => {
    await expect(recordFor({ type: 'track', event: 'E', anonymousId: 'anon' })).rejects.toMatchObject({
      code: 'MAPPING_NO_IDENTIFIER',
      kind: 'invalid_event',
    })
  })
})

describe('track-event trigger', () => {
  test('takes every track except the ticket events, which create-ticket and update-ticket take', async () => {
    const { matchesTrigger } = await import('../../delivery/worker.js')
    const ev = (event: string) =>
      ({ type: 'track', event, userId: 'u', messageId: 'm', receivedAt: '', timestamp: '' }) as never
    expect(matchesTrigger(trackEvent.defaultTrigger, ev('Order Completed'))).toBe(true)
    expect(matchesTrigger(trackEvent.defaultTrigger, ev('Ticket Created'))).toBe(false)
    expect(matchesTrigger(trackEvent.defaultTrigger, ev('Ticket Updated'))).toBe(false)
  })
})
