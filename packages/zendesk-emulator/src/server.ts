/**
 * The emulator's HTTP server. Every request goes through, in order:
 *
 *   request log → faults → authentication → rate limits → route handler → error shaping
 *
 * - Support API (`/api/v2/...`), with or without `.json`: API-token or OAuth auth, the
 *   account-wide limit (headers on every answer), endpoint limits in the routes.
 * - Events API (`/api/v2/user_profiles/...`, `/api/v2/users/{id}/events`): Support auth, its own
 *   per-minute bucket.
 * - Sell API (`/v2/...`): Sell bearer token, 36,000 requests an hour per token.
 * - OAuth (`/oauth/...`): no auth.
 * - Inspection (`/__emulator/...`): no auth, never faulted or limited.
 */
import { randomUUID } from 'node:crypto'

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'

import { accountLimit } from './options.js'
import type { Account } from './account.js'
import { authenticateSell, authenticateSupport, authKindOf } from './auth.js'
import { ApiError, invalidEndpoint, rateLimited, unauthorized } from './errors.js'
import type { Faults } from './faults.js'
import type { RouteContext, RouteModule } from './http.js'
import { MINUTE, type RateLimiter } from './rate-limit.js'
import type { RequestLog } from './request-log.js'
import { customFieldRoutes } from './routes/custom-fields.js'
import { eventRoutes } from './routes/events.js'
import { inspectRoutes } from './routes/inspect.js'
import { jobStatusRoutes } from './routes/job-statuses.js'
import { membershipRoutes } from './routes/memberships.js'
import { oauthRoutes } from './routes/oauth.js'
import { organizationRoutes } from './routes/organizations.js'
import { sellRoutes } from './routes/sell.js'
import { ticketRoutes } from './routes/tickets.js'
import { userRoutes } from './routes/users.js'

/** Events and Profiles API limits per minute by plan [D-rl] (facts §9). */
const EVENTS_LIMITS = {
  team: 250,
  growth: 250,
  professional: 500,
  enterprise: 700,
  high_volume: 1000,
} as const
/** Sell: 36,000 requests an hour per token [Sell-rl]. */
const SELL_LIMIT_PER_HOUR = 36_000

export interface ServerParts {
  account: Account
  limiter: RateLimiter
  faults: Faults
  log: RequestLog
  /** Called by `POST /__emulator/reset`. */
  reset: (opts: { config: boolean }) => void
  /** Filled with every route the server registers (method and path), for the contract tests. */
  routes: { method: string; url: string }[]
}

type Area = 'support' | 'events' | 'sell' | 'oauth' | 'inspect' | 'other'

function areaOf(path: string): Area {
  if (path.startsWith('/__emulator')) {
    return 'inspect'
  }
  if (path.startsWith('/oauth/')) {
    return 'oauth'
  }
  if (path.startsWith('/v2/')) {
    return 'sell'
  }
  if (path.startsWith('/api/v2/user_profiles') || /^\/api\/v2\/users\/\d+\/events/.test(path)) {
    return 'events'
  }
  if (path.startsWith('/api/v2/')) {
    return 'support'
  }
  return 'other'
}

/** Support paths work with and without `.json` [D-users]: strip it before routing. */
function rewriteUrl(url: string): string {
  return url.replace(/^(\/api\/v2\/[^?]*?)\.json(?=\?|$)/, '$1')
}

function pathOf(url: string): string {
  const q = url.indexOf('?')
  return q >= 0 ? url.slice(0, q) : url
}

export function buildServer(parts: ServerParts): FastifyInstance {
  const { account, limiter, faults, log } = parts
  const app = Fastify({
    logger: false,
    bodyLimit: 20 * 1024 * 1024,
    forceCloseConnections: true,
    rewriteUrl: (req) => rewriteUrl(req.url ?? '/'),
    routerOptions: { ignoreTrailingSlash: true },
  })

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const method of methods) {
      if (method !== 'HEAD') {
        parts.routes.push({ method, url: route.url })
      }
    }
  })

  // JSON bodies; an empty body (DELETE with a JSON content type) is allowed.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text.trim() === '') {
      done(null, undefined)
      return
    }
    try {
      done(null, JSON.parse(text) as unknown)
    } catch {
      done(
        new ApiError(400, { error: 'InvalidJSON', description: 'The request body is not valid JSON' }),
        undefined,
      )
    }
  })
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    done(null, Object.fromEntries(new URLSearchParams(text)))
  })

  app.addHook('onRequest', async (request, reply) => {
    const originalUrl = request.originalUrl
    const path = pathOf(originalUrl)
    const area = areaOf(pathOf(request.url))
    // The inspection API is the observer: it is not logged, faulted, authenticated or limited.
    if (area === 'inspect') {
      return
    }
    const entry = log.start({
      method: request.method,
      path,
      query: originalUrl.length > path.length ? originalUrl.slice(path.length + 1) : '',
      authKind: area === 'oauth' ? 'none' : authKindOf(request.headers.authorization),
    })
    ;(request as FastifyRequest & { logEntry?: typeof entry }).logEntry = entry
    void reply.header('x-request-id', randomUUID())
    if (area === 'support' || area === 'events') {
      void reply.header('x-zendesk-api-version', 'v2')
    }

    const fault = faults.decide(request.method, path)
    if (fault.latencyMs > 0) {
      await sleep(fault.latencyMs)
    }
    switch (fault.kind) {
      case 'status': {
        entry.fault = `status ${fault.status}`
        const headers: Record<string, string> = {}
        if (fault.retryAfterS !== null) {
          headers['retry-after'] = String(fault.retryAfterS)
        }
        throw new ApiError(
          fault.status,
          fault.status === 429
            ? 'Too Many Requests'
            : { error: 'ServiceUnavailable', description: 'Emulated fault' },
          headers,
        )
      }
      case 'hang': {
        entry.fault = 'hang'
        reply.hijack()
        await sleep(fault.hangMs)
        request.raw.socket.destroy()
        return reply
      }
      case 'reset': {
        entry.fault = 'reset'
        reply.hijack()
        request.raw.socket.resetAndDestroy()
        return reply
      }
      case 'none':
        break
    }

    if (area === 'oauth' || area === 'other') {
      return
    }
    if (area === 'sell') {
      request.auth = authenticateSell(account, request.headers.authorization)
      if (!request.auth.ok) {
        throw sellUnauthorized()
      }
      if (account.config.rateLimits) {
        const state = limiter.take(
          `sell:${request.headers.authorization ?? ''}`,
          SELL_LIMIT_PER_HOUR,
          60 * MINUTE,
        )
        if (!state.allowed) {
          throw rateLimited(state.resetS)
        }
      }
      return
    }
    request.auth = authenticateSupport(account, request.headers.authorization)
    if (!request.auth.ok) {
      throw unauthorized()
    }
    if (!account.config.rateLimits) {
      return
    }
    const limit = area === 'events' ? EVENTS_LIMITS[account.config.plan] : accountLimit(account.config)
    const state = limiter.take(area === 'events' ? 'events' : 'account', limit, MINUTE)
    void reply.header('x-rate-limit', String(state.limit))
    void reply.header('x-rate-limit-remaining', String(state.remaining))
    void reply.header('ratelimit-limit', String(state.limit))
    void reply.header('ratelimit-remaining', String(state.remaining))
    void reply.header('ratelimit-reset', String(state.resetS))
    if (!state.allowed) {
      throw rateLimited(state.resetS)
    }
  })

  app.addHook('onResponse', (request, reply, done) => {
    const entry = (request as FastifyRequest & { logEntry?: ReturnType<RequestLog['start']> }).logEntry
    if (entry) {
      log.finish(entry, reply.statusCode)
    }
    done()
  })

  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ApiError) {
      for (const [k, v] of Object.entries(error.headers)) {
        void reply.header(k, v)
      }
      return reply.code(error.status).send(error.body)
    }
    const e = error as { statusCode?: number; message?: string }
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return reply
        .code(e.statusCode)
        .send({ error: 'InvalidRequest', description: e.message ?? 'Bad request' })
    }
    request.log.error(error)
    return reply.code(500).send({ error: 'InternalError', description: 'Emulator internal error' })
  })

  app.setNotFoundHandler((request, reply) => {
    if (areaOf(pathOf(request.url)) === 'support') {
      const e = invalidEndpoint()
      return reply.code(e.status).send(e.body)
    }
    return reply
      .code(404)
      .send({ error: 'NotFound', description: `No route for ${request.method} ${pathOf(request.url)}` })
  })

  const ctx: RouteContext = { account, limiter }
  const modules: RouteModule[] = [
    userRoutes,
    customFieldRoutes,
    organizationRoutes,
    membershipRoutes,
    ticketRoutes,
    jobStatusRoutes,
    eventRoutes,
    sellRoutes,
    oauthRoutes,
  ]
  for (const mod of modules) {
    mod(app, ctx)
  }
  inspectRoutes(app, parts)
  return app
}

/** Sell's error envelope for a 401 [Sell-err]. */
function sellUnauthorized(): ApiError {
  return new ApiError(401, {
    errors: [
      {
        error: {
          resource: 'token',
          field: null,
          code: 'unauthorized',
          message: 'Invalid or missing access token',
          details: null,
        },
        meta: {
          type: 'error',
          links: { more_info: 'https://developer.zendesk.com/api-reference/sales-crm/errors/' },
        },
      },
    ],
    meta: { type: 'errors', http_status: '401 Unauthorized', logref: randomUUID(), links: {} },
  })
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
