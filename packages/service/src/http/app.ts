/**
 * The HTTP application shell: `buildApp(deps)` returns a fastify instance with health; route
 * plugins (ingest, admin) are registered by the caller.
 */
import Fastify, { type FastifyInstance } from 'fastify'

import type { Clock } from '../lib/clock.js'

export interface AppDeps {
  clock: Clock
  logger: false | { level: string }
  /** Extra facts for `GET /health` (no secrets). */
  health?: () => Record<string, unknown>
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const startedAt = deps.clock.now()
  const app = Fastify({
    logger: deps.logger === false ? false : { ...deps.logger, redact: ['req.headers.authorization'] },
    // Large batches are read by the ingest plugin itself; this is only the outer guard.
    bodyLimit: 10 * 1024 * 1024,
  })
  app.get('/health', () => ({
    status: 'ok',
    uptime_s: Math.round((deps.clock.now() - startedAt) / 1000),
    ...deps.health?.(),
  }))
  return app
}
