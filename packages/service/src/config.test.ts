import { describe, expect, test } from 'vitest'

import { loadConfig } from './config.js'
import { ConfigError } from './errors.js'

describe('loadConfig', () => {
  test('with no Zendesk credentials the service runs against the built-in sandbox', () => {
    const c = loadConfig({})
    expect(c.zendesk).toEqual({ mode: 'sandbox' })
    expect(c.http).toEqual({ host: '127.0.0.1', port: 8080, writeKey: 'sandbox-write-key' })
    expect(Object.isFrozen(c)).toBe(true)
  })

  test('OAuth client credentials and a subdomain select a real account', () => {
    const c = loadConfig({
      ZENDESK_SUBDOMAIN: 'acme',
      ZENDESK_OAUTH_CLIENT_ID: 'id',
      ZENDESK_OAUTH_CLIENT_SECRET: 'secret',
    })
    expect(c.zendesk).toMatchObject({
      mode: 'remote',
      baseUrl: 'https://acme.zendesk.com',
      oauth: { clientId: 'id', clientSecret: 'secret' },
      apiToken: null,
    })
  })

  test('an explicit ZENDESK_URL (an emulator) wins over the subdomain', () => {
    const c = loadConfig({
      ZENDESK_URL: 'http://127.0.0.1:4010',
      ZENDESK_EMAIL: 'a@b.c',
      ZENDESK_API_TOKEN: 't',
    })
    expect(c.zendesk).toMatchObject({ mode: 'remote', baseUrl: 'http://127.0.0.1:4010' })
  })

  test('every problem is listed at once, naming the variable and the reason, without secret values', () => {
    let error: unknown
    try {
      loadConfig({
        ZENDESK_SUBDOMAIN: 'not a label!',
        PORT: 'eighty',
        ZENDESK_OAUTH_CLIENT_ID: 'super-secret-id',
      })
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    const problems = (error as ConfigError).problems.join('\n')
    expect(problems).toMatch(/ZENDESK_SUBDOMAIN: must be a DNS label/)
    expect(problems).toMatch(/PORT:/)
    expect((error as ConfigError).code).toBe('CONFIG_INVALID')
  })

  test('an OAuth client id without its secret is refused', () => {
    expect(() => loadConfig({ ZENDESK_SUBDOMAIN: 'acme', ZENDESK_OAUTH_CLIENT_ID: 'id' })).toThrow(
      /ZENDESK_OAUTH_CLIENT_SECRET: required/,
    )
  })
})
