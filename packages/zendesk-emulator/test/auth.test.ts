import { describe, expect, test } from 'vitest'

import { basicToken, useTestEmulator } from './client.js'

const zd = useTestEmulator()

// Any authenticated Support call will do: an unknown job status is 404 once authenticated.
const probe = '/api/v2/job_statuses/V3-probe.json'
const UNAUTHORIZED = { error: "Couldn't authenticate you" }

describe('API-token auth (legacy)', () => {
  test('Basic email/token:TOKEN of the seeded admin is accepted', async () => {
    const r = await zd.get(probe, { raw: basicToken('admin@example.com', 'sandbox-api-token') })
    expect(r.status).toBe(404)
  })

  test('the email part is case-insensitive', async () => {
    const r = await zd.get(probe, { raw: basicToken('Admin@Example.com', 'sandbox-api-token') })
    expect(r.status).toBe(404)
  })

  test('a wrong token is 401 with Zendesk’s body', async () => {
    const r = await zd.get(probe, { raw: basicToken('admin@example.com', 'wrong') })
    expect(r.status).toBe(401)
    expect(r.body).toEqual(UNAUTHORIZED)
  })

  test('a token with an email that is not an agent or admin is 401', async () => {
    const r = await zd.get(probe, { raw: basicToken('nobody@example.com', 'sandbox-api-token') })
    expect(r.status).toBe(401)
  })

  test('after token retirement (2027-04-30) every API token is rejected', async () => {
    zd.emulator.configure({ apiTokensRetired: true })
    const r = await zd.get(probe, 'token')
    expect(r.status).toBe(401)
    expect(r.body).toEqual(UNAUTHORIZED)
  })
})

describe('other credentials', () => {
  test('Basic email:password is always rejected', async () => {
    const r = await zd.get(probe, { basic: 'admin@example.com:sandbox-api-token' })
    expect(r.status).toBe(401)
    expect(r.body).toEqual(UNAUTHORIZED)
  })

  test('no credentials is 401', async () => {
    const r = await zd.get(probe, 'none')
    expect(r.status).toBe(401)
    expect(r.body).toEqual(UNAUTHORIZED)
  })

  test('an unknown bearer token is 401', async () => {
    const r = await zd.get(probe, { bearer: 'not-a-token' })
    expect(r.status).toBe(401)
  })

  test('the request log records the kind of credentials, never the secret', async () => {
    await zd.get(probe, 'token')
    await zd.get(probe, { bearer: 'x' })
    await zd.get(probe, { basic: 'a@b.c:pw' })
    const log = await zd.get('/__emulator/requests', 'none')
    expect(log.body.requests.map((e: any) => e.authKind)).toEqual(['api_token', 'oauth', 'basic_password'])
    expect(JSON.stringify(log.body)).not.toContain('sandbox-api-token')
  })
})

describe('Sell auth', () => {
  test('the Sell API takes only its own bearer token, with Sell’s error envelope', async () => {
    const bad = await zd.get('/v2/contacts', { bearer: 'wrong' })
    expect(bad.status).toBe(401)
    expect(bad.body.meta.type).toBe('errors')
    expect(bad.body.errors[0].error.code).toBe('unauthorized')
    const token = await zd.get('/v2/contacts', 'token')
    expect(token.status).toBe(401)
  })
})
