/**
 * `ticket-sync` (issue 4): N "Ticket Created" tracks (default 5,000), each with its own
 * `external_id` and a requester email Zendesk does not know yet, through ingest to
 * `tickets/create_many` on the Enterprise plan at time scale 10. Measures the Zendesk requests
 * per 1,000 events and the time until the emulator held every ticket, against a lower bound, and
 * against the peers' per-event create (Customer.io's Create Ticket: one `POST tickets` per event;
 * RudderStack has no ticket action), which the bench plays itself on a fresh emulator for fewer
 * events, paced to the account limit.
 */
import { benchUserOf, userEvent } from './lib/kit.js'
import { bulkLowerBound, runEventSync, type EventSyncSettings } from './lib/scenario.js'

export type TicketSyncSettings = EventSyncSettings

export const PEER_CALLS_PER_TICKET = 1
export const TICKET_SYNC_TARGET = 12

/**
 * The lower bound of N ticket creates: one `tickets/create_many` per 100 and one poll per wave of
 * at most 30 jobs (rate), waves of one job delay (concurrency), as identify-sync's.
 */
export function ticketLowerBound(events: number, timeScale: number, jobDelayMs: number) {
  return bulkLowerBound(events, { timeScale, jobDelayMs }, { requests: 1, jobs: 1 })
}

const externalIdOf = (runId: string, i: number): string => `${runId}-ticket-${i}`

function ticketProperties(runId: string, i: number): Record<string, unknown> {
  return {
    subject: `Order ${i} never arrived`,
    comment: `It has been two weeks since I ordered (${runId} #${i}).`,
    priority: i % 4 === 0 ? 'high' : 'normal',
    tags: ['shipping', 'bench'],
    external_id: externalIdOf(runId, i),
  }
}

/** A "Ticket Created" track as `@segment/analytics-node` sends it; the requester is the person. */
function ticketEvent(runId: string, i: number, sentAt: string): Record<string, unknown> {
  return userEvent(runId, i, sentAt, {
    type: 'track',
    event: 'Ticket Created',
    properties: ticketProperties(runId, i),
  })
}

interface TicketState {
  tickets: { external_id: string | null }[]
}

/** The run's tickets the emulator holds; throws if an external id has a second ticket. */
function heldOf(state: TicketState, runId: string): Record<string, number> {
  const ids = new Set(
    state.tickets.flatMap((t) => (t.external_id?.startsWith(`${runId}-ticket-`) ? [t.external_id] : [])),
  )
  const duplicates = state.tickets.filter((t) => t.external_id?.startsWith(`${runId}-`)).length - ids.size
  if (duplicates > 0) {
    throw new Error(`ticket-sync: ${duplicates} external ids have a second ticket`)
  }
  return { tickets: ids.size }
}

export function ticketSync(s: TicketSyncSettings): Promise<Record<string, unknown>> {
  const bound = ticketLowerBound(s.events, s.timeScale, s.jobDelayMs)
  return runEventSync<TicketState>(s, {
    scenario: 'ticket-sync',
    runIdPrefix: 'tkt',
    what: '"Ticket Created" tracks',
    requestKinds: [
      ['/job_statuses', 'job_polls'],
      ['/tickets/create_many', 'ticket_creates'],
      [(method, path) => method === 'GET' && /\/tickets(\.json)?$/.test(path), 'ticket_lookups'],
    ],
    event: ticketEvent,
    bound,
    timeoutMs: Math.max(120_000, bound.bound * 30_000),
    held: heldOf,
    sync: { bulkJobs: true },
    // One `POST tickets` per event, one at a time, at the account limit.
    baseline: {
      runIdPrefix: 'kbase',
      what: 'tickets',
      callsPerEvent: PEER_CALLS_PER_TICKET,
      perEvent: async (client, runId, i) => {
        const p = ticketProperties(runId, i)
        const user = benchUserOf(runId, i)
        await client.call('POST', 'tickets', {
          ticket: {
            subject: p.subject,
            comment: { body: p.comment },
            priority: p.priority,
            tags: p.tags,
            external_id: p.external_id,
            requester: { email: user.email, name: user.name },
          },
        })
      },
    },
    requestsTarget: TICKET_SYNC_TARGET,
  })
}
