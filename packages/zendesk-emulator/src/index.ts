/**
 * `createEmulator(options)`: one in-memory Zendesk account served over HTTP on loopback.
 *
 * ```ts
 * const zd = await createEmulator({ plan: 'team', timeScale: 10 })
 * // zd.url → http://127.0.0.1:PORT ; Support API at zd.url + '/api/v2', Sell at zd.url + '/v2'
 * await zd.close()
 * ```
 */
import { Account } from './account.js'
import { parseConfigPatch } from './config-schema.js'
import { Faults } from './faults.js'
import { seedCustomFields } from './model/custom-fields.js'
import { seedUsers } from './model/users.js'
import {
  DEFAULT_CONFIG,
  DEFAULT_SEED,
  type EmulatorConfig,
  type EmulatorOptions,
  type SeedAccount,
} from './options.js'
import { RateLimiter } from './rate-limit.js'
import { RequestLog } from './request-log.js'
import { buildServer } from './server.js'

export { PLAN_LIMITS, DEFAULT_CONFIG, DEFAULT_SEED } from './options.js'
export type { EmulatorConfig, EmulatorOptions, Plan, SeedAccount, SeedFields } from './options.js'
export type { FaultRule } from './faults.js'
export type { RequestLogEntry } from './request-log.js'

export interface Emulator {
  /** Base URL, e.g. `http://127.0.0.1:4010`. Support API under `/api/v2`, Sell under `/v2`. */
  url: string
  port: number
  /** The seeded account's credentials and names. */
  seed: SeedAccount
  /** The live configuration (change it with `configure`). */
  config: EmulatorConfig
  /** Every route served (method and path pattern), for contract tests. */
  routes: { method: string; url: string }[]
  /** Changes configuration; throws with `field: reason` messages on bad values. */
  configure(patch: Partial<EmulatorConfig>): void
  /** Schedules faults (see faults.ts for the rule shape). */
  addFaults(rules: unknown[]): void
  /** Empties the account back to its seed, clears limits, faults and the request log. */
  reset(opts?: { config?: boolean }): void
  /** Number of requests received since start or the last reset. */
  requestCount(): number
  close(): Promise<void>
}

export async function createEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const {
    port = 0,
    host = '127.0.0.1',
    seed: seedOverrides,
    randomSeed = 42,
    faults: initialFaults,
    fields: seedFields,
    ...rest
  } = options
  const seed: SeedAccount = { ...DEFAULT_SEED, ...seedOverrides }
  const checked = parseConfigPatch(rest)
  if (!checked.ok) {
    throw new Error(`Invalid emulator options: ${checked.errors.join('; ')}`)
  }
  const config: EmulatorConfig = { ...DEFAULT_CONFIG, ...checked.patch }
  const account = new Account(config, seed, randomSeed)
  const limiter = new RateLimiter(account)
  const faults = new Faults(account)
  const log = new RequestLog(() => account.now())
  const routes: { method: string; url: string }[] = []

  const reset = (opts: { config?: boolean } = {}): void => {
    account.cancelTimers()
    account.resetData()
    if (opts.config) {
      Object.assign(config, DEFAULT_CONFIG, checked.patch)
    }
    limiter.reset()
    faults.clear()
    log.clear()
    seedUsers(account)
    seedCustomFields(account, seedFields)
  }
  seedUsers(account)
  seedCustomFields(account, seedFields)
  if (initialFaults) {
    faults.add(initialFaults)
  }

  const app = buildServer({ account, limiter, faults, log, routes, reset: (o) => reset(o) })
  await app.listen({ port, host })
  const address = app.server.address()
  const actualPort = typeof address === 'object' && address ? address.port : port
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`
  account.baseUrl = url

  return {
    url,
    port: actualPort,
    seed,
    config,
    routes,
    configure(patch) {
      const p = parseConfigPatch(patch)
      if (!p.ok) {
        throw new Error(`Invalid emulator config: ${p.errors.join('; ')}`)
      }
      Object.assign(config, p.patch)
    },
    addFaults(rules) {
      faults.add(rules)
    },
    reset,
    requestCount: () => log.total,
    async close() {
      account.cancelTimers()
      await app.close()
    },
  }
}
