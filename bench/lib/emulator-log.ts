/**
 * Reads the emulator's request log through its inspection API (`GET /__emulator/requests?since=`),
 * which is neither logged, rate limited nor faulted, so watching it does not change what it
 * measures. Each read returns only the entries newer than the last one seen.
 */
import type { Agent } from 'node:http'

import { getJson } from './load.js'

interface LogEntry {
  seq: number
  method: string
  path: string
  status: number
  time: string
}

export interface RequestTally {
  /** Every request the emulator received (the log's `total`). */
  total: number
  bulkCalls: number
  jobPolls: number
  singleUpserts: number
  oauth: number
  other: number
  /** Answers 429 (account limit, endpoint limit or TooManyJobs). */
  rateLimited: number
  /** Epoch ms of the last request seen, and of the last successful single upsert. */
  lastRequestAt: number | null
  lastSingleUpsertAt: number | null
}

export class EmulatorLog {
  readonly tally: RequestTally = {
    total: 0,
    bulkCalls: 0,
    jobPolls: 0,
    singleUpserts: 0,
    oauth: 0,
    other: 0,
    rateLimited: 0,
    lastRequestAt: null,
    lastSingleUpsertAt: null,
  }
  private seq = 0
  /** Every request seen: epoch ms, path without its query, status (for `--timeline`). */
  readonly entries: { at: number; path: string; status: number }[] = []
  private readonly agent: Agent
  private readonly url: string

  constructor(agent: Agent, emulatorUrl: string) {
    this.agent = agent
    this.url = emulatorUrl
  }

  /** Reads the entries added since the last read; returns how many there were. */
  async read(): Promise<number> {
    const r = await getJson<{ total: number; requests: LogEntry[] }>(
      this.agent,
      `${this.url}/__emulator/requests?since=${this.seq}`,
    )
    const t = this.tally
    t.total = r.total
    for (const e of r.requests) {
      this.seq = Math.max(this.seq, e.seq)
      const at = Date.parse(e.time)
      this.entries.push({ at, path: e.path.split('?')[0] ?? '', status: e.status })
      t.lastRequestAt = Math.max(t.lastRequestAt ?? at, at)
      if (e.status === 429) {
        t.rateLimited += 1
      }
      if (e.path.includes('/users/create_or_update_many')) {
        t.bulkCalls += 1
      } else if (e.path.includes('/job_statuses')) {
        t.jobPolls += 1
      } else if (e.path.includes('/users/create_or_update')) {
        t.singleUpserts += 1
        if (e.status === 200 || e.status === 201) {
          t.lastSingleUpsertAt = Math.max(t.lastSingleUpsertAt ?? at, at)
        }
      } else if (e.path.startsWith('/oauth/')) {
        t.oauth += 1
      } else {
        t.other += 1
      }
    }
    return r.requests.length
  }
}

interface EmulatorState {
  users: { external_id: string | null }[]
  job_statuses: { status: string; expiresAt?: number }[]
}

interface EmulatorConfigAnswer {
  config: { jobRetentionMs: number; jobDelayMs: number }
  timeScale: number
}

/**
 * Reads the emulator's state once: how many users of the run it holds, and when its last bulk job
 * completed (epoch ms). A job completes `jobDelayMs / timeScale` after it was created, and was
 * created `jobRetentionMs / timeScale` before it expires; the state shows `expiresAt`.
 */
export async function readHeldUsers(
  agent: Agent,
  emulatorUrl: string,
  externalIdPrefix: string,
): Promise<{ users: number; lastJobCompletedAt: number | null; jobsNotCompleted: number }> {
  const [state, cfg] = await Promise.all([
    getJson<EmulatorState>(agent, `${emulatorUrl}/__emulator/state`),
    getJson<EmulatorConfigAnswer>(agent, `${emulatorUrl}/__emulator/config`),
  ])
  const users = state.users.filter((u) => u.external_id?.startsWith(externalIdPrefix)).length
  let lastJobCompletedAt: number | null = null
  let jobsNotCompleted = 0
  for (const j of state.job_statuses) {
    if (j.status !== 'completed') {
      jobsNotCompleted += 1
      continue
    }
    if (typeof j.expiresAt === 'number') {
      const createdAt = j.expiresAt - cfg.config.jobRetentionMs / cfg.timeScale
      const completedAt = createdAt + cfg.config.jobDelayMs / cfg.timeScale
      lastJobCompletedAt = Math.max(lastJobCompletedAt ?? completedAt, completedAt)
    }
  }
  return { users, lastJobCompletedAt, jobsNotCompleted }
}
