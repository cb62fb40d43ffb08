/**
 * `track-sync` (issue 4): N tracks (default 10,000) of users who already exist in Zendesk (seeded
 * before the service starts, one track each), through ingest to the Events API on the Enterprise
 * plan at time scale 10. The Events API takes one event per call, so the floor is one request per
 * track and the account limit sets the pace. Compared with RudderStack's per-event calls (2 a
 * track: `users/search` by email, then `users/{id}/events`), which the bench plays itself on a
 * fresh emulator for fewer events, paced to the account limit.
 */
import { accountRatePerSecond, benchUserOf, ENTERPRISE_PER_MINUTE, userEvent } from './lib/kit.js'
import { runEventSync, type EventSyncSettings } from './lib/scenario.js'

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

/** A track as `@segment/analytics-node` sends it, the user's traits in the context. */
function trackEvent(runId: string, i: number, sentAt: string): Record<string, unknown> {
  return userEvent(runId, i, sentAt, {
    type: 'track',
    event: 'Order Completed',
    properties: { order_id: `${runId}-order-${i}`, total: 42.5, currency: 'EUR' },
  })
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

export function trackSync(s: TrackSyncSettings): Promise<Record<string, unknown>> {
  const bound = trackLowerBound(s.events, s.timeScale)
  return runEventSync<{ user_events: { properties?: { order_id?: string } }[] }>(s, {
    scenario: 'track-sync',
    runIdPrefix: 'trk',
    what: 'tracks',
    seed: benchUserOf,
    requestKinds: [[(method, path) => method === 'POST' && /\/events(\.json)?$/.test(path), 'event_calls']],
    event: trackEvent,
    bound,
    timeoutMs: Math.max(300_000, bound.bound * 5_000),
    held: (state, runId) => ({
      events: state.user_events.filter((e) => e.properties?.order_id?.startsWith(`${runId}-`)).length,
    }),
    sync: { bulkJobs: false, doneKind: 'event_calls' },
    // RudderStack's two calls per track, one at a time, at the account limit.
    baseline: {
      runIdPrefix: 'tbase',
      what: 'tracks',
      callsPerEvent: RUDDERSTACK_CALLS_PER_TRACK,
      perEvent: async (client, runId, i) => {
        const user = benchUserOf(runId, i)
        const userId = await client.userIdByEmail(user.email)
        await client.call('POST', `users/${userId}/events`, orderEventBody(runId, i, user.email))
      },
    },
    requestsTarget: TRACK_SYNC_TARGET,
  })
}
