/**
 * Load for the benchmarks: Segment-shaped identify events, `/v1/batch` bodies of 100 of them, and
 * a pool of concurrent keep-alive clients that send the bodies and time each request.
 */
import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'

export const EVENTS_PER_REQUEST = 100

/** The external id of user `i` of a run. */
export function userIdOf(runId: string, i: number): string {
  return `${runId}-user-${i}`
}

/** One identify as `@segment/analytics-node` sends it (about 400 bytes of JSON). */
export function identifyEvent(runId: string, i: number, sentAt: string): Record<string, unknown> {
  return {
    type: 'identify',
    userId: userIdOf(runId, i),
    messageId: `${runId}-msg-${i}`,
    timestamp: sentAt,
    traits: {
      email: `${runId}.user${i}@example.com`,
      name: `Bench User ${i}`,
      plan: 'pro',
      createdAt: '2025-01-15T10:00:00.000Z',
    },
    context: { library: { name: '@segment/analytics-node', version: '3.1.0' } },
    _metadata: { jsonSize: 380, bufferSize: 1024 },
  }
}

/** `/v1/batch` bodies for events `from` to `to - 1`, 100 events each. */
export function batchBodies(runId: string, from: number, to: number): Buffer[] {
  const sentAt = new Date().toISOString()
  const bodies: Buffer[] = []
  for (let start = from; start < to; start += EVENTS_PER_REQUEST) {
    const batch = []
    for (let i = start; i < Math.min(start + EVENTS_PER_REQUEST, to); i++) {
      batch.push(identifyEvent(runId, i, sentAt))
    }
    bodies.push(Buffer.from(JSON.stringify({ batch, sentAt })))
  }
  return bodies
}

export interface HttpAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** One HTTP request on a keep-alive agent. */
export function send(
  agent: Agent,
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', agent, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** GET a JSON document (the emulator's inspection API). */
export async function getJson<T>(agent: Agent, url: string): Promise<T> {
  const r = await send(agent, url)
  if (r.status !== 200) {
    throw new Error(`GET ${url}: ${r.status} ${r.body.slice(0, 200)}`)
  }
  return JSON.parse(r.body) as T
}

export interface LoadResult {
  requests: number
  events: number
  /** Epoch ms when the first request was sent and when the last answer came. */
  startedAt: number
  endedAt: number
  /** Latency of each request, ms. */
  latenciesMs: number[]
  /** Answers other than 200 (by status). */
  errors: Record<string, number>
}

/**
 * Sends every body to `url` (POST, Basic auth with the write key) from `concurrency` clients, each
 * with its own connection, and resolves when all are answered. A 503/429 (back-pressure) is
 * retried after its Retry-After, as SDKs do; other non-200 answers are counted as errors.
 */
export async function sendBatches(opts: {
  url: string
  writeKey: string
  bodies: Buffer[]
  /** Events in all the bodies together. */
  events: number
  concurrency: number
  /** Called after each answer with the number of bodies answered so far. */
  onProgress?: (done: number) => void
}): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency })
  const headers = {
    authorization: `Basic ${Buffer.from(`${opts.writeKey}:`).toString('base64')}`,
    'content-type': 'application/json',
  }
  const latenciesMs: number[] = []
  const errors: Record<string, number> = {}
  let next = 0
  let done = 0
  const startedAt = Date.now()
  const client = async (): Promise<void> => {
    for (;;) {
      const i = next++
      const body = opts.bodies[i]
      if (body === undefined) {
        return
      }
      for (;;) {
        const t0 = performance.now()
        const r = await send(agent, opts.url, { method: 'POST', headers, body })
        latenciesMs.push(performance.now() - t0)
        if (r.status === 503 || r.status === 429) {
          errors[r.status] = (errors[r.status] ?? 0) + 1
          await new Promise((res) => setTimeout(res, Number(r.headers['retry-after'] ?? 1) * 1000))
          continue
        }
        if (r.status !== 200) {
          errors[r.status] = (errors[r.status] ?? 0) + 1
        }
        break
      }
      done += 1
      opts.onProgress?.(done)
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, () => client()))
  const endedAt = Date.now()
  agent.destroy()
  return {
    requests: opts.bodies.length,
    events: opts.events,
    startedAt,
    endedAt,
    latenciesMs,
    errors,
  }
}

/** The p-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) {
    return NaN
  }
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] ?? NaN
}

/** Rounds to `digits` decimals. */
export function round(n: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
