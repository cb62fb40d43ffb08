/**
 * Starts the whole service against an in-process emulator on loopback, on a fresh data folder:
 * HTTP in, SQLite queue, delivery, and the emulator's resulting state out.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { createEmulator, type Emulator, type EmulatorOptions } from '@zdd/zendesk-emulator'

import { loadConfig, type Config } from '../src/config.js'
import type { Logger } from '../src/delivery/worker.js'
import { systemClock } from '../src/lib/clock.js'
import { startService, type RunningService, type ServiceDeps } from '../src/service.js'
import { waitFor } from './wait-for.js'

export const WRITE_KEY = 'test-write-key'

export interface TestService {
  service: RunningService
  emulator: Emulator
  url: string
  dataDir: string
  /** POSTs to the service with the write key, returning status and JSON body. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>
  /** The emulator's whole state. */
  state(): Promise<any>
  /** Polls until `check` returns a truthy value (or throws after the timeout). */
  waitFor<T>(check: () => Promise<T | undefined | null | false>, timeoutMs?: number): Promise<T>
  stop(): Promise<void>
}

const quietLog: Logger = { info: () => {}, warn: () => {}, error: () => {} }

export async function startTestService(
  opts: {
    emulator?: EmulatorOptions
    env?: Record<string, string>
    /**
     * A YAML config file's text (docs/configuration.md), for what the environment cannot say
     * (settings, subscriptions). Its destinations all go to the emulator; use WRITE_KEY as a
     * source's write key so that `post` reaches it.
     */
    configYaml?: string
    /** Overrides of the service's deps; a function receives the emulator (e.g. to give other credentials). */
    deps?: Partial<ServiceDeps> | ((emulator: Emulator) => Partial<ServiceDeps>)
    dataDir?: string
  } = {},
): Promise<TestService> {
  const emulator = await createEmulator({ jobDelayMs: 20, ...opts.emulator })
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'zdd-e2e-'))
  const config: Config = loadConfig({ PORT: '0', DATA_DIR: dataDir, WRITE_KEY, ...opts.env }, opts.configYaml)
  const service = await startService(config, {
    clock: systemClock,
    logger: false,
    log: quietLog,
    resolveZendesk: () =>
      Promise.resolve({
        baseUrl: emulator.url,
        sellBaseUrl: emulator.url,
        credentials: {
          kind: 'oauth_client_credentials',
          clientId: emulator.seed.oauthClientId,
          clientSecret: emulator.seed.oauthClientSecret,
        },
        sellToken: emulator.seed.sellToken,
      }),
    workerOptions: { batchWindowMs: 20, pollIntervalMs: 20 },
    zendeskTimeoutMs: 5000,
    ...(typeof opts.deps === 'function' ? opts.deps(emulator) : opts.deps),
  })
  const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`
  const t: TestService = {
    service,
    emulator,
    url: service.url,
    dataDir,
    async post(path, body, headers = {}) {
      const res = await fetch(`${service.url}${path}`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      })
      const text = await res.text()
      return { status: res.status, body: text ? JSON.parse(text) : null }
    },
    async state() {
      const res = await fetch(`${emulator.url}/__emulator/state`)
      return res.json()
    },
    waitFor: (check, timeoutMs) => waitFor(check, timeoutMs, 25),
    async stop() {
      await service.stop()
      await emulator.close()
      if (!opts.dataDir) {
        rmSync(dataDir, { recursive: true, force: true })
      }
    },
  }
  return t
}
