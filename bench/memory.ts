/**
 * `memory`: 1,000,000 events queued behind a paused destination, and the service's peak RSS
 * (`VmHWM` in /proc/<pid>/status). The destination is paused the way the service pauses itself:
 * the emulator's OAuth client secret was rotated, so the service's credentials are refused (401),
 * its first jobs are parked and it stops claiming until the credentials work again. Everything
 * else stays queued in SQLite.
 */
import { readdirSync, statSync } from 'node:fs'
import { Agent } from 'node:http'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'

import { EmulatorLog } from './lib/emulator-log.js'
import { batchBodies, sendBatches, sleep } from './lib/load.js'
import {
  memoryOf,
  startEmulator,
  startService,
  stopAll,
  type Child,
  type ServiceChild,
} from './lib/processes.js'

export interface MemorySettings {
  events: number
  concurrency: number
  dist: boolean
  log: (message: string) => void
}

export interface MemoryResult {
  scenario: 'memory'
  events: number
  peak_rss_mb: number
  /** RSS once ingest is over and the service is idle. */
  rss_after_mb: number
  /** RSS right after start, before any event. */
  rss_at_start_mb: number
  events_per_s: number
  /** Size of DATA_DIR (database and WAL). */
  data_dir_mb: number
  destination_paused: boolean
  targets_met: boolean
}

/** Bodies are made a chunk at a time, so that the bench's own memory stays small. */
const CHUNK_EVENTS = 50_000
const PAUSED = /destination paused/

function dirSizeMb(dir: string): number {
  return readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0) / 1024 / 1024
}

export async function memory(s: MemorySettings): Promise<MemoryResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 })
  let emulator: Child | null = null
  let service: ServiceChild | null = null
  try {
    emulator = await startEmulator(
      { timeScale: 1, jobDelayMs: 2_000, clientSecret: 'rotated-secret' },
      s.dist,
    )
    service = await startService(emulator.url, s.dist)
    const svc = service
    const sawPause = svc.watch(PAUSED)
    const atStart = memoryOf(svc.pid).rssMb
    const runId = `mem${Date.now().toString(36)}`
    s.log(`memory: ${s.events} events behind a paused destination`)

    const t0 = performance.now()
    for (let from = 0; from < s.events; from += CHUNK_EVENTS) {
      const to = Math.min(from + CHUNK_EVENTS, s.events)
      const load = await sendBatches({
        url: `${svc.url}/v1/batch`,
        writeKey: svc.writeKey,
        bodies: batchBodies(runId, from, to),
        events: to - from,
        concurrency: s.concurrency,
      })
      if (Object.keys(load.errors).length > 0) {
        throw new Error(`ingest answered errors: ${JSON.stringify(load.errors)}\n${svc.tail()}`)
      }
      if (to % 200_000 === 0 || to === s.events) {
        s.log(`memory: ${to} events accepted, service RSS ${Math.round(memoryOf(svc.pid).rssMb)} MB`)
      }
    }
    const seconds = (performance.now() - t0) / 1000
    // Let the worker go through a few rounds (claims, auth probes) with the whole backlog queued.
    await sleep(5_000)
    const mem = memoryOf(svc.pid)
    const log = new EmulatorLog(agent, emulator.url)
    await log.read()
    const paused = sawPause() && log.tally.bulkCalls === 0
    if (!paused) {
      throw new Error(
        `memory: the destination did not pause (bulk calls: ${log.tally.bulkCalls})\n${svc.tail()}`,
      )
    }
    return {
      scenario: 'memory',
      events: s.events,
      peak_rss_mb: Math.round(mem.peakRssMb),
      rss_after_mb: Math.round(mem.rssMb),
      rss_at_start_mb: Math.round(atStart),
      events_per_s: Math.round(s.events / seconds),
      data_dir_mb: Math.round(dirSizeMb(svc.dataDir)),
      destination_paused: paused,
      targets_met: mem.peakRssMb <= 250,
    }
  } finally {
    agent.destroy()
    await stopAll([emulator, service])
  }
}
