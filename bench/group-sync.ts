/**
 * `group-sync` (issue 4): N group calls (default 10,000) through ingest, each for a distinct new
 * organization and a user who already exists in Zendesk (seeded by external id before the
 * service starts), on the Enterprise plan at time scale 10. Measures the Zendesk requests per
 * 1,000 events and the time until the emulator held every organization and membership, against
 * a lower bound, and against RudderStack's per-event calls (5 a group: organization fields,
 * organizations/create_or_update, users/search, the user's memberships, a membership create),
 * which the bench plays itself on a fresh emulator for fewer events, paced to the account limit.
 */
import { Agent } from 'node:http'

import {
  accountRatePerSecond,
  BULK_SIZE,
  eventBodies,
  lastJobCompletedAt,
  MAX_JOBS_IN_FLIGHT,
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

export interface GroupSyncSettings {
  events: number
  /** Group calls the per-event baseline makes (it is slow by design). */
  baselineEvents: number
  timeScale: number
  jobDelayMs: number
  concurrency: number
  dist: boolean
  log: (message: string) => void
}

/** RudderStack's calls per group with a userId, the user existing (peers/rudderstack-zendesk.md §2.4). */
export const RUDDERSTACK_CALLS_PER_GROUP = 5
export const GROUP_SYNC_TARGET = 40

/**
 * The lower bound of N group calls for new organizations and existing users, and its parts. Per
 * 100 groups Zendesk needs one `organizations/create_many`, one `users/show_many` (memberships
 * take Zendesk user ids, the events carry external ids) and one
 * `organization_memberships/create_many`, the membership job after the organization job; and at
 * least one job-status poll per wave of at most 30 jobs.
 * - rate: those requests at the account limit;
 * - concurrency: 2B jobs in waves of 30, each wave one job delay.
 */
export function groupLowerBound(events: number, timeScale: number, jobDelayMs: number) {
  const batches = Math.ceil(events / BULK_SIZE)
  const waves = Math.ceil((2 * batches) / MAX_JOBS_IN_FLIGHT)
  const minRequests = 3 * batches + waves
  const rate = minRequests / accountRatePerSecond(timeScale)
  const concurrency = (waves * jobDelayMs) / timeScale / 1000
  return { rate, concurrency, bound: Math.max(rate, concurrency), minRequests }
}

function classify(method: string, path: string): string {
  if (path.includes('/job_statuses')) {
    return 'job_polls'
  }
  if (path.includes('/organizations/create_many')) {
    return 'organization_creates'
  }
  if (path.includes('/organizations/update_many')) {
    return 'organization_updates'
  }
  if (path.includes('/organizations/show_many')) {
    return 'organization_lookups'
  }
  if (path.includes('/users/show_many')) {
    return 'user_lookups'
  }
  if (path.includes('/organization_memberships/create_many')) {
    return 'membership_creates'
  }
  return 'other_requests'
}

const userOf = (runId: string, i: number): SeedUser => ({
  external_id: `${runId}-user-${i}`,
  email: `${runId}.user${i}@example.com`,
  name: `Bench User ${i}`,
})
const orgIdOf = (runId: string, i: number): string => `${runId}-org-${i}`

/** A group call as `@segment/analytics-node` sends it, with the user's traits in the context. */
function groupEvent(runId: string, i: number, sentAt: string): Record<string, unknown> {
  const user = userOf(runId, i)
  const envelope = segmentEnvelope(`${runId}-msg-${i}`, sentAt)
  return {
    ...envelope,
    type: 'group',
    userId: user.external_id,
    groupId: orgIdOf(runId, i),
    traits: { name: `Bench Org ${runId} ${i}`, domainNames: `org${i}.${runId}.example` },
    context: { ...(envelope.context as object), traits: { email: user.email, name: user.name } },
  }
}

interface GroupState {
  organizations: { id: number; external_id: string | null }[]
  organization_memberships: { organization_id: number }[]
  job_statuses: { status: string; expiresAt?: number }[]
}

/** The baseline: RudderStack's five calls per group, one at a time, at the account limit. */
async function rudderstackBaseline(
  s: GroupSyncSettings,
): Promise<{ secondsPer1000: number; requests: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 })
  let emulator: Child | null = null
  try {
    emulator = await startEmulator(
      { plan: 'enterprise', timeScale: s.timeScale, jobDelayMs: s.jobDelayMs },
      s.dist,
    )
    const runId = `gbase${Date.now().toString(36)}`
    await seedUsers(
      agent,
      emulator.url,
      s.timeScale,
      Array.from({ length: s.baselineEvents }, (_, i) => userOf(runId, i)),
    )
    const client = new PacedClient(agent, emulator.url, await oauthToken(agent, emulator.url), s.timeScale)
    s.log(`group-sync baseline: ${s.baselineEvents} groups, ${RUDDERSTACK_CALLS_PER_GROUP} calls each`)
    const t0 = performance.now()
    for (let i = 0; i < s.baselineEvents; i++) {
      const user = userOf(runId, i)
      await client.call('GET', 'organization_fields')
      const org = await client.call('POST', 'organizations/create_or_update', {
        organization: {
          external_id: orgIdOf(runId, i),
          name: `Bench Org ${runId} ${i}`,
          domain_names: [`org${i}.example`],
        },
      })
      const orgId = (JSON.parse(org.body) as { organization: { id: number } }).organization.id
      const found = await client.call('GET', `users/search?query=${encodeURIComponent(user.email)}`)
      const userId = (JSON.parse(found.body) as { users: { id: number }[] }).users[0]?.id
      if (userId === undefined) {
        throw new Error(`group-sync baseline: users/search found no ${user.email}`)
      }
      await client.call('GET', `users/${userId}/organization_memberships`)
      await client.call('POST', 'organization_memberships', {
        organization_membership: { user_id: userId, organization_id: orgId },
      })
    }
    const seconds = (performance.now() - t0) / 1000
    return { secondsPer1000: seconds / (s.baselineEvents / 1000), requests: client.requests }
  } finally {
    agent.destroy()
    await stopAll([emulator])
  }
}

export async function groupSync(s: GroupSyncSettings): Promise<Record<string, unknown>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  let emulator: Child | null = null
  let service: Child | null = null
  const runId = `grp${Date.now().toString(36)}`
  let figures: Record<string, unknown>
  try {
    emulator = await startEmulator(
      { plan: 'enterprise', timeScale: s.timeScale, jobDelayMs: s.jobDelayMs },
      s.dist,
    )
    s.log(`group-sync: seeding ${s.events} users`)
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
    const bodies = eventBodies(Array.from({ length: s.events }, (_, i) => groupEvent(runId, i, sentAt)))
    s.log(`group-sync: ${s.events} group calls, ${bodies.length} batches, ${s.concurrency} clients`)
    let ingesting = true
    const watcher = (async () => {
      while (ingesting) {
        await counter.read()
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
    const load = await sendBatches({
      url: `${service.url}/v1/batch`,
      writeKey: 'bench-write-key',
      bodies,
      events: s.events,
      concurrency: s.concurrency,
    })
    ingesting = false
    await watcher
    if (Object.keys(load.errors).length > 0) {
      throw new Error(`ingest answered errors: ${JSON.stringify(load.errors)}`)
    }
    const t0 = load.startedAt
    const bound = groupLowerBound(s.events, s.timeScale, s.jobDelayMs)
    let state: GroupState | null = null
    const held = { organizations: 0, memberships: 0 }
    await counter
      .waitUntilDone(
        async () => {
          state = await getJson<GroupState>(agent, `${emulator?.url}/__emulator/state`)
          const ours = new Set(
            state.organizations.filter((o) => o.external_id?.startsWith(`${runId}-org-`)).map((o) => o.id),
          )
          held.organizations = ours.size
          held.memberships = state.organization_memberships.filter((m) => ours.has(m.organization_id)).length
          return held.organizations >= s.events && held.memberships >= s.events
        },
        Math.max(180_000, bound.bound * 30_000),
      )
      .catch((err: unknown) => {
        throw new Error(
          `group-sync: ${String(err)}; the emulator holds ${held.organizations} organizations and ${held.memberships} memberships of ${s.events}\n${service?.tail() ?? ''}`,
        )
      })
    const doneAt =
      (await lastJobCompletedAt(agent, emulator.url, (state as GroupState | null)?.job_statuses ?? [])) ??
      counter.lastRequestAt ??
      t0
    const wall = (doneAt - t0) / 1000
    const perThousand = (counter.total / s.events) * 1000
    figures = {
      scenario: 'group-sync',
      events: s.events,
      zendesk_requests: counter.total,
      requests_per_1000_events: round(perThousand),
      floor_per_1000_events: round((bound.minRequests / s.events) * 1000),
      wall_s: round(wall, 3),
      lower_bound_s: round(bound.bound, 3),
      ratio_to_lower_bound: round(wall / bound.bound),
      rate_bound_s: round(bound.rate, 3),
      concurrency_bound_s: round(bound.concurrency, 3),
      ingest_s: round((load.endedAt - t0) / 1000, 3),
      settled_s: round(((counter.lastRequestAt ?? doneAt) - t0) / 1000, 3),
      ...Object.fromEntries(Object.entries(counter.byKind).sort()),
      rate_limited: counter.rateLimited,
      time_scale: s.timeScale,
      job_delay_ms: s.jobDelayMs,
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
    targets_met: Number(figures.requests_per_1000_events) <= GROUP_SYNC_TARGET,
  }
}
