/**
 * `ticket-sync` (issue 4): N "Ticket Created" tracks (default 5,000), each with its own
 * `external_id` and a requester email Zendesk does not know yet, through ingest to
 * `tickets/create_many` on the Enterprise plan at time scale 10. Measures the Zendesk requests
 * per 1,000 events and the time until the emulator held every ticket, against a lower bound, and
 * against the peers' per-event create (Customer.io's Create Ticket: one `POST tickets` per event;
 * RudderStack has no ticket action), which the bench plays itself on a fresh emulator for fewer
 * events, paced to the account limit.
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
  segmentEnvelope,
  speedupOf,
} from './lib/kit.js'
import { getJson, round, sendBatches } from './lib/load.js'
import { startEmulator, startService, stopAll, type Child } from './lib/processes.js'

export interface TicketSyncSettings {
  events: number
  baselineEvents: number
  timeScale: number
  jobDelayMs: number
  concurrency: number
  dist: boolean
  log: (message: string) => void
}

export const PEER_CALLS_PER_TICKET = 1
export const TICKET_SYNC_TARGET = 12

/**
 * The lower bound of N ticket creates: one `tickets/create_many` per 100 and one poll per wave of
 * at most 30 jobs (rate), waves of one job delay (concurrency), as identify-sync's.
 */
export function ticketLowerBound(events: number, timeScale: number, jobDelayMs: number) {
  const batches = Math.ceil(events / BULK_SIZE)
  const waves = Math.ceil(batches / MAX_JOBS_IN_FLIGHT)
  const minRequests = batches + waves
  const rate = minRequests / accountRatePerSecond(timeScale)
  const concurrency = (waves * jobDelayMs) / timeScale / 1000
  return { rate, concurrency, bound: Math.max(rate, concurrency), minRequests }
}

function classify(method: string, path: string): string {
  if (path.includes('/job_statuses')) {
    return 'job_polls'
  }
  if (path.includes('/tickets/create_many')) {
    return 'ticket_creates'
  }
  if (method === 'GET' && /\/tickets(\.json)?$/.test(path)) {
    return 'ticket_lookups'
  }
  return 'other_requests'
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
async function perEventBaseline(
  s: TicketSyncSettings,
): Promise<{ secondsPer1000: number; requests: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 })
  let emulator: Child | null = null
  try {
    emulator = await startEmulator(
      { plan: 'enterprise', timeScale: s.timeScale, jobDelayMs: s.jobDelayMs },
      s.dist,
    )
    const runId = `kbase${Date.now().toString(36)}`
    const client = new PacedClient(agent, emulator.url, await oauthToken(agent, emulator.url), s.timeScale)
    s.log(`ticket-sync baseline: ${s.baselineEvents} tickets, ${PEER_CALLS_PER_TICKET} call each`)
    const t0 = performance.now()
    for (let i = 0; i < s.baselineEvents; i++) {
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
    }
    const seconds = (performance.now() - t0) / 1000
    return { secondsPer1000: seconds / (s.baselineEvents / 1000), requests: client.requests }
  } finally {
    agent.destroy()
    await stopAll([emulator])
  }
}

export async function ticketSync(s: TicketSyncSettings): Promise<Record<string, unknown>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  let emulator: Child | null = null
  let service: Child | null = null
  const runId = `tkt${Date.now().toString(36)}`
  let figures: Record<string, unknown>
  try {
    emulator = await startEmulator(
      { plan: 'enterprise', timeScale: s.timeScale, jobDelayMs: s.jobDelayMs },
      s.dist,
    )
    const counter = new RequestCounter(agent, emulator.url, classify)
    await counter.start()
    service = await startService(emulator.url, s.dist)
    const sentAt = new Date().toISOString()
    const bodies = eventBodies(Array.from({ length: s.events }, (_, i) => ticketEvent(runId, i, sentAt)))
    s.log(
      `ticket-sync: ${s.events} "Ticket Created" tracks, ${bodies.length} batches, ${s.concurrency} clients`,
    )
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
    const bound = ticketLowerBound(s.events, s.timeScale, s.jobDelayMs)
    let jobs: { status: string; expiresAt?: number }[] = []
    let held = 0
    await counter
      .waitUntilDone(
        async () => {
          const state = await getJson<{
            tickets: { external_id: string | null }[]
            job_statuses: { status: string; expiresAt?: number }[]
          }>(agent, `${emulator?.url}/__emulator/state`)
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
        Math.max(120_000, bound.bound * 30_000),
      )
      .catch((err: unknown) => {
        throw new Error(
          `ticket-sync: ${String(err)}; the emulator holds ${held} of ${s.events} tickets\n${service?.tail() ?? ''}`,
        )
      })
    const doneAt = (await lastJobCompletedAt(agent, emulator.url, jobs)) ?? counter.lastRequestAt ?? t0
    const wall = (doneAt - t0) / 1000
    const perThousand = (counter.total / s.events) * 1000
    figures = {
      scenario: 'ticket-sync',
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
  const baseline = await perEventBaseline(s)
  const oursPer1000 = Number(figures.wall_s) / (s.events / 1000)
  return {
    ...figures,
    baseline_events: s.baselineEvents,
    baseline_requests_per_1000_events: round((baseline.requests / s.baselineEvents) * 1000),
    baseline_seconds_per_1000_events: round(baseline.secondsPer1000, 3),
    seconds_per_1000_events: round(oursPer1000, 3),
    speedup: speedupOf(baseline.secondsPer1000, oursPer1000),
    targets_met: Number(figures.requests_per_1000_events) <= TICKET_SYNC_TARGET,
  }
}
