/**
 * Default subscriptions and compatibility presets.
 *
 * Without a preset, a destination whose configuration lists no subscriptions gets every action
 * that is not optional, each with its default trigger (Customer.io's set, seed 003).
 *
 * A preset (`preset: segment | rudderstack | customerio` in the destination's configuration)
 * reproduces one platform's Zendesk destination, so that someone migrating gets the results they
 * had: which actions subscribe, their triggers and mappings, the platform's setting names (mapped
 * onto ours) and the platform's defaults where they differ from ours. docs/compatibility.md says
 * what each preset does and where we deliberately do better.
 */
import type { MappingValue } from '../mapping/mapping.js'
import type { Trigger } from './define-action.js'
import { ACTIONS } from './registry.js'

export interface SubscriptionSpec {
  actionId: string
  trigger: Trigger
  mapping?: Record<string, MappingValue>
}

export const PRESET_NAMES = ['segment', 'rudderstack', 'customerio'] as const
export type PresetName = (typeof PRESET_NAMES)[number]

/** What one of a platform's setting names becomes here. */
type PlatformSetting =
  /** The same meaning as our setting `to`. */
  | { to: string }
  /** A connection setting: it belongs in the destination's `zendesk` block, where `connection` says. */
  | { connection: string }

interface Preset {
  /** The platform's name, for messages. */
  platform: string
  /** The platform's setting keys (as its API, CLI or catalog names them). */
  settings: Readonly<Record<string, PlatformSetting>>
  /** Values of our settings where the platform's default differs from ours. */
  defaults: Readonly<Record<string, unknown>>
  /** The subscriptions, given the Events allowlist (undefined: none was set). */
  subscriptions(events: readonly string[] | undefined): SubscriptionSpec[]
}

const trigger = (actionId: string): Trigger => {
  const action = ACTIONS.get(actionId)
  if (!action) {
    throw new Error(`presets: no action "${actionId}"`)
  }
  return action.defaultTrigger
}

/** An action with its default trigger, and optionally a mapping that overrides some fields. */
const sub = (actionId: string, over: Partial<Trigger> = {}, mapping?: Record<string, MappingValue>) => ({
  actionId,
  trigger: { ...trigger(actionId), ...over },
  ...(mapping ? { mapping } : {}),
})

/**
 * A track subscription limited to an allowlist when one is given. Without the ticket actions
 * (Segment, RudderStack), "Ticket Created" and "Ticket Updated" are ordinary events.
 */
function trackSub(events: readonly string[] | undefined, over: Partial<Trigger> = {}): SubscriptionSpec {
  const base = trigger('track-event')
  const { exceptEvents: _ticketEvents, ...rest } = base
  return {
    actionId: 'track-event',
    trigger: { ...rest, ...over, ...(events !== undefined ? { events: [...events] } : {}) },
  }
}

/** Neither Segment nor RudderStack skips Zendesk's verification email; Customer.io's setting is off by default. */
const VERIFY_EMAIL_SENT = { skipVerifyEmail: false }

const PRESETS: Readonly<Record<PresetName, Preset>> = {
  // Seed 004 and the catalog (peers/feature-survey.md §1.1): allowGroupWithoutUserId, events,
  // removeUsersFromOrganizations, subdomain, verified; the doc's Email and Password sign in.
  segment: {
    platform: 'Segment',
    settings: {
      verified: { to: 'verified' },
      events: { to: 'events' },
      removeUsersFromOrganizations: { to: 'removeUsersFromOrganizations' },
      allowGroupWithoutUserId: { to: 'sendGroupCallsWithoutUserId' },
      subdomain: { connection: 'zendesk.subdomain' },
      email: { connection: 'zendesk.oauth (or the legacy zendesk.apiToken.email)' },
      password: {
        connection:
          'zendesk.oauth (Zendesk no longer takes passwords; the legacy zendesk.apiToken is an API token)',
      },
    },
    // "Segment uses the user email in traits.email to match user records in Zendesk."
    defaults: { ...VERIFY_EMAIL_SENT, matchUsersBy: 'email' },
    subscriptions: (events) => [
      sub('upsert-user'),
      sub('update-organization-membership'),
      // "Segment only sends track events when the call is listed in the Events setting and a
      // userId is included": no allowlist, no tracks.
      ...(events !== undefined && events.length > 0 ? [trackSub(events, { whenAny: ['$.userId'] })] : []),
      sub('upsert-organization'),
    ],
  },
  // peers/rudderstack-zendesk.md §1 (rudder-integrations-config): createUsersAsVerified,
  // sendGroupCallsWithoutUserId, removeUsersFromOrganization, searchByExternalId, sourceName;
  // email, apiToken and domain connect.
  rudderstack: {
    platform: 'RudderStack',
    settings: {
      createUsersAsVerified: { to: 'verified' },
      sendGroupCallsWithoutUserId: { to: 'sendGroupCallsWithoutUserId' },
      removeUsersFromOrganization: { to: 'removeUsersFromOrganizations' },
      // The dashboard's "Enable Removing Users from Organizations"; the plural is Segment's key.
      removeUsersFromOrganizations: { to: 'removeUsersFromOrganizations' },
      searchByExternalId: { to: 'updatePrimaryEmail' },
      sourceName: { to: 'eventSource' },
      domain: { connection: 'zendesk.subdomain' },
      email: { connection: 'zendesk.apiToken.email (or zendesk.oauth)' },
      apiToken: { connection: 'zendesk.apiToken.token (or zendesk.oauth)' },
    },
    defaults: { ...VERIFY_EMAIL_SENT, eventSource: 'Rudder' },
    subscriptions: (events) => [
      sub('upsert-user'),
      // RudderStack reads traits.company only to remove a membership (with the setting on); an
      // identify with company.id never adds one. Its company.id may well be no Zendesk id.
      sub(
        'update-organization-membership',
        { whenAny: ['$.traits.company.remove', '$.context.traits.company.remove'] },
        {
          companyId: {
            '@jsonata':
              '(traits.company.remove = true or context.traits.company.remove = true) ? ($exists(traits.company.id) ? traits.company.id : context.traits.company.id)',
          },
        },
      ),
      trackSub(events),
      sub('upsert-organization'),
    ],
  },
  // Seed 003: Subdomain; "Skip Verify Email" and "Create Users as Verified" (the seed gives the
  // labels only: these are their keys in our camelCase).
  customerio: {
    platform: 'Customer.io',
    settings: {
      skipVerifyEmail: { to: 'skipVerifyEmail' },
      createUsersAsVerified: { to: 'verified' },
      subdomain: { connection: 'zendesk.subdomain' },
    },
    // Its group without userId creates the organization alone, and company.remove removes the
    // membership: both without a setting.
    defaults: { ...VERIFY_EMAIL_SENT, sendGroupCallsWithoutUserId: true, removeUsersFromOrganizations: true },
    // Customer.io's six actions and default triggers are ours (the defaults without a preset).
    subscriptions: (events) => defaultSubscriptions(events),
  },
}

export function isPresetName(name: unknown): name is PresetName {
  return typeof name === 'string' && (PRESET_NAMES as readonly string[]).includes(name)
}

/**
 * Every action that is not optional, with its default trigger; an Events allowlist (our setting
 * `events`) limits track-event to those names.
 */
export function defaultSubscriptions(events?: readonly string[]): SubscriptionSpec[] {
  // Optional actions (`preset: false`) run only where a subscription names them.
  return [...ACTIONS.values()]
    .filter((a) => a.preset !== false)
    .map((a) => ({
      actionId: a.id,
      trigger:
        a.id === 'track-event' && events !== undefined
          ? { ...a.defaultTrigger, events: [...events] }
          : a.defaultTrigger,
    }))
}

/** The subscriptions of a preset (null: ours), given the Events allowlist. */
export function presetSubscriptions(
  preset: PresetName | null,
  events: readonly string[] | undefined,
): SubscriptionSpec[] {
  return preset === null ? defaultSubscriptions(events) : PRESETS[preset].subscriptions(events)
}

export interface TranslatedSettings {
  /** The settings under our names, with the preset's defaults for those not given. */
  settings: Record<string, unknown>
  /** Our name → the name the configuration used, to report problems under the user's name. */
  givenAs: Record<string, string>
  /** Problems, each `path.key: reason`. */
  problems: string[]
}

/**
 * Maps a preset's setting names onto ours (our own names are accepted too) and adds the
 * preset's defaults. A connection setting, or a platform name given beside our name for the same
 * setting, is a problem named by its path. Names neither the preset nor we know are left for the
 * schema to report (see `unknownSettingMessage`).
 */
export function translateSettings(
  preset: PresetName,
  settings: Readonly<Record<string, unknown>>,
  path: string,
): TranslatedSettings {
  const p = PRESETS[preset]
  const out: Record<string, unknown> = {}
  const givenAs: Record<string, string> = {}
  const problems: string[] = []
  for (const [key, value] of Object.entries(settings)) {
    const known = Object.hasOwn(p.settings, key) ? p.settings[key] : undefined
    if (known && 'connection' in known) {
      problems.push(`${path}.${key}: ${p.platform}'s connection setting; give it as ${known.connection}`)
      continue
    }
    const ours = known ? known.to : key
    const earlier = givenAs[ours]
    if (earlier !== undefined) {
      problems.push(`${path}.${key}: the same setting as ${earlier}; give one of them`)
      continue
    }
    out[ours] = value
    givenAs[ours] = key
  }
  for (const [key, value] of Object.entries(p.defaults)) {
    if (!(key in out)) {
      out[key] = value
    }
  }
  return { settings: out, givenAs, problems }
}

/** The message for a setting name that is neither the preset's nor ours. */
export function unknownSettingMessage(preset: PresetName, key: string, ours: readonly string[]): string {
  const p = PRESETS[preset]
  const theirs = Object.keys(p.settings).filter((k) => !('connection' in (p.settings[k] ?? {})))
  return `unknown setting "${key}" for preset ${preset}: ${p.platform}'s settings are ${theirs.join(', ')}; ours are ${ours.join(', ')}`
}
