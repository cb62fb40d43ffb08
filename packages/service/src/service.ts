/**
 * Assembles the running service from a Config: the SQLite queue and store in DATA_DIR, one
 * Zendesk client and delivery worker per destination, and the HTTP app (health, ingest).
 * `main.ts` calls it with the process's config; end-to-end tests call it with theirs.
 *
 * Reads top to bottom as the pipeline: store → Zendesk clients → workers → HTTP.
 */
import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'

import Database from 'better-sqlite3'
import type { FastifyInstance } from 'fastify'

import { defaultSubscriptions, type SubscriptionSpec } from './actions/presets.js'
import { findAction } from './actions/registry.js'
import type { Config, DestinationConfig } from './config.js'
import {
  DestinationWorker,
  type Logger,
  type Subscription,
  type WorkerOptions,
  type ZendeskSender,
} from './delivery/worker.js'
import { registerAdmin } from './http/admin/admin.js'
import { buildApp } from './http/app.js'
import { registerIngest, type IngestLimits, type Source } from './http/ingest/ingest.js'
import { backoffDelayMs } from './lib/backoff.js'
import type { Clock } from './lib/clock.js'
import { openSqliteQueue } from './queue/sqlite-queue.js'
import { openDeliveryLog } from './store/delivery-log.js'
import { openOAuthTokenStore, type OAuthTokenStore } from './store/oauth-tokens.js'
import { openRejectedEventStore } from './store/rejected-events.js'
import type { Credentials, OAuthTokenPair } from './zendesk/auth.js'
import { createZendeskClient, type ZendeskClient } from './zendesk/client.js'
import { ZendeskRateLimiter } from './zendesk/rate-limiter.js'

/** Where a destination's Zendesk is, once sandboxes have been started. */
export interface ResolvedZendesk {
  baseUrl: string
  sellBaseUrl: string
  credentials: Credentials
  sellToken: string | null
}

export interface ServiceDeps {
  clock: Clock
  /** pino options for the HTTP server's logger, or false. */
  logger: false | { level: string }
  log: Logger
  /** Resolves a destination's connection (main.ts starts the sandbox emulator for sandbox ones). */
  resolveZendesk: (d: DestinationConfig) => Promise<ResolvedZendesk>
  workerOptions?: Partial<WorkerOptions>
  ingestLimits?: Partial<IngestLimits>
  /** Retry policy of deliveries. */
  maxAttempts?: number
  /** Ceiling of the first retry's backoff, ms (default 1,000; doubles per attempt). */
  retryBaseMs?: number
  /** Zendesk request timeout, ms. */
  zendeskTimeoutMs?: number
}

export interface RunningService {
  app: FastifyInstance
  url: string
  workers: Map<string, DestinationWorker>
  clients: Map<string, ZendeskClient>
  /** Stops intake, lets workers settle what is in flight, closes the database. */
  stop(): Promise<void>
}

function subscriptionsOf(specs: SubscriptionSpec[]): Subscription[] {
  return specs.flatMap((s) => {
    const action = findAction(s.actionId)
    return action ? [{ action, trigger: s.trigger, ...(s.mapping ? { mapping: s.mapping } : {}) }] : []
  })
}

/**
 * For an OAuth token pair: the pair to start with (the stored, rotated one unless the configured
 * pair changed) and the callback that stores each rotation before the client uses it.
 */
function tokenPairOf(
  destinationId: string,
  configured: Credentials,
  store: OAuthTokenStore,
  log: Logger,
): { credentials: Credentials; onRotate?: (pair: OAuthTokenPair) => void } {
  if (configured.kind !== 'oauth_tokens') {
    return { credentials: configured }
  }
  const { credentials, source } = store.startingCredentials(destinationId, configured)
  if (source === 'configured_replaced_stored') {
    log.info(
      { destination: destinationId },
      'The configured Zendesk OAuth token pair changed: using it instead of the stored rotated pair',
    )
  }
  return {
    credentials,
    onRotate: (pair) => store.save(destinationId, pair, configured.refreshToken),
  }
}

export async function startService(config: Config, deps: ServiceDeps): Promise<RunningService> {
  mkdirSync(config.dataDir, { recursive: true })
  const dbPath = join(config.dataDir, 'zendesk-destination.sqlite')
  const queue = openSqliteQueue({
    path: dbPath,
    clock: deps.clock,
    retentionMs: 7 * 24 * 60 * 60 * 1000,
    dedupeWindowMs: 24 * 60 * 60 * 1000,
  })
  const storeDb = new Database(dbPath)
  storeDb.pragma('journal_mode = WAL')
  storeDb.pragma('busy_timeout = 5000')
  const rejected = openRejectedEventStore(storeDb)
  const oauthTokens = openOAuthTokenStore(storeDb, deps.clock)
  const deliveryLog = openDeliveryLog(storeDb, {
    clock: deps.clock,
    onError: (err) => deps.log.warn({ err }, 'could not write the delivery log; will try again'),
  })

  const clients = new Map<string, ZendeskClient>()
  const workers = new Map<string, DestinationWorker>()
  for (const d of config.destinations) {
    const z = await deps.resolveZendesk(d)
    const { credentials, onRotate } = tokenPairOf(d.id, z.credentials, oauthTokens, deps.log)
    const client = createZendeskClient({
      supportBaseUrl: z.baseUrl,
      sellBaseUrl: z.sellBaseUrl,
      credentials,
      ...(onRotate ? { onRotate } : {}),
      ...(z.sellToken ? { sellToken: z.sellToken } : {}),
      limiter: new ZendeskRateLimiter({ clock: deps.clock }),
      clock: deps.clock,
      timeoutMs: deps.zendeskTimeoutMs ?? 30_000,
      logger: { debug: () => {}, warn: (o, m) => deps.log.warn(o, m), error: (o, m) => deps.log.error(o, m) },
    })
    clients.set(d.id, client)
    const sender: ZendeskSender = {
      send: (req, opts) => client.send(req, opts),
      testConnection: () =>
        client.testConnection().then(
          () => true,
          () => false,
        ),
    }
    const worker = new DestinationWorker(
      {
        id: d.id,
        settings: { ...d.settings },
        subscriptions: subscriptionsOf(d.subscriptions ?? defaultSubscriptions()),
        zendesk: sender,
      },
      {
        queue,
        clock: deps.clock,
        // Ends early, without rejecting, when the worker's stop aborts the signal.
        sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined),
        outcome: {
          policy: { maxAttempts: deps.maxAttempts ?? 10, maxRetryAfterMs: 15 * 60_000 },
          backoffMs: (attempt) =>
            backoffDelayMs(attempt, { baseMs: deps.retryBaseMs ?? 1000, maxMs: 10 * 60_000 }),
          random: Math.random,
        },
        log: deps.log,
        deliveryLog,
        ...(deps.workerOptions ? { options: deps.workerOptions } : {}),
      },
    )
    workers.set(d.id, worker)
  }

  const sources = new Map<string, Source>(
    config.sources.map((s) => [s.writeKey, { id: s.id, destinationIds: s.destinationIds }]),
  )
  const app = buildApp({
    clock: deps.clock,
    logger: deps.logger,
    health: () => ({ destinations: config.destinations.map((d) => ({ id: d.id, mode: d.zendesk.mode })) }),
  })
  registerIngest(app, {
    clock: deps.clock,
    newMessageId: () => `zdd-${randomUUID()}`,
    sourceFor: (writeKey) => sources.get(writeKey) ?? null,
    queue,
    rejected,
    ...(deps.ingestLimits ? { limits: deps.ingestLimits } : {}),
    onEnqueued: (ids) => {
      for (const id of ids) {
        workers.get(id)?.wake()
      }
    },
  })
  registerAdmin(app, {
    rejected,
    deliveryLog,
    queue,
    destinations: () =>
      new Map(
        [...workers.entries()].map(([id, w]) => [
          id,
          { pausedForAuth: w.pausedForAuth, singleRequests: w.usesSingleRequests },
        ]),
      ),
  })
  // Retention: done and dead jobs older than the retention, old dedupe keys and old delivery-log
  // rows go every 10 minutes.
  const janitor = setInterval(() => {
    queue.purge().catch((err: unknown) => deps.log.warn({ err }, 'queue purge failed; will try again'))
    deliveryLog
      .purge()
      .catch((err: unknown) => deps.log.warn({ err }, 'delivery log purge failed; will try again'))
  }, 10 * 60_000)
  janitor.unref()
  // Readiness: the database answers, and each destination's Zendesk accepts our credentials
  // (checked at most every 30 s per destination, so a load balancer's probes cost Zendesk little).
  const reachability = new Map<string, { ok: boolean; checkedAt: number }>()
  app.get('/ready', async (_request, reply) => {
    let database = 'ok'
    try {
      await queue.backlog()
    } catch {
      database = 'unavailable'
    }
    const destinations = await Promise.all(
      [...clients.entries()].map(async ([id, client]) => {
        const now = deps.clock.now()
        let r = reachability.get(id)
        if (!r || now - r.checkedAt > 30_000) {
          const ok = await client.testConnection().then(
            () => true,
            () => false,
          )
          r = { ok, checkedAt: now }
          reachability.set(id, r)
        }
        const w = workers.get(id)
        return {
          id,
          reachable: r.ok,
          paused_for_auth: w?.pausedForAuth ?? false,
          single_requests: w?.usesSingleRequests ?? false,
        }
      }),
    )
    const ready = database === 'ok'
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not_ready', database, destinations })
  })
  await app.listen({ host: config.http.host, port: config.http.port })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.http.port
  for (const w of workers.values()) {
    w.start()
  }

  let stopped = false
  return {
    app,
    url: `http://${config.http.host}:${port}`,
    workers,
    clients,
    async stop() {
      if (stopped) {
        return
      }
      stopped = true
      clearInterval(janitor)
      await app.close()
      await Promise.all([...workers.values()].map((w) => w.stop()))
      await Promise.all([...clients.values()].map((c) => c.close()))
      deliveryLog.flush()
      storeDb.close()
      await queue.close()
    },
  }
}
