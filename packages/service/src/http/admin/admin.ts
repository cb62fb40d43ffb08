/**
 * The operator's API under `/admin/api`. For now it shows what ingest refused:
 *
 * - `GET /admin/api/rejected-events?limit=N` — the newest rejected events first (limit 1–1,000,
 *   default 100), each with its source, the time it arrived, its index in its request, the reasons
 *   (field path and message) and the event as received (cut to a bounded size); `total` is how
 *   many the bounded store holds.
 *
 * The admin API has no authentication of its own yet: the service listens on loopback unless
 * HOST says otherwise.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'

import type { RejectedEvent, RejectedEventStore } from '../../store/rejected-events.js'

export interface AdminDeps {
  rejected: Pick<RejectedEventStore, 'list' | 'count'>
}

export const MAX_REJECTED_EVENTS_LIMIT = 1000

const rejectedEventsQuery = z.object({
  limit: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_REJECTED_EVENTS_LIMIT, `must be at most ${MAX_REJECTED_EVENTS_LIMIT}`)
    .default(100),
})

export interface RejectedEventsResponse {
  total: number
  events: RejectedEvent[]
}

export function registerAdmin(app: FastifyInstance, deps: AdminDeps): void {
  app.get('/admin/api/rejected-events', (request, reply) => {
    const parsed = rejectedEventsQuery.safeParse(request.query)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      return reply.code(400).send({
        code: 'ADMIN_BAD_QUERY',
        message: `${issue?.path.map(String).join('.') || 'query'}: ${issue?.message ?? 'invalid'}`,
      })
    }
    const body: RejectedEventsResponse = {
      total: deps.rejected.count(),
      events: deps.rejected.list(parsed.data.limit),
    }
    return reply.send(body)
  })
}
