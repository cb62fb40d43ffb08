import { createHash } from 'node:crypto'

import { describe, expect, test } from 'vitest'

import { useTestEmulator } from './client.js'

const zd = useTestEmulator()

const probe = '/api/v2/job_statuses/V3-probe.json'
const client = { client_id: 'sandbox-client', client_secret: 'sandbox-secret' }

async function tokens(body: Record<string, string>, form = false) {
  if (form) {
    return zd.request('POST', '/oauth/tokens', new URLSearchParams(body).toString(), 'none', {
      'content-type': 'application/x-www-form-urlencoded',
    })
  }
  return zd.request('POST', '/oauth/tokens', body, 'none')
}

/** Runs the authorization step and returns the code from the redirect. */
async function authorize(params: Record<string, string>): Promise<string> {
  const q = new URLSearchParams({ response_type: 'code', client_id: 'sandbox-client', ...params })
  const r = await zd.request('GET', `/oauth/authorizations/new?${q.toString()}`, undefined, 'none')
  expect(r.status).toBe(302)
  const location = new URL(r.headers.get('location') ?? '')
  expect(`${location.origin}${location.pathname}`).toBe(params.redirect_uri)
  if (params.state) {
    expect(location.searchParams.get('state')).toBe(params.state)
  }
  return location.searchParams.get('code') ?? ''
}

/** Runs the authorization-code grant (authorize, then exchange the code) for a token pair. */
async function tokenPair(): Promise<{ access_token: string; refresh_token: string }> {
  const code = await authorize({ redirect_uri: 'http://127.0.0.1:9/cb' })
  const r = await tokens({
    grant_type: 'authorization_code',
    ...client,
    code,
    redirect_uri: 'http://127.0.0.1:9/cb',
  })
  return r.body
}

describe('client_credentials grant', () => {
  test('issues a bearer token that the Support API accepts', async () => {
    const r = await tokens({ grant_type: 'client_credentials', ...client, scope: 'read write' })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ token_type: 'bearer', scope: 'read write', expires_in: 1800 })
    expect(r.body.access_token).toMatch(/^[0-9a-f]{64}$/)
    expect((await zd.get(probe, { bearer: r.body.access_token })).status).toBe(404)
  })

  test('accepts a form-encoded body and HTTP Basic client authentication', async () => {
    const r = await zd.request(
      'POST',
      '/oauth/tokens',
      'grant_type=client_credentials',
      { basic: 'sandbox-client:sandbox-secret' },
      {
        'content-type': 'application/x-www-form-urlencoded',
      },
    )
    expect(r.status).toBe(200)
    const f = await tokens({ grant_type: 'client_credentials', ...client }, true)
    expect(f.status).toBe(200)
  })

  test('a wrong secret is 401 invalid_client', async () => {
    const r = await tokens({
      grant_type: 'client_credentials',
      client_id: 'sandbox-client',
      client_secret: 'nope',
    })
    expect(r.status).toBe(401)
    expect(r.body.error).toBe('invalid_client')
    expect(JSON.stringify(r.body)).not.toContain('sandbox-secret')
  })

  test('an unknown grant type is 400 unsupported_grant_type', async () => {
    const r = await tokens({ grant_type: 'password', ...client })
    expect(r.status).toBe(400)
    expect(r.body.error).toBe('unsupported_grant_type')
  })
})

describe('authorization_code grant with PKCE', () => {
  const verifier = 'a-long-enough-code-verifier-0123456789-abcdefghijklmnop'
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const redirect = 'http://127.0.0.1:9/callback'

  test('the authorization page approves at once; the code and verifier give an access and refresh pair', async () => {
    const code = await authorize({
      redirect_uri: redirect,
      state: 'xyz',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })
    const r = await tokens({
      grant_type: 'authorization_code',
      client_id: 'sandbox-client',
      code,
      redirect_uri: redirect,
      code_verifier: verifier,
    })
    expect(r.status).toBe(200)
    expect(r.body.refresh_token).toMatch(/^[0-9a-f]{64}$/)
    expect((await zd.get(probe, { bearer: r.body.access_token })).status).toBe(404)
  })

  test('a wrong verifier is invalid_grant, and a code works only once', async () => {
    const code = await authorize({
      redirect_uri: redirect,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })
    const bad = await tokens({
      grant_type: 'authorization_code',
      client_id: 'sandbox-client',
      code,
      redirect_uri: redirect,
      code_verifier: 'wrong',
    })
    expect(bad.status).toBe(400)
    expect(bad.body.error).toBe('invalid_grant')
    const good = await tokens({
      grant_type: 'authorization_code',
      client_id: 'sandbox-client',
      code,
      redirect_uri: redirect,
      code_verifier: verifier,
    })
    expect(good.status).toBe(200)
    const again = await tokens({
      grant_type: 'authorization_code',
      client_id: 'sandbox-client',
      code,
      redirect_uri: redirect,
      code_verifier: verifier,
    })
    expect(again.status).toBe(400)
    expect(again.body.error).toBe('invalid_grant')
  })

  test('without PKCE the confidential client must send its secret', async () => {
    const code = await authorize({ redirect_uri: redirect })
    const noSecret = await tokens({
      grant_type: 'authorization_code',
      client_id: 'sandbox-client',
      code,
      redirect_uri: redirect,
    })
    expect(noSecret.status).toBe(401)
    const code2 = await authorize({ redirect_uri: redirect })
    const ok = await tokens({
      grant_type: 'authorization_code',
      ...client,
      code: code2,
      redirect_uri: redirect,
    })
    expect(ok.status).toBe(200)
  })

  test('an unknown client is refused at the authorization page', async () => {
    const q = new URLSearchParams({ response_type: 'code', client_id: 'other', redirect_uri: redirect })
    const r = await zd.request('GET', `/oauth/authorizations/new?${q.toString()}`, undefined, 'none')
    expect(r.status).toBe(400)
  })
})

describe('refresh_token grant', () => {
  test('a refresh rotates the pair and revokes the old access and refresh tokens', async () => {
    const first = await tokenPair()
    const r = await tokens({ grant_type: 'refresh_token', ...client, refresh_token: first.refresh_token })
    expect(r.status).toBe(200)
    expect(r.body.access_token).not.toBe(first.access_token)
    expect(r.body.refresh_token).not.toBe(first.refresh_token)
    expect((await zd.get(probe, { bearer: r.body.access_token })).status).toBe(404)
    expect((await zd.get(probe, { bearer: first.access_token })).status).toBe(401)
    const reuse = await tokens({ grant_type: 'refresh_token', ...client, refresh_token: first.refresh_token })
    expect(reuse.status).toBe(400)
    expect(reuse.body.error).toBe('invalid_grant')
  })
})

describe('expiry', () => {
  test('an access token past its lifetime gets 401, and a refresh brings access back', async () => {
    zd.emulator.configure({ accessTokenTtlS: 1, timeScale: 10 }) // 1 s of emulated time = 100 ms
    const pair = await tokenPair()
    expect((await zd.get(probe, { bearer: pair.access_token })).status).toBe(404)
    await new Promise((resolve) => setTimeout(resolve, 150))
    const expired = await zd.get(probe, { bearer: pair.access_token })
    expect(expired.status).toBe(401)
    expect(expired.body).toEqual({ error: "Couldn't authenticate you" })
    const refreshed = await tokens({
      grant_type: 'refresh_token',
      ...client,
      refresh_token: pair.refresh_token,
    })
    expect((await zd.get(probe, { bearer: refreshed.body.access_token })).status).toBe(404)
  })
})

describe('refresh client authentication and scaled lifetimes', () => {
  test('a refresh with a wrong client secret is invalid_client; without a secret (a public client) it works', async () => {
    const pair = await tokenPair()
    const wrong = await tokens({
      grant_type: 'refresh_token',
      client_id: 'sandbox-client',
      client_secret: 'nope',
      refresh_token: pair.refresh_token,
    })
    expect(wrong.status).toBe(401)
    expect(wrong.body.error).toBe('invalid_client')
    const pub = await tokens({
      grant_type: 'refresh_token',
      client_id: 'sandbox-client',
      refresh_token: pair.refresh_token,
    })
    expect(pub.status).toBe(200)
  })

  test('under a time scale, expires_in is the lifetime the token really has', async () => {
    zd.emulator.configure({ accessTokenTtlS: 1800, timeScale: 10 })
    const r = await tokens({ grant_type: 'client_credentials', ...client })
    expect(r.body.expires_in).toBe(180)
  })
})
