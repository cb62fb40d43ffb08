/**
 * Assembles the running service from a Config: the queue and store (SQLite in DATA_DIR, or
 * PostgreSQL with DATABASE_URL: db/open-backend.ts), one Zendesk client and delivery worker per
 * destination, and the HTTP app (health, ingest).
 * `main.ts` calls it with the process's config; end-to-end tests call it with theirs.
 *
 * Reads top to bottom as the pipeline: store → Zendesk clients → workers → HTTP.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'

import type { FastifyInstance } from 'fastify'

import { defaultSubscriptions, type SubscriptionSpec } from './actions/presets.js'
import { findAction } from './actions/registry.js'
import { LocalLeases, type DeliveryLeases } from './cluster/lease.js'
import { PgDeliveryLeases } from './cluster/pg-leases.js'
import type { Config, DestinationConfig } from './config.js'
import { openBackend } from './db/open-backend.js'
import {
  DestinationWorker,
  type Logger,
  type Subscription,
  type WorkerOptions,
  type ZendeskSender,
} from './delivery/worker.js'
import {
  activationAcceptor,
  activationRecorder,
  activationRuntime,
  withConfiguredAudiences,
  type ActivationRuntime,
} from './delivery/audience-activations.js'
import { registerAdmin } from './http/admin/admin.js'
import { registerAudienceIngest } from './http/ingest/audiences.js'
import { buildApp } from './http/app.js'
import { registerIngest, type IngestLimits, type Source } from './http/ingest/ingest.js'
import { backoffDelayMs } from './lib/backoff.js'
import type { Clock } from './lib/clock.js'
import type { Queue } from './queue/queue.js'
import type { OAuthTokenStore } from './store/oauth-tokens.js'
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
  /** This process's node id in the cluster (default: host name and a random suffix, new each start). */
  nodeId?: string
}

export interface RunningService {
  app: FastifyInstance
  url: string
  workers: Map<string, DestinationWorker>
  clients: Map<string, ZendeskClient>
  /** The delivery leases of this node (every one on the embedded queue; with PostgreSQL, its share). */
  leases: DeliveryLeases
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
async function tokenPairOf(
  destinationId: string,
  configured: Credentials,
  store: OAuthTokenStore,
  log: Logger,
): Promise<{ credentials: Credentials; onRotate?: (pair: OAuthTokenPair) => Promise<void> }> {
  if (configured.kind !== 'oauth_tokens') {
    return { credentials: configured }
  }
  const { credentials, source } = await store.startingCredentials(destinationId, configured)
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
  const backend = await openBackend({
    dataDir: config.dataDir,
    database: config.database,
    clock: deps.clock,
    log: deps.log,
  })
  // `activations`: audience activation data and memberships (docs/audiences.md).
  const { queue, rejected, oauthTokens, actionMemory, deliveryLog, activations } = backend

  // Which destinations this node delivers: all of them on the embedded queue; with PostgreSQL, the
  // ones whose delivery lease it holds (cluster/lease.ts).
  const nodeId = deps.nodeId ?? `${hostname()}-${randomUUID().slice(0, 8)}`
  const destinationIds = config.destinations.map((d) => d.id)
  let leases: DeliveryLeases
  if (backend.pool) {
    leases = new PgDeliveryLeases({
      db: backend.pool,
      nodeId,
      destinationIds,
      ttlMs: config.cluster.leaseTtlMs,
      clock: deps.clock,
      sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined),
      log: deps.log,
    })
  } else {
    leases = new LocalLeases({ nodeId, destinationIds, clock: deps.clock })
  }

  const clients = new Map<string, ZendeskClient>()
  const workers = new Map<string, DestinationWorker>()
  // Each destination's activations, for counting what the ingest accepts (activationAcceptor).
  const activationRuntimes = new Map<string, ActivationRuntime[]>()
  for (const d of config.destinations) {
    const z = await deps.resolveZendesk(d)
    const { credentials, onRotate } = await tokenPairOf(d.id, z.credentials, oauthTokens, deps.log)
    const client = createZendeskClient({
      supportBaseUrl: z.baseUrl,
      sellBaseUrl: z.sellBaseUrl,
      credentials,
      ...(onRotate ? { onRotate } : {}),
      ...(z.sellToken ? { sellToken: z.sellToken } : {}),
      limiter: new ZendeskRateLimiter({
        clock: deps.clock,
        ...(d.zendesk.mode === 'remote' && d.zendesk.sellRequestsPerHour !== undefined
          ? { sellPerSecond: d.zendesk.sellRequestsPerHour / 3600 }
          : {}),
      }),
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
      // What the worker probes after Sell refused the Sell token (Support's credentials may be fine).
      testSellConnection: () =>
        client.testSellConnection().then(
          () => true,
          () => false,
        ),
    }
    const audienceRuntimes = (d.activations ?? []).map(activationRuntime)
    activationRuntimes.set(d.id, audienceRuntimes)
    if (audienceRuntimes.some((r) => r.config.target === 'sell-contacts')) {
      deps.log.warn(
        { destination: d.id },
        'Zendesk Sell is reported to reach end of life on 2027-08-31 (unverified): prefer support-users activations',
      )
    }
    const worker = new DestinationWorker(
      {
        id: d.id,
        settings: { ...d.settings },
        subscriptions: [
          ...subscriptionsOf(d.subscriptions ?? defaultSubscriptions()),
          ...audienceRuntimes.flatMap((r) => r.subscriptions),
        ],
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
        actionMemory,
        ...(audienceRuntimes.length > 0
          ? {
              onSettled: activationRecorder(d.id, audienceRuntimes, activations, deps.clock, (err) =>
                deps.log.warn({ err, destination: d.id }, 'could not record activation data'),
              ),
            }
          : {}),
        lease: { holds: () => leases.holds(d.id), exclusiveUntil: () => leases.exclusiveUntil(d.id) },
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
  // Activation data counts what the ingest accepted, once queued (docs/audiences.md). The jobs are
  // committed by then: a failure to count is logged, the request still succeeds.
  const acceptActivations = activationAcceptor(activationRuntimes, activations, deps.clock)
  const ingestQueue: Pick<Queue, 'enqueue' | 'backlog'> = {
    backlog: () => queue.backlog(),
    enqueue: async (jobs) => {
      const result = await queue.enqueue(jobs)
      await acceptActivations(jobs, result).catch((err: unknown) =>
        deps.log.warn({ err }, 'could not record accepted activation data'),
      )
      return result
    },
  }
  registerIngest(app, {
    clock: deps.clock,
    newMessageId: () => `zdd-${randomUUID()}`,
    sourceFor: (writeKey) => sources.get(writeKey) ?? null,
    queue: ingestQueue,
    rejected,
    ...(deps.ingestLimits ? { limits: deps.ingestLimits } : {}),
    onEnqueued: (ids) => {
      for (const id of ids) {
        workers.get(id)?.wake()
      }
    },
    extraRoutes: (scope, kit) =>
      registerAudienceIngest(scope, kit, {
        newMessageId: () => `zdd-${randomUUID()}`,
        rejected,
        activations,
      }),
  })
  const activationConfigs = new Map(config.destinations.map((d) => [d.id, d.activations ?? []]))
  registerAdmin(app, {
    rejected,
    deliveryLog,
    activations: {
      summary: async (id) =>
        withConfiguredAudiences(await activations.summary(id), activationConfigs.get(id) ?? []),
    },
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
          delivering: w?.delivers ?? false,
          paused_for_auth: w?.pausedForAuth ?? false,
          paused_for_sell_auth: w?.pausedForSellAuth ?? false,
          single_requests: w?.usesSingleRequests ?? false,
        }
      }),
    )
    const ready = database === 'ok'
    // The delivery leases this node holds: the destinations it delivers now.
    const held = leases.held().map((l) => ({
      destination: l.destinationId,
      since: new Date(l.since).toISOString(),
      until: l.until === null ? null : new Date(l.until).toISOString(),
    }))
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not_ready', database, node: nodeId, leases: held, destinations })
  })
  await app.listen({ host: config.http.host, port: config.http.port })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.http.port
  // A worker wakes when its node gains or loses the destination's lease, instead of at the end of
  // its pause (which waits for the batching window or the next job-status poll).
  leases.onChange(({ gained, lost }) => {
    for (const id of [...gained, ...lost]) {
      workers.get(id)?.wake()
    }
  })
  await leases.start()
  for (const w of workers.values()) {
    w.start()
  }

  let stopped = false
  return {
    app,
    url: `http://${config.http.host}:${port}`,
    workers,
    clients,
    leases,
    async stop() {
      if (stopped) {
        return
      }
      stopped = true
      clearInterval(janitor)
      await app.close()
      await Promise.all([...workers.values()].map((w) => w.stop()))
      // After the workers have settled or released their jobs: another node takes over at once.
      await leases.stop()
      await Promise.all([...clients.values()].map((c) => c.close()))
      await backend.close()
    },
  }
}
