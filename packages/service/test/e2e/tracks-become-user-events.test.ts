import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

async function jobs(state: string): Promise<any[]> {
  const r = await fetch(`${t!.url}/admin/api/destinations/default/jobs?state=${state}`)
  return ((await r.json()) as { jobs: any[] }).jobs
}

describe('a track becomes a Zendesk user event', () => {
  test('events reach the Events API on the person’s profile, and an over-long identifier fails without a call', async () => {
    t = await startTestService()
    await t.post('/v1/batch', {
      batch: [
        {
          type: 'track',
          userId: 'u1',
          event: 'Order Completed',
          properties: { total: 42 },
          context: { traits: { email: 'ann@example.com', name: 'Ann' } },
        },
        {
          type: 'track',
          userId: 'u1',
          event: 'Cart Viewed',
          properties: {},
          context: { traits: { email: 'ann@example.com' } },
        },
        { type: 'track', userId: 'x'.repeat(61), event: 'Too Long', properties: {} },
        { type: 'track', anonymousId: 'anon-1', event: 'Nobody', properties: {} },
      ],
    })
    const state = await t.waitFor(async () => {
      const s = await t!.state()
      return s.user_events.length === 2 ? s : null
    })
    expect(state.user_events.map((e: any) => e.type).sort()).toEqual(['Cart Viewed', 'Order Completed'])
    const ann = state.users.find((u: any) => u.email === 'ann@example.com')
    expect(ann).toMatchObject({ name: 'Ann', external_id: 'u1' })
    expect(state.user_events.every((e: any) => e.user_id === ann.id)).toBe(true)
    expect(state.user_profiles[0]).toMatchObject({ source: 'zendesk-destination', type: 'customer' })

    const failed = await t.waitFor(async () => {
      const dead = await jobs('dead')
      return dead.length === 2 ? dead : null
    })
    expect(failed.map((j) => j.lastError).sort()).toEqual([
      expect.stringMatching(/^MAPPING_IDENTIFIER_TOO_LONG: userId: 61 characters/),
      expect.stringMatching(/^MAPPING_NO_IDENTIFIER: /),
    ])
    const log: any = await (await fetch(`${t.emulator.url}/__emulator/requests?path=events`)).json()
    expect(log.requests).toHaveLength(2)
  })

  test('the track’s timestamp becomes the event’s created_at, and the profileType, profileSource and eventSource settings reach the profile and event', async () => {
    t = await startTestService({
      configYaml: `
sources:
  - { id: web, writeKey: test-write-key, destinations: [default] }
destinations:
  - id: default
    zendesk: { url: "http://127.0.0.1:9", oauth: { clientId: x, clientSecret: y } }
    settings: { profileType: account, profileSource: crm, eventSource: webapp }
`,
    })
    await t.post('/v1/batch', {
      batch: [
        {
          type: 'track',
          userId: 'u3',
          event: 'Invoice Paid',
          timestamp: '2027-02-03T04:05:06.789Z',
          properties: { amount: 10 },
          context: { traits: { email: 'cleo@example.com' } },
        },
      ],
    })
    const state = await t.waitFor(async () => {
      const s = await t!.state()
      return s.user_events.length === 1 ? s : null
    })
    // The emulator keeps created_at as sent (receipt time when absent) and stamps received_at itself.
    expect(state.user_events[0]).toMatchObject({
      type: 'Invoice Paid',
      source: 'webapp',
      created_at: '2027-02-03T04:05:06.789Z',
      properties: { amount: 10 },
    })
    expect(state.user_events[0].received_at).not.toBe('2027-02-03T04:05:06.789Z')
    expect(state.user_profiles).toHaveLength(1)
    expect(state.user_profiles[0]).toMatchObject({ source: 'crm', type: 'account' })
  })

  test('an events allowlist (the subscription trigger) sends only the named events; others are done as skipped', async () => {
    t = await startTestService({
      configYaml: `
sources:
  - { id: web, writeKey: test-write-key, destinations: [default] }
destinations:
  - id: default
    zendesk: { url: "http://127.0.0.1:9", oauth: { clientId: x, clientSecret: y } }
    subscriptions:
      - action: track-event
        trigger: { types: [track], events: [Signed Up] }
`,
    })
    await t.post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'u2', event: 'Signed Up', properties: { plan: 'pro' } },
        { type: 'track', userId: 'u2', event: 'Page Scrolled', properties: {} },
      ],
    })
    await t.waitFor(async () => (await jobs('done')).length === 2)
    const state = await t.state()
    expect(state.user_events.map((e: any) => e.type)).toEqual(['Signed Up'])
  })
})
