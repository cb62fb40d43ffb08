/**
 * `per-event-baseline`: users sent the way per-event destinations send them, one
 * `users/create_or_update` per event, under the same plan and time scale as `identify-sync`.
 * The bench itself plays the per-event destination: one request at a time, paced to Zendesk's
 * single-user limit (1 a second per account, which the emulator scales to 1 per 100 ms at time
 * scale 10) with a 5% margin, and waiting out a 429's Retry-After should one come.
 */
import { Agent } from 'node:http'
import { performance } from 'node:perf_hooks'

import { EmulatorLog, readHeldUsers } from './lib/emulator-log.js'
import { round, send, sleep, userIdOf } from './lib/load.js'
import { OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, startEmulator, stopAll, type Child } from './lib/processes.js'

export interface BaselineSettings {
  users: number
  timeScale: number
  jobDelayMs: number
  dist: boolean
  /** identify-sync's seconds per 1,000 users, to compare with. */
  identifySyncSecondsPer1000: number
  log: (message: string) => void
}

export interface BaselineResult {
  scenario: 'per-event-baseline'
  users: number
  zendesk_requests: number
  seconds_per_1000_users: number
  identify_sync_seconds_per_1000_users: number
  speedup: number
  rate_limited: number
  time_scale: number
}

/** Zendesk's single-user endpoint limit: one request a second per account (facts §2.4). */
const SINGLE_USER_WINDOW_MS = 1_000
const PACING_MARGIN = 1.05

export async function perEventBaseline(s: BaselineSettings): Promise<BaselineResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 })
  let emulator: Child | null = null
  try {
    emulator = await startEmulator(
      { plan: 'enterprise', timeScale: s.timeScale, jobDelayMs: s.jobDelayMs },
      s.dist,
    )
    const token = await send(agent, `${emulator.url}/oauth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: OAUTH_CLIENT_ID,
        client_secret: OAUTH_CLIENT_SECRET,
        scope: 'read write',
      }),
    })
    const accessToken = (JSON.parse(token.body) as { access_token: string }).access_token
    const headers = { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' }
    const runId = `base${Date.now().toString(36)}`
    const intervalMs = (SINGLE_USER_WINDOW_MS / s.timeScale) * PACING_MARGIN
    s.log(`per-event-baseline: ${s.users} users, one request every ${round(intervalMs, 1)} ms`)

    const t0 = performance.now()
    let nextAt = t0
    for (let i = 0; i < s.users; i++) {
      const body = JSON.stringify({
        user: {
          external_id: userIdOf(runId, i),
          email: `${runId}.user${i}@example.com`,
          name: `Bench User ${i}`,
          skip_verify_email: true,
        },
      })
      for (;;) {
        const wait = nextAt - performance.now()
        if (wait > 0) {
          await sleep(wait)
        }
        nextAt = performance.now() + intervalMs
        const r = await send(agent, `${emulator.url}/api/v2/users/create_or_update`, {
          method: 'POST',
          headers,
          body,
        })
        if (r.status === 429) {
          nextAt = performance.now() + Number(r.headers['retry-after'] ?? 1) * 1000
          continue
        }
        if (r.status !== 200 && r.status !== 201) {
          throw new Error(`create_or_update answered ${r.status}: ${r.body.slice(0, 300)}`)
        }
        break
      }
      if ((i + 1) % 250 === 0) {
        s.log(`per-event-baseline: ${i + 1} users`)
      }
    }
    const seconds = (performance.now() - t0) / 1000

    const log = new EmulatorLog(agent, emulator.url)
    await log.read()
    const held = await readHeldUsers(agent, emulator.url, `${runId}-user-`)
    if (held.users !== s.users) {
      throw new Error(`per-event-baseline: the emulator holds ${held.users} of ${s.users} users`)
    }
    const perThousand = seconds / (s.users / 1000)
    return {
      scenario: 'per-event-baseline',
      users: s.users,
      zendesk_requests: log.tally.total,
      seconds_per_1000_users: round(perThousand, 3),
      identify_sync_seconds_per_1000_users: round(s.identifySyncSecondsPer1000, 3),
      speedup: round(perThousand / s.identifySyncSecondsPer1000, 1),
      rate_limited: log.tally.rateLimited,
      time_scale: s.timeScale,
    }
  } finally {
    agent.destroy()
    await stopAll([emulator])
  }
}
