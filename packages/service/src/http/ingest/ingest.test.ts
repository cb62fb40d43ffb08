/**
 * The ingest plugin through the real service on a socket: auth, endpoints, bodies, limits,
 * validation, durability and back-pressure. Where a test needs to see what was queued, the
 * destination's worker is stopped first and the queue is read through a second connection to the
 * SQLite file, which sees only committed jobs.
 */
import { join } from 'node:path'
import { deflateSync, gzipSync } from 'node:zlib'

import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'

import { startTestService, WRITE_KEY, type TestService } from '../../../test/harness.js'
import { systemClock } from '../../lib/clock.js'
import { openSqliteQueue } from '../../queue/sqlite-queue.js'

const DAY = 24 * 60 * 60 * 1000

const basic = (user: string, password = '') =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const AUTH = basic(WRITE_KEY)

interface Answer {
  status: number
  headers: Headers
  text: string
  body: any
}

/** A raw POST: exactly the headers given (no write key unless given), the body as bytes or text. */
async function send(
  t: TestService,
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${t.url}${path}`, { method: 'POST', headers, body })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : null }
}

const json = (v: unknown) => JSON.stringify(v)

/** Starts a service whose worker is stopped, so that accepted events stay in the queue as ready jobs. */
async function startHeldService(opts: Parameters<typeof startTestService>[0] = {}): Promise<TestService> {
  const t = await startTestService(opts)
  await t.service.workers.get('default')!.stop()
  return t
}

/** Every job of the default destination, read through a second connection to the queue file. */
async function queuedEvents(t: TestService): Promise<any[]> {
  const q = openSqliteQueue({
    path: join(t.dataDir, 'zendesk-destination.sqlite'),
    clock: systemClock,
    retentionMs: DAY,
    dedupeWindowMs: DAY,
  })
  try {
    const jobs = []
    for (const state of ['ready', 'leased', 'done', 'dead', 'parked'] as const) {
      jobs.push(...(await q.list('default', state, 100_000)))
    }
    return jobs.sort((a, b) => a.id - b.id).map((j) => j.payload)
  } finally {
    await q.close()
  }
}

async function queuedByMessageId(t: TestService, messageId: string): Promise<any[]> {
  return (await queuedEvents(t)).filter((e) => e.messageId === messageId)
}

async function rejectedEvents(
  t: TestService,
  query = '',
): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(`${t.url}/admin/api/rejected-events${query}`)
  const text = await res.text()
  return { status: res.status, body: JSON.parse(text), text }
}

describe('ingest on a shared service (worker held, so accepted events stay queued)', () => {
  let t: TestService

  beforeAll(async () => {
    t = await startHeldService()
  })

  afterAll(async () => {
    await t.stop()
  })

  describe('auth', () => {
    test('Basic auth with the write key as user and an empty password is accepted', async () => {
      const r = await send(t, '/v1/identify', json({ userId: 'auth-basic', messageId: 'm-auth-basic' }), {
        authorization: AUTH,
        'content-type': 'application/json',
      })
      expect(r.status).toBe(200)
      expect(r.body).toEqual({ success: true, accepted: 1, rejected: [] })
      expect(await queuedByMessageId(t, 'm-auth-basic')).toHaveLength(1)
    })

    test('writeKey in the body is accepted without an Authorization header, on single calls and batches', async () => {
      const single = await send(
        t,
        '/v1/identify',
        json({ writeKey: WRITE_KEY, userId: 'auth-body', messageId: 'm-auth-body' }),
        { 'content-type': 'application/json' },
      )
      expect(single.status).toBe(200)
      const batch = await send(
        t,
        '/v1/batch',
        json({
          writeKey: WRITE_KEY,
          batch: [{ type: 'identify', userId: 'auth-body-2', messageId: 'm-auth-body-2' }],
        }),
        { 'content-type': 'application/json' },
      )
      expect(batch.status).toBe(200)
      expect(batch.body.accepted).toBe(1)
      expect(await queuedByMessageId(t, 'm-auth-body')).toHaveLength(1)
      expect(await queuedByMessageId(t, 'm-auth-body-2')).toHaveLength(1)
    })

    test('a request without any write key is 401 and nothing is queued', async () => {
      const r = await send(t, '/v1/identify', json({ userId: 'nokey', messageId: 'm-nokey' }), {
        'content-type': 'application/json',
      })
      expect(r.status).toBe(401)
      expect(r.body).toEqual({ success: false, code: 'INGEST_UNAUTHORIZED', message: 'Missing write key' })
      expect(await queuedByMessageId(t, 'm-nokey')).toEqual([])
    })

    test('a wrong write key, in the header or in the body, is 401 with a clear message', async () => {
      const inHeader = await send(t, '/v1/identify', json({ userId: 'bad', messageId: 'm-bad-1' }), {
        authorization: basic('not-the-key'),
        'content-type': 'application/json',
      })
      const inBody = await send(
        t,
        '/v1/batch',
        json({ writeKey: 'not-the-key', batch: [{ type: 'identify', userId: 'bad', messageId: 'm-bad-2' }] }),
        { 'content-type': 'application/json' },
      )
      for (const r of [inHeader, inBody]) {
        expect(r.status).toBe(401)
        expect(r.body).toEqual({ success: false, code: 'INGEST_UNAUTHORIZED', message: 'Unknown write key' })
        expect(r.text).not.toContain('not-the-key')
      }
      expect(await queuedByMessageId(t, 'm-bad-1')).toEqual([])
      expect(await queuedByMessageId(t, 'm-bad-2')).toEqual([])
    })

    test('the write key never appears in any answer, including the rejected events shown to the operator', async () => {
      const answers = [
        await send(t, '/v1/identify', json({ writeKey: WRITE_KEY, userId: 'wk-ok' }), {}),
        await send(t, '/v1/identify', json({ writeKey: WRITE_KEY, traits: { email: 'x@example.com' } }), {}),
        await send(
          t,
          '/v1/track',
          json({ writeKey: WRITE_KEY, userId: 'wk', event: 'x'.repeat(40_000) }),
          {},
        ),
        await send(
          t,
          '/v1/batch',
          json({ writeKey: WRITE_KEY, batch: [{ writeKey: WRITE_KEY, type: 'x' }] }),
          {},
        ),
        await send(t, '/v1/batch', `{"writeKey":"${WRITE_KEY}", "batch": [`, { authorization: AUTH }),
      ]
      expect(answers.map((a) => a.status)).toEqual([200, 400, 413, 400, 400])
      const admin = await rejectedEvents(t, '?limit=1000')
      for (const text of [...answers.map((a) => a.text), admin.text]) {
        expect(text).not.toContain(WRITE_KEY)
      }
      expect(admin.body.events.length).toBeGreaterThanOrEqual(3)
      const queued = await queuedEvents(t)
      expect(queued.filter((e) => e.userId === 'wk-ok')).toHaveLength(1)
      expect(JSON.stringify(queued)).not.toContain(WRITE_KEY)
    })
  })

  describe('endpoints', () => {
    const singles: [string, Record<string, unknown>][] = [
      ['identify', { userId: 'ep', traits: { email: 'ep@example.com' } }],
      ['track', { userId: 'ep', event: 'Order Completed', properties: { revenue: 9.5 } }],
      ['group', { userId: 'ep', groupId: 'g1', traits: { name: 'Acme' } }],
      ['page', { anonymousId: 'anon-ep', name: 'Home' }],
      ['screen', { userId: 'ep', name: 'Settings' }],
      ['alias', { userId: 'ep', previousId: 'anon-ep' }],
    ]

    test.each(singles)(
      '/v1/%s accepts a valid event and queues it with the type of the endpoint',
      async (type, event) => {
        const messageId = `m-ep-${type}`
        const r = await send(t, `/v1/${type}`, json({ ...event, messageId }), {
          authorization: AUTH,
          'content-type': 'application/json',
        })
        expect(r.status).toBe(200)
        expect(r.body).toEqual({ success: true, accepted: 1, rejected: [] })
        const [queued] = await queuedByMessageId(t, messageId)
        expect(queued).toMatchObject({ ...event, type, messageId })
        expect(typeof queued.receivedAt).toBe('string')
      },
    )

    test('a single-event endpoint refuses an event of another type', async () => {
      const r = await send(t, '/v1/identify', json({ type: 'track', userId: 'u', event: 'E' }), {
        authorization: AUTH,
      })
      expect(r.status).toBe(400)
      expect(r.body.rejected).toEqual([
        { index: 0, reasons: [{ path: 'type', message: 'must be "identify" on this endpoint' }] },
      ])
    })

    test.each(['batch', 'import'])(
      '/v1/%s accepts events of every type, each keeping its own type',
      async (path) => {
        const batch = singles.map(([type, event]) => ({ ...event, type, messageId: `m-${path}-${type}` }))
        const r = await send(t, `/v1/${path}`, json({ batch }), { authorization: AUTH })
        expect(r.status).toBe(200)
        expect(r.body).toEqual({ success: true, accepted: 6, rejected: [] })
        for (const [type] of singles) {
          expect(await queuedByMessageId(t, `m-${path}-${type}`)).toMatchObject([{ type }])
        }
      },
    )

    test('batch-level context and integrations are merged into each event, the event winning', async () => {
      const r = await send(
        t,
        '/v1/batch',
        json({
          context: { library: { name: 'outer' }, ip: '1.2.3.4' },
          integrations: { All: true },
          batch: [
            { type: 'identify', userId: 'ctx', messageId: 'm-ctx', context: { library: { name: 'inner' } } },
          ],
        }),
        { authorization: AUTH },
      )
      expect(r.status).toBe(200)
      const [queued] = await queuedByMessageId(t, 'm-ctx')
      expect(queued.context).toEqual({ library: { name: 'inner' }, ip: '1.2.3.4' })
      expect(queued.integrations).toEqual({ All: true })
    })
  })

  describe('bodies', () => {
    const event = (messageId: string) => ({ userId: 'body', messageId, traits: { name: 'Body' } })

    test('a gzipped body with Content-Encoding gzip is accepted', async () => {
      const r = await send(t, '/v1/identify', gzipSync(json(event('m-gzip'))), {
        authorization: AUTH,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      })
      expect(r.status).toBe(200)
      expect(await queuedByMessageId(t, 'm-gzip')).toMatchObject([{ traits: { name: 'Body' } }])
    })

    test('gzipped JSON labelled application/x-www-form-urlencoded (the RudderStack Node SDK) is accepted', async () => {
      const r = await send(
        t,
        '/v1/batch',
        gzipSync(json({ batch: [{ type: 'identify', ...event('m-rudder') }] })),
        {
          authorization: AUTH,
          'content-type': 'application/x-www-form-urlencoded',
          'content-encoding': 'gzip',
        },
      )
      expect(r.status).toBe(200)
      expect(r.body.accepted).toBe(1)
      expect(await queuedByMessageId(t, 'm-rudder')).toHaveLength(1)
    })

    test.each([
      ['text/plain', { 'content-type': 'text/plain' }],
      ['application/x-www-form-urlencoded', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['no Content-Type at all', {}],
    ])('plain JSON labelled %s is accepted', async (label, headers) => {
      const messageId = `m-label-${label}`
      const r = await send(t, '/v1/identify', Buffer.from(json(event(messageId))), {
        authorization: AUTH,
        ...headers,
      })
      expect(r.status).toBe(200)
      expect(await queuedByMessageId(t, messageId)).toHaveLength(1)
    })

    test('a deflated body with Content-Encoding deflate is accepted', async () => {
      const r = await send(t, '/v1/identify', deflateSync(json(event('m-deflate'))), {
        authorization: AUTH,
        'content-encoding': 'deflate',
      })
      expect(r.status).toBe(200)
      expect(await queuedByMessageId(t, 'm-deflate')).toHaveLength(1)
    })

    test('invalid JSON is 400 naming the problem', async () => {
      const r = await send(t, '/v1/identify', '{"userId": "u1", traits: {}}', {
        authorization: AUTH,
        'content-type': 'application/json',
      })
      expect(r.status).toBe(400)
      expect(r.body).toMatchObject({ success: false, code: 'INGEST_INVALID_JSON' })
      // The parser's own words say where: "…: Expected property name or '}' in JSON at position 17 …".
      expect(r.body.message).toMatch(/^The body is not valid JSON: .*position 17/)
    })

    test('a body that claims gzip but is not gzip data is 400 naming the encoding', async () => {
      const r = await send(t, '/v1/identify', json(event('m-not-gzip')), {
        authorization: AUTH,
        'content-encoding': 'gzip',
      })
      expect(r.status).toBe(400)
      expect(r.body).toEqual({
        success: false,
        code: 'INGEST_BAD_ENCODING',
        message: 'The body is not valid gzip data',
      })
    })

    test('a batch body without a batch array is 400', async () => {
      const r = await send(t, '/v1/batch', json({ events: [] }), { authorization: AUTH })
      expect(r.status).toBe(400)
      expect(r.body).toEqual({
        success: false,
        code: 'INGEST_NOT_A_BATCH',
        message: 'batch: must be an array of events',
      })
    })
  })

  describe('limits', () => {
    test('an event over 32 KB on /v1/track is 413 with a clear message', async () => {
      const r = await send(
        t,
        '/v1/track',
        json({
          userId: 'big',
          event: 'Big',
          messageId: 'm-big',
          properties: { blob: 'x'.repeat(33 * 1024) },
        }),
        { authorization: AUTH },
      )
      expect(r.status).toBe(413)
      expect(r.body).toMatchObject({ success: false, code: 'INGEST_EVENT_TOO_LARGE' })
      expect(r.body.message).toMatch(/^event is \d+ bytes; the limit is 32768 bytes \(32 KB\)$/)
      expect(await queuedByMessageId(t, 'm-big')).toEqual([])
    })

    test.each([
      [
        'with its own messageId and timestamp',
        { messageId: 'm-edge', timestamp: '2026-11-21T10:00:00.000Z' },
      ],
      ['without them (the service adds both)', {}],
    ])('the limit is on the event as sent, to the byte, %s', async (_, own) => {
      // An event of exactly 32,768 bytes of JSON (multi-byte characters included) is accepted, one
      // byte more is not, and the answer gives the sent size: what the service adds is not counted.
      const sized = (bytes: number) => {
        const e = { userId: 'edge', event: 'Edge', ...own, properties: { note: 'é', blob: '' } }
        e.properties.blob = 'x'.repeat(bytes - Buffer.byteLength(JSON.stringify(e)))
        return e
      }
      const fits = await send(t, '/v1/track', json(sized(32_768)), { authorization: AUTH })
      expect(fits.status).toBe(200)
      const over = await send(t, '/v1/track', json(sized(32_769)), { authorization: AUTH })
      expect(over.status).toBe(413)
      expect(over.body.message).toBe('event is 32769 bytes; the limit is 32768 bytes (32 KB)')
    })

    test('a batch over 500 KB is 413 with a clear message, and so is a gzipped one that inflates past it', async () => {
      const batch = Array.from({ length: 60 }, (_, i) => ({
        type: 'track',
        userId: `u${i}`,
        event: 'E',
        messageId: `m-huge-${i}`,
        properties: { blob: 'y'.repeat(9 * 1024) },
      }))
      const body = json({ batch })
      expect(body.length).toBeGreaterThan(500 * 1024)
      const plain = await send(t, '/v1/batch', body, { authorization: AUTH })
      const zipped = await send(t, '/v1/batch', gzipSync(body), {
        authorization: AUTH,
        'content-encoding': 'gzip',
      })
      for (const r of [plain, zipped]) {
        expect(r.status).toBe(413)
        expect(r.body).toEqual({
          success: false,
          code: 'INGEST_REQUEST_TOO_LARGE',
          message: 'The request body is over 500 KB; send smaller batches',
        })
      }
      expect(await queuedByMessageId(t, 'm-huge-0')).toEqual([])
    })

    test('in a batch, one oversize event is rejected by index while the others are accepted', async () => {
      const r = await send(
        t,
        '/v1/batch',
        json({
          batch: [
            { type: 'identify', userId: 'small-1', messageId: 'm-small-1' },
            {
              type: 'track',
              userId: 'big',
              event: 'Big',
              messageId: 'm-big-2',
              properties: { blob: 'x'.repeat(40_000) },
            },
            { type: 'identify', userId: 'small-2', messageId: 'm-small-2' },
          ],
        }),
        { authorization: AUTH },
      )
      expect(r.status).toBe(200)
      expect(r.body.accepted).toBe(2)
      expect(r.body.rejected).toHaveLength(1)
      expect(r.body.rejected[0].index).toBe(1)
      expect(r.body.rejected[0].reasons[0].message).toMatch(/the limit is 32768 bytes \(32 KB\)/)
      expect(await queuedByMessageId(t, 'm-small-1')).toHaveLength(1)
      expect(await queuedByMessageId(t, 'm-small-2')).toHaveLength(1)
      expect(await queuedByMessageId(t, 'm-big-2')).toEqual([])
    })
  })

  describe('validation', () => {
    test.each([
      ['identify', { traits: { email: 'a@example.com' } }, 'userId', 'userId or anonymousId is required'],
      ['track', { userId: 'u' }, 'event', 'is required'],
      ['track', { event: 'E' }, 'userId', 'userId or anonymousId is required'],
      ['group', { userId: 'u' }, 'groupId', expect.any(String)],
      ['page', {}, 'userId', 'userId or anonymousId is required'],
      ['screen', {}, 'userId', 'userId or anonymousId is required'],
      ['alias', { userId: 'u' }, 'previousId', expect.any(String)],
      ['alias', { previousId: 'p' }, 'userId', expect.any(String)],
    ])('/v1/%s without a required field (%j) is 400, naming %s', async (type, event, path, message) => {
      const r = await send(t, `/v1/${type}`, json(event), { authorization: AUTH })
      expect(r.status).toBe(400)
      expect(r.body).toEqual({
        success: false,
        code: 'INGEST_NO_VALID_EVENTS',
        message: 'No valid event in the request',
        accepted: 0,
        rejected: [{ index: 0, reasons: [{ path, message }] }],
      })
    })

    test('an anonymousId alone identifies the person', async () => {
      const r = await send(t, '/v1/identify', json({ anonymousId: 'anon-1', messageId: 'm-anon' }), {
        authorization: AUTH,
      })
      expect(r.status).toBe(200)
      expect(await queuedByMessageId(t, 'm-anon')).toHaveLength(1)
    })

    test('a batch with some invalid events stores the valid ones and answers 200 with index, path and message', async () => {
      const r = await send(
        t,
        '/v1/batch',
        json({
          batch: [
            { type: 'group', userId: 'u', messageId: 'm-v-0' },
            { type: 'identify', userId: 'u', messageId: 'm-v-1' },
            'not an object',
            { type: 'launch', userId: 'u' },
            { type: 'track', userId: 'u', event: 'E', messageId: 'm-v-4' },
            { type: 'identify', userId: 'u', traits: 'not an object' },
            { type: 'identify', userId: 'u', context: 'not an object either' },
          ],
          context: { ip: '1.2.3.4' },
        }),
        { authorization: AUTH },
      )
      expect(r.status).toBe(200)
      expect(r.body.success).toBe(true)
      expect(r.body.accepted).toBe(2)
      expect(r.body.rejected.map((x: any) => x.index)).toEqual([0, 2, 3, 5, 6])
      expect(r.body.rejected).toEqual([
        { index: 0, reasons: [{ path: 'groupId', message: expect.any(String) }] },
        { index: 2, reasons: [{ path: '', message: 'must be a JSON object' }] },
        {
          index: 3,
          reasons: [{ path: 'type', message: 'must be one of identify, track, group, page, screen, alias' }],
        },
        { index: 5, reasons: [{ path: 'traits', message: expect.any(String) }] },
        { index: 6, reasons: [{ path: 'context', message: expect.any(String) }] },
      ])
      expect(await queuedByMessageId(t, 'm-v-1')).toHaveLength(1)
      expect(await queuedByMessageId(t, 'm-v-4')).toHaveLength(1)
      expect(await queuedByMessageId(t, 'm-v-0')).toEqual([])
    })

    test('a batch with nothing valid in it, or nothing at all, is 400', async () => {
      const invalid = await send(t, '/v1/batch', json({ batch: [{ type: 'track', userId: 'u' }, {}] }), {
        authorization: AUTH,
      })
      expect(invalid.status).toBe(400)
      expect(invalid.body).toMatchObject({
        success: false,
        accepted: 0,
        message: 'No valid event in the request',
      })
      expect(invalid.body.rejected.map((x: any) => x.index)).toEqual([0, 1])
      const empty = await send(t, '/v1/batch', json({ batch: [] }), { authorization: AUTH })
      expect(empty.status).toBe(400)
      expect(empty.body).toMatchObject({ success: false, accepted: 0, message: 'The batch is empty' })
    })

    test('rejected events are kept and readable at GET /admin/api/rejected-events, newest first', async () => {
      await send(
        t,
        '/v1/batch',
        json({
          batch: [
            { type: 'identify', userId: 'fine', messageId: 'm-r-0' },
            { type: 'track', userId: 'u', messageId: 'm-r-1' },
            { type: 'alias', userId: 'u', messageId: 'm-r-2' },
          ],
        }),
        { authorization: AUTH },
      )
      const r = await rejectedEvents(t, '?limit=2')
      expect(r.status).toBe(200)
      expect(r.body.total).toBeGreaterThanOrEqual(2)
      expect(r.body.events).toHaveLength(2)
      const [newest, previous] = r.body.events
      expect(newest).toMatchObject({
        sourceId: 'default',
        index: 2,
        reasons: [{ path: 'previousId', message: expect.any(String) }],
      })
      expect(JSON.parse(newest.event)).toMatchObject({ type: 'alias', messageId: 'm-r-2' })
      expect(previous).toMatchObject({ index: 1, reasons: [{ path: 'event', message: 'is required' }] })
      expect(JSON.parse(previous.event)).toMatchObject({ messageId: 'm-r-1' })
      expect(newest.id).toBeGreaterThan(previous.id)
      expect(Date.parse(newest.receivedAt)).not.toBeNaN()
    })

    test('the rejected-events limit is checked', async () => {
      for (const q of ['?limit=0', '?limit=1001', '?limit=abc']) {
        const r = await rejectedEvents(t, q)
        expect(r.status).toBe(400)
        expect(r.body.message).toMatch(/^limit: /)
      }
    })
  })

  test('durability: an acknowledged event is already committed to the queue file when the 200 arrives', async () => {
    const batch = Array.from({ length: 100 }, (_, i) => ({
      type: 'identify',
      userId: `d${i}`,
      messageId: `m-d-${i}`,
    }))
    const r = await send(t, '/v1/batch', json({ batch }), { authorization: AUTH })
    expect(r.status).toBe(200)
    // Read at once, by another connection: it sees only what the service's transaction committed.
    const queued = await queuedEvents(t)
    const ids = new Set(queued.map((e) => e.messageId))
    expect(batch.every((e) => ids.has(e.messageId))).toBe(true)
  })
})

describe('ingest with a separate service', () => {
  let t: TestService | undefined

  afterEach(async () => {
    await t?.stop()
    t = undefined
  })

  test('the rejected-event store is bounded: the newest 10,000 are kept', async () => {
    t = await startHeldService()
    const batch = Array.from({ length: 10_050 }, (_, i) => ({ n: i }))
    const r = await send(t, '/v1/batch', json({ batch }), { authorization: AUTH })
    expect(r.status).toBe(400)
    expect(r.body.rejected).toHaveLength(10_050)
    const admin = await rejectedEvents(t, '?limit=1000')
    expect(admin.body.total).toBe(10_000)
    expect(admin.body.events).toHaveLength(1000)
    expect(admin.body.events[0].index).toBe(10_049)
    expect(admin.body.events[999].index).toBe(9_050)
  })

  test('durability: jobs acknowledged before a stop are in the queue when the data folder is reopened', async () => {
    t = await startHeldService()
    const r = await send(t, '/v1/identify', json({ userId: 'kept', messageId: 'm-kept' }), {
      authorization: AUTH,
    })
    expect(r.status).toBe(200)
    await t.service.stop()
    expect(await queuedByMessageId(t, 'm-kept')).toMatchObject([{ type: 'identify', userId: 'kept' }])
  })

  test('back-pressure: over the backlog bound ingest answers 503 with Retry-After, and accepts again once it drains', async () => {
    t = await startTestService({ deps: { ingestLimits: { maxBacklog: 5 } } })
    t.emulator.addFaults([{ kind: 'status', status: 503, path: '/api/v2/users' }])
    const batch = (from: number) =>
      Array.from({ length: 5 }, (_, i) => ({
        type: 'identify',
        userId: `bp${from + i}`,
        traits: { email: `bp${from + i}@example.com`, name: `BP ${from + i}` },
      }))
    const first = await send(t, '/v1/batch', json({ batch: batch(0) }), { authorization: AUTH })
    expect(first.status).toBe(200)
    const over = await send(t, '/v1/batch', json({ batch: batch(5) }), { authorization: AUTH })
    expect(over.status).toBe(503)
    expect(over.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(over.body).toEqual({
      success: false,
      code: 'INGEST_OVERLOADED',
      message: 'The service is overloaded; retry later',
    })
    // Auth still comes first.
    const badKey = await send(t, '/v1/batch', json({ batch: batch(5) }), { authorization: basic('nope') })
    expect(badKey.status).toBe(401)

    await fetch(`${t.emulator.url}/__emulator/faults`, { method: 'DELETE' })
    const again = await t.waitFor(async () => {
      const r = await send(t!, '/v1/batch', json({ batch: batch(5) }), { authorization: AUTH })
      return r.status === 200 ? r : null
    }, 15_000)
    expect(again.body.accepted).toBe(5)
    await t.waitFor(async () => (await t!.state()).users.length === 11, 15_000)
  })
})
