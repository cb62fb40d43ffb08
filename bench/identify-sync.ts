/**
 * `identify-sync`: N distinct users sent through ingest (`/v1/batch`) to the service, which syncs
 * them to the emulator on the Enterprise plan (700 requests a minute) at time scale 10. Measures
 * how many Zendesk requests it took and how long until the emulator held every user, against the
 * lower bound that the rate limit and the 30-jobs-in-flight ceiling put on any sync.
 */
import { Agent } from 'node:http'

import { EmulatorLog, readHeldUsers } from './lib/emulator-log.js'
import { batchBodies, percentile, round, send, sleep, userIdOf } from './lib/load.js'
import { cpuSecondsOf, startService, stopAll, type Child } from './lib/processes.js'
import { RequestCounter } from './lib/kit.js'
import {
  bulkLowerBound,
  ingest,
  startSyncEmulator,
  waitUntilHeld,
  type ScenarioSettings,
} from './lib/scenario.js'

export { BULK_SIZE, ENTERPRISE_PER_MINUTE, MAX_JOBS_IN_FLIGHT } from './lib/kit.js'

export interface SyncSettings extends ScenarioSettings {
  users: number
  /** Print every Zendesk request (ms from the first event sent, status, path) to stderr. */
  timeline?: boolean
  /**
   * Users of another run synced first on the same service and emulator, unmeasured (0: none, the
   * default): the measured sync then runs on code V8 has compiled already, as in a service that
   * has been running, instead of paying for the compilation while it is measured.
   */
  warmupUsers?: number
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
  /**
   * CPU seconds from the first event sent until the check that the emulator held every user
   * (after 1.5 s of quiet, when little runs): the service (all its threads), the emulator, and
   * this bench process (the load and the log reads). On 2 cores their sum over `wall_s` shows how
   * much room was left.
   */
  service_cpu_s: number
  emulator_cpu_s: number
  bench_cpu_s: number
  plan: 'enterprise'
  time_scale: number
  job_delay_ms: number
  /** Users synced before the measured ones (`warmupUsers`). */
  warmup_users: number
  targets_met: boolean
}

/**
 * The lower bound of syncing `users` (seconds), and its two parts:
 * - rate: the fewest requests (one bulk call per 100 users, one poll per wave of jobs) at the
 *   account limit, `700 × timeScale / 60` requests a second;
 * - concurrency: waves of at most 30 jobs in flight, each wave lasting one job delay.
 */
export function lowerBound(users: number, timeScale: number, jobDelayMs: number) {
  return bulkLowerBound(users, { timeScale, jobDelayMs }, { requests: 1, jobs: 1 })
}

export async function identifySync(s: SyncSettings): Promise<IdentifySyncResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  let emulator: Child | null = null
  let service: Child | null = null
  try {
    emulator = await startSyncEmulator(s)
    service = await startService(emulator.url, s.dist)
    const warmup = s.warmupUsers ?? 0
    if (warmup > 0) {
      await warmUp(s, agent, emulator.url, service, warmup)
    }
    const runId = `sync${Date.now().toString(36)}`
    const bodies = batchBodies(runId, 0, s.users)
    const log = new EmulatorLog(agent, emulator.url)
    const cpu0 = {
      service: cpuSecondsOf(service.pid),
      emulator: cpuSecondsOf(emulator.pid),
      bench: process.cpuUsage(),
    }
    s.log(`identify-sync: ${s.users} users, ${bodies.length} batches, ${s.concurrency} clients`)
    const load = await ingest(s, { url: `${service.url}/v1/batch`, bodies, events: s.users, watch: log })
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
    const benchCpu = process.cpuUsage(cpu0.bench)
    const cpu = {
      service: cpuSecondsOf(service.pid) - cpu0.service,
      emulator: cpuSecondsOf(emulator.pid) - cpu0.emulator,
      bench: (benchCpu.user + benchCpu.system) / 1e6,
    }
    const t = log.tally
    const heldAt = Math.max(held.lastJobCompletedAt ?? 0, t.lastSingleUpsertAt ?? 0)
    if (s.timeline === true) {
      const lines = log.entries.map((e) => `${String(e.at - t0).padStart(6)} ${e.status} ${e.path}`)
      const ms = (p: number) => Math.round(percentile(load.latenciesMs, p))
      lines.push(`ingest request latency ms: p50 ${ms(50)}, p90 ${ms(90)}, max ${ms(100)}`)
      lines.push(`ingest ended at ${load.endedAt - t0} ms; the emulator held every user at ${heldAt - t0} ms`)
      process.stderr.write(`${lines.join('\n')}\n`)
    }
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
      service_cpu_s: round(cpu.service, 3),
      emulator_cpu_s: round(cpu.emulator, 3),
      bench_cpu_s: round(cpu.bench, 3),
      plan: 'enterprise',
      time_scale: s.timeScale,
      job_delay_ms: s.jobDelayMs,
      warmup_users: warmup,
      targets_met: requestsPer1000 <= 12 && ratio <= 1.25,
    }
  } finally {
    agent.destroy()
    await stopAll([emulator, service])
  }
}

/**
 * Syncs `users` users of another run and waits until the service has been quiet and the emulator
 * holds them with their jobs done; then waits for a fresh rate-limit window (a minute,
 * time-scaled) and empties the emulator's request log, so the measured sync starts as a first
 * one would, on warm code.
 */
async function warmUp(s: SyncSettings, agent: Agent, emulatorUrl: string, service: Child, users: number) {
  const runId = `warm${Date.now().toString(36)}`
  s.log(`identify-sync: warming up with ${users} other users`)
  await ingest(s, { url: `${service.url}/v1/batch`, bodies: batchBodies(runId, 0, users), events: users })
  let held = { users: 0, jobsNotCompleted: 0 }
  await waitUntilHeld(new RequestCounter(agent, emulatorUrl, () => 'request'), {
    scenario: 'identify-sync (warm-up)',
    held: async () => {
      held = await readHeldUsers(agent, emulatorUrl, `${runId}-user-`)
      return held.users >= users && held.jobsNotCompleted === 0
    },
    timeoutMs: 120_000,
    holds: () => `${held.users} of ${users} users, ${held.jobsNotCompleted} jobs not completed`,
    service,
  })
  await sleep(60_000 / s.timeScale)
  await send(agent, `${emulatorUrl}/__emulator/requests`, { method: 'DELETE' })
}
