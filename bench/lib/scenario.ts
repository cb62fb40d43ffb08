/**
 * The steps the sync scenarios (`identify-sync`, `group-sync`, `track-sync`, `ticket-sync`,
 * `audience-sync`) share: starting the emulator, sending the events through ingest, waiting until
 * the emulator holds them, the figures they print, and the per-event baseline the bench plays
 * itself for comparison; `runEventSync` runs the whole of a scenario of issue 4.
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
  speedupOf,
  type JobState,
  type SeedUser,
} from './kit.js'
import { getJson, round, sendBatches, sleep, type LoadResult } from './load.js'
import { startEmulator, startService, stopAll, WRITE_KEY, type Child } from './processes.js'

/** What every sync scenario is given (the size of the run aside). */
export interface ScenarioSettings {
  timeScale: number
  /** How long a bulk job takes in Zendesk, before time scaling. */
  jobDelayMs: number
  /** Concurrent ingest clients. */
  concurrency: number
  dist: boolean
  log: (message: string) => void
}

/** A lower bound of a sync (seconds) and its parts; `concurrency` where jobs in flight limit it. */
export interface LowerBound {
  rate: number
  concurrency?: number
  bound: number
  minRequests: number
}

/**
 * The lower bound of a sync through bulk jobs of 100 (`units` events or profiles), and its parts:
 * - rate: `requests` per batch of 100 plus one job-status poll per wave of at most 30 jobs in
 *   flight, at the account limit;
 * - concurrency: `jobs` per batch in waves of at most 30 (at least `minWaves`, where one job
 *   must wait for another), each wave lasting one job delay.
 */
export function bulkLowerBound(
  units: number,
  s: { timeScale: number; jobDelayMs: number },
  perBatch: { requests: number; jobs: number; minWaves?: number },
): Required<LowerBound> {
  const batches = Math.ceil(units / BULK_SIZE)
  const waves = Math.ceil((perBatch.jobs * batches) / MAX_JOBS_IN_FLIGHT)
  const minRequests = perBatch.requests * batches + waves
  const rate = minRequests / accountRatePerSecond(s.timeScale)
  const concurrency = (Math.max(perBatch.minWaves ?? 0, waves) * s.jobDelayMs) / s.timeScale / 1000
  return { rate, concurrency, bound: Math.max(rate, concurrency), minRequests }
}

/** A classifier of the emulator's requests: the first rule whose path part or test matches names it. */
export function classifyBy(
  rules: [string | ((method: string, path: string) => boolean), string][],
): (method: string, path: string) => string {
  return (method, path) =>
    rules.find(([m]) => (typeof m === 'string' ? path.includes(m) : m(method, path)))?.[1] ?? 'other_requests'
}

/** The emulator every sync scenario runs against: Enterprise plan, the settings' time scale. */
export function startSyncEmulator(s: ScenarioSettings): Promise<Child> {
  return startEmulator({ plan: 'enterprise', timeScale: s.timeScale, jobDelayMs: s.jobDelayMs }, s.dist)
}

/**
 * Sends `bodies` to `url` from `s.concurrency` clients and throws if ingest answered any error.
 * With `watch`, reads the emulator's request log while ingest runs, so that each read stays small.
 */
export async function ingest(
  s: ScenarioSettings,
  opts: { url: string; bodies: Buffer[]; events: number; watch?: { read(): Promise<unknown> } },
): Promise<LoadResult> {
  let ingesting = true
  const watch = opts.watch
  const watcher = watch
    ? (async () => {
        while (ingesting) {
          await watch.read()
          await sleep(100)
        }
      })()
    : Promise.resolve()
  const load = await sendBatches({
    url: opts.url,
    writeKey: WRITE_KEY,
    bodies: opts.bodies,
    events: opts.events,
    concurrency: s.concurrency,
  }).finally(() => {
    ingesting = false
  })
  await watcher
  if (Object.keys(load.errors).length > 0) {
    throw new Error(`ingest answered errors: ${JSON.stringify(load.errors)}`)
  }
  return load
}

/**
 * Waits until the service has been quiet and `held` says the emulator holds everything; on a
 * timeout throws naming the scenario, what the emulator holds (`holds()`) and the service's log.
 */
export async function waitUntilHeld(
  counter: RequestCounter,
  opts: {
    scenario: string
    held: () => Promise<boolean>
    timeoutMs: number
    holds: () => string
    service: Child | null
  },
): Promise<void> {
  await counter.waitUntilDone(opts.held, opts.timeoutMs).catch((err: unknown) => {
    throw new Error(
      `${opts.scenario}: ${String(err)}; the emulator holds ${opts.holds()}\n${opts.service?.tail() ?? ''}`,
    )
  })
}

/**
 * The figures of a sync of `count` events (or profiles: `unit`) after `head` (the scenario and its
 * size): requests per 1,000 against the floor, the time from the first event sent until `doneAt`
 * against the lower bound, and the requests by kind. `jobs` scenarios (bulk jobs) also print when
 * the service settled (its last request) and the job delay.
 */
export function syncFigures(
  head: Record<string, unknown>,
  f: {
    unit: 'events' | 'profiles'
    count: number
    counter: RequestCounter
    bound: LowerBound
    load: LoadResult
    doneAt: number
    s: ScenarioSettings
    jobs: boolean
    settled: boolean
  },
): Record<string, unknown> {
  const { counter, bound, load, s } = f
  const t0 = load.startedAt
  const wall = (f.doneAt - t0) / 1000
  return {
    ...head,
    zendesk_requests: counter.total,
    [`requests_per_1000_${f.unit}`]: round((counter.total / f.count) * 1000),
    [`floor_per_1000_${f.unit}`]: round((bound.minRequests / f.count) * 1000),
    wall_s: round(wall, 3),
    lower_bound_s: round(bound.bound, 3),
    ratio_to_lower_bound: round(wall / bound.bound),
    rate_bound_s: round(bound.rate, 3),
    ...(bound.concurrency === undefined ? {} : { concurrency_bound_s: round(bound.concurrency, 3) }),
    ingest_s: round((load.endedAt - t0) / 1000, 3),
    ...(f.settled ? { settled_s: round(((counter.lastRequestAt ?? f.doneAt) - t0) / 1000, 3) } : {}),
    ...Object.fromEntries(Object.entries(counter.byKind).sort()),
    rate_limited: counter.rateLimited,
    time_scale: s.timeScale,
    ...(f.jobs ? { job_delay_ms: s.jobDelayMs } : {}),
  }
}

export interface BaselineResult {
  secondsPer1000: number
  requests: number
}

/**
 * A peer's per-event destination, played by the bench: on a fresh emulator (with `seed`'s users
 * seeded first), `perEvent` for each of `events` events, one request at a time, paced to the
 * account limit.
 */
export async function runPerEventBaseline(
  s: ScenarioSettings,
  opts: {
    events: number
    runIdPrefix: string
    intro: string
    seed?: (runId: string, i: number) => SeedUser
    perEvent: (client: PacedClient, runId: string, i: number) => Promise<void>
  },
): Promise<BaselineResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 })
  let emulator: Child | null = null
  try {
    emulator = await startSyncEmulator(s)
    const runId = `${opts.runIdPrefix}${Date.now().toString(36)}`
    const seed = opts.seed
    if (seed) {
      await seedUsers(
        agent,
        emulator.url,
        s.timeScale,
        Array.from({ length: opts.events }, (_, i) => seed(runId, i)),
      )
    }
    const client = new PacedClient(agent, emulator.url, await oauthToken(agent, emulator.url), s.timeScale)
    s.log(opts.intro)
    const t0 = performance.now()
    for (let i = 0; i < opts.events; i++) {
      await opts.perEvent(client, runId, i)
    }
    const seconds = (performance.now() - t0) / 1000
    return { secondsPer1000: seconds / (opts.events / 1000), requests: client.requests }
  } finally {
    agent.destroy()
    await stopAll([emulator])
  }
}

/** `figures` with the baseline's, the speed-up over it, and whether the requests target is met. */
export function withBaseline(
  figures: Record<string, unknown>,
  events: number,
  baselineEvents: number,
  baseline: BaselineResult,
  requestsTarget: number,
): Record<string, unknown> {
  const oursPer1000 = Number(figures.wall_s) / (events / 1000)
  return {
    ...figures,
    baseline_events: baselineEvents,
    baseline_requests_per_1000_events: round((baseline.requests / baselineEvents) * 1000),
    baseline_seconds_per_1000_events: round(baseline.secondsPer1000, 3),
    seconds_per_1000_events: round(oursPer1000, 3),
    speedup: speedupOf(baseline.secondsPer1000, oursPer1000),
    targets_met: Number(figures.requests_per_1000_events) <= requestsTarget,
  }
}

/** The settings of a scenario of issue 4 (`group-sync`, `track-sync`, `ticket-sync`). */
export interface EventSyncSettings extends ScenarioSettings {
  events: number
  /** Events the per-event baseline sends (it is slow by design). */
  baselineEvents: number
}

/**
 * A scenario of issue 4: on a fresh emulator (with `seed`'s users seeded first), `s.events` events
 * (`event`) sent through the service's `/v1/batch`, until the emulator holds them all (`held`);
 * then the per-event `baseline` on another fresh emulator (the same users seeded), and the figures
 * with its.
 *
 * With `bulkJobs` the service syncs through bulk jobs and makes few requests: the request log is
 * read while ingest runs, the sync is done when the last job completed, and the figures add
 * `settled_s` and `job_delay_ms`. Without, it is done at the last 2xx request of kind `doneKind`.
 */
export async function runEventSync<S extends object>(
  s: EventSyncSettings,
  opts: {
    scenario: string
    runIdPrefix: string
    /** What the events are, for the log: "group calls". */
    what: string
    seed?: (runId: string, i: number) => SeedUser
    /** Names the emulator's requests (`classifyBy`'s rules). */
    requestKinds: Parameters<typeof classifyBy>[0]
    event: (runId: string, i: number, sentAt: string) => Record<string, unknown>
    bound: LowerBound
    timeoutMs: number
    /** What the emulator's state holds of the run's events, by what: every count must reach `s.events`. */
    held: (state: S, runId: string) => Record<string, number>
    sync: { bulkJobs: true } | { bulkJobs: false; doneKind: string }
    /** The peer's per-event calls: `perEvent` makes `callsPerEvent` of them for one of `what`. */
    baseline: {
      runIdPrefix: string
      what: string
      callsPerEvent: number
      perEvent: Parameters<typeof runPerEventBaseline>[1]['perEvent']
    }
    requestsTarget: number
  },
): Promise<Record<string, unknown>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  let emulator: Child | null = null
  let service: Child | null = null
  const runId = `${opts.runIdPrefix}${Date.now().toString(36)}`
  const bulkJobs = opts.sync.bulkJobs
  let figures: Record<string, unknown>
  try {
    emulator = await startSyncEmulator(s)
    const emulatorUrl = emulator.url
    const seed = opts.seed
    if (seed) {
      s.log(`${opts.scenario}: seeding ${s.events} users`)
      await seedUsers(
        agent,
        emulatorUrl,
        s.timeScale,
        Array.from({ length: s.events }, (_, i) => seed(runId, i)),
      )
    }
    const counter = new RequestCounter(agent, emulatorUrl, classifyBy(opts.requestKinds))
    await counter.start()
    service = await startService(emulatorUrl, s.dist)
    const sentAt = new Date().toISOString()
    const bodies = eventBodies(Array.from({ length: s.events }, (_, i) => opts.event(runId, i, sentAt)))
    s.log(`${opts.scenario}: ${s.events} ${opts.what}, ${bodies.length} batches, ${s.concurrency} clients`)
    const load = await ingest(s, {
      url: `${service.url}/v1/batch`,
      bodies,
      events: s.events,
      ...(bulkJobs ? { watch: counter } : {}),
    })
    let jobs: JobState[] = []
    let counts: Record<string, number> | null = null
    await waitUntilHeld(counter, {
      scenario: opts.scenario,
      held: async () => {
        // The emulator's state holds every resource; a scenario names the ones it reads (`S`).
        const state = await getJson<S & { job_statuses: JobState[] }>(
          agent,
          `${emulatorUrl}/__emulator/state`,
        )
        jobs = state.job_statuses
        counts = opts.held(state, runId)
        return Object.values(counts).every((n) => n >= s.events)
      },
      timeoutMs: opts.timeoutMs,
      holds: () =>
        counts === null
          ? `nothing read yet of ${s.events}`
          : `${Object.entries(counts)
              .map(([what, n]) => `${n} ${what}`)
              .join(' and ')} of ${s.events}`,
      service,
    })
    const doneAt =
      (opts.sync.bulkJobs
        ? await lastJobCompletedAt(agent, emulatorUrl, jobs)
        : counter.lastOkAt[opts.sync.doneKind]) ??
      counter.lastRequestAt ??
      load.startedAt
    figures = syncFigures(
      { scenario: opts.scenario, events: s.events },
      {
        unit: 'events',
        count: s.events,
        counter,
        bound: opts.bound,
        load,
        doneAt,
        s,
        jobs: bulkJobs,
        settled: bulkJobs,
      },
    )
  } finally {
    agent.destroy()
    await stopAll([emulator, service])
  }
  const { runIdPrefix, what, callsPerEvent, perEvent } = opts.baseline
  const baseline = await runPerEventBaseline(s, {
    events: s.baselineEvents,
    runIdPrefix,
    intro: `${opts.scenario} baseline: ${s.baselineEvents} ${what}, ${callsPerEvent} call${callsPerEvent === 1 ? '' : 's'} each`,
    perEvent,
    ...(opts.seed ? { seed: opts.seed } : {}),
  })
  return withBaseline(figures, s.events, s.baselineEvents, baseline, opts.requestsTarget)
}
