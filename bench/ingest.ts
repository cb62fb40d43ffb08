/**
 * `ingest`: events accepted durably through `/v1/batch`, 100 events a request, from concurrent
 * keep-alive clients on loopback. The service answers only after the queue committed the jobs.
 * Delivery runs meanwhile, as in production: the destination is an emulator at real speed
 * (time scale 1, Enterprise plan), so the worker syncs at Zendesk's pace while ingest is measured.
 */
import { performance } from 'node:perf_hooks'

import { batchBodies, EVENTS_PER_REQUEST, percentile, round, sendBatches } from './lib/load.js'
import { cpuSecondsOf, memoryOf, startEmulator, startService, stopAll, type Child } from './lib/processes.js'

export interface IngestSettings {
  /** Events in the measured part (after a warm-up of 10,000). */
  events: number
  concurrency: number
  jobDelayMs: number
  dist: boolean
  log: (message: string) => void
}

export interface IngestResult {
  scenario: 'ingest'
  events: number
  concurrency: number
  events_per_s: number
  p50_ms: number
  p99_ms: number
  /** The service's CPU use during the measured part, in % of one core. */
  service_cpu_pct: number
  /** The emulator's CPU use (delivery's other end), in % of one core. */
  emulator_cpu_pct: number
  /** The bench's (clients') CPU use, in % of one core. */
  client_cpu_pct: number
  service_peak_rss_mb: number
  targets_met: boolean
}

const WARM_UP_EVENTS = 10_000

export async function ingest(s: IngestSettings): Promise<IngestResult> {
  let emulator: Child | null = null
  let service: Child | null = null
  try {
    emulator = await startEmulator({ plan: 'enterprise', timeScale: 1, jobDelayMs: s.jobDelayMs }, s.dist)
    service = await startService(emulator.url, s.dist)
    const runId = `ingest${Date.now().toString(36)}`
    await sendBatches({
      url: `${service.url}/v1/batch`,
      writeKey: 'bench-write-key',
      bodies: batchBodies(`${runId}w`, 0, WARM_UP_EVENTS),
      events: WARM_UP_EVENTS,
      concurrency: s.concurrency,
    })
    const bodies = batchBodies(runId, 0, s.events)
    s.log(
      `ingest: ${s.events} events in ${bodies.length} requests of ${EVENTS_PER_REQUEST}, ${s.concurrency} clients`,
    )

    const cpu0 = cpuSecondsOf(service.pid)
    const emulatorCpu0 = cpuSecondsOf(emulator.pid)
    const client0 = process.cpuUsage()
    const t0 = performance.now()
    const load = await sendBatches({
      url: `${service.url}/v1/batch`,
      writeKey: 'bench-write-key',
      bodies,
      events: s.events,
      concurrency: s.concurrency,
    })
    const seconds = (performance.now() - t0) / 1000
    const cpu = cpuSecondsOf(service.pid) - cpu0
    const emulatorCpu = cpuSecondsOf(emulator.pid) - emulatorCpu0
    const client = process.cpuUsage(client0)
    if (Object.keys(load.errors).length > 0) {
      throw new Error(`ingest answered errors: ${JSON.stringify(load.errors)}`)
    }
    const eventsPerS = s.events / seconds
    return {
      scenario: 'ingest',
      events: s.events,
      concurrency: s.concurrency,
      events_per_s: Math.round(eventsPerS),
      p50_ms: round(percentile(load.latenciesMs, 50), 1),
      p99_ms: round(percentile(load.latenciesMs, 99), 1),
      service_cpu_pct: Math.round((cpu / seconds) * 100),
      emulator_cpu_pct: Math.round((emulatorCpu / seconds) * 100),
      client_cpu_pct: Math.round(((client.user + client.system) / 1e6 / seconds) * 100),
      service_peak_rss_mb: Math.round(memoryOf(service.pid).peakRssMb),
      targets_met: eventsPerS >= 20_000,
    }
  } finally {
    await stopAll([emulator, service])
  }
}
