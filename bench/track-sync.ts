/**
 * `track-sync` (issue 4): N tracks (default 10,000) of users who already exist in Zendesk (seeded
 * before the service starts, one track each), through ingest to the Events API on the Enterprise
 * plan at time scale 10. The Events API takes one event per call, so the floor is one request per
 * track and the account limit sets the pace. Compared with RudderStack's per-event calls (2 a
 * track: `users/search` by email, then `users/{id}/events`), which the bench plays itself on a
 * fresh emulator for fewer events, paced to the account limit.
 */
import { accountRatePerSecond, ENTERPRISE_PER_MINUTE, segmentEnvelope, type SeedUser } from './lib/kit.js'
import { getJson } from './lib/load.js'
import {
  classifyBy,
  runEventSync,
  runPerEventBaseline,
  syncFigures,
  waitUntilHeld,
  type BaselineResult,
  type EventSyncSettings,
} from './lib/scenario.js'

export type TrackSyncSettings = EventSyncSettings

/** RudderStack's calls per track of an existing user (peers/rudderstack-zendesk.md §2.4). */
export const RUDDERSTACK_CALLS_PER_TRACK = 2
export const TRACK_SYNC_TARGET = 1_005

/**
 * One event per call, under the account limit: the fastest any client can send N tracks.
 * Zendesk's (and the emulator's) rate-limit windows are fixed minutes, so a client that fills
 * every window from the first request on sends its last event at the start of window
 * ⌊(N − 1) / 700⌋; `rate` is the sustained rate, N / (700 a minute).
 */
export function trackLowerBound(events: number, timeScale: number) {
  const windowS = 60 / timeScale
  const rate = events / accountRatePerSecond(timeScale)
  const windows = Math.floor((events - 1) / ENTERPRISE_PER_MINUTE) * windowS
  return { rate, windows, bound: windows, minRequests: events }
}

const classify = classifyBy([
  [(method, path) => method === 'POST' && /\/events(\.json)?$/.test(path), 'event_calls'],
])

const userOf = (runId: string, i: number): SeedUser => ({
  external_id: `${runId}-user-${i}`,
  email: `${runId}.user${i}@example.com`,
  name: `Bench User ${i}`,
})

/** A track as `@segment/analytics-node` sends it, the user's traits in the context. */
function trackEvent(runId: string, i: number, sentAt: string): Record<string, unknown> {
  const user = userOf(runId, i)
  const envelope = segmentEnvelope(`${runId}-msg-${i}`, sentAt)
  return {
    ...envelope,
    type: 'track',
    event: 'Order Completed',
    userId: user.external_id,
    properties: { order_id: `${runId}-order-${i}`, total: 42.5, currency: 'EUR' },
    context: { ...(envelope.context as object), traits: { email: user.email, name: user.name } },
  }
}

const orderEventBody = (runId: string, i: number, email: string): Record<string, unknown> => ({
  event: {
    description: 'Order Completed',
    type: 'Order Completed',
    source: 'Rudder',
    properties: { order_id: `${runId}-order-${i}`, total: 42.5, currency: 'EUR' },
  },
  profile: { type: 'Order Completed', source: 'Rudder', identifiers: [{ type: 'email', value: email }] },
})

/** The baseline: RudderStack's two calls per track, one at a time, at the account limit. */
function rudderstackBaseline(s: TrackSyncSettings): Promise<BaselineResult> {
  return runPerEventBaseline(s, {
    events: s.baselineEvents,
    runIdPrefix: 'tbase',
    intro: `track-sync baseline: ${s.baselineEvents} tracks, ${RUDDERSTACK_CALLS_PER_TRACK} calls each`,
    seed: userOf,
    perEvent: async (client, runId, i) => {
      const user = userOf(runId, i)
      const found = await client.call('GET', `users/search?query=${encodeURIComponent(user.email)}`)
      const userId = (JSON.parse(found.body) as { users: { id: number }[] }).users[0]?.id
      if (userId === undefined) {
        throw new Error(`track-sync baseline: users/search found no ${user.email}`)
      }
      await client.call('POST', `users/${userId}/events`, orderEventBody(runId, i, user.email))
    },
  })
}

export function trackSync(s: TrackSyncSettings): Promise<Record<string, unknown>> {
  return runEventSync(s, {
    scenario: 'track-sync',
    runIdPrefix: 'trk',
    what: 'tracks',
    seed: userOf,
    classify,
    event: trackEvent,
    watch: false,
    settle: async ({ agent, emulatorUrl, service, counter, runId, load }) => {
      const bound = trackLowerBound(s.events, s.timeScale)
      let held = 0
      await waitUntilHeld(counter, {
        scenario: 'track-sync',
        held: async () => {
          const state = await getJson<{ user_events: { properties?: { order_id?: string } }[] }>(
            agent,
            `${emulatorUrl}/__emulator/state`,
          )
          held = state.user_events.filter((e) => e.properties?.order_id?.startsWith(`${runId}-`)).length
          return held >= s.events
        },
        timeoutMs: Math.max(300_000, bound.bound * 5_000),
        holds: () => `${held} of ${s.events} events`,
        service,
      })
      const doneAt = counter.lastOkAt.event_calls ?? counter.lastRequestAt ?? load.startedAt
      return syncFigures(
        { scenario: 'track-sync', events: s.events },
        { unit: 'events', count: s.events, counter, bound, load, doneAt, s, jobs: false, settled: false },
      )
    },
    baseline: rudderstackBaseline,
    requestsTarget: TRACK_SYNC_TARGET,
  })
}
