import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

import { createEmulator, type Emulator } from '@zdd/zendesk-emulator'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'

import { FakeClock, systemClock, type Clock } from '../lib/clock.js'
import { silentLogger, type Credentials, type OAuthTokenPair, type ZendeskLogger } from './auth.js'
import { sellBaseUrl, supportBaseUrl } from './base-url.js'
import { createZendeskClient, type ZendeskClient, type ZendeskClientOptions } from './client.js'
import { ZendeskError } from './errors.js'
import { ZendeskRateLimiter } from './rate-limiter.js'
import type { ZendeskRequest } from './request.js'

let zd: Emulator
const clients: ZendeskClient[] = []

beforeAll(async () => {
  zd = await createEmulator({ jobDelayMs: 20 })
})
beforeEach(() => {
  zd.reset({ config: true })
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})
afterAll(async () => {
  await zd.close()
})

const clientCredentials: Credentials = {
  kind: 'oauth_client_credentials',
  clientId: 'sandbox-client',
  clientSecret: 'sandbox-secret',
}
const apiToken: Credentials = { kind: 'api_token', email: 'admin@example.com', token: 'sandbox-api-token' }
const me: ZendeskRequest = { api: 'support', method: 'GET', path: 'users/me', limitClass: 'account' }

function client(
  overrides: Partial<ZendeskClientOptions> & { clock?: Clock } = {},
): ZendeskClient & { limiter: ZendeskRateLimiter } {
  const clock = overrides.clock ?? systemClock
  const limiter = overrides.limiter ?? new ZendeskRateLimiter({ clock })
  const options: ZendeskClientOptions = {
    supportBaseUrl: supportBaseUrl({ url: zd.url }),
    sellBaseUrl: sellBaseUrl({ url: zd.url }),
    sellToken: 'sandbox-sell-token',
    limiter,
    clock,
    timeoutMs: 5_000,
    logger: silentLogger,
    ...(overrides.tokenProvider ? {} : { credentials: clientCredentials }),
    ...overrides,
  }
  const c = createZendeskClient(options)
  clients.push(c)
  return Object.assign(c, { limiter })
}

interface LogEntry {
  method: string
  path: string
  status: number
  authKind: string
  time: string
  fault: string | null
}

async function requestLog(): Promise<LogEntry[]> {
  const res = await fetch(`${zd.url}/__emulator/requests`)
  return ((await res.json()) as { requests: LogEntry[] }).requests
}

async function tokenRequests(): Promise<number> {
  return (await requestLog()).filter((r) => r.path === '/oauth/tokens').length
}

async function faults(...rules: Record<string, unknown>[]): Promise<void> {
  const res = await fetch(`${zd.url}/__emulator/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ faults: rules }),
  })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
}

async function configure(patch: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${zd.url}/__emulator/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(patch),
  })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
}

async function failure(p: Promise<unknown>): Promise<ZendeskError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  if (!(err instanceof ZendeskError)) {
    throw new Error(`expected a ZendeskError, got ${String(err)}`)
  }
  return err
}

describe('requests and answers', () => {
  test('sends JSON to {base}/api/v2/{path}.json and returns the parsed answer', async () => {
    const c = client()
    const res = await c.send<{ user: { id: number; email: string; name: string } }>({
      api: 'support',
      method: 'POST',
      path: 'users/create_or_update',
      body: { user: { email: 'ada@example.com', name: 'Ada Lovelace' } },
      limitClass: 'single-user',
      limitKey: 'ada@example.com',
    })
    expect(res.status).toBe(201)
    expect(res.body.user).toMatchObject({ email: 'ada@example.com', name: 'Ada Lovelace' })
    expect(res.headers['x-rate-limit']).toBe('700')
    const log = await requestLog()
    expect(log.at(-1)).toMatchObject({
      method: 'POST',
      path: '/api/v2/users/create_or_update.json',
      status: 201,
    })
  })

  test('passes the query string', async () => {
    const c = client()
    const res = await c.send<{ job_statuses: unknown[] }>({
      api: 'support',
      method: 'GET',
      path: 'job_statuses/show_many',
      query: { ids: 'a,b' },
      limitClass: 'account',
    })
    expect(res.body).toEqual({ job_statuses: [] })
    expect((await requestLog()).at(-1)).toMatchObject({ path: '/api/v2/job_statuses/show_many.json' })
  })

  test('a 404 is a rejected ZendeskError with Zendesk code and body', async () => {
    const err = await failure(
      client().send({ api: 'support', method: 'GET', path: 'job_statuses/V3-nope', limitClass: 'account' }),
    )
    expect(err).toMatchObject({
      kind: 'rejected',
      code: 'ZD_HTTP_404',
      status: 404,
      zendeskCode: 'RecordNotFound',
      body: { error: 'RecordNotFound', description: 'Not found' },
      method: 'GET',
      path: 'job_statuses/V3-nope',
    })
  })

  test('Sell requests go to {sell}/v2/{path} with the Sell token', async () => {
    const c = client()
    const res = await c.send<{ items: unknown[] }>({
      api: 'sell',
      method: 'GET',
      path: 'contacts',
      limitClass: 'sell',
    })
    expect(res.status).toBe(200)
    expect(res.body.items).toEqual([])
    // Sell accepts only the Sell token (an OAuth bearer would get 401).
    expect((await requestLog()).at(-1)).toMatchObject({ method: 'GET', path: '/v2/contacts', status: 200 })
  })

  test('a Sell request without a Sell token is a configuration error', async () => {
    const c = client({ sellToken: '' })
    await expect(
      c.send({ api: 'sell', method: 'GET', path: 'contacts', limitClass: 'sell' }),
    ).rejects.toMatchObject({
      kind: 'invalid_config',
      code: 'ZD_NO_CREDENTIALS',
    })
  })
})

describe('OAuth client credentials', () => {
  test('fetches the token once and reuses it across requests', async () => {
    const c = client()
    await c.send(me)
    await Promise.all([c.send(me), c.send(me), c.send(me)])
    await c.send(me)
    const log = await requestLog()
    expect(await tokenRequests()).toBe(1)
    expect(log.filter((r) => r.path.startsWith('/api/v2/'))).toHaveLength(5)
    expect(
      log
        .filter((r) => r.path.startsWith('/api/v2/'))
        .every((r) => r.authKind === 'oauth' && r.status === 200),
    ).toBe(true)
  })

  test('renews the token before it expires, without a 401', async () => {
    const clock = new FakeClock(Date.now())
    const c = client({ clock })
    await c.send(me)
    clock.advance(1_800_000 - 60_000)
    await c.send(me)
    const log = await requestLog()
    expect(log.map((r) => `${r.path} ${r.status}`)).toEqual([
      '/oauth/tokens 200',
      '/api/v2/users/me.json 200',
      '/oauth/tokens 200',
      '/api/v2/users/me.json 200',
    ])
  })

  test('a token Zendesk no longer accepts is replaced after one 401 and the request retried once', async () => {
    const c = client()
    await c.send(me)
    // Zendesk forgets every token (as on revocation): the cached one still looks valid to us.
    await (await fetch(`${zd.url}/__emulator/reset`, { method: 'POST' })).arrayBuffer()
    const res = await c.send<{ user: { email: string } }>(me)
    expect(res.body.user.email).toBe('admin@example.com')
    const log = await requestLog()
    expect(log.map((r) => `${r.path} ${r.status}`)).toEqual([
      '/api/v2/users/me.json 401',
      '/oauth/tokens 200',
      '/api/v2/users/me.json 200',
    ])
  })

  test('a wrong client secret is an auth failure that names no secret', async () => {
    const c = client({ credentials: { ...clientCredentials, clientSecret: 'not-the-secret' } })
    const err = await failure(c.send(me))
    expect(err).toMatchObject({
      kind: 'auth_failed',
      code: 'ZD_OAUTH_REFUSED',
      zendeskCode: 'invalid_client',
    })
    expect(JSON.stringify(err)).not.toContain('not-the-secret')
  })
})

describe('OAuth token pair', () => {
  test('a refresh rotates the pair through onRotate, and Zendesk refuses the old tokens', async () => {
    const pair = await authorizationCodePair()
    const rotated: OAuthTokenPair[] = []
    const c = client({
      credentials: {
        kind: 'oauth_tokens',
        clientId: 'sandbox-client',
        clientSecret: 'sandbox-secret',
        accessToken: pair.access_token,
        refreshToken: pair.refresh_token,
        accessExpiresAt: Date.now() - 1,
      },
      onRotate: (p) => void rotated.push(p),
    })
    await c.send(me)
    expect(rotated).toHaveLength(1)
    expect(rotated[0]?.accessToken).not.toBe(pair.access_token)
    expect(rotated[0]?.refreshToken).not.toBe(pair.refresh_token)

    const old = await fetch(`${zd.url}/api/v2/users/me.json`, {
      headers: { authorization: `Bearer ${pair.access_token}` },
    })
    await old.arrayBuffer()
    expect(old.status).toBe(401)
    const reuse = await fetch(`${zd.url}/oauth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'refresh_token',
        refresh_token: pair.refresh_token,
        client_id: 'sandbox-client',
        client_secret: 'sandbox-secret',
      }),
    })
    expect(reuse.status).toBe(400)
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' })
  })

  test('a 401 on a stored access token triggers one refresh and one retry', async () => {
    const pair = await authorizationCodePair()
    // Revoke the stored access token by refreshing behind the provider's back.
    const behind = await fetch(`${zd.url}/oauth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'refresh_token',
        refresh_token: pair.refresh_token,
        client_id: 'sandbox-client',
        client_secret: 'sandbox-secret',
      }),
    })
    const fresh = (await behind.json()) as { access_token: string; refresh_token: string }
    const rotated: OAuthTokenPair[] = []
    const c = client({
      credentials: {
        kind: 'oauth_tokens',
        clientId: 'sandbox-client',
        clientSecret: 'sandbox-secret',
        accessToken: pair.access_token,
        refreshToken: fresh.refresh_token,
        accessExpiresAt: null,
      },
      onRotate: (p) => void rotated.push(p),
    })
    await c.send(me)
    expect(rotated).toHaveLength(1)
    const log = await requestLog()
    expect(log.slice(-3).map((r) => `${r.path} ${r.status}`)).toEqual([
      '/api/v2/users/me.json 401',
      '/oauth/tokens 200',
      '/api/v2/users/me.json 200',
    ])
  })
})

describe('API token (legacy)', () => {
  test('warns once with the days left and no secret, and authenticates', async () => {
    const lines: { obj: object; msg: string }[] = []
    const logger: ZendeskLogger = { ...silentLogger, warn: (obj, msg) => lines.push({ obj, msg }) }
    const clock = new FakeClock(Date.parse('2026-11-21T12:00:00Z'))
    const c = client({
      credentials: apiToken,
      logger,
      clock,
      limiter: new ZendeskRateLimiter({ clock: systemClock }),
    })
    await c.send(me)
    await c.send(me)
    expect(lines).toHaveLength(1)
    expect(lines[0]?.msg).toBe(
      'Zendesk API tokens stop working on 2027-04-30 (160 days left); switch to OAuth',
    )
    expect(JSON.stringify(lines)).not.toContain('sandbox-api-token')
    expect((await requestLog()).map((r) => r.authKind)).toEqual(['api_token', 'api_token'])
  })

  test('once Zendesk retires API tokens, a request is an auth failure, not retried', async () => {
    await configure({ apiTokensRetired: true })
    const err = await failure(client({ credentials: apiToken }).send(me))
    expect(err).toMatchObject({
      kind: 'auth_failed',
      code: 'ZD_HTTP_401',
      status: 401,
      zendeskCode: "Couldn't authenticate you",
    })
    expect(JSON.stringify(err)).not.toContain('sandbox-api-token')
    expect(JSON.stringify(err)).not.toContain(
      Buffer.from('admin@example.com/token:sandbox-api-token').toString('base64'),
    )
    expect(await requestLog()).toHaveLength(1)
  })
})

describe('faults', () => {
  test('a 503 is a transient ZendeskError with its Retry-After, and does not pause the account', async () => {
    await faults({ kind: 'status', status: 503, retryAfterS: 1, count: 2 })
    const c = client()
    const err = await failure(c.send(me))
    expect(err).toMatchObject({
      kind: 'transient',
      code: 'ZD_HTTP_503',
      status: 503,
      retryAfterS: 1,
      zendeskCode: 'ServiceUnavailable',
    })
    expect(c.limiter.state().support.pausedUntil).toBeNull()
  })

  test('after a 429 with Retry-After 1, the next request reaches Zendesk only after 1 s', async () => {
    await faults({ kind: 'status', status: 429, retryAfterS: 1, count: 1, path: '/api/v2/' })
    const c = client()
    const err = await failure(c.send(me))
    expect(err).toMatchObject({ kind: 'rate_limited', code: 'ZD_RATE_LIMITED', status: 429, retryAfterS: 1 })
    expect(c.limiter.state().support.pausedUntil).not.toBeNull()
    await c.send(me)
    const api = (await requestLog()).filter((r) => r.path.startsWith('/api/v2/'))
    expect(api.map((r) => r.status)).toEqual([429, 200])
    const gap = Date.parse(api[1]?.time ?? '') - Date.parse(api[0]?.time ?? '')
    expect(gap).toBeGreaterThanOrEqual(1_000)
  })

  test('a hung request fails with ZD_TIMEOUT within the configured timeout', async () => {
    const c = client({ timeoutMs: 300 })
    await c.send(me) // fetches the OAuth token, so only the hung request is timed
    await faults({ kind: 'hang', hangMs: 3_000, count: 1, path: '/api/v2/' })
    const started = Date.now()
    const err = await failure(c.send(me))
    const elapsed = Date.now() - started
    expect(err).toMatchObject({ kind: 'transient', code: 'ZD_TIMEOUT', status: null })
    expect(elapsed).toBeGreaterThanOrEqual(290)
    expect(elapsed).toBeLessThan(1_500)
  })

  test('a reset connection is a transient network error', async () => {
    await faults({ kind: 'reset', count: 1, path: '/api/v2/' })
    const err = await failure(client().send(me))
    expect(err).toMatchObject({ kind: 'transient', code: 'ZD_NETWORK', status: null })
  })
})

describe('the account rate limit', () => {
  test('slows to the account limit: 12 concurrent requests at 5 a (scaled) minute, never a 429', async () => {
    // A minute lasts one real second.
    await configure({ accountLimitPerMinute: 5, timeScale: 60 })
    const c = client({ credentials: apiToken })
    const started = Date.now()
    const results = await Promise.all(Array.from({ length: 12 }, () => c.send(me)))
    const elapsed = Date.now() - started
    expect(results.every((r) => r.status === 200)).toBe(true)
    const log = await requestLog()
    expect(log).toHaveLength(12)
    expect(log.filter((r) => r.status === 429)).toHaveLength(0)
    // Three windows are needed (5 + 5 + 2), so at least two window boundaries were waited for.
    expect(elapsed).toBeGreaterThanOrEqual(1_900)
    expect(c.limiter.state().support.limit).toBe(5)
  })
})

describe('testConnection', () => {
  test('returns the acting user', async () => {
    expect(await client().testConnection()).toEqual({
      userId: expect.any(Number) as number,
      name: 'Sandbox Admin',
      email: 'admin@example.com',
      role: 'admin',
    })
  })

  test('bad credentials are an auth failure', async () => {
    await expect(
      client({ credentials: { ...apiToken, token: 'wrong-token' } }).testConnection(),
    ).rejects.toMatchObject({ kind: 'auth_failed', code: 'ZD_HTTP_401' })
  })

  test('testSellConnection checks the Sell token with users/self; a refusal says it was Sell', async () => {
    expect(await client().testSellConnection()).toMatchObject({ userId: expect.any(Number), role: 'admin' })
    await expect(client({ sellToken: 'wrong' }).testSellConnection()).rejects.toMatchObject({
      kind: 'auth_failed',
      code: 'ZD_HTTP_401',
      api: 'sell',
    })
    await expect(client({ sellToken: '' }).testSellConnection()).rejects.toMatchObject({
      code: 'ZD_NO_CREDENTIALS',
    })
  })
})

/**
 * Zendesk quirks the emulator does not reproduce, served by a bare HTTP server: `users/me`
 * answering 200 with an anonymous user (facts §1.3) and non-JSON bodies (facts §1.4).
 */
describe('answers the emulator does not give', () => {
  let server: Server
  let url: string
  let reply: { status: number; contentType: string; body: string }

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume()
      res.writeHead(reply.status, { 'content-type': reply.contentType })
      res.end(reply.body)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
  })

  function bare() {
    return client({ supportBaseUrl: url, credentials: apiToken })
  }

  test('users/me answering 200 with an anonymous user fails the connection test', async () => {
    reply = {
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ user: { id: null, name: 'Anonymous user', role: 'end-user' } }),
    }
    await expect(bare().testConnection()).rejects.toMatchObject({
      kind: 'auth_failed',
      code: 'ZD_ANONYMOUS_USER',
    })
  })

  test('an HTML error page is kept as text', async () => {
    reply = { status: 502, contentType: 'text/html', body: '<html><body>Bad gateway</body></html>' }
    const err = await failure(bare().send(me))
    expect(err).toMatchObject({
      kind: 'transient',
      code: 'ZD_HTTP_502',
      body: '<html><body>Bad gateway</body></html>',
      zendeskCode: null,
    })
  })

  test('a 2xx that is not JSON is an invalid response', async () => {
    reply = { status: 200, contentType: 'text/html', body: '<html>captive portal</html>' }
    await expect(bare().send(me)).rejects.toMatchObject({ kind: 'transient', code: 'ZD_INVALID_RESPONSE' })
  })

  test('an empty 2xx (204) has a null body', async () => {
    reply = { status: 204, contentType: 'application/json', body: '' }
    expect(await bare().send({ ...me, method: 'DELETE', path: 'users/1' })).toMatchObject({
      status: 204,
      body: null,
    })
  })
})

async function authorizationCodePair(): Promise<{ access_token: string; refresh_token: string }> {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: 'sandbox-client',
    redirect_uri: 'http://localhost/callback',
  })
  const auth = await fetch(`${zd.url}/oauth/authorizations/new?${q.toString()}`, { redirect: 'manual' })
  await auth.arrayBuffer()
  const code = new URL(auth.headers.get('location') ?? '').searchParams.get('code') ?? ''
  const res = await fetch(`${zd.url}/oauth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'authorization_code',
      code,
      client_id: 'sandbox-client',
      client_secret: 'sandbox-secret',
      redirect_uri: 'http://localhost/callback',
    }),
  })
  return (await res.json()) as { access_token: string; refresh_token: string }
}
