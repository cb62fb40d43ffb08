/**
 * `track-sync` (issue 4): N tracks (default 10,000) of users who already exist in Zendesk (seeded
 * before the service starts, one track each), through ingest to the Events API on the Enterprise
 * plan at time scale 10. The Events API takes one event per call, so the floor is one request per
 * track and the account limit sets the pace. Compared with RudderStack's per-event calls (2 a
 * track: `users/search` by email, then `users/{id}/events`), which the bench plays itself on a
 * fresh emulator for fewer events, paced to the account limit.
 */
import { Agent } from 'node:http'

import {
  accountRatePerSecond,
  ENTERPRISE_PER_MINUTE,
  eventBodies,
  oauthToken,
  PacedClient,
  RequestCounter,
  seedUsers,
  segmentEnvelope,
  speedupOf,
  type SeedUser,
} from './lib/kit.js'
import { getJson, round, sendBatches } from './lib/load.js'
import { startEmulator, startService, stopAll, type Child } from './lib/processes.js'

export interface TrackSyncSettings {
  events: number
  baselineEvents: number
  timeScale: number
  jobDelayMs: number
  concurrency: number
  dist: boolean
  log: (message: string) => void
}

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

function classify(method: string, path: string): string {
  if (method === 'POST' && /\/events(\.json)?$/.test(path)) {
    return 'event_calls'
  }
  return 'other_requests'
}

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
async function rudderstackBaseline(
  s: TrackSyncSettings,
): Promise<{ secondsPer1000: number; requests: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 })
  let emulator: Child | null = null
  try {
    emulator = await startEmulator(
      { plan: 'enterprise', timeScale: s.timeScale, jobDelayMs: s.jobDelayMs },
      s.dist,
    )
    const runId = `tbase${Date.now().toString(36)}`
    await seedUsers(
      agent,
      emulator.url,
      s.timeScale,
      Array.from({ length: s.baselineEvents }, (_, i) => userOf(runId, i)),
    )
    const client = new PacedClient(agent, emulator.url, await oauthToken(agent, emulator.url), s.timeScale)
    s.log(`track-sync baseline: ${s.baselineEvents} tracks, ${RUDDERSTACK_CALLS_PER_TRACK} calls each`)
    const t0 = performance.now()
    for (let i = 0; i < s.baselineEvents; i++) {
      const user = userOf(runId, i)
      const found = await client.call('GET', `users/search?query=${encodeURIComponent(user.email)}`)
      const userId = (JSON.parse(found.body) as { users: { id: number }[] }).users[0]?.id
      if (userId === undefined) {
        throw new Error(`track-sync baseline: users/search found no ${user.email}`)
      }
      await client.call('POST', `users/${userId}/events`, orderEventBody(runId, i, user.email))
    }
    const seconds = (performance.now() - t0) / 1000
    return { secondsPer1000: seconds / (s.baselineEvents / 1000), requests: client.requests }
  } finally {
    agent.destroy()
    await stopAll([emulator])
  }
}

export async function trackSync(s: TrackSyncSettings): Promise<Record<string, unknown>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  let emulator: Child | null = null
  let service: Child | null = null
  const runId = `trk${Date.now().toString(36)}`
  let figures: Record<string, unknown>
  try {
    emulator = await startEmulator(
      { plan: 'enterprise', timeScale: s.timeScale, jobDelayMs: s.jobDelayMs },
      s.dist,
    )
    s.log(`track-sync: seeding ${s.events} users`)
    await seedUsers(
      agent,
      emulator.url,
      s.timeScale,
      Array.from({ length: s.events }, (_, i) => userOf(runId, i)),
    )
    const counter = new RequestCounter(agent, emulator.url, classify)
    await counter.start()
    service = await startService(emulator.url, s.dist)
    const sentAt = new Date().toISOString()
    const bodies = eventBodies(Array.from({ length: s.events }, (_, i) => trackEvent(runId, i, sentAt)))
    s.log(`track-sync: ${s.events} tracks, ${bodies.length} batches, ${s.concurrency} clients`)
    const load = await sendBatches({
      url: `${service.url}/v1/batch`,
      writeKey: 'bench-write-key',
      bodies,
      events: s.events,
      concurrency: s.concurrency,
    })
    if (Object.keys(load.errors).length > 0) {
      throw new Error(`ingest answered errors: ${JSON.stringify(load.errors)}`)
    }
    const t0 = load.startedAt
    const bound = trackLowerBound(s.events, s.timeScale)
    let held = 0
    await counter
      .waitUntilDone(
        async () => {
          const state = await getJson<{ user_events: { properties?: { order_id?: string } }[] }>(
            agent,
            `${emulator?.url}/__emulator/state`,
          )
          held = state.user_events.filter((e) => e.properties?.order_id?.startsWith(`${runId}-`)).length
          return held >= s.events
        },
        Math.max(300_000, bound.bound * 5_000),
      )
      .catch((err: unknown) => {
        throw new Error(
          `track-sync: ${String(err)}; the emulator holds ${held} of ${s.events} events\n${service?.tail() ?? ''}`,
        )
      })
    const doneAt = counter.lastOkAt.event_calls ?? counter.lastRequestAt ?? t0
    const wall = (doneAt - t0) / 1000
    const perThousand = (counter.total / s.events) * 1000
    figures = {
      scenario: 'track-sync',
      events: s.events,
      zendesk_requests: counter.total,
      requests_per_1000_events: round(perThousand),
      floor_per_1000_events: 1000,
      wall_s: round(wall, 3),
      lower_bound_s: round(bound.bound, 3),
      ratio_to_lower_bound: round(wall / bound.bound),
      rate_bound_s: round(bound.rate, 3),
      ingest_s: round((load.endedAt - t0) / 1000, 3),
      ...Object.fromEntries(Object.entries(counter.byKind).sort()),
      rate_limited: counter.rateLimited,
      time_scale: s.timeScale,
    }
  } finally {
    agent.destroy()
    await stopAll([emulator, service])
  }
  const baseline = await rudderstackBaseline(s)
  const oursPer1000 = Number(figures.wall_s) / (s.events / 1000)
  return {
    ...figures,
    baseline_events: s.baselineEvents,
    baseline_requests_per_1000_events: round((baseline.requests / s.baselineEvents) * 1000),
    baseline_seconds_per_1000_events: round(baseline.secondsPer1000, 3),
    seconds_per_1000_events: round(oursPer1000, 3),
    speedup: speedupOf(baseline.secondsPer1000, oursPer1000),
    targets_met: Number(figures.requests_per_1000_events) <= TRACK_SYNC_TARGET,
  }
}
