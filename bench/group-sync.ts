/**
 * `group-sync` (issue 4): N group calls (default 10,000) through ingest, each for a distinct new
 * organization and a user who already exists in Zendesk (seeded by external id before the
 * service starts), on the Enterprise plan at time scale 10. Measures the Zendesk requests per
 * 1,000 events and the time until the emulator held every organization and membership, against
 * a lower bound, and against RudderStack's per-event calls (5 a group: organization fields,
 * organizations/create_or_update, users/search, the user's memberships, a membership create),
 * which the bench plays itself on a fresh emulator for fewer events, paced to the account limit.
 */
import { lastJobCompletedAt, segmentEnvelope, type SeedUser } from './lib/kit.js'
import { getJson } from './lib/load.js'
import {
  bulkLowerBound,
  classifyBy,
  runEventSync,
  runPerEventBaseline,
  syncFigures,
  waitUntilHeld,
  type BaselineResult,
  type EventSyncSettings,
} from './lib/scenario.js'

/** Group calls, and the group calls the per-event baseline makes (it is slow by design). */
export type GroupSyncSettings = EventSyncSettings

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
  return bulkLowerBound(events, { timeScale, jobDelayMs }, { requests: 3, jobs: 2 })
}

const classify = classifyBy([
  ['/job_statuses', 'job_polls'],
  ['/organizations/create_many', 'organization_creates'],
  ['/organizations/update_many', 'organization_updates'],
  ['/organizations/show_many', 'organization_lookups'],
  ['/users/show_many', 'user_lookups'],
  ['/organization_memberships/create_many', 'membership_creates'],
])

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
function rudderstackBaseline(s: GroupSyncSettings): Promise<BaselineResult> {
  return runPerEventBaseline(s, {
    events: s.baselineEvents,
    runIdPrefix: 'gbase',
    intro: `group-sync baseline: ${s.baselineEvents} groups, ${RUDDERSTACK_CALLS_PER_GROUP} calls each`,
    seed: userOf,
    perEvent: async (client, runId, i) => {
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
    },
  })
}

export function groupSync(s: GroupSyncSettings): Promise<Record<string, unknown>> {
  return runEventSync(s, {
    scenario: 'group-sync',
    runIdPrefix: 'grp',
    what: 'group calls',
    seed: userOf,
    classify,
    event: groupEvent,
    watch: true,
    settle: async ({ agent, emulatorUrl, service, counter, runId, load }) => {
      const bound = groupLowerBound(s.events, s.timeScale, s.jobDelayMs)
      let state: GroupState | null = null
      const held = { organizations: 0, memberships: 0 }
      await waitUntilHeld(counter, {
        scenario: 'group-sync',
        held: async () => {
          state = await getJson<GroupState>(agent, `${emulatorUrl}/__emulator/state`)
          const ours = new Set(
            state.organizations.filter((o) => o.external_id?.startsWith(`${runId}-org-`)).map((o) => o.id),
          )
          held.organizations = ours.size
          held.memberships = state.organization_memberships.filter((m) => ours.has(m.organization_id)).length
          return held.organizations >= s.events && held.memberships >= s.events
        },
        timeoutMs: Math.max(180_000, bound.bound * 30_000),
        holds: () => `${held.organizations} organizations and ${held.memberships} memberships of ${s.events}`,
        service,
      })
      const doneAt =
        (await lastJobCompletedAt(agent, emulatorUrl, (state as GroupState | null)?.job_statuses ?? [])) ??
        counter.lastRequestAt ??
        load.startedAt
      return syncFigures(
        { scenario: 'group-sync', events: s.events },
        { unit: 'events', count: s.events, counter, bound, load, doneAt, s, jobs: true, settled: true },
      )
    },
    baseline: rudderstackBaseline,
    requestsTarget: GROUP_SYNC_TARGET,
  })
}
