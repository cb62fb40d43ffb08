import { inspect } from 'node:util'

import { createEmulator, type Emulator } from '@zdd/zendesk-emulator'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'

import { FakeClock, systemClock, type Clock } from '../lib/clock.js'
import {
  apiTokenDaysLeft,
  createTokenProvider,
  silentLogger,
  type Credentials,
  type OAuthTokenPair,
  type ZendeskLogger,
} from './auth.js'
import { ZendeskError } from './errors.js'

let zd: Emulator

beforeAll(async () => {
  zd = await createEmulator()
})
beforeEach(() => {
  zd.reset({ config: true })
})
afterAll(async () => {
  await zd.close()
})

const clientCredentials: Credentials = {
  kind: 'oauth_client_credentials',
  clientId: 'sandbox-client',
  clientSecret: 'sandbox-secret',
}

function provider(credentials: Credentials, opts: { clock?: Clock; logger?: ZendeskLogger } = {}) {
  return createTokenProvider(credentials, {
    supportBaseUrl: zd.url,
    clock: opts.clock ?? systemClock,
    logger: opts.logger ?? silentLogger,
    timeoutMs: 5_000,
  })
}

/** A logger that keeps what it is given. */
function capturingLogger() {
  const lines: { level: string; obj: object; msg: string }[] = []
  const logger: ZendeskLogger = {
    debug: (obj, msg) => lines.push({ level: 'debug', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  }
  return { logger, lines }
}

async function requests(path?: string): Promise<{ path: string; status: number; authKind: string }[]> {
  const q = path ? `?path=${encodeURIComponent(path)}` : ''
  const res = await fetch(`${zd.url}/__emulator/requests${q}`)
  return ((await res.json()) as { requests: { path: string; status: number; authKind: string }[] }).requests
}

async function usersMe(authorization: string): Promise<number> {
  const res = await fetch(`${zd.url}/api/v2/users/me.json`, { headers: { authorization } })
  await res.arrayBuffer()
  return res.status
}

/** An access/refresh pair from the authorization-code grant, as the admin UI's "Connect" gets it. */
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

describe('API token (legacy)', () => {
  const credentials: Credentials = {
    kind: 'api_token',
    email: 'admin@example.com',
    token: 'sandbox-api-token',
  }

  test('gives Basic base64("{email}/token:{token}"), which Zendesk accepts', async () => {
    const header = await provider(credentials).authorization()
    expect(header).toBe(
      `Basic ${Buffer.from('admin@example.com/token:sandbox-api-token').toString('base64')}`,
    )
    expect(await usersMe(header)).toBe(200)
  })

  test('logs one warning with the days left until 2027-04-30, and never the token', () => {
    const { logger, lines } = capturingLogger()
    provider(credentials, { clock: new FakeClock(Date.parse('2026-11-21T10:00:00Z')), logger })
    expect(lines).toEqual([
      {
        level: 'warn',
        obj: { credentials: 'api_token', cutoff: '2027-04-30', daysLeft: 160 },
        msg: 'Zendesk API tokens stop working on 2027-04-30 (160 days left); switch to OAuth',
      },
    ])
    expect(JSON.stringify(lines)).not.toContain('sandbox-api-token')
  })

  test('after the cut-off the warning says the tokens stopped working', () => {
    const { logger, lines } = capturingLogger()
    provider(credentials, { clock: new FakeClock(Date.parse('2027-05-02T00:00:00Z')), logger })
    expect(lines[0]?.msg).toBe('Zendesk API tokens stopped working on 2027-04-30; switch to OAuth')
  })

  test.each([
    ['2026-11-21T00:00:00Z', 160],
    ['2027-04-29T23:00:00Z', 1],
    ['2027-04-30T00:00:00Z', 0],
  ])('at %s there are %i days left', (now, days) => {
    expect(apiTokenDaysLeft(Date.parse(now))).toBe(days)
  })

  test('a 401 cannot be cured by a new header', () => {
    expect(provider(credentials).invalidate('Basic x')).toBe(false)
  })
})

describe('secrets stay out of JSON, strings and inspection', () => {
  const cases: { name: string; credentials: Credentials; secrets: string[] }[] = [
    {
      name: 'API token',
      credentials: { kind: 'api_token', email: 'admin@example.com', token: 'sandbox-api-token' },
      secrets: ['sandbox-api-token'],
    },
    {
      name: 'client credentials',
      credentials: {
        kind: 'oauth_client_credentials',
        clientId: 'sandbox-client',
        clientSecret: 'sandbox-secret',
      },
      secrets: ['sandbox-secret'],
    },
    {
      name: 'token pair',
      credentials: {
        kind: 'oauth_tokens',
        clientId: 'sandbox-client',
        clientSecret: 'sandbox-secret',
        accessToken: 'access-token-0123456789',
        refreshToken: 'refresh-token-0123456789',
      },
      secrets: ['sandbox-secret', 'access-token-0123456789', 'refresh-token-0123456789'],
    },
    {
      name: 'Sell token',
      credentials: { kind: 'sell_token', token: 'sandbox-sell-token' },
      secrets: ['sandbox-sell-token'],
    },
  ]

  test.each(cases)('$name', async ({ credentials, secrets }) => {
    const p = provider(credentials)
    await p.authorization()
    const shown = [
      JSON.stringify(p),
      String(p),
      inspect(p, { depth: 10, showHidden: true }),
      JSON.stringify({ p }),
    ]
    for (const text of shown) {
      for (const secret of secrets) {
        expect(text).not.toContain(secret)
      }
    }
    expect(JSON.parse(JSON.stringify(p))).toMatchObject({ kind: credentials.kind })
  })
})

describe('OAuth client credentials', () => {
  test('fetches a token lazily and once for concurrent callers', async () => {
    const p = provider(clientCredentials)
    expect(await requests('/oauth/tokens')).toHaveLength(0)
    const headers = await Promise.all([1, 2, 3, 4, 5].map(() => p.authorization()))
    expect(new Set(headers).size).toBe(1)
    expect(headers[0]).toMatch(/^Bearer [0-9a-f]{64}$/)
    expect(await requests('/oauth/tokens')).toHaveLength(1)
    expect(await usersMe(headers[0] ?? '')).toBe(200)
  })

  test('renews 60 s before a 30-minute token expires', async () => {
    const clock = new FakeClock(Date.now())
    const p = provider(clientCredentials, { clock })
    const first = await p.authorization()
    clock.advance(1_740_000 - 1)
    expect(await p.authorization()).toBe(first)
    clock.advance(1)
    expect(await p.authorization()).not.toBe(first)
    expect(await requests('/oauth/tokens')).toHaveLength(2)
  })

  test('renews a short-lived token at 90 % of its lifetime', async () => {
    zd.configure({ accessTokenTtlS: 30 })
    const clock = new FakeClock(Date.now())
    const p = provider(clientCredentials, { clock })
    const first = await p.authorization()
    clock.advance(26_999)
    expect(await p.authorization()).toBe(first)
    clock.advance(1)
    expect(await p.authorization()).not.toBe(first)
  })

  test('invalidating the refused token makes the next call fetch a new one', async () => {
    const p = provider(clientCredentials)
    const first = await p.authorization()
    expect(p.invalidate('Bearer some-older-token')).toBe(true)
    expect(await p.authorization()).toBe(first)
    expect(p.invalidate(first)).toBe(true)
    expect(await p.authorization()).not.toBe(first)
  })

  test('a wrong secret is an auth failure that does not reveal the secret', async () => {
    const p = provider({ ...clientCredentials, clientSecret: 'wrong-secret-value' })
    const err = await p.authorization().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ZendeskError)
    expect(err).toMatchObject({
      kind: 'auth_failed',
      code: 'ZD_OAUTH_REFUSED',
      status: 401,
      zendeskCode: 'invalid_client',
    })
    expect(JSON.stringify(err)).not.toContain('wrong-secret-value')
    expect(String(err)).not.toContain('wrong-secret-value')
  })

  test('an unreachable token endpoint is a transient network error', async () => {
    const p = createTokenProvider(clientCredentials, {
      supportBaseUrl: 'http://127.0.0.1:1',
      clock: systemClock,
      logger: silentLogger,
      timeoutMs: 2_000,
    })
    await expect(p.authorization()).rejects.toMatchObject({ kind: 'transient', code: 'ZD_NETWORK' })
  })
})

describe('OAuth token pair (refresh token)', () => {
  test('refreshes an expired access token, hands the new pair to onRotate, and Zendesk revokes the old pair', async () => {
    const pair = await authorizationCodePair()
    const rotated: OAuthTokenPair[] = []
    const clock = new FakeClock(Date.now())
    const p = createTokenProvider(
      {
        kind: 'oauth_tokens',
        clientId: 'sandbox-client',
        clientSecret: 'sandbox-secret',
        accessToken: pair.access_token,
        refreshToken: pair.refresh_token,
        accessExpiresAt: clock.now() - 1,
      },
      { supportBaseUrl: zd.url, clock, logger: silentLogger, onRotate: (r) => void rotated.push(r) },
    )
    const header = await p.authorization()
    expect(rotated).toHaveLength(1)
    const [next] = rotated
    expect(next).toMatchObject({ accessExpiresAt: clock.now() + 1_800_000 })
    expect(next?.refreshToken).not.toBe(pair.refresh_token)
    expect(header).toBe(`Bearer ${next?.accessToken}`)
    expect(await usersMe(header)).toBe(200)
    expect(await usersMe(`Bearer ${pair.access_token}`)).toBe(401)

    // The provider keeps the rotated refresh token: a second refresh works.
    clock.advance(1_800_000)
    await p.authorization()
    expect(rotated).toHaveLength(2)
    expect(rotated[1]?.refreshToken).not.toBe(next?.refreshToken)
  })

  test('uses a stored access token that is still good without refreshing', async () => {
    const pair = await authorizationCodePair()
    const p = provider({
      kind: 'oauth_tokens',
      clientId: 'sandbox-client',
      clientSecret: 'sandbox-secret',
      accessToken: pair.access_token,
      refreshToken: pair.refresh_token,
      accessExpiresAt: Date.now() + 600_000,
    })
    expect(await p.authorization()).toBe(`Bearer ${pair.access_token}`)
    expect(await requests('/oauth/tokens')).toHaveLength(1)
  })

  test('a revoked refresh token is an auth failure', async () => {
    const pair = await authorizationCodePair()
    const credentials: Credentials = {
      kind: 'oauth_tokens',
      clientId: 'sandbox-client',
      clientSecret: 'sandbox-secret',
      accessToken: '',
      refreshToken: pair.refresh_token,
    }
    await provider(credentials).authorization()
    const err = await provider(credentials)
      .authorization()
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ kind: 'auth_failed', code: 'ZD_OAUTH_REFUSED', zendeskCode: 'invalid_grant' })
    expect(JSON.stringify(err)).not.toContain(pair.refresh_token)
  })

  test('a failing onRotate is logged and the new pair is still used', async () => {
    const pair = await authorizationCodePair()
    const { logger, lines } = capturingLogger()
    const p = createTokenProvider(
      {
        kind: 'oauth_tokens',
        clientId: 'sandbox-client',
        clientSecret: 'sandbox-secret',
        accessToken: '',
        refreshToken: pair.refresh_token,
      },
      {
        supportBaseUrl: zd.url,
        clock: systemClock,
        logger,
        onRotate: () => Promise.reject(new Error('disk full')),
      },
    )
    const header = await p.authorization()
    expect(await usersMe(header)).toBe(200)
    const errors = lines.filter((l) => l.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]?.msg).toContain('Could not store the rotated Zendesk OAuth token pair')
    expect(JSON.stringify(lines)).not.toContain(header.slice('Bearer '.length))
  })
})

describe('Sell token', () => {
  test('gives Bearer {token}, and a 401 cannot be cured', async () => {
    const p = provider({ kind: 'sell_token', token: 'sandbox-sell-token' })
    expect(await p.authorization()).toBe('Bearer sandbox-sell-token')
    expect(p.invalidate('Bearer sandbox-sell-token')).toBe(false)
  })
})
