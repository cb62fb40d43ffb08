import { describe, expect, test } from 'vitest'

import { loadConfig, type DestinationConfig } from '../config.js'
import { ConfigError } from '../errors.js'
import { buildPayload } from './build-payload.js'
import { defaultSubscriptions, presetSubscriptions } from './presets.js'
import { updateOrganizationMembership } from './update-organization-membership/update-organization-membership.js'

/** A config file with one destination: its preset line and settings. */
const file = (lines: string): string => `
sources:
  - { id: web, writeKey: write-key-1, destinations: [d] }
destinations:
  - id: d
    zendesk: { sandbox: true }
${lines
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
`

const destination = (lines: string): DestinationConfig => loadConfig({}, file(lines)).destinations[0]!

function problemsOf(lines: string): string[] {
  try {
    loadConfig({}, file(lines))
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as ConfigError).problems
  }
  throw new Error('expected a ConfigError')
}

const actionIds = (d: DestinationConfig): string[] => (d.subscriptions ?? []).map((s) => s.actionId)
const triggerOf = (d: DestinationConfig, id: string) =>
  d.subscriptions?.find((s) => s.actionId === id)?.trigger

describe('without a preset', () => {
  test('the subscriptions stay the defaults (null) and so do the settings', () => {
    const d = destination('settings: { verified: true }')
    expect(d.subscriptions).toBeNull()
    expect(d.preset).toBeUndefined()
    expect(d.settings).toMatchObject({
      verified: true,
      skipVerifyEmail: true,
      createMissingUserFields: false,
      sendGroupCallsWithoutUserId: false,
      removeUsersFromOrganizations: false,
      matchUsersBy: 'external_id',
      updatePrimaryEmail: false,
    })
    expect(d.settings.eventSource).toBeUndefined()
  })

  test('our events allowlist limits the default track-event subscription to those names', () => {
    const d = destination('settings: { events: [Signed Up, Order Completed] }')
    expect(actionIds(d)).toEqual(defaultSubscriptions().map((s) => s.actionId))
    expect(triggerOf(d, 'track-event')).toEqual({
      types: ['track'],
      events: ['Signed Up', 'Order Completed'],
      exceptEvents: ['Ticket Created', 'Ticket Updated'],
    })
    expect(triggerOf(d, 'create-ticket')).toEqual({ types: ['track'], events: ['Ticket Created'] })
  })

  test('an empty events allowlist is refused rather than read as "every track"', () => {
    expect(problemsOf('settings: { events: [] }')).toEqual([
      'destinations[0].settings.events: must list at least one event name (leave it out to send every track)',
    ])
  })

  test('platform names are unknown settings', () => {
    expect(problemsOf('settings: { createUsersAsVerified: true }')).toEqual([
      expect.stringMatching(/^destinations\[0\]\.settings: Unrecognized key: "createUsersAsVerified"/),
    ])
  })
})

describe('preset: segment', () => {
  test("Segment's setting names map onto ours; users get Zendesk's verification email unless verified", () => {
    const d = destination(`preset: segment
settings: { verified: true, allowGroupWithoutUserId: true, removeUsersFromOrganizations: true }`)
    expect(d.preset).toBe('segment')
    expect(d.settings).toMatchObject({
      verified: true,
      skipVerifyEmail: false,
      createMissingUserFields: false,
      sendGroupCallsWithoutUserId: true,
      removeUsersFromOrganizations: true,
      // "Segment uses the user email in traits.email to match user records."
      matchUsersBy: 'email',
    })
  })

  test('identify, company membership and group subscribe; no tickets; tracks only with the Events allowlist', () => {
    const none = destination('preset: segment')
    expect(actionIds(none)).toEqual(['upsert-user', 'update-organization-membership', 'upsert-organization'])

    const listed = destination('preset: segment\nsettings: { events: [Article Completed, Ticket Created] }')
    expect(actionIds(listed)).toEqual([
      'upsert-user',
      'update-organization-membership',
      'track-event',
      'upsert-organization',
    ])
    // A userId is required, and "Ticket Created" is an ordinary event (Segment has no ticket actions).
    expect(triggerOf(listed, 'track-event')).toEqual({
      types: ['track'],
      events: ['Article Completed', 'Ticket Created'],
      whenAny: ['$.userId'],
    })
  })

  test("another platform's setting name is an error naming the path and the preset's names", () => {
    expect(problemsOf('preset: segment\nsettings: { createUsersAsVerified: true, sourceName: web }')).toEqual(
      [
        expect.stringMatching(
          /^destinations\[0\]\.settings\.createUsersAsVerified: unknown setting "createUsersAsVerified" for preset segment: Segment's settings are verified, events, removeUsersFromOrganizations, allowGroupWithoutUserId; ours are verified, skipVerifyEmail, .*sendGroupCallsWithoutUserId/,
        ),
        expect.stringMatching(
          /^destinations\[0\]\.settings\.sourceName: unknown setting "sourceName" for preset segment/,
        ),
      ],
    )
  })

  test('connection settings point to the zendesk block; a platform name beside ours for one setting is refused', () => {
    expect(problemsOf('preset: segment\nsettings: { subdomain: acme, password: x }')).toEqual([
      "destinations[0].settings.subdomain: Segment's connection setting; give it as zendesk.subdomain",
      expect.stringMatching(
        /^destinations\[0\]\.settings\.password: Segment's connection setting; give it as zendesk\.oauth/,
      ),
    ])
    expect(
      problemsOf(
        'preset: segment\nsettings: { allowGroupWithoutUserId: true, sendGroupCallsWithoutUserId: false }',
      ),
    ).toEqual([
      'destinations[0].settings.sendGroupCallsWithoutUserId: the same setting as allowGroupWithoutUserId; give one of them',
    ])
  })

  test('a wrong value is reported under the name the file used', () => {
    expect(problemsOf('preset: segment\nsettings: { allowGroupWithoutUserId: "yes" }')).toEqual([
      expect.stringMatching(
        /^destinations\[0\]\.settings\.allowGroupWithoutUserId: Invalid input: expected boolean/,
      ),
    ])
  })

  test('the Events allowlist beside listed subscriptions is refused: the subscription trigger says it', () => {
    expect(
      problemsOf(`preset: segment
settings: { events: [Signed Up] }
subscriptions: [{ action: track-event }]`),
    ).toEqual([expect.stringMatching(/^destinations\[0\]\.settings\.events: the allowlist is the trigger/)])
    // Listed subscriptions replace the preset's; the setting names are still Segment's.
    const d = destination(`preset: segment
settings: { allowGroupWithoutUserId: true }
subscriptions: [{ action: upsert-organization }]`)
    expect(actionIds(d)).toEqual(['upsert-organization'])
    expect(d.settings.sendGroupCallsWithoutUserId).toBe(true)
  })
})

describe('preset: rudderstack', () => {
  test("RudderStack's setting names map onto ours; the event source defaults to Rudder", () => {
    const d = destination(`preset: rudderstack
settings: { createUsersAsVerified: true, sendGroupCallsWithoutUserId: true, removeUsersFromOrganization: true, searchByExternalId: true }`)
    expect(d.settings).toMatchObject({
      verified: true,
      skipVerifyEmail: false,
      createMissingUserFields: false,
      sendGroupCallsWithoutUserId: true,
      removeUsersFromOrganizations: true,
      // "Update user's primary email", despite its key.
      updatePrimaryEmail: true,
      matchUsersBy: 'external_id',
      eventSource: 'Rudder',
    })
    expect(destination('preset: rudderstack\nsettings: { sourceName: web-app }').settings.eventSource).toBe(
      'web-app',
    )
  })

  test('sourceName "zendesk" is refused, as RudderStack and Zendesk refuse it', () => {
    expect(problemsOf('preset: rudderstack\nsettings: { sourceName: " Zendesk " }')).toEqual([
      'destinations[0].settings.sourceName: Zendesk reserves the event source "zendesk"',
    ])
    expect(problemsOf('preset: rudderstack\nsettings: { apiToken: t, verified: 1 }')).toEqual([
      "destinations[0].settings.apiToken: RudderStack's connection setting; give it as zendesk.apiToken.token (or zendesk.oauth)",
      expect.stringMatching(/^destinations\[0\]\.settings\.verified: Invalid input: expected boolean/),
    ])
  })

  test('no ticket actions: every track, "Ticket Created" included, is an event; company only removes', () => {
    const d = destination('preset: rudderstack')
    expect(actionIds(d)).toEqual([
      'upsert-user',
      'update-organization-membership',
      'track-event',
      'upsert-organization',
    ])
    expect(triggerOf(d, 'track-event')).toEqual({ types: ['track'] })
    expect(triggerOf(d, 'update-organization-membership')).toEqual({
      types: ['identify'],
      whenAny: ['$.traits.company.remove', '$.context.traits.company.remove'],
    })
  })

  test('the membership mapping takes company.id only for a removal (RudderStack ignores company otherwise)', async () => {
    const mapping = presetSubscriptions('rudderstack', undefined).find(
      (s) => s.actionId === 'update-organization-membership',
    )?.mapping
    const payload = (traits: unknown, context: unknown = {}) =>
      buildPayload(updateOrganizationMembership.fields, mapping, {
        type: 'identify',
        userId: 'u1',
        traits,
        context,
      })
    expect((await payload({ company: { id: 6789 } })).companyId).toBeUndefined()
    expect((await payload({ company: { id: 6789, remove: false } })).companyId).toBeUndefined()
    expect(await payload({ company: { id: 6789, remove: true } })).toMatchObject({
      companyId: '6789',
      remove: true,
    })
    expect((await payload({}, { traits: { company: { id: '900', remove: true } } })).companyId).toBe('900')
  })
})

describe('preset: customerio', () => {
  test("Customer.io's actions and triggers are our defaults; its settings map onto ours", () => {
    const d = destination('preset: customerio\nsettings: { createUsersAsVerified: true }')
    expect(d.subscriptions).toEqual(defaultSubscriptions())
    expect(d.settings).toMatchObject({
      verified: true,
      skipVerifyEmail: false,
      createMissingUserFields: false,
      matchUsersBy: 'external_id',
      // Customer.io creates an organization from a group without userId, and removes a membership
      // on company.remove, with no setting.
      sendGroupCallsWithoutUserId: true,
      removeUsersFromOrganizations: true,
    })
    expect(
      destination('preset: customerio\nsettings: { skipVerifyEmail: true }').settings.skipVerifyEmail,
    ).toBe(true)
  })

  test('an unknown preset is an error naming the path', () => {
    expect(problemsOf('preset: hubspot')).toEqual([
      expect.stringMatching(
        /^destinations\[0\]\.preset: Invalid option: expected one of "segment"\|"rudderstack"\|"customerio"/,
      ),
    ])
  })
})
