/**
 * `identify-sync`: N distinct users sent through ingest (`/v1/batch`) to the service, which syncs
 * them to the emulator on the Enterprise plan (700 requests a minute) at time scale 10. Measures
 * how many Zendesk requests it took and how long until the emulator held every user, against the
 * lower bound that the rate limit and the 30-jobs-in-flight ceiling put on any sync.
 */
import { Agent } from 'node:http'

import { EmulatorLog, readHeldUsers } from './lib/emulator-log.js'
import { batchBodies, round, sendBatches, sleep, userIdOf } from './lib/load.js'
import { startEmulator, startService, stopAll, type Child } from './lib/processes.js'

export const ENTERPRISE_PER_MINUTE = 700
/** Zendesk allows 30 bulk jobs queued or working per account (facts §7). */
export const MAX_JOBS_IN_FLIGHT = 30
export const BULK_SIZE = 100

export interface SyncSettings {
  users: number
  timeScale: number
  /** How long a bulk job takes in Zendesk, before time scaling. */
  jobDelayMs: number
  /** Concurrent ingest clients. */
  concurrency: number
  dist: boolean
  log: (message: string) => void
}

export interface IdentifySyncResult {
  scenario: 'identify-sync'
  events: number
  zendesk_requests: number
  requests_per_1000_events: number
  wall_s: number
  lower_bound_s: number
  ratio_to_lower_bound: number
  rate_bound_s: number
  concurrency_bound_s: number
  /** From the first event sent until every event was accepted. */
  ingest_s: number
  /** From the first event sent until the service's last Zendesk request (it knew all were done). */
  settled_s: number
  bulk_calls: number
  job_polls: number
  other_requests: number
  rate_limited: number
  plan: 'enterprise'
  time_scale: number
  job_delay_ms: number
  targets_met: boolean
}

/**
 * The lower bound of syncing `users` (seconds), and its two parts:
 * - rate: the fewest requests (one bulk call per 100 users, one poll per wave of jobs) at the
 *   account limit, `700 × timeScale / 60` requests a second;
 * - concurrency: waves of at most 30 jobs in flight, each wave lasting one job delay.
 */
export function lowerBound(users: number, timeScale: number, jobDelayMs: number) {
  const bulkCalls = Math.ceil(users / BULK_SIZE)
  const waves = Math.ceil(bulkCalls / MAX_JOBS_IN_FLIGHT)
  const requestsPerSecond = (ENTERPRISE_PER_MINUTE * timeScale) / 60
  const rate = (bulkCalls + waves) / requestsPerSecond
  const concurrency = (waves * jobDelayMs) / timeScale / 1000
  return { rate, concurrency, bound: Math.max(rate, concurrency), minRequests: bulkCalls + waves }
}

export async function identifySync(s: SyncSettings): Promise<IdentifySyncResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  let emulator: Child | null = null
  let service: Child | null = null
  try {
    emulator = await startEmulator(
      { plan: 'enterprise', timeScale: s.timeScale, jobDelayMs: s.jobDelayMs },
      s.dist,
    )
    service = await startService(emulator.url, s.dist)
    const runId = `sync${Date.now().toString(36)}`
    const bodies = batchBodies(runId, 0, s.users)
    const log = new EmulatorLog(agent, emulator.url)
    s.log(`identify-sync: ${s.users} users, ${bodies.length} batches, ${s.concurrency} clients`)

    // Watch the request log while ingest runs, so that each read stays small.
    let ingesting = true
    const watcher = (async () => {
      while (ingesting) {
        await log.read()
        await sleep(100)
      }
    })()
    const load = await sendBatches({
      url: `${service.url}/v1/batch`,
      writeKey: 'bench-write-key',
      bodies,
      events: s.users,
      concurrency: s.concurrency,
    })
    ingesting = false
    await watcher
    if (Object.keys(load.errors).length > 0) {
      throw new Error(`ingest answered errors: ${JSON.stringify(load.errors)}`)
    }
    const t0 = load.startedAt
    s.log(`identify-sync: ingest done in ${round((load.endedAt - t0) / 1000)} s; waiting for the sync`)

    // Done when the service has been quiet for a while and the emulator holds every user.
    const bound = lowerBound(s.users, s.timeScale, s.jobDelayMs)
    const deadline = Date.now() + Math.max(120_000, bound.bound * 20_000)
    const quietMs = 1_500
    let held = { users: 0, lastJobCompletedAt: null as number | null, jobsNotCompleted: 0 }
    let lastNewAt = Date.now()
    for (;;) {
      if ((await log.read()) > 0) {
        lastNewAt = Date.now()
      } else if (Date.now() - lastNewAt >= quietMs) {
        held = await readHeldUsers(agent, emulator.url, `${runId}-user-`)
        if (held.users >= s.users) {
          break
        }
        lastNewAt = Date.now()
      }
      if (Date.now() > deadline) {
        throw new Error(
          `identify-sync: after ${Math.round((Date.now() - t0) / 1000)} s the emulator holds ${held.users} of ${s.users} users (last one expected: ${userIdOf(runId, s.users - 1)})\n${service.tail()}`,
        )
      }
      await sleep(100)
    }
    const t = log.tally
    const heldAt = Math.max(held.lastJobCompletedAt ?? 0, t.lastSingleUpsertAt ?? 0)
    const wall = (heldAt - t0) / 1000
    const requestsPer1000 = (t.total / s.users) * 1000
    const ratio = wall / bound.bound
    return {
      scenario: 'identify-sync',
      events: s.users,
      zendesk_requests: t.total,
      requests_per_1000_events: round(requestsPer1000),
      wall_s: round(wall, 3),
      lower_bound_s: round(bound.bound, 3),
      ratio_to_lower_bound: round(ratio),
      rate_bound_s: round(bound.rate, 3),
      concurrency_bound_s: round(bound.concurrency, 3),
      ingest_s: round((load.endedAt - t0) / 1000, 3),
      settled_s: round(((t.lastRequestAt ?? heldAt) - t0) / 1000, 3),
      bulk_calls: t.bulkCalls,
      job_polls: t.jobPolls,
      other_requests: t.total - t.bulkCalls - t.jobPolls,
      rate_limited: t.rateLimited,
      plan: 'enterprise',
      time_scale: s.timeScale,
      job_delay_ms: s.jobDelayMs,
      targets_met: requestsPer1000 <= 12 && ratio <= 1.25,
    }
  } finally {
    agent.destroy()
    await stopAll([emulator, service])
  }
}
