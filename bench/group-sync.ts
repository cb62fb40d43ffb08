/**
 * `group-sync` (issue 4): N group calls (default 10,000) through ingest, each for a distinct new
 * organization and a user who already exists in Zendesk (seeded by external id before the
 * service starts), on the Enterprise plan at time scale 10. Measures the Zendesk requests per
 * 1,000 events and the time until the emulator held every organization and membership, against
 * a lower bound, and against RudderStack's per-event calls (5 a group: organization fields,
 * organizations/create_or_update, users/search, the user's memberships, a membership create),
 * which the bench plays itself on a fresh emulator for fewer events, paced to the account limit.
 */
import { benchUserOf, userEvent } from './lib/kit.js'
import { bulkLowerBound, runEventSync, type EventSyncSettings } from './lib/scenario.js'

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

const orgIdOf = (runId: string, i: number): string => `${runId}-org-${i}`

/** A group call as `@segment/analytics-node` sends it, with the user's traits in the context. */
function groupEvent(runId: string, i: number, sentAt: string): Record<string, unknown> {
  return userEvent(runId, i, sentAt, {
    type: 'group',
    groupId: orgIdOf(runId, i),
    traits: { name: `Bench Org ${runId} ${i}`, domainNames: `org${i}.${runId}.example` },
  })
}

interface GroupState {
  organizations: { id: number; external_id: string | null }[]
  organization_memberships: { organization_id: number }[]
}

/** The organizations and memberships of the run's events the emulator holds. */
function heldOf(state: GroupState, runId: string): Record<string, number> {
  const ours = new Set(
    state.organizations.filter((o) => o.external_id?.startsWith(`${runId}-org-`)).map((o) => o.id),
  )
  return {
    organizations: ours.size,
    memberships: state.organization_memberships.filter((m) => ours.has(m.organization_id)).length,
  }
}

export function groupSync(s: GroupSyncSettings): Promise<Record<string, unknown>> {
  const bound = groupLowerBound(s.events, s.timeScale, s.jobDelayMs)
  return runEventSync<GroupState>(s, {
    scenario: 'group-sync',
    runIdPrefix: 'grp',
    what: 'group calls',
    seed: benchUserOf,
    requestKinds: [
      ['/job_statuses', 'job_polls'],
      ['/organizations/create_many', 'organization_creates'],
      ['/organizations/update_many', 'organization_updates'],
      ['/organizations/show_many', 'organization_lookups'],
      ['/users/show_many', 'user_lookups'],
      ['/organization_memberships/create_many', 'membership_creates'],
    ],
    event: groupEvent,
    bound,
    timeoutMs: Math.max(180_000, bound.bound * 30_000),
    held: heldOf,
    sync: { bulkJobs: true },
    // RudderStack's five calls per group, one at a time, at the account limit.
    baseline: {
      runIdPrefix: 'gbase',
      what: 'groups',
      callsPerEvent: RUDDERSTACK_CALLS_PER_GROUP,
      perEvent: async (client, runId, i) => {
        const user = benchUserOf(runId, i)
        await client.call('GET', 'organization_fields')
        const org = await client.call('POST', 'organizations/create_or_update', {
          organization: {
            external_id: orgIdOf(runId, i),
            name: `Bench Org ${runId} ${i}`,
            domain_names: [`org${i}.example`],
          },
        })
        const orgId = (JSON.parse(org.body) as { organization: { id: number } }).organization.id
        const userId = await client.userIdByEmail(user.email)
        await client.call('GET', `users/${userId}/organization_memberships`)
        await client.call('POST', 'organization_memberships', {
          organization_membership: { user_id: userId, organization_id: orgId },
        })
      },
    },
    requestsTarget: GROUP_SYNC_TARGET,
  })
}
