/**
 * What the benchmarks of issue 4 (`group-sync`, `track-sync`, `ticket-sync`) share: Zendesk calls
 * made by the bench itself (an OAuth token, seeding users through the bulk API, a per-event
 * client paced to the account limit that plays the peers' baseline), the bench's users and their
 * Segment events, `/v1/batch` bodies of any events, and a request counter over the emulator's
 * request log.
 */
import type { Agent } from 'node:http'
import { performance } from 'node:perf_hooks'

import { getJson, round, send, sleep, type HttpAnswer } from './load.js'
import { OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET } from './processes.js'

export const ENTERPRISE_PER_MINUTE = 700
/** Zendesk allows 30 bulk jobs queued or working per account (facts §7). */
export const MAX_JOBS_IN_FLIGHT = 30
export const BULK_SIZE = 100
/** The paced clients stay this much under the account limit (the emulator's windows are fixed). */
const PACING_MARGIN = 1.05

/** Requests a second the account allows at this time scale (Enterprise: 700 a minute). */
export function accountRatePerSecond(timeScale: number): number {
  return (ENTERPRISE_PER_MINUTE * timeScale) / 60
}

/** An access token of the emulator's seeded OAuth client. */
export async function oauthToken(agent: Agent, emulatorUrl: string): Promise<string> {
  const r = await send(agent, `${emulatorUrl}/oauth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: OAUTH_CLIENT_ID,
      client_secret: OAUTH_CLIENT_SECRET,
      scope: 'read write',
    }),
  })
  return (JSON.parse(r.body) as { access_token: string }).access_token
}

/**
 * A client of the emulator's API that sends one request at a time, no faster than the account
 * limit (with a 5% margin), and waits out a 429's Retry-After: the fastest a per-event
 * destination can go without being throttled.
 */
export class PacedClient {
  private nextAt = performance.now()
  private readonly intervalMs: number
  private readonly agent: Agent
  private readonly emulatorUrl: string
  private readonly token: string
  rateLimited = 0
  requests = 0

  constructor(agent: Agent, emulatorUrl: string, token: string, timeScale: number) {
    this.agent = agent
    this.emulatorUrl = emulatorUrl
    this.token = token
    this.intervalMs = (1000 / accountRatePerSecond(timeScale)) * PACING_MARGIN
  }

  /** Sends `method path` (under /api/v2/) and returns the answer; throws on a status ≥ 400 but 429. */
  async call(method: string, path: string, body?: unknown): Promise<HttpAnswer> {
    for (;;) {
      const wait = this.nextAt - performance.now()
      if (wait > 0) {
        await sleep(wait)
      }
      this.nextAt = performance.now() + this.intervalMs
      this.requests += 1
      const r = await send(this.agent, `${this.emulatorUrl}/api/v2/${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      if (r.status === 429) {
        this.rateLimited += 1
        this.nextAt = performance.now() + Number(r.headers['retry-after'] ?? 1) * 1000
        continue
      }
      if (r.status >= 400) {
        throw new Error(`${method} ${path} answered ${r.status}: ${r.body.slice(0, 300)}`)
      }
      return r
    }
  }

  /** The Zendesk id of the user `users/search` finds by `email` (as RudderStack looks users up). */
  async userIdByEmail(email: string): Promise<number> {
    const found = await this.call('GET', `users/search?query=${encodeURIComponent(email)}`)
    const userId = (JSON.parse(found.body) as { users: { id: number }[] }).users[0]?.id
    if (userId === undefined) {
      throw new Error(`users/search found no ${email}`)
    }
    return userId
  }
}

export interface SeedUser {
  external_id: string
  email: string
  name: string
}

/** The `i`th user of a run: the person of its `i`th event, and the user seeded for it. */
export function benchUserOf(runId: string, i: number): SeedUser {
  return {
    external_id: `${runId}-user-${i}`,
    email: `${runId}.user${i}@example.com`,
    name: `Bench User ${i}`,
  }
}

/**
 * Creates users through `users/create_or_update_many` (100 a call, at most 25 jobs at once) and
 * waits until every job is done: the "existing users" of a scenario, made before it starts.
 */
export async function seedUsers(
  agent: Agent,
  emulatorUrl: string,
  timeScale: number,
  users: SeedUser[],
): Promise<void> {
  const client = new PacedClient(agent, emulatorUrl, await oauthToken(agent, emulatorUrl), timeScale)
  const calls: SeedUser[][] = []
  for (let i = 0; i < users.length; i += BULK_SIZE) {
    calls.push(users.slice(i, i + BULK_SIZE))
  }
  for (let w = 0; w < calls.length; w += 25) {
    const ids: string[] = []
    for (const part of calls.slice(w, w + 25)) {
      const r = await client.call('POST', 'users/create_or_update_many', {
        users: part.map((u) => ({ ...u, skip_verify_email: true })),
      })
      ids.push((JSON.parse(r.body) as { job_status: { id: string } }).job_status.id)
    }
    for (;;) {
      await sleep(50)
      const r = await client.call('GET', `job_statuses/show_many?ids=${ids.join(',')}`)
      const jobs = (JSON.parse(r.body) as { job_statuses: { status: string }[] }).job_statuses
      if (jobs.length === ids.length && jobs.every((j) => j.status === 'completed')) {
        break
      }
      if (jobs.some((j) => j.status === 'failed' || j.status === 'killed')) {
        throw new Error('seeding users: a bulk job failed')
      }
    }
  }
}

/** `/v1/batch` bodies of 100 events each. */
export function eventBodies(events: Record<string, unknown>[]): Buffer[] {
  const sentAt = new Date().toISOString()
  const bodies: Buffer[] = []
  for (let i = 0; i < events.length; i += BULK_SIZE) {
    bodies.push(Buffer.from(JSON.stringify({ batch: events.slice(i, i + BULK_SIZE), sentAt })))
  }
  return bodies
}

/** The fields every Segment event of the benches carries besides its own. */
function segmentEnvelope(messageId: string, sentAt: string): Record<string, unknown> {
  return {
    messageId,
    timestamp: sentAt,
    context: { library: { name: '@segment/analytics-node', version: '3.1.0' } },
    _metadata: { jsonSize: 380, bufferSize: 1024 },
  }
}

/**
 * The `i`th event of a run as `@segment/analytics-node` sends it: `fields` (its type and own
 * fields) from `benchUserOf(runId, i)`, with the user's traits in the context.
 */
export function userEvent(
  runId: string,
  i: number,
  sentAt: string,
  fields: Record<string, unknown>,
): Record<string, unknown> {
  const user = benchUserOf(runId, i)
  const envelope = segmentEnvelope(`${runId}-msg-${i}`, sentAt)
  return {
    ...envelope,
    ...fields,
    userId: user.external_id,
    context: { ...(envelope.context as object), traits: { email: user.email, name: user.name } },
  }
}

interface LogEntry {
  seq: number
  method: string
  path: string
  status: number
  time: string
}

/**
 * Counts the emulator's requests from its request log (`GET /__emulator/requests?since=`), by
 * kind (`classify` names it from method and path), from `base` on: requests before it (seeding)
 * are left out.
 */
export class RequestCounter {
  total = 0
  rateLimited = 0
  readonly byKind: Record<string, number> = {}
  /** Epoch ms of the last request, and of the last answered 2xx per kind. */
  lastRequestAt: number | null = null
  readonly lastOkAt: Record<string, number> = {}
  private seq = 0
  private readonly agent: Agent
  private readonly url: string
  private readonly classify: (method: string, path: string) => string

  constructor(agent: Agent, url: string, classify: (method: string, path: string) => string) {
    this.agent = agent
    this.url = url
    this.classify = classify
  }

  /** Skips every request made so far (they are not the scenario's). */
  async start(): Promise<void> {
    const r = await getJson<{ requests: LogEntry[] }>(this.agent, `${this.url}/__emulator/requests?since=0`)
    this.seq = r.requests.reduce((m, e) => Math.max(m, e.seq), 0)
  }

  /** Reads the entries added since the last read; returns how many there were. */
  async read(): Promise<number> {
    const r = await getJson<{ requests: LogEntry[] }>(
      this.agent,
      `${this.url}/__emulator/requests?since=${this.seq}`,
    )
    for (const e of r.requests) {
      this.seq = Math.max(this.seq, e.seq)
      this.total += 1
      const at = Date.parse(e.time)
      this.lastRequestAt = Math.max(this.lastRequestAt ?? at, at)
      if (e.status === 429) {
        this.rateLimited += 1
      }
      const kind = this.classify(e.method, e.path)
      this.byKind[kind] = (this.byKind[kind] ?? 0) + 1
      if (e.status >= 200 && e.status < 300) {
        this.lastOkAt[kind] = Math.max(this.lastOkAt[kind] ?? at, at)
      }
    }
    return r.requests.length
  }

  /**
   * Reads the log every 100 ms until the service has been quiet for `quietMs` and `done()` says
   * the emulator holds everything; throws after `timeoutMs`.
   */
  async waitUntilDone(done: () => Promise<boolean>, timeoutMs: number, quietMs = 1_500): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let lastNewAt = Date.now()
    for (;;) {
      if ((await this.read()) > 0) {
        lastNewAt = Date.now()
      } else if (Date.now() - lastNewAt >= quietMs) {
        if (await done()) {
          return
        }
        lastNewAt = Date.now()
      }
      if (Date.now() > deadline) {
        throw new Error(`not done after ${Math.round(timeoutMs / 1000)} s`)
      }
      await sleep(100)
    }
  }
}

export interface JobState {
  status: string
  expiresAt?: number
}

/**
 * When the last bulk job the emulator completed was completed (epoch ms): created
 * `jobRetentionMs / timeScale` before its `expiresAt`, completed `jobDelayMs / timeScale` after.
 */
export async function lastJobCompletedAt(
  agent: Agent,
  emulatorUrl: string,
  jobs: JobState[],
): Promise<number | null> {
  const cfg = await getJson<{ config: { jobRetentionMs: number; jobDelayMs: number }; timeScale: number }>(
    agent,
    `${emulatorUrl}/__emulator/config`,
  )
  let last: number | null = null
  for (const j of jobs) {
    if (j.status === 'completed' && typeof j.expiresAt === 'number') {
      const completedAt = j.expiresAt - (cfg.config.jobRetentionMs - cfg.config.jobDelayMs) / cfg.timeScale
      last = Math.max(last ?? completedAt, completedAt)
    }
  }
  return last
}

/** Seconds per 1,000 events, and how many times faster `ours` is than `baseline`. */
export function speedupOf(baselineSecondsPer1000: number, oursSecondsPer1000: number): number {
  return round(baselineSecondsPer1000 / oursSecondsPer1000, 1)
}
