/**
 * The benchmarks of issues 3 to 6 ("Benchmarks"; bench/README.md explains each figure):
 *
 *   npm run bench -- [--json] [scenario ...] [--users N] [--baseline-users N] [--ingest-events N]
 *                    [--memory-events N] [--concurrency N] [--job-delay-ms N] [--time-scale X]
 *                    [--source] [--profile DIR] [--timeline] [--warmup-users N]
 *
 * With --json, one JSON object per scenario on its own line of stdout, with a `scenario` field;
 * without, a readable table. With no scenario named, all run. Progress goes to stderr.
 */
import { execFileSync } from 'node:child_process'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'

import { AUDIENCE_TARGETS, audienceSync, type AudienceTarget } from './audience-sync.js'
import { cluster } from './cluster.js'
import { groupSync } from './group-sync.js'
import { identifySync, type IdentifySyncResult } from './identify-sync.js'
import { ingest } from './ingest.js'
import { memory } from './memory.js'
import { profileChildrenInto } from './lib/processes.js'
import { perEventBaseline } from './per-event-baseline.js'
import { ticketSync } from './ticket-sync.js'
import { trackSync } from './track-sync.js'

const SCENARIOS = [
  'identify-sync',
  'per-event-baseline',
  'ingest',
  'memory',
  'group-sync',
  'track-sync',
  'ticket-sync',
  'audience-sync',
  'cluster',
] as const
type Scenario = (typeof SCENARIOS)[number]

/** Targets of issue 3, for the table: field, comparison, limit. */
const TARGETS: Record<string, [string, '<=' | '>=', number][]> = {
  'identify-sync': [
    ['requests_per_1000_events', '<=', 12],
    ['ratio_to_lower_bound', '<=', 1.25],
  ],
  ingest: [['events_per_s', '>=', 20_000]],
  memory: [['peak_rss_mb', '<=', 250]],
  // Issue 4.
  'group-sync': [['requests_per_1000_events', '<=', 40]],
  'track-sync': [['requests_per_1000_events', '<=', 1_005]],
  'ticket-sync': [['requests_per_1000_events', '<=', 12]],
}

const USAGE = `Usage: npm run bench -- [--json] [scenario ...] [options]

Scenarios: ${SCENARIOS.join(', ')} (all when none is named)

Options:
  --json                 one JSON object per scenario per line on stdout
  --users N              identify-sync: distinct users (default 10000)
  --baseline-users N     per-event-baseline: users (default 1000)
  --ingest-events N      ingest: events measured after a 10,000-event warm-up (default 200000)
  --memory-events N      memory: events queued behind the paused destination (default 1000000)
  --group-events N       group-sync: group calls (default 10000)
  --track-events N       track-sync: tracks (default 10000)
  --ticket-events N      ticket-sync: "Ticket Created" tracks (default 5000)
  --audience-profiles N  audience-sync: profiles, each in 3 audiences (default 10000)
  --audience-targets L   audience-sync: support-users,sell-contacts (default both)
  --cluster-events N     cluster: events measured per configuration (default 20000)
  --lease-ttl-ms N       cluster: the nodes' delivery lease ttl (default: the service's, 15000)
  --peer-events N        group-sync, track-sync, ticket-sync: events of their per-event baselines
                         (default 200 groups, 500 tracks, 1000 tickets: about 1,000 calls each)
  --concurrency N        ingest clients (default 16 for ingest, 8 for memory, 4 for identify-sync)
  --job-delay-ms N       how long a Zendesk bulk job takes, before time scaling (default 2000)
  --time-scale X         emulator time scale for identify-sync and the baseline (default 10)
  --source               run the sources through tsx instead of the built dist/ (the default
                         builds first with npm run build and runs dist/, as npm start does)
  --profile DIR          write V8 CPU profiles of the service and the emulator into DIR
                         (summarise with: node --import tsx bench/profile-summary.ts DIR/service)
  --warmup-users N       identify-sync: sync N other users first, unmeasured (default 0)
  --timeline             identify-sync: print every Zendesk request (ms from the first event sent,
                         status, path) to stderr
`

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) {
    return fallback
  }
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`--${name} must be a positive whole number, not ${value}`)
  }
  return n
}

function formatValue(v: unknown): string {
  return typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 3 }) : String(v)
}

function table(result: Record<string, unknown>): string {
  const rows = Object.entries(result).filter(([k]) => k !== 'scenario' && k !== 'targets_met')
  const width = Math.max(...rows.map(([k]) => k.length))
  const lines = [
    `\n${String(result.scenario)}`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${formatValue(v)}`),
  ]
  for (const [field, op, limit] of TARGETS[String(result.scenario)] ?? []) {
    const v = Number(result[field])
    const ok = op === '<=' ? v <= limit : v >= limit
    lines.push(`  target ${field} ${op} ${formatValue(limit)}: ${ok ? 'met' : 'MISSED'}`)
  }
  return lines.join('\n')
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      users: { type: 'string' },
      'baseline-users': { type: 'string' },
      'ingest-events': { type: 'string' },
      'memory-events': { type: 'string' },
      'group-events': { type: 'string' },
      'track-events': { type: 'string' },
      'ticket-events': { type: 'string' },
      'peer-events': { type: 'string' },
      'audience-profiles': { type: 'string' },
      'audience-targets': { type: 'string' },
      'cluster-events': { type: 'string' },
      'lease-ttl-ms': { type: 'string' },
      concurrency: { type: 'string' },
      'job-delay-ms': { type: 'string' },
      'time-scale': { type: 'string' },
      source: { type: 'boolean', default: false },
      profile: { type: 'string' },
      timeline: { type: 'boolean', default: false },
      'warmup-users': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(USAGE)
    return
  }
  const unknown = positionals.filter((p) => !(SCENARIOS as readonly string[]).includes(p))
  if (unknown.length > 0) {
    throw new Error(`unknown scenario ${unknown.join(', ')}; scenarios: ${SCENARIOS.join(', ')}`)
  }
  if (values.profile !== undefined) {
    profileChildrenInto(values.profile)
  }
  if (!values.source) {
    // Measure the service as `npm start` runs it: the compiled output on plain Node.
    process.stderr.write('[bench] npm run build\n')
    execFileSync('npm', ['run', 'build'], {
      cwd: new URL('..', import.meta.url),
      stdio: ['ignore', 'ignore', 'inherit'],
    })
  }
  const wanted: Scenario[] =
    positionals.length > 0 ? SCENARIOS.filter((s) => positionals.includes(s)) : [...SCENARIOS]
  const concurrency =
    values.concurrency === undefined ? null : positiveInt('concurrency', values.concurrency, 1)
  const timeScale = Number(values['time-scale'] ?? 10)
  if (!(timeScale > 0)) {
    throw new Error('--time-scale must be a positive number')
  }
  const common = {
    jobDelayMs: positiveInt('job-delay-ms', values['job-delay-ms'], 2_000),
    dist: !values.source,
    log: (m: string) => process.stderr.write(`[bench] ${m}\n`),
  }
  // Other work on the machine skews the figures: each result says how busy it was at the start.
  let loadAtStart = 0
  const print = (figures: Record<string, unknown>): void => {
    const result = { ...figures, load_avg_1m: Math.round(loadAtStart * 100) / 100 }
    process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${table(result)}\n`)
  }

  let sync: IdentifySyncResult | null = null
  const runSync = async (): Promise<IdentifySyncResult> => {
    sync ??= await identifySync({
      ...common,
      users: positiveInt('users', values.users, 10_000),
      timeScale,
      concurrency: concurrency ?? 4,
      timeline: values.timeline,
      warmupUsers: positiveInt('warmup-users', values['warmup-users'], 0),
    })
    return sync
  }
  for (const scenario of wanted) {
    loadAtStart = loadavg()[0] ?? 0
    switch (scenario) {
      case 'identify-sync':
        print({ ...(await runSync()) })
        break
      case 'per-event-baseline': {
        const s = await runSync()
        print({
          ...(await perEventBaseline({
            ...common,
            users: positiveInt('baseline-users', values['baseline-users'], 1_000),
            timeScale,
            identifySyncSecondsPer1000: s.wall_s / (s.events / 1000),
          })),
        })
        break
      }
      case 'ingest':
        print({
          ...(await ingest({
            ...common,
            events: positiveInt('ingest-events', values['ingest-events'], 200_000),
            concurrency: concurrency ?? 16,
          })),
        })
        break
      case 'group-sync':
        print(
          await groupSync({
            ...common,
            events: positiveInt('group-events', values['group-events'], 10_000),
            baselineEvents: positiveInt('peer-events', values['peer-events'], 200),
            timeScale,
            concurrency: concurrency ?? 4,
          }),
        )
        break
      case 'track-sync':
        print(
          await trackSync({
            ...common,
            events: positiveInt('track-events', values['track-events'], 10_000),
            baselineEvents: positiveInt('peer-events', values['peer-events'], 500),
            timeScale,
            concurrency: concurrency ?? 4,
          }),
        )
        break
      case 'ticket-sync':
        print(
          await ticketSync({
            ...common,
            events: positiveInt('ticket-events', values['ticket-events'], 5_000),
            baselineEvents: positiveInt('peer-events', values['peer-events'], 1_000),
            timeScale,
            concurrency: concurrency ?? 4,
          }),
        )
        break
      case 'audience-sync': {
        const targets = (values['audience-targets'] ?? AUDIENCE_TARGETS.join(','))
          .split(',')
          .map((t) => t.trim())
        const bad = targets.filter((t) => !(AUDIENCE_TARGETS as readonly string[]).includes(t))
        if (bad.length > 0) {
          throw new Error(`--audience-targets: unknown ${bad.join(', ')}; use ${AUDIENCE_TARGETS.join(', ')}`)
        }
        for (const result of await audienceSync({
          ...common,
          profiles: positiveInt('audience-profiles', values['audience-profiles'], 10_000),
          targets: targets as AudienceTarget[],
          timeScale,
          concurrency: concurrency ?? 4,
        })) {
          print(result)
        }
        break
      }
      case 'cluster':
        print({
          ...(await cluster({
            ...common,
            events: positiveInt('cluster-events', values['cluster-events'], 20_000),
            concurrency: concurrency ?? 16,
            leaseTtlMs:
              values['lease-ttl-ms'] === undefined
                ? null
                : positiveInt('lease-ttl-ms', values['lease-ttl-ms'], 1),
          })),
        })
        break
      case 'memory':
        print({
          ...(await memory({
            ...common,
            events: positiveInt('memory-events', values['memory-events'], 1_000_000),
            concurrency: concurrency ?? 8,
          })),
        })
        break
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  },
)
