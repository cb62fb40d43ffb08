/**
 * A destination's own subscriptions (docs/configuration.md, "Subscriptions and triggers"): a YAML
 * config lists an action with a trigger (type, event names in a list or left out, a required
 * path) and a mapping of literals, paths and JSONata expressions. The mapped values must reach the
 * emulator, and the events the trigger does not take must be skipped with the reason in the
 * delivery log.
 */
import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

async function logOf(messageId: string): Promise<any[]> {
  const r = await fetch(`${t!.url}/admin/api/delivery-log?message_id=${encodeURIComponent(messageId)}`)
  return ((await r.json()) as { entries: any[] }).entries
}

const configYaml = `
sources:
  - { id: web, writeKey: test-write-key, destinations: [default] }
destinations:
  - id: default
    zendesk: { url: "http://127.0.0.1:9", oauth: { clientId: x, clientSecret: y } }
    subscriptions:
      - action: track-event
        trigger:
          types: [track]
          events: [Signed Up, Plan Upgraded, Internal Test]
          exceptEvents: [Internal Test]
          whenAny: [$.userId, $.properties.contact]
        mapping:
          name: Migrated customer
          email: { '@path': '$.properties.contact' }
          eventType: { '@jsonata': '"app." & $lowercase($replace(event, " ", "_"))' }
          properties:
            plan: { '@path': '$.properties.plan' }
            seats: { '@jsonata': '$number(properties.seats)' }
            channel: web
            source: { '@template': '{{context.app}}/{{properties.plan}}' }
            tier: { '@if': { blank: { '@path': '$.properties.tier' }, then: standard, else: { '@path': '$.properties.tier' } } }
`

describe('a destination’s own subscription mappings and triggers', () => {
  test('literal, @path, @jsonata, @template and @if mappings reach Zendesk; events the trigger does not take are skipped with the condition they failed', async () => {
    t = await startTestService({ configYaml })
    const accepted = await t.post('/v1/batch', {
      batch: [
        {
          type: 'track',
          messageId: 'm-signed-up',
          userId: 'u-7',
          event: 'Signed Up',
          timestamp: '2027-03-01T10:00:00.000Z',
          properties: { contact: 'Eve@Example.com', plan: 'pro', seats: '12', ignored: 'x', tier: ' ' },
          context: { app: 'web-app' },
        },
        // Listed in events, but exceptEvents wins.
        {
          type: 'track',
          messageId: 'm-internal',
          userId: 'u-7',
          event: 'Internal Test',
          properties: { contact: 'eve@example.com' },
        },
        // Not in the events list.
        {
          type: 'track',
          messageId: 'm-scrolled',
          userId: 'u-7',
          event: 'Page Scrolled',
          properties: { contact: 'eve@example.com' },
        },
        // A listed name, but none of the whenAny paths has a value.
        {
          type: 'track',
          messageId: 'm-anonymous',
          anonymousId: 'anon-1',
          event: 'Plan Upgraded',
          properties: { plan: 'team' },
        },
        // An identify: no subscription of its type (the listed subscriptions replace the defaults).
        { type: 'identify', messageId: 'm-identify', userId: 'u-7', traits: { email: 'eve@example.com' } },
      ],
    })
    expect(accepted.status).toBe(200)

    const entries = await t.waitFor(async () => {
      const all = await Promise.all(
        ['m-signed-up', 'm-internal', 'm-scrolled', 'm-anonymous', 'm-identify'].map(logOf),
      )
      return all.every((e) => e.length > 0) ? all.map((e) => e[0]) : null
    })
    const [signedUp, internal, scrolled, anonymous, identify] = entries
    expect(signedUp).toMatchObject({ outcome: 'delivered', actions: ['track-event'], reason: null })
    expect(internal).toMatchObject({
      outcome: 'skipped',
      actions: [],
      reason:
        'no subscription takes this track event ("Internal Test"): track-event leaves out track events named "Internal Test"',
    })
    expect(scrolled).toMatchObject({
      outcome: 'skipped',
      reason:
        'no subscription takes this track event ("Page Scrolled"): track-event takes only track events named "Signed Up", "Plan Upgraded", "Internal Test"',
    })
    expect(anonymous).toMatchObject({
      outcome: 'skipped',
      reason:
        'no subscription takes this track event ("Plan Upgraded"): track-event requires one of $.userId, $.properties.contact, all missing',
    })
    expect(identify).toMatchObject({ outcome: 'skipped', reason: 'no subscription takes identify events' })

    // Only the event the trigger took reached Zendesk, with the mapped values.
    const state = await t.state()
    expect(state.user_events).toHaveLength(1)
    const [event] = state.user_events
    // @jsonata: the type; an object of a @path, a @jsonata ($number), a literal, a @template and
    // an @if (the blank tier took the `then` branch): the properties.
    expect(event).toMatchObject({
      type: 'app.signed_up',
      properties: { plan: 'pro', seats: 12, channel: 'web', source: 'web-app/pro', tier: 'standard' },
      created_at: '2027-03-01T10:00:00.000Z',
    })
    expect(event.properties).not.toHaveProperty('ignored')
    // @path: the email identifier came from properties.contact; the literal: the profile's name.
    expect(state.user_profiles).toHaveLength(1)
    expect(state.user_profiles[0]).toMatchObject({ name: 'Migrated customer' })
    expect(state.user_profiles[0].identifiers).toEqual(
      expect.arrayContaining([
        { type: 'email', value: 'eve@example.com' },
        { type: 'external_id', value: 'u-7' },
      ]),
    )
    const eve = state.users.find((u: any) => u.email === 'eve@example.com')
    expect(eve).toBeDefined()
    expect(event.user_id).toBe(eve.id)
  })
})
