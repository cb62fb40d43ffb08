/**
 * The HTTP application: `buildApp(deps)` returns a fastify instance with every route plugin.
 * For now it serves health only; ingest and admin arrive with the sync engine.
 */
import Fastify, { type FastifyInstance } from 'fastify'

import type { Clock } from '../lib/clock.js'

export interface AppDeps {
  clock: Clock
  /** Where Zendesk is: a real account or the built-in sandbox emulator. */
  zendesk: { mode: 'sandbox' | 'remote'; baseUrl: string }
  logger: boolean | { level: string }
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const startedAt = deps.clock.now()
  const app = Fastify({
    logger:
      deps.logger === false
        ? false
        : { ...(typeof deps.logger === 'object' ? deps.logger : {}), redact: ['req.headers.authorization'] },
  })
  app.get('/health', () => ({
    status: 'ok',
    uptime_s: Math.round((deps.clock.now() - startedAt) / 1000),
    zendesk: { mode: deps.zendesk.mode, base_url: deps.zendesk.baseUrl },
  }))
  return app
}
