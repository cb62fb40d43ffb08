import { describe, expect, test } from 'vitest'

import { AppError } from '../errors.js'
import {
  errorFromAnswer,
  kindOfStatus,
  networkError,
  timeoutError,
  ZendeskError,
  zendeskCodeOf,
} from './errors.js'

const now = Date.parse('2026-11-21T10:00:00Z')
const post = { method: 'POST', path: 'users/create_or_update' }

describe('kindOfStatus', () => {
  test.each([
    [401, 'auth_failed'],
    [403, 'auth_failed'],
    [429, 'rate_limited'],
    [500, 'transient'],
    [502, 'transient'],
    [503, 'transient'],
    [504, 'transient'],
    [408, 'transient'],
    [400, 'rejected'],
    [404, 'rejected'],
    [409, 'rejected'],
    [413, 'rejected'],
    [422, 'rejected'],
    [302, 'invalid_config'],
  ])('%i is %s', (status, kind) => {
    expect(kindOfStatus(status)).toBe(kind)
  })
})

describe('zendeskCodeOf', () => {
  test.each([
    {
      shape: 'Support validation',
      body: { error: 'RecordInvalid', description: 'Record validation errors', details: {} },
      code: 'RecordInvalid',
    },
    {
      shape: 'Support 404',
      body: { error: 'RecordNotFound', description: 'Not found' },
      code: 'RecordNotFound',
    },
    {
      shape: 'Support 403',
      body: { error: { title: 'Forbidden', message: 'No access' } },
      code: 'Forbidden',
    },
    {
      shape: 'newer endpoints',
      body: { errors: [{ code: 'InvalidAttribute', title: 'Bad', detail: 'x' }] },
      code: 'InvalidAttribute',
    },
    {
      shape: 'Sell envelope',
      body: {
        errors: [{ error: { resource: 'contact', field: 'last_name', code: 'blank', message: 'is blank' } }],
        meta: { type: 'errors', http_status: '422 Unprocessable Entity' },
      },
      code: 'blank',
    },
    { shape: 'OAuth', body: { error: 'invalid_grant', error_description: 'revoked' }, code: 'invalid_grant' },
    { shape: 'text', body: 'Too Many Requests', code: null },
    { shape: 'empty', body: null, code: null },
    { shape: 'unknown JSON', body: { message: 'x' }, code: null },
  ])('reads $code from the $shape shape', ({ body, code }) => {
    expect(zendeskCodeOf(body)).toBe(code)
  })
})

describe('errorFromAnswer', () => {
  test('a 422 RecordInvalid is rejected, keeps the body and names the request', () => {
    const body = {
      error: 'RecordInvalid',
      description: 'Record validation errors',
      details: { email: [{ description: 'Email: is invalid', error: 'InvalidValue' }] },
    }
    const err = errorFromAnswer({ status: 422, headers: {}, body }, post, now)
    expect(err).toBeInstanceOf(ZendeskError)
    expect(err).toBeInstanceOf(AppError)
    expect(err).toMatchObject({
      kind: 'rejected',
      code: 'ZD_HTTP_422',
      status: 422,
      zendeskCode: 'RecordInvalid',
      body,
      retryAfterS: undefined,
    })
    expect(err.message).toBe(
      'Zendesk answered 422 RecordInvalid to POST users/create_or_update: Record validation errors',
    )
  })

  test("a Sell 422 names each field with Sell's message and details", () => {
    const item = (error: Record<string, unknown>) => ({ error, meta: { type: 'error' } })
    const body = {
      errors: [
        item({
          resource: 'contact',
          field: 'custom_fields',
          code: 'unknown',
          message: 'is an unknown attribute',
          details: '"aud_vip" is not a contact custom field of this account',
        }),
        item({
          resource: 'contact',
          field: 'last_name',
          code: 'blank',
          message: 'is blank',
          details: 'is blank',
        }),
        item({ code: 'invalid_param', message: 'Invalid query parameter' }),
      ],
      meta: { type: 'errors', http_status: '422 Unprocessable Entity', logref: 'r-1' },
    }
    const err = errorFromAnswer(
      { status: 422, headers: {}, body },
      { method: 'POST', path: 'contacts/upsert', api: 'sell' },
      now,
    )
    expect(err).toMatchObject({
      kind: 'rejected',
      code: 'ZD_HTTP_422',
      zendeskCode: 'unknown',
      body,
      api: 'sell',
    })
    expect(err.message).toBe(
      'Zendesk answered 422 unknown to POST contacts/upsert: ' +
        'custom_fields: is an unknown attribute ("aud_vip" is not a contact custom field of this account); ' +
        'last_name: is blank; Invalid query parameter',
    )
  })

  test('a Sell answer with many errors describes the first five', () => {
    const body = {
      errors: Array.from({ length: 8 }, (_, i) => ({
        error: { field: `f${i}`, code: 'blank', message: 'is blank' },
      })),
    }
    const err = errorFromAnswer({ status: 422, headers: {}, body }, post, now)
    expect(err.message).toMatch(
      /: f0: is blank; f1: is blank; f2: is blank; f3: is blank; f4: is blank; and 3 more$/,
    )
  })

  test('a 429 with a text body is rate limited with its Retry-After', () => {
    const err = errorFromAnswer(
      { status: 429, headers: { 'retry-after': '7' }, body: 'Too Many Requests' },
      post,
      now,
    )
    expect(err).toMatchObject({
      kind: 'rate_limited',
      code: 'ZD_RATE_LIMITED',
      retryAfterS: 7,
      zendeskCode: null,
      body: 'Too Many Requests',
    })
  })

  test('a 503 is transient and keeps an HTTP-date Retry-After as seconds', () => {
    const err = errorFromAnswer(
      { status: 503, headers: { 'retry-after': 'Sat, 21 Nov 2026 10:00:30 GMT' }, body: '<html>…</html>' },
      post,
      now,
    )
    expect(err).toMatchObject({ kind: 'transient', code: 'ZD_HTTP_503', retryAfterS: 30 })
  })

  test('a 401 and a 403 are auth failures', () => {
    expect(
      errorFromAnswer({ status: 401, headers: {}, body: { error: "Couldn't authenticate you" } }, post, now),
    ).toMatchObject({ kind: 'auth_failed', code: 'ZD_HTTP_401', zendeskCode: "Couldn't authenticate you" })
    expect(
      errorFromAnswer({ status: 403, headers: {}, body: { error: { title: 'Forbidden' } } }, post, now),
    ).toMatchObject({ kind: 'auth_failed', code: 'ZD_HTTP_403', zendeskCode: 'Forbidden' })
  })

  test('a refusal from the OAuth token endpoint is an auth failure, whatever its 4xx status', () => {
    const err = errorFromAnswer(
      { status: 400, headers: {}, body: { error: 'invalid_grant', error_description: 'revoked' } },
      { method: 'POST', path: 'oauth/tokens' },
      now,
      'oauth',
    )
    expect(err).toMatchObject({ kind: 'auth_failed', code: 'ZD_OAUTH_REFUSED', zendeskCode: 'invalid_grant' })
    expect(err.message).toBe('Zendesk answered 400 invalid_grant to POST oauth/tokens: revoked')
  })

  test('a huge HTML body is truncated', () => {
    const err = errorFromAnswer({ status: 502, headers: {}, body: 'x'.repeat(10_000) }, post, now)
    expect((err.body as string).length).toBeLessThan(2_100)
  })

  test('JSON.stringify gives the classification, the message and the body', () => {
    const err = errorFromAnswer({ status: 404, headers: {}, body: { error: 'RecordNotFound' } }, post, now)
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      name: 'ZendeskError',
      kind: 'rejected',
      code: 'ZD_HTTP_404',
      message: 'Zendesk answered 404 RecordNotFound to POST users/create_or_update',
      status: 404,
      zendeskCode: 'RecordNotFound',
      retryAfterS: null,
      method: 'POST',
      path: 'users/create_or_update',
      api: null,
      body: { error: 'RecordNotFound' },
    })
  })
})

describe('errors without an answer', () => {
  test('a timeout is transient with code ZD_TIMEOUT', () => {
    expect(timeoutError(post, 5_000)).toMatchObject({ kind: 'transient', code: 'ZD_TIMEOUT', status: null })
  })

  test('a network failure is transient with code ZD_NETWORK and the cause code in the message', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    const err = networkError(post, cause)
    expect(err).toMatchObject({ kind: 'transient', code: 'ZD_NETWORK', status: null, cause })
    expect(err.message).toContain('ECONNREFUSED')
  })
})
