/**
 * `POST /v1/audiences`: audience profile exports in the shape AEP's streaming HTTP destinations
 * send (docs/audiences.md has the JSON schema). Same write-key auth, limits, back-pressure and
 * durability as the event routes (ingest.ts): the answer is sent once the jobs are committed.
 *
 * Body: one profile, an array of profiles, or `{"profiles": [...], "mirror": {...}}`.
 * - Each profile is validated on its own (spec/audiences.ts); a bad one is listed with its index
 *   and reasons and kept for the operator (rejected events), the others are queued. Only a request
 *   with nothing valid (and no mirror to complete) is 400.
 * - Each valid profile becomes one audience job per destination of the source, ordered by person.
 * - Mirror: the profiles are a snapshot of the members of `mirror.audiences`. A snapshot may span
 *   several requests with the same `mirror.snapshot` id; the request with `complete: true` (the
 *   default) ends it: every member of those audiences that a destination last activated and the
 *   snapshot lacks gets an exit (status `exited`), queued like any audience job.
 * - Members a mirror knows include those whose realized/existing profile is accepted but not
 *   delivered yet (remembered as pending once their jobs are queued: service.ts,
 *   `activationAcceptor`). An exit for one of them has the ordering key of that profile's job
 *   (`audienceOrderingKey`), so it is delivered after it.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'

import type { NewJob } from '../../queue/queue.js'
import {
  AUDIENCE_EVENT,
  audienceOrderingKey,
  parseAudienceProfile,
  type AudienceEvent,
} from '../../spec/audiences.js'
import type { ActivationStore } from '../../store/activations.js'
import type { RejectedEventStore } from '../../store/rejected-events.js'
import type { IngestKit, Rejection } from './ingest.js'

export interface AudienceIngestDeps {
  newMessageId: () => string
  rejected: Pick<RejectedEventStore, 'add'>
  activations: Pick<ActivationStore, 'markSeen' | 'unseenMembers' | 'endSnapshot'>
}

const mirrorSchema = z
  .object({
    audiences: z.array(z.string().min(1)).min(1, 'must list at least one audience'),
    snapshot: z.string().min(1).max(200).optional(),
    complete: z.boolean().optional(),
  })
  .strict()

export interface AudiencesResponse {
  success: true
  accepted: number
  rejected: Rejection[]
  mirror?: { snapshot: string; complete: boolean; exited: number }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function registerAudienceIngest(
  scope: FastifyInstance,
  kit: IngestKit,
  deps: AudienceIngestDeps,
): void {
  scope.post('/v1/audiences', async (request, reply) => {
    const { body, source, receivedAt } = await kit.accept(request)
    let items: unknown[]
    let mirror: z.infer<typeof mirrorSchema> | null = null
    if (Array.isArray(body)) {
      items = body
    } else if (isObject(body) && 'profiles' in body) {
      if (!Array.isArray(body.profiles)) {
        throw kit.httpError(400, 'INGEST_NOT_A_BATCH', 'profiles: must be an array of profiles')
      }
      items = body.profiles
      if (body.mirror !== undefined) {
        const m = mirrorSchema.safeParse(body.mirror)
        if (!m.success) {
          const issue = m.error.issues[0]
          throw kit.httpError(
            400,
            'INGEST_INVALID_MIRROR',
            `mirror.${issue?.path.map(String).join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
          )
        }
        mirror = m.data
        if (mirror.complete === false && mirror.snapshot === undefined) {
          throw kit.httpError(
            400,
            'INGEST_INVALID_MIRROR',
            'mirror.snapshot: required when the snapshot spans several requests (complete: false)',
          )
        }
      }
    } else {
      items = [body]
    }
    // The write key is a credential: it is never kept as an attribute, queued or stored.
    items = items.map((item) => {
      if (!isObject(item) || !('writeKey' in item)) {
        return item
      }
      const { writeKey: _writeKey, ...rest } = item
      return rest
    })
    const rejections: Rejection[] = []
    const events: AudienceEvent[] = []
    items.forEach((raw, index) => {
      const size = Buffer.byteLength(JSON.stringify(raw) ?? '')
      if (size > kit.limits.maxEventBytes) {
        rejections.push({
          index,
          reasons: [
            { path: '', message: `profile is ${size} bytes; the limit is ${kit.limits.maxEventBytes} bytes` },
          ],
        })
        return
      }
      const parsed = parseAudienceProfile(raw, { receivedAt, newMessageId: deps.newMessageId })
      if (parsed.ok) {
        events.push(parsed.event)
      } else {
        rejections.push({ index, reasons: parsed.reasons })
      }
    })
    if (rejections.length > 0) {
      await deps.rejected.add(
        rejections.map((r) => ({
          sourceId: source.id,
          receivedAt,
          index: r.index,
          reasons: r.reasons,
          event: JSON.stringify(items[r.index]) ?? '',
        })),
      )
    }
    if (events.length === 0 && mirror === null) {
      return reply.code(400).send({
        success: false,
        code: 'INGEST_NO_VALID_EVENTS',
        message: items.length === 0 ? 'No profile in the request' : 'No valid profile in the request',
        accepted: 0,
        rejected: rejections,
      })
    }
    const jobs: NewJob[] = []
    for (const event of events) {
      for (const destinationId of source.destinationIds) {
        jobs.push({
          destinationId,
          orderingKey: audienceOrderingKey(event),
          dedupeKey: event.messageId,
          payload: event,
        })
      }
    }
    let mirrorResult: AudiencesResponse['mirror']
    if (mirror !== null) {
      const snapshot = mirror.snapshot ?? deps.newMessageId()
      for (const audienceId of mirror.audiences) {
        const members = events.filter((e) => {
          const m = e.audiences[audienceId]
          return m !== undefined && m.status !== 'exited'
        })
        await deps.activations.markSeen(snapshot, audienceId, members.map(audienceOrderingKey))
      }
      const complete = mirror.complete !== false
      let exited = 0
      if (complete) {
        for (const audienceId of mirror.audiences) {
          for (const destinationId of source.destinationIds) {
            for (const m of await deps.activations.unseenMembers(destinationId, audienceId, snapshot)) {
              const exit: AudienceEvent = {
                type: AUDIENCE_EVENT,
                messageId: deps.newMessageId(),
                receivedAt,
                timestamp: receivedAt,
                userId: m.userId,
                email: m.email,
                attributes: m.attributes,
                audiences: { [audienceId]: { status: 'exited', lastQualificationTime: receivedAt } },
                origin: 'mirror',
              }
              jobs.push({ destinationId, orderingKey: m.personKey, dedupeKey: exit.messageId, payload: exit })
              exited += 1
            }
          }
        }
        await deps.activations.endSnapshot(snapshot)
      }
      mirrorResult = { snapshot, complete, exited }
    }
    if (jobs.length > 0) {
      await kit.enqueue(jobs, source)
    }
    const answer: AudiencesResponse = {
      success: true,
      accepted: events.length,
      rejected: rejections,
      ...(mirrorResult ? { mirror: mirrorResult } : {}),
    }
    return reply.code(200).send(answer)
  })
}
