/**
 * A small HTTP client for emulator tests: real HTTP over loopback, bodies always read (an unread
 * body keeps the socket busy and slows `close()`), JSON parsed when the answer is JSON. Also the
 * set-up most test files share: one emulator per file, reset before each test (`useTestEmulator`).
 */
import { afterAll, beforeAll, beforeEach, expect } from 'vitest'

import { createEmulator, type Emulator, type EmulatorOptions } from '../src/index.js'
import { loadOas, type Oas } from './contract/oas.js'

export interface TestResponse<T = any> {
  status: number
  headers: Headers
  body: T
  text: string
}

export type AuthSpec = { basic: string } | { bearer: string } | { raw: string } | 'none' | 'token'

export interface TestClient {
  emulator: Emulator
  url: string
  request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    auth?: AuthSpec,
    headers?: Record<string, string>,
  ): Promise<TestResponse<T>>
  get<T = any>(path: string, auth?: AuthSpec): Promise<TestResponse<T>>
  post<T = any>(path: string, body?: unknown, auth?: AuthSpec): Promise<TestResponse<T>>
  put<T = any>(path: string, body?: unknown, auth?: AuthSpec): Promise<TestResponse<T>>
  del<T = any>(path: string, auth?: AuthSpec): Promise<TestResponse<T>>
  /** Polls a job status until it is completed or failed, and returns it. */
  waitForJob(jobId: string, timeoutMs?: number): Promise<any>
  /** Resets the account (data, limits, faults, log) and its configuration to the start values. */
  reset(): void
  /** `GET /__emulator/state`. */
  state(): Promise<any>
  close(): Promise<void>
}

export function basicToken(email: string, token: string): string {
  return `Basic ${Buffer.from(`${email}/token:${token}`).toString('base64')}`
}

function authHeader(client: { emulator: Emulator }, auth: AuthSpec): string | undefined {
  if (auth === 'none') {
    return undefined
  }
  if (auth === 'token') {
    return basicToken(client.emulator.seed.adminEmail, client.emulator.seed.apiToken)
  }
  if ('basic' in auth) {
    return `Basic ${Buffer.from(auth.basic).toString('base64')}`
  }
  if ('bearer' in auth) {
    return `Bearer ${auth.bearer}`
  }
  return auth.raw
}

/** Starts an emulator (job delay 20 ms unless given) and a client for it. */
export async function startTestEmulator(options: EmulatorOptions = {}): Promise<TestClient> {
  const emulator = await createEmulator({ jobDelayMs: 20, ...options })
  const client: TestClient = {
    emulator,
    url: emulator.url,
    async request(method, path, body, auth = 'token', headers = {}) {
      const h: Record<string, string> = { accept: 'application/json', ...headers }
      const a = authHeader(client, auth)
      if (a) {
        h.authorization = a
      }
      let payload: string | undefined
      if (body !== undefined) {
        payload = typeof body === 'string' ? body : JSON.stringify(body)
        h['content-type'] ??= 'application/json'
      }
      const res = await fetch(`${emulator.url}${path}`, {
        method,
        headers: h,
        body: payload ?? null,
        redirect: 'manual',
      })
      const text = await res.text()
      let parsed: unknown = text
      if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') {
        parsed = JSON.parse(text)
      }
      return { status: res.status, headers: res.headers, body: parsed as any, text }
    },
    get: (path, auth) => client.request('GET', path, undefined, auth),
    post: (path, body, auth) => client.request('POST', path, body ?? {}, auth),
    put: (path, body, auth) => client.request('PUT', path, body ?? {}, auth),
    del: (path, auth) => client.request('DELETE', path, undefined, auth),
    async waitForJob(jobId, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const r = await client.get(`/api/v2/job_statuses/${jobId}.json`)
        if (r.status !== 200) {
          throw new Error(`job status ${jobId}: HTTP ${r.status} ${r.text}`)
        }
        if (r.body.job_status.status === 'completed' || r.body.job_status.status === 'failed') {
          return r.body.job_status
        }
        if (Date.now() > deadline) {
          throw new Error(`job ${jobId} still ${r.body.job_status.status} after ${timeoutMs} ms`)
        }
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
    reset() {
      emulator.reset({ config: true })
    },
    async state() {
      return (await client.get('/__emulator/state', 'none')).body
    },
    close: () => emulator.close(),
  }
  return client
}

/**
 * Registers the hooks a test file shares with most others: one emulator started before all its
 * tests (job delay 20 ms unless given), reset to its start state (data, limits, faults, log and
 * configuration) before each test, closed after all. Options such as `{ rateLimits: false }`
 * are part of the start state, so they hold again after every reset.
 *
 * Returns the client; use it inside tests and hooks, where the emulator has started.
 */
export function useTestEmulator(options: EmulatorOptions = {}): TestClient {
  let started: TestClient | undefined
  const zd = (): TestClient => {
    if (started === undefined) {
      throw new Error('the test emulator starts in beforeAll: use it inside tests and hooks')
    }
    return started
  }
  beforeAll(async () => {
    started = await startTestEmulator(options)
  })
  beforeEach(() => {
    zd().reset()
  })
  afterAll(async () => {
    await started?.close()
  })
  return {
    get emulator() {
      return zd().emulator
    },
    get url() {
      return zd().url
    },
    request: (method, path, body, auth, headers) => zd().request(method, path, body, auth, headers),
    get: (path, auth) => zd().get(path, auth),
    post: (path, body, auth) => zd().post(path, body, auth),
    put: (path, body, auth) => zd().put(path, body, auth),
    del: (path, auth) => zd().del(path, auth),
    waitForJob: (jobId, timeoutMs) => zd().waitForJob(jobId, timeoutMs),
    reset: () => zd().reset(),
    state: () => zd().state(),
    close: () => zd().close(),
  }
}

/** The id of the seeded admin user (the user API-token requests act as). */
export async function seededAdminId(zd: TestClient): Promise<number> {
  const state = await zd.state()
  return state.users.find((u: any) => u.email === zd.emulator.seed.adminEmail).id
}

/**
 * Registers loading Zendesk's OpenAPI document (before all tests of the enclosing `describe`)
 * and returns `conforming`: it makes the call and checks the answer against the document's
 * schema for it (or its sibling's), and returns the answer.
 */
export function useConformance(
  zd: TestClient,
): (method: string, path: string, body?: unknown) => Promise<TestResponse> {
  let oas: Oas
  beforeAll(() => {
    oas = loadOas()
  })
  return async (method, path, body) => {
    const r = await zd.request(method, path, body)
    const result = oas.validateResponse(method, path, r.status, r.body)
    expect(result.errors, `${method} ${path} ${r.status}: ${result.contract}`).toEqual([])
    expect(result.source).not.toBe('none')
    return r
  }
}
