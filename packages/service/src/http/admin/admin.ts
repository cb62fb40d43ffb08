/**
 * The operator's API under `/admin/api`. For now it shows what ingest refused:
 *
 * - `GET /admin/api/rejected-events?limit=N` — the newest rejected events first (limit 1–1,000,
 *   default 100), each with its source, the time it arrived, its index in its request, the reasons
 *   (field path and message) and the event as received (cut to a bounded size); `total` is how
 *   many the bounded store holds.
 *
 * - `GET /admin/api/destinations` — each destination with its jobs counted by state and whether
 *   delivery is paused for credentials or sending records one by one.
 * - `GET /admin/api/destinations/:id/jobs?state=dead&limit=N` — the oldest jobs in a state, each with
 *   its attempts, its last error (why it failed, was retried or parked) and its event.
 * - `GET /admin/api/destinations/:id/activations` — audience activation data per activation and
 *   audience: profiles received, activated (by status), excluded (with reasons), failed (with the
 *   last error), and current members (docs/audiences.md).
 * - `POST /admin/api/destinations/:id/replay` — dead jobs back to ready (all of them, or
 *   `{"ids": [...]}`), attempts reset; answers how many.
 *
 * - `GET /admin/api/delivery-log?destination=&job=&message_id=&outcome=&limit=N` — what happened to
 *   each job, newest first (limit 1–1,000, default 100): one entry per settlement (delivered,
 *   skipped, retry, failed, parked) with the event's messageId, type and name, the actions it
 *   went to, the attempt and the reason (Zendesk's error details, our validation message, or why
 *   nothing was sent).
 *
 * The admin API has no authentication of its own yet: the service listens on loopback unless
 * HOST says otherwise.
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import { z } from 'zod'

import { JOB_STATES, type Job, type JobState, type Queue, type QueueCounts } from '../../queue/queue.js'
import { DELIVERY_OUTCOMES, type DeliveryLog, type DeliveryLogEntry } from '../../store/delivery-log.js'
import type { ActivationStore, ActivationSummary } from '../../store/activations.js'
import type { RejectedEvent, RejectedEventStore } from '../../store/rejected-events.js'

/** What the admin API shows of a destination's delivery. */
export interface DestinationStatus {
  pausedForAuth: boolean
  singleRequests: boolean
}

export interface AdminDeps {
  rejected: Pick<RejectedEventStore, 'list' | 'count'>
  deliveryLog?: Pick<DeliveryLog, 'list'>
  queue?: Pick<Queue, 'counts' | 'list' | 'replay'>
  /** Destination ids and their delivery status. */
  destinations?: () => Map<string, DestinationStatus>
  /** Audience activation data (docs/audiences.md). */
  activations?: Pick<ActivationStore, 'summary'>
}

export interface ActivationsResponse {
  destination: string
  audiences: ActivationSummary[]
}

export interface DestinationsResponse {
  destinations: (DestinationStatus & { id: string; jobs: QueueCounts })[]
}

export interface JobsResponse {
  jobs: Job[]
}

const jobsQuery = z.object({
  state: z.enum(Object.values(JOB_STATES) as [JobState, ...JobState[]]).default('dead'),
  limit: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(1)
    .max(1000)
    .default(100),
})

const replayBody = z
  .object({ ids: z.array(z.number().int().positive()).min(1).max(10_000).optional() })
  .strict()
  .optional()

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

const deliveryLogQuery = z.object({
  destination: z.string().min(1).optional(),
  job: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .positive()
    .optional(),
  message_id: z.string().min(1).optional(),
  outcome: z.enum(DELIVERY_OUTCOMES).optional(),
  limit: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000')
    .default(100),
})

export interface DeliveryLogResponse {
  entries: DeliveryLogEntry[]
}

export function registerAdmin(app: FastifyInstance, deps: AdminDeps): void {
  const { deliveryLog } = deps
  if (deliveryLog) {
    app.get('/admin/api/delivery-log', async (request, reply) => {
      const parsed = deliveryLogQuery.safeParse(request.query)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        return reply.code(400).send({
          code: 'ADMIN_BAD_QUERY',
          message: `${issue?.path.map(String).join('.') || 'query'}: ${issue?.message ?? 'invalid'}`,
        })
      }
      const q = parsed.data
      const body: DeliveryLogResponse = {
        entries: await deliveryLog.list({
          limit: q.limit,
          ...(q.destination !== undefined ? { destinationId: q.destination } : {}),
          ...(q.job !== undefined ? { jobId: q.job } : {}),
          ...(q.message_id !== undefined ? { messageId: q.message_id } : {}),
          ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
        }),
      }
      return reply.send(body)
    })
  }

  app.get('/admin/api/rejected-events', async (request, reply) => {
    const parsed = rejectedEventsQuery.safeParse(request.query)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      return reply.code(400).send({
        code: 'ADMIN_BAD_QUERY',
        message: `${issue?.path.map(String).join('.') || 'query'}: ${issue?.message ?? 'invalid'}`,
      })
    }
    const body: RejectedEventsResponse = {
      total: await deps.rejected.count(),
      events: await deps.rejected.list(parsed.data.limit),
    }
    return reply.send(body)
  })

  const { queue, destinations } = deps
  if (!queue || !destinations) {
    return
  }
  const badRequest = (reply: FastifyReply, error: z.ZodError) => {
    const issue = error.issues[0]
    return reply.code(400).send({
      code: 'ADMIN_BAD_REQUEST',
      message: `${issue?.path.map(String).join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
    })
  }
  const unknown = (reply: FastifyReply, id: string) =>
    reply.code(404).send({ code: 'ADMIN_UNKNOWN_DESTINATION', message: `no destination "${id}"` })

  app.get('/admin/api/destinations', async () => {
    const list: DestinationsResponse['destinations'] = []
    for (const [id, status] of destinations()) {
      list.push({ id, ...status, jobs: await queue.counts(id) })
    }
    return { destinations: list } satisfies DestinationsResponse
  })

  app.get('/admin/api/destinations/:id/jobs', async (request, reply) => {
    const { id } = request.params as { id: string }
    if (!destinations().has(id)) {
      return unknown(reply, id)
    }
    const parsed = jobsQuery.safeParse(request.query)
    if (!parsed.success) {
      return badRequest(reply, parsed.error)
    }
    const body: JobsResponse = { jobs: await queue.list(id, parsed.data.state, parsed.data.limit) }
    return reply.send(body)
  })

  const { activations } = deps
  if (activations) {
    // Activation data per audience: received, activated, excluded (with reasons), failed (last error).
    app.get('/admin/api/destinations/:id/activations', async (request, reply) => {
      const { id } = request.params as { id: string }
      if (!destinations().has(id)) {
        return unknown(reply, id)
      }
      const body: ActivationsResponse = { destination: id, audiences: await activations.summary(id) }
      return reply.send(body)
    })
  }

  app.post('/admin/api/destinations/:id/replay', async (request, reply) => {
    const { id } = request.params as { id: string }
    if (!destinations().has(id)) {
      return unknown(reply, id)
    }
    const parsed = replayBody.safeParse(request.body ?? undefined)
    if (!parsed.success) {
      return badRequest(reply, parsed.error)
    }
    const replayed = await queue.replay(id, parsed.data?.ids)
    return reply.send({ replayed })
  })
}
