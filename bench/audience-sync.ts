/**
 * `audience-sync` (issue 5): N profiles (default 10,000), each a member of 3 audiences, sent as AEP
 * profile exports to `POST /v1/audiences` (100 a request), for each target in turn:
 *
 * - `support-users`: one activation writing the 3 audiences as a tag, a checkbox user field and a
 *   text user field, on the Enterprise plan (700 requests a minute) at time scale 10;
 * - `sell-contacts`: one activation writing each audience's status to its Mapping ID custom field.
 *
 * Per target it prints `requests_per_1000_profiles`, `wall_s` (first profile sent until the
 * emulator holds every profile's memberships) and `ratio_to_lower_bound` (the lower bounds are in
 * bench/README.md). The service runs with a configuration file (activations need one), as a
 * separate process, like the other scenarios.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { oauthToken, RequestCounter } from './lib/kit.js'
import { getJson, send } from './lib/load.js'
import {
  OAUTH_CLIENT_ID,
  OAUTH_CLIENT_SECRET,
  ROOT,
  spawnAndWaitForUrl,
  stopAll,
  WRITE_KEY,
  type Child,
} from './lib/processes.js'
import {
  bulkLowerBound,
  classifyBy,
  ingest,
  startSyncEmulator,
  syncFigures,
  waitUntilHeld,
  type ScenarioSettings,
} from './lib/scenario.js'

export const AUDIENCE_TARGETS = ['support-users', 'sell-contacts'] as const
export type AudienceTarget = (typeof AUDIENCE_TARGETS)[number]

export interface AudienceSyncSettings extends ScenarioSettings {
  profiles: number
  targets: AudienceTarget[]
}

/** Sell allows 36,000 requests an hour per token (facts §10). */
export const SELL_PER_HOUR = 36_000
const PROFILES_PER_REQUEST = 100
/** The seeded Sell token of the emulator (packages/zendesk-emulator/src/options.ts). */
const SELL_TOKEN = 'sandbox-sell-token'
const AUDIENCES = ['aud-a', 'aud-b', 'aud-c'] as const

/**
 * Support users, a tag among the representations, every profile new to Zendesk: per 100 profiles
 * one `create_or_update_many` job, then one `update_many` job with the tags (tags replace the whole
 * list, so they cannot go in the upsert without removing an existing user's others; a user the
 * upsert created has no tags to read first).
 * - rate: those 2 requests per 100 profiles plus one poll per wave of jobs, at the account limit;
 * - concurrency: 2 jobs per 100 profiles, at most 30 in flight, each wave lasting a job delay.
 */
export function supportLowerBound(profiles: number, timeScale: number, jobDelayMs: number) {
  return bulkLowerBound(profiles, { timeScale, jobDelayMs }, { requests: 2, jobs: 2, minWaves: 2 })
}

/** Sell contacts: one upsert per profile (Sell has no bulk upsert) at Sell's limit, time-scaled. */
export function sellLowerBound(profiles: number, timeScale: number) {
  const perSecond = (SELL_PER_HOUR / 3600) * timeScale
  const rate = profiles / perSecond
  return { rate, concurrency: 0, bound: rate, minRequests: profiles }
}

function configYaml(emulatorUrl: string, target: AudienceTarget, timeScale: number): string {
  const audiences =
    target === 'support-users'
      ? [
          `{ id: ${AUDIENCES[0]}, tag: bench_a }`,
          `{ id: ${AUDIENCES[1]}, representation: checkbox, field: bench_b }`,
          `{ id: ${AUDIENCES[2]}, representation: text, field: bench_c }`,
        ]
      : AUDIENCES.map((a, i) => `{ id: ${a}, mappingId: bench_${'abc'[i] ?? 'x'} }`)
  return `
sources:
  - { id: aep, writeKey: ${WRITE_KEY}, destinations: [bench] }
destinations:
  - id: bench
    zendesk:
      url: ${emulatorUrl}
      oauth: { clientId: ${OAUTH_CLIENT_ID}, clientSecret: ${OAUTH_CLIENT_SECRET} }
      sellToken: ${SELL_TOKEN}
      # The emulator's Sell hour lasts 3600 / timeScale seconds.
      sellRequestsPerHour: ${SELL_PER_HOUR * timeScale}
    activations:
      - id: bench
        target: ${target}
        audiences: [${audiences.join(', ')}]
`
}

/** Starts the service with a configuration file; its URL comes from fastify's log line. */
async function startConfiguredService(yaml: string, dist: boolean): Promise<Child & { dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'zdd-bench-aud-'))
  const configFile = join(dataDir, 'config.yaml')
  writeFileSync(configFile, yaml)
  const env: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir }
  for (const k of Object.keys(env)) {
    if (k.startsWith('ZENDESK_') || k === 'WRITE_KEY' || k === 'CONFIG_FILE' || k === 'DATABASE_URL') {
      delete env[k]
    }
  }
  const main = dist
    ? [join(ROOT, 'packages', 'service', 'dist', 'main.js')]
    : ['--conditions=source', '--import', 'tsx', join(ROOT, 'packages', 'service', 'src', 'main.ts')]
  try {
    const child = await spawnAndWaitForUrl(
      'the service',
      [...main, '--config', configFile],
      env,
      /(?:zendesk-destination is running at|Server listening at) (http:\/\/[^\s"]+)/,
    )
    return {
      ...child,
      dataDir,
      async stop() {
        await child.stop()
        rmSync(dataDir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true })
    throw err
  }
}

/** The user fields (Support) or contact custom fields (Sell) the activation writes. */
async function setUpFields(agent: Agent, emulatorUrl: string, target: AudienceTarget): Promise<void> {
  if (target === 'support-users') {
    const token = await oauthToken(agent, emulatorUrl)
    for (const [key, type] of [
      ['bench_b', 'checkbox'],
      ['bench_c', 'text'],
    ] as const) {
      const r = await send(agent, `${emulatorUrl}/api/v2/user_fields`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user_field: { key, title: key, type } }),
      })
      if (r.status !== 201) {
        throw new Error(`creating user field ${key}: ${r.status} ${r.body}`)
      }
    }
    return
  }
  for (const name of ['bench_a', 'bench_b', 'bench_c']) {
    const r = await send(agent, `${emulatorUrl}/v2/contact/custom_fields`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${SELL_TOKEN}`,
        'content-type': 'application/json',
        'user-agent': 'bench',
      },
      body: JSON.stringify({ data: { name, type: 'string' } }),
    })
    if (r.status !== 200) {
      throw new Error(`creating Sell custom field ${name}: ${r.status} ${r.body}`)
    }
  }
}

/** `/v1/audiences` bodies of 100 AEP profile exports, each a member of the 3 audiences. */
function profileBodies(runId: string, profiles: number): Buffer[] {
  const bodies: Buffer[] = []
  for (let from = 0; from < profiles; from += PROFILES_PER_REQUEST) {
    const batch = []
    for (let i = from; i < Math.min(profiles, from + PROFILES_PER_REQUEST); i++) {
      batch.push({
        identityMap: {
          Email: [{ id: `${runId}.p${i}@example.com`, primary: true }],
          CRMID: [{ id: `${runId}-${i}` }],
        },
        person: { name: { firstName: 'Bench', lastName: `Profile ${i}` } },
        segmentMembership: {
          ups: Object.fromEntries(
            AUDIENCES.map((a) => [a, { status: 'realized', lastQualificationTime: '2026-11-21T08:00:00Z' }]),
          ),
        },
      })
    }
    bodies.push(Buffer.from(JSON.stringify(batch)))
  }
  return bodies
}

const classify = classifyBy([
  ['/v2/contacts/upsert', 'sell_upserts'],
  ['users/create_or_update_many', 'bulk_upserts'],
  ['users/update_many', 'tag_writes'],
  ['users/show_many', 'tag_reads'],
  ['job_statuses', 'job_polls'],
])

/** How many profiles the emulator holds with all 3 memberships written. */
async function held(
  agent: Agent,
  emulatorUrl: string,
  target: AudienceTarget,
  runId: string,
): Promise<number> {
  if (target === 'support-users') {
    const s = await getJson<{
      users: { email: string | null; tags: string[]; user_fields: Record<string, unknown> }[]
    }>(agent, `${emulatorUrl}/__emulator/state`)
    return s.users.filter(
      (u) =>
        u.email?.startsWith(`${runId}.`) &&
        u.tags.includes('bench_a') &&
        u.user_fields.bench_b === true &&
        u.user_fields.bench_c === 'realized',
    ).length
  }
  const s = await getJson<{
    sell: { contacts: { email: string | null; custom_fields: Record<string, unknown> }[] }
  }>(agent, `${emulatorUrl}/__emulator/state`)
  return s.sell.contacts.filter(
    (c) =>
      c.email?.startsWith(`${runId}.`) &&
      ['bench_a', 'bench_b', 'bench_c'].every((f) => c.custom_fields[f] === 'realized'),
  ).length
}

async function runTarget(s: AudienceSyncSettings, target: AudienceTarget): Promise<Record<string, unknown>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  let emulator: Child | null = null
  let service: Child | null = null
  const runId = `aud${Date.now().toString(36)}`
  try {
    emulator = await startSyncEmulator(s)
    await setUpFields(agent, emulator.url, target)
    const counter = new RequestCounter(agent, emulator.url, classify)
    service = await startConfiguredService(configYaml(emulator.url, target, s.timeScale), s.dist)
    await counter.start()
    const bodies = profileBodies(runId, s.profiles)
    s.log(
      `audience-sync ${target}: ${s.profiles} profiles × ${AUDIENCES.length} audiences, ${bodies.length} requests`,
    )
    const load = await ingest(s, { url: `${service.url}/v1/audiences`, bodies, events: s.profiles })
    const bound =
      target === 'support-users'
        ? supportLowerBound(s.profiles, s.timeScale, s.jobDelayMs)
        : sellLowerBound(s.profiles, s.timeScale)
    let count = 0
    await waitUntilHeld(counter, {
      scenario: `audience-sync ${target}`,
      held: async () => {
        count = await held(agent, emulator?.url ?? '', target, runId)
        return count >= s.profiles
      },
      timeoutMs: Math.max(300_000, bound.bound * 5_000),
      holds: () => `${count} of ${s.profiles}`,
      service,
    })
    // Done when the last request that wrote memberships was answered.
    const lastWrite = Math.max(
      ...['sell_upserts', 'tag_writes', 'bulk_upserts', 'job_polls'].map((k) => counter.lastOkAt[k] ?? 0),
    )
    return syncFigures(
      { scenario: 'audience-sync', target, profiles: s.profiles, audiences: AUDIENCES.length },
      {
        unit: 'profiles',
        count: s.profiles,
        counter,
        bound,
        load,
        doneAt: lastWrite,
        s,
        jobs: true,
        settled: false,
      },
    )
  } finally {
    agent.destroy()
    await stopAll([emulator, service])
  }
}

export async function audienceSync(s: AudienceSyncSettings): Promise<Record<string, unknown>[]> {
  const results: Record<string, unknown>[] = []
  for (const target of s.targets) {
    results.push(await runTarget(s, target))
  }
  return results
}
