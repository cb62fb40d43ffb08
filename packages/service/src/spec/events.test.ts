import { describe, expect, test } from 'vitest'

import { orderingKeyOf, parseEvent, type ParseContext } from './events.js'

const ctx: ParseContext = {
  impliedType: null,
  receivedAt: '2026-11-21T10:00:00.000Z',
  newMessageId: () => 'gen-1',
}

describe('parseEvent', () => {
  test('an identify with a userId is valid and gets messageId, receivedAt and timestamp', () => {
    const r = parseEvent({ type: 'identify', userId: 'u1', traits: { email: 'a@b.c' } }, ctx)
    expect(r).toEqual({
      ok: true,
      event: {
        type: 'identify',
        userId: 'u1',
        traits: { email: 'a@b.c' },
        messageId: 'gen-1',
        receivedAt: '2026-11-21T10:00:00.000Z',
        timestamp: '2026-11-21T10:00:00.000Z',
      },
    })
  })

  test('numeric ids become strings and unknown fields are kept', () => {
    const r = parseEvent({ type: 'group', userId: 7, groupId: 42, _metadata: { x: 1 } }, ctx)
    expect(r.ok && r.event).toMatchObject({ userId: '7', groupId: '42', _metadata: { x: 1 } })
  })

  test.each([
    [{ type: 'identify', traits: {} }, 'userId', 'userId or anonymousId is required'],
    [{ type: 'track', userId: 'u' }, 'event', 'is required'],
    [{ type: 'track', userId: 'u', event: '  ' }, 'event', 'must not be empty'],
    [{ type: 'group', userId: 'u' }, 'groupId', ''],
    [{ type: 'alias', userId: 'u' }, 'previousId', ''],
    [{ type: 'identify', userId: 'u', traits: 'nope' }, 'traits', ''],
    [{ type: 'explode', userId: 'u' }, 'type', 'must be one of identify, track, group, page, screen, alias'],
  ])('%j is rejected on %s', (raw, path, message) => {
    const r = parseEvent(raw, ctx)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.reasons.map((x) => x.path)).toContain(path)
      if (message) {
        expect(r.reasons.find((x) => x.path === path)?.message).toBe(message)
      }
    }
  })

  test('the endpoint implies the type, and a contradicting type is rejected', () => {
    expect(parseEvent({ userId: 'u', event: 'E' }, { ...ctx, impliedType: 'track' }).ok).toBe(true)
    const r = parseEvent({ type: 'identify', userId: 'u' }, { ...ctx, impliedType: 'track' })
    expect(r).toEqual({ ok: false, reasons: [{ path: 'type', message: 'must be "track" on this endpoint' }] })
  })

  test('an anonymous identify is valid and ordered by its anonymousId', () => {
    const r = parseEvent({ type: 'identify', anonymousId: 'anon-1' }, ctx)
    expect(r.ok && orderingKeyOf(r.event)).toBe('user:anon-1')
  })

  test('group calls are ordered by groupId', () => {
    const r = parseEvent({ type: 'group', userId: 'u', groupId: 'g' }, ctx)
    expect(r.ok && orderingKeyOf(r.event)).toBe('group:g')
  })
})
