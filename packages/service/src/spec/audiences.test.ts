import { describe, expect, test } from 'vitest'

import {
  audienceEventFromStream,
  audienceOrderingKey,
  DEFAULT_STREAM_NAMES,
  expandAttributes,
  parseAudienceProfile,
} from './audiences.js'

const ctx = { receivedAt: '2026-11-21T08:00:00.000Z', newMessageId: () => 'm1' }

describe('AEP profile exports', () => {
  test('the issue’s example becomes an audience event with identities, nested attributes and memberships', () => {
    const r = parseAudienceProfile(
      {
        identityMap: { Email: [{ id: 'Ann@Example.com' }], CRMID: [{ id: 'crm-1' }] },
        person: { name: { firstName: 'Ann', lastName: 'Lee' } },
        segmentMembership: {
          ups: { seg1: { status: 'realized', lastQualificationTime: '2026-11-20T10:00:00Z' } },
        },
      },
      ctx,
    )
    expect(r).toEqual({
      ok: true,
      event: {
        type: 'audience',
        messageId: 'm1',
        receivedAt: ctx.receivedAt,
        timestamp: ctx.receivedAt,
        userId: 'crm-1',
        email: 'ann@example.com',
        attributes: { person: { name: { firstName: 'Ann', lastName: 'Lee' } } },
        audiences: { seg1: { status: 'realized', lastQualificationTime: '2026-11-20T10:00:00Z' } },
        origin: 'profile',
      },
    })
  })

  test('flat attributes are kept, and dotted keys are expanded into the nested shape', () => {
    expect(
      expandAttributes({ last_name: 'Lee', 'person.name.firstName': 'Ann', person: { age: 3 } }),
    ).toEqual({
      last_name: 'Lee',
      person: { age: 3, name: { firstName: 'Ann' } },
    })
    const r = parseAudienceProfile(
      {
        identityMap: { email: [{ id: 'a@b.co' }] },
        attributes: { 'person.name.lastName': 'Lee' },
        segmentMembership: { ups: { s: { status: 'existing' } } },
      },
      ctx,
    )
    expect(r.ok && r.event.attributes).toEqual({ person: { name: { lastName: 'Lee' } } })
  })

  test('every problem is named with its path', () => {
    const r = parseAudienceProfile(
      {
        identityMap: { Email: [{ id: 'not-an-email' }] },
        segmentMembership: { ups: { s: { status: 'gone' } } },
      },
      ctx,
    )
    expect(r).toEqual({
      ok: false,
      reasons: [
        { path: 'identityMap.Email', message: 'must be an email address' },
        { path: 'segmentMembership.ups.s.status', message: 'must be realized, existing, exited' },
      ],
    })
    expect(parseAudienceProfile('x', ctx)).toEqual({
      ok: false,
      reasons: [{ path: '', message: 'must be a JSON object' }],
    })
    const none = parseAudienceProfile({ segmentMembership: { ups: {} } }, ctx)
    expect(none.ok === false && none.reasons.map((x) => x.path)).toEqual([
      'identityMap',
      'segmentMembership.ups',
    ])
  })

  test('a person is ordered by userId when known (as their stream events), else by email', () => {
    expect(audienceOrderingKey({ userId: 'u1', email: 'a@b.co' })).toBe('user:u1')
    expect(audienceOrderingKey({ userId: null, email: 'a@b.co' })).toBe('email:a@b.co')
  })
})

describe('stream events as audience events', () => {
  const keys = new Map([
    ['vip', 'seg-vip'],
    ['churn_risk', 'seg-churn'],
  ])

  test('Audience Entered / Exited tracks with the audience key', () => {
    const entered = audienceEventFromStream(
      {
        type: 'track',
        userId: 'u1',
        event: 'Audience Entered',
        properties: { audience_key: 'vip' },
        context: { traits: { email: 'A@B.co', name: 'Ann' } },
        timestamp: '2026-11-21T00:00:00Z',
      },
      DEFAULT_STREAM_NAMES,
      keys,
    )
    expect(entered).toMatchObject({
      userId: 'u1',
      email: 'a@b.co',
      attributes: { email: 'A@B.co', name: 'Ann' },
      audiences: { 'seg-vip': { status: 'realized' } },
      origin: 'track',
    })
    const exited = audienceEventFromStream(
      { type: 'track', userId: 'u1', event: 'Audience Exited', properties: { audience_key: 'vip' } },
      DEFAULT_STREAM_NAMES,
      keys,
    )
    expect(exited.audiences).toEqual({ 'seg-vip': { status: 'exited' } })
    const other = audienceEventFromStream(
      { type: 'track', userId: 'u1', event: 'Audience Entered', properties: { audience_key: 'unknown' } },
      DEFAULT_STREAM_NAMES,
      keys,
    )
    expect(other.audiences).toEqual({})
  })

  test('identify traits named as audience keys (Segment Engage), with configurable names', () => {
    const e = audienceEventFromStream(
      { type: 'identify', userId: 'u1', traits: { vip: true, churn_risk: false, plan: 'pro' } },
      DEFAULT_STREAM_NAMES,
      keys,
    )
    expect(e.audiences).toEqual({ 'seg-vip': { status: 'realized' }, 'seg-churn': { status: 'exited' } })
    const off = audienceEventFromStream(
      { type: 'identify', userId: 'u1', traits: { vip: true } },
      { ...DEFAULT_STREAM_NAMES, identifyTraits: false },
      keys,
    )
    expect(off.audiences).toEqual({})
    const renamed = audienceEventFromStream(
      { type: 'track', userId: 'u1', event: 'Joined', properties: { segment: 'vip' } },
      { ...DEFAULT_STREAM_NAMES, enteredEvent: 'Joined', keyProperty: 'segment' },
      keys,
    )
    expect(renamed.audiences).toEqual({ 'seg-vip': { status: 'realized' } })
  })
})
