/**
 * Ingest: the Segment HTTP Tracking API (`/v1/identify|track|group|page|screen|alias|batch`, and
 * `/v1/import` as batch), so that Segment's and RudderStack's SDKs send to us unchanged.
 *
 * - Auth: HTTP Basic with the write key as user and an empty password, or `writeKey` in the body.
 * - Bodies: JSON whatever the Content-Type (RudderStack's Node SDK labels gzipped JSON as
 *   form-urlencoded), gzip/deflate per Content-Encoding.
 * - Limits: 32 KB per event, 500 KB per request (Segment's), over them 413.
 * - Validation per event: valid events are stored even when others in the batch are not; the
 *   answer lists each rejected event's index and reasons. Only a request with nothing valid is 400.
 * - Durability: the answer is sent only after the queue has committed the jobs.
 * - Back-pressure: over the configured backlog the answer is 503 with Retry-After, so SDKs retry.
 * - Storage down (the database cannot be reached, or refuses the commit): 503 with Retry-After,
 *   so SDKs send the batch again; nothing uncommitted is ever acknowledged, and the repeat's
 *   messageIds make whatever did commit a duplicate.
 */
import { gunzip, inflate } from 'node:zlib'
import { promisify } from 'node:util'

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

import type { Clock } from '../../lib/clock.js'
import type { NewJob, Queue } from '../../queue/queue.js'
import { orderingKeyOf, parseEvent, type EventType, type Reason, type SpecEvent } from '../../spec/events.js'
import type { RejectedEventStore } from '../../store/rejected-events.js'

const gunzipAsync = promisify(gunzip)
const inflateAsync = promisify(inflate)

export interface Source {
  id: string
  /** Destinations fed by this source. */
  destinationIds: string[]
}

export interface IngestLimits {
  maxEventBytes: number
  maxRequestBytes: number
  /** Jobs waiting (all destinations) above which ingest answers 503. */
  maxBacklog: number
}

export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  maxEventBytes: 32 * 1024,
  maxRequestBytes: 500 * 1024,
  maxBacklog: 5_000_000,
}

export interface IngestDeps {
  clock: Clock
  newMessageId: () => string
  sourceFor(writeKey: string): Source | null
  queue: Pick<Queue, 'enqueue' | 'backlog'>
  rejected: RejectedEventStore
  limits?: Partial<IngestLimits>
  /** Told which destinations got new jobs, once they are durable (wakes idle workers). */
  onEnqueued?: (destinationIds: string[]) => void
  /** Further routes in the same scope (auth, limits, errors), e.g. `/v1/audiences` (audiences.ts). */
  extraRoutes?: (scope: FastifyInstance, kit: IngestKit) => void
}

/** What other ingest routes share with these: body, write key, back-pressure, durable enqueue. */
export interface IngestKit {
  limits: IngestLimits
  /** Reads and parses the body, checks the write key and the backlog; throws the HTTP answer otherwise. */
  accept(request: FastifyRequest): Promise<{ body: unknown; source: Source; receivedAt: string }>
  /** Commits the jobs, then wakes the destinations' workers; returns how many were new. */
  enqueue(jobs: NewJob[], source: Source): Promise<number>
  /** An error answer in the ingest's shape: `{success: false, code, message}`. */
  httpError(status: number, code: string, message: string): Error
}

export interface Rejection {
  index: number
  reasons: Reason[]
}

const SINGLE: EventType[] = ['identify', 'track', 'group', 'page', 'screen', 'alias']
const BACKLOG_CHECK_MS = 1000

class IngestHttpError extends Error {
  readonly status: number
  readonly code: string
  readonly headers: Record<string, string>

  constructor(
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause })
    this.status = status
    this.code = code
    this.headers = headers
  }
}

export function registerIngest(app: FastifyInstance, deps: IngestDeps): void {
  const limits = { ...DEFAULT_INGEST_LIMITS, ...deps.limits }
  let backlog = { value: 0, checkedAt: -Infinity }

  const overloaded = async (): Promise<boolean> => {
    const now = deps.clock.now()
    if (now - backlog.checkedAt >= BACKLOG_CHECK_MS) {
      backlog = { value: await storage(() => deps.queue.backlog()), checkedAt: now }
    }
    return backlog.value >= limits.maxBacklog
  }

  void app.register((scope, _opts, done) => {
    // Every body is read raw, whatever its Content-Type, and parsed below.
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: limits.maxRequestBytes * 20 },
      (_req, body, next) => {
        next(null, body)
      },
    )
    scope.setErrorHandler((error: unknown, request, reply) => {
      if (error instanceof IngestHttpError) {
        if (error.cause !== undefined) {
          request.log.error({ err: error.cause }, error.message)
        }
        for (const [k, v] of Object.entries(error.headers)) {
          void reply.header(k, v)
        }
        return reply.code(error.status).send({ success: false, code: error.code, message: error.message })
      }
      const e = error as { statusCode?: number; message?: string }
      if (e.statusCode === 413) {
        return reply
          .code(413)
          .send({ success: false, code: 'INGEST_TOO_LARGE', message: 'The request body is too large' })
      }
      throw error
    })

    const handle = (implied: EventType | null) => async (request: FastifyRequest, reply: FastifyReply) => {
      const body = await readBody(request, limits.maxRequestBytes)
      const source = authenticate(request, body, deps)
      if (await overloaded()) {
        throw new IngestHttpError(503, 'INGEST_OVERLOADED', 'The service is overloaded; retry later', {
          'retry-after': '5',
        })
      }
      const receivedAt = new Date(deps.clock.now()).toISOString()
      // The write key is a credential: it is neither queued nor kept with rejected events.
      const items = (implied === null ? batchItems(body) : [body]).map(withoutWriteKey)
      const jobs: NewJob[] = []
      const rejections: Rejection[] = []
      let accepted = 0
      items.forEach((raw, index) => {
        const parsed = parseEvent(raw, { impliedType: implied, receivedAt, newMessageId: deps.newMessageId })
        if (!parsed.ok) {
          rejections.push({ index, reasons: parsed.reasons })
          return
        }
        const event = parsed.event
        // The size is measured on the JSON that is queued anyway (one stringify an event, not two).
        const payloadJson = JSON.stringify(event)
        const size = sentBytes(payloadJson, raw as Record<string, unknown>, event, limits.maxEventBytes)
        if (size > limits.maxEventBytes) {
          rejections.push({
            index,
            reasons: [
              {
                path: '',
                message: `event is ${size} bytes; the limit is ${limits.maxEventBytes} bytes (32 KB)`,
              },
            ],
          })
          return
        }
        accepted += 1
        const orderingKey = orderingKeyOf(event)
        for (const destinationId of source.destinationIds) {
          jobs.push({ destinationId, orderingKey, dedupeKey: event.messageId, payload: event, payloadJson })
        }
      })
      if (rejections.length > 0) {
        // Best effort: the report in the answer is what the sender needs; a store that cannot be
        // written must not cost the valid events beside them.
        await deps.rejected
          .add(
            rejections.map((r) => ({
              sourceId: source.id,
              receivedAt,
              index: r.index,
              reasons: r.reasons,
              event: JSON.stringify(items[r.index]) ?? '',
            })),
          )
          .catch((err: unknown) => request.log.warn({ err }, 'could not keep the rejected events'))
      }
      if (accepted === 0) {
        if (implied !== null && rejections[0]?.reasons[0]?.message.includes('bytes; the limit is')) {
          throw new IngestHttpError(413, 'INGEST_EVENT_TOO_LARGE', rejections[0].reasons[0].message)
        }
        return reply.code(400).send({
          success: false,
          code: 'INGEST_NO_VALID_EVENTS',
          message: items.length === 0 ? 'The batch is empty' : 'No valid event in the request',
          accepted: 0,
          rejected: rejections,
        })
      }
      const { inserted } = await storage(() => deps.queue.enqueue(jobs))
      // Count what this process just added, so that the bound holds between two backlog reads.
      backlog.value += inserted
      if (inserted > 0) {
        deps.onEnqueued?.(source.destinationIds)
      }
      return reply.code(200).send({ success: true, accepted, rejected: rejections })
    }

    for (const type of SINGLE) {
      scope.post(`/v1/${type}`, handle(type))
    }
    scope.post('/v1/batch', handle(null))
    scope.post('/v1/import', handle(null))
    deps.extraRoutes?.(scope, {
      limits,
      accept: async (request) => {
        const body = await readBody(request, limits.maxRequestBytes)
        const source = authenticate(request, body, deps)
        if (await overloaded()) {
          throw new IngestHttpError(503, 'INGEST_OVERLOADED', 'The service is overloaded; retry later', {
            'retry-after': '5',
          })
        }
        return { body, source, receivedAt: new Date(deps.clock.now()).toISOString() }
      },
      enqueue: async (jobs, source) => {
        const { inserted } = await storage(() => deps.queue.enqueue(jobs))
        backlog.value += inserted
        if (inserted > 0) {
          deps.onEnqueued?.(source.destinationIds)
        }
        return inserted
      },
      httpError: (status, code, message) => new IngestHttpError(status, code, message),
    })
    done()
  })
}

async function readBody(request: FastifyRequest, maxBytes: number): Promise<unknown> {
  let raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
  const encoding = String(request.headers['content-encoding'] ?? '').toLowerCase()
  try {
    if (encoding === 'gzip') {
      raw = await gunzipAsync(raw, { maxOutputLength: maxBytes + 1 })
    } else if (encoding === 'deflate') {
      raw = await inflateAsync(raw, { maxOutputLength: maxBytes + 1 })
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw tooLarge(maxBytes)
    }
    throw new IngestHttpError(400, 'INGEST_BAD_ENCODING', `The body is not valid ${encoding} data`)
  }
  if (raw.length > maxBytes) {
    throw tooLarge(maxBytes)
  }
  try {
    return JSON.parse(raw.toString('utf8')) as unknown
  } catch (err) {
    const why = err instanceof SyntaxError ? `: ${err.message}` : ''
    throw new IngestHttpError(400, 'INGEST_INVALID_JSON', `The body is not valid JSON${why}`)
  }
}

/**
 * An event's size as sent, in bytes, from its JSON as queued: less the fields the service added
 * (`receivedAt` always; `messageId`, `timestamp` and the endpoint's `type` when the event had
 * none). Exact but for ids sent as numbers (queued as strings, 2 bytes more). Under `limit` / 3
 * characters the event fits whatever they are (a character is at most 3 bytes of UTF-8), and its
 * length stands in.
 */
function sentBytes(
  queuedJson: string,
  raw: Record<string, unknown>,
  event: SpecEvent,
  limit: number,
): number {
  if (queuedJson.length * 3 <= limit) {
    return queuedJson.length
  }
  // `"key":"value",` (or with the comma first): the bytes one added string field takes.
  const added = (key: string, value: string) => key.length + Buffer.byteLength(value) + 6
  let bytes = Buffer.byteLength(queuedJson) - added('receivedAt', event.receivedAt)
  if (raw.messageId === undefined) {
    bytes -= added('messageId', event.messageId)
  }
  if (raw.timestamp === undefined) {
    bytes -= added('timestamp', event.timestamp)
  }
  if (raw.type === undefined || raw.type === null) {
    bytes -= added('type', event.type)
  }
  return bytes
}

/**
 * A queue call whose failure means the events were not stored: the sender must retry (503), as
 * for an overload. The cause is logged by the error handler, never shown to the sender.
 */
async function storage<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    throw new IngestHttpError(
      503,
      'INGEST_STORAGE_UNAVAILABLE',
      'The events could not be stored right now; retry later',
      { 'retry-after': '5' },
      err,
    )
  }
}

function tooLarge(maxBytes: number): IngestHttpError {
  return new IngestHttpError(
    413,
    'INGEST_REQUEST_TOO_LARGE',
    `The request body is over ${Math.round(maxBytes / 1024)} KB; send smaller batches`,
  )
}

function authenticate(request: FastifyRequest, body: unknown, deps: IngestDeps): Source {
  let writeKey: string | null = null
  const header = request.headers.authorization
  if (header?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8')
    writeKey = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded
  }
  if (
    !writeKey &&
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { writeKey?: unknown }).writeKey === 'string'
  ) {
    writeKey = (body as { writeKey: string }).writeKey
  }
  const source = writeKey ? deps.sourceFor(writeKey) : null
  if (!source) {
    throw new IngestHttpError(
      401,
      'INGEST_UNAUTHORIZED',
      writeKey ? 'Unknown write key' : 'Missing write key',
    )
  }
  return source
}

/** The events of a batch body, with batch-level context and integrations merged into each. */
function batchItems(body: unknown): unknown[] {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { batch?: unknown }).batch)) {
    throw new IngestHttpError(400, 'INGEST_NOT_A_BATCH', 'batch: must be an array of events')
  }
  const b = body as { batch: unknown[]; context?: unknown; integrations?: unknown }
  if (!isPlainObject(b.context) && !isPlainObject(b.integrations)) {
    // Nothing to merge (SDKs put context in each event): the items as they are, uncopied.
    return b.batch
  }
  return b.batch.map((item) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      return item
    }
    const e = item as Record<string, unknown>
    const merged = { ...e }
    for (const key of ['context', 'integrations'] as const) {
      const outer = b[key]
      const inner = e[key]
      // An inner value that is not an object is left alone, for validation to reject.
      if (isPlainObject(outer) && (inner === undefined || inner === null || isPlainObject(inner))) {
        merged[key] = { ...outer, ...(inner ?? {}) }
      }
    }
    return merged
  })
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function withoutWriteKey(item: unknown): unknown {
  if (!isPlainObject(item) || !('writeKey' in item)) {
    return item
  }
  const { writeKey: _writeKey, ...rest } = item
  return rest
}
