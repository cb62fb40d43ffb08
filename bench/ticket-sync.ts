/**
 * `ticket-sync` (issue 4): N "Ticket Created" tracks (default 5,000), each with its own
 * `external_id` and a requester email Zendesk does not know yet, through ingest to
 * `tickets/create_many` on the Enterprise plan at time scale 10. Measures the Zendesk requests
 * per 1,000 events and the time until the emulator held every ticket, against a lower bound, and
 * against the peers' per-event create (Customer.io's Create Ticket: one `POST tickets` per event;
 * RudderStack has no ticket action), which the bench plays itself on a fresh emulator for fewer
 * events, paced to the account limit.
 */
import { lastJobCompletedAt, segmentEnvelope } from './lib/kit.js'
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

const classify = classifyBy([
  ['/job_statuses', 'job_polls'],
  ['/tickets/create_many', 'ticket_creates'],
  [(method, path) => method === 'GET' && /\/tickets(\.json)?$/.test(path), 'ticket_lookups'],
])

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
  const envelope = segmentEnvelope(`${runId}-msg-${i}`, sentAt)
  return {
    ...envelope,
    type: 'track',
    event: 'Ticket Created',
    userId: `${runId}-user-${i}`,
    properties: ticketProperties(runId, i),
    context: {
      ...(envelope.context as object),
      traits: { email: `${runId}.user${i}@example.com`, name: `Bench User ${i}` },
    },
  }
}

/** The baseline: one `POST tickets` per event, one at a time, at the account limit. */
function perEventBaseline(s: TicketSyncSettings): Promise<BaselineResult> {
  return runPerEventBaseline(s, {
    events: s.baselineEvents,
    runIdPrefix: 'kbase',
    intro: `ticket-sync baseline: ${s.baselineEvents} tickets, ${PEER_CALLS_PER_TICKET} call each`,
    perEvent: async (client, runId, i) => {
      const p = ticketProperties(runId, i)
      await client.call('POST', 'tickets', {
        ticket: {
          subject: p.subject,
          comment: { body: p.comment },
          priority: p.priority,
          tags: p.tags,
          external_id: p.external_id,
          requester: { email: `${runId}.user${i}@example.com`, name: `Bench User ${i}` },
        },
      })
    },
  })
}

export function ticketSync(s: TicketSyncSettings): Promise<Record<string, unknown>> {
  return runEventSync(s, {
    scenario: 'ticket-sync',
    runIdPrefix: 'tkt',
    what: '"Ticket Created" tracks',
    classify,
    event: ticketEvent,
    watch: true,
    settle: async ({ agent, emulatorUrl, service, counter, runId, load }) => {
      const bound = ticketLowerBound(s.events, s.timeScale, s.jobDelayMs)
      let jobs: { status: string; expiresAt?: number }[] = []
      let held = 0
      await waitUntilHeld(counter, {
        scenario: 'ticket-sync',
        held: async () => {
          const state = await getJson<{
            tickets: { external_id: string | null }[]
            job_statuses: { status: string; expiresAt?: number }[]
          }>(agent, `${emulatorUrl}/__emulator/state`)
          jobs = state.job_statuses
          const ids = new Set(
            state.tickets.flatMap((t) =>
              t.external_id?.startsWith(`${runId}-ticket-`) ? [t.external_id] : [],
            ),
          )
          held = ids.size
          const duplicates =
            state.tickets.filter((t) => t.external_id?.startsWith(`${runId}-`)).length - ids.size
          if (duplicates > 0) {
            throw new Error(`ticket-sync: ${duplicates} external ids have a second ticket`)
          }
          return held >= s.events
        },
        timeoutMs: Math.max(120_000, bound.bound * 30_000),
        holds: () => `${held} of ${s.events} tickets`,
        service,
      })
      const doneAt =
        (await lastJobCompletedAt(agent, emulatorUrl, jobs)) ?? counter.lastRequestAt ?? load.startedAt
      return syncFigures(
        { scenario: 'ticket-sync', events: s.events },
        { unit: 'events', count: s.events, counter, bound, load, doneAt, s, jobs: true, settled: true },
      )
    },
    baseline: perEventBaseline,
    requestsTarget: TICKET_SYNC_TARGET,
  })
}
