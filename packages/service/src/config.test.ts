import { describe, expect, test } from 'vitest'

import { loadConfig } from './config.js'
import { ConfigError } from './errors.js'

function problemsOf(fn: () => unknown): string[] {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).code).toBe('CONFIG_INVALID')
    return (err as ConfigError).problems
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig from the environment', () => {
  test('with no Zendesk credentials the service runs against the built-in sandbox', () => {
    const c = loadConfig({})
    expect(c.http).toEqual({ host: '127.0.0.1', port: 8080 })
    expect(c.destinations).toMatchObject([
      { id: 'default', zendesk: { mode: 'sandbox' }, subscriptions: null },
    ])
    expect(c.sources).toEqual([{ id: 'default', writeKey: 'sandbox-write-key', destinationIds: ['default'] }])
    expect(Object.isFrozen(c)).toBe(true)
  })

  test('OAuth client credentials and a subdomain select a real account', () => {
    const c = loadConfig({
      ZENDESK_SUBDOMAIN: 'acme',
      ZENDESK_OAUTH_CLIENT_ID: 'id',
      ZENDESK_OAUTH_CLIENT_SECRET: 'secret',
      WRITE_KEY: 'wk',
    })
    expect(c.destinations[0]?.zendesk).toMatchObject({
      mode: 'remote',
      baseUrl: 'https://acme.zendesk.com',
      sellBaseUrl: 'https://api.getbase.com',
      oauth: { clientId: 'id', clientSecret: 'secret' },
      apiToken: null,
    })
    expect(c.sources[0]?.writeKey).toBe('wk')
  })

  test('an explicit ZENDESK_URL (an emulator) wins over the subdomain', () => {
    const c = loadConfig({
      ZENDESK_URL: 'http://127.0.0.1:4010',
      ZENDESK_EMAIL: 'a@b.c',
      ZENDESK_API_TOKEN: 't',
    })
    expect(c.destinations[0]?.zendesk).toMatchObject({ mode: 'remote', baseUrl: 'http://127.0.0.1:4010' })
  })

  test('every problem is listed at once, naming the variable and the reason', () => {
    const problems = problemsOf(() => loadConfig({ ZENDESK_SUBDOMAIN: 'not a label!', PORT: 'eighty' })).join(
      '\n',
    )
    expect(problems).toMatch(/ZENDESK_SUBDOMAIN: must be a DNS label/)
    expect(problems).toMatch(/PORT:/)
  })

  test('an OAuth client id without its secret is refused', () => {
    expect(
      problemsOf(() => loadConfig({ ZENDESK_SUBDOMAIN: 'acme', ZENDESK_OAUTH_CLIENT_ID: 'id' })),
    ).toEqual(['ZENDESK_OAUTH_CLIENT_SECRET: required with ZENDESK_OAUTH_CLIENT_ID'])
  })
})

describe('loadConfig from a YAML file', () => {
  const good = `
sources:
  - id: web
    writeKey: "\${WEB_WRITE_KEY}"
    destinations: [support, sandbox]
destinations:
  - id: support
    zendesk:
      subdomain: acme
      oauth: { clientId: zdd, clientSecret: "\${ZD_SECRET}" }
    settings: { verified: true }
    subscriptions:
      - action: upsert-user
        mapping:
          name: { "@path": "$.traits.fullName" }
  - id: sandbox
    zendesk: { sandbox: true }
`

  test('describes several destinations and write keys, reading secrets from the environment', () => {
    const c = loadConfig({ WEB_WRITE_KEY: 'web-key-123', ZD_SECRET: 's3cret' }, good)
    expect(c.sources).toEqual([
      { id: 'web', writeKey: 'web-key-123', destinationIds: ['support', 'sandbox'] },
    ])
    expect(c.destinations[0]).toMatchObject({
      id: 'support',
      zendesk: {
        mode: 'remote',
        baseUrl: 'https://acme.zendesk.com',
        oauth: { clientId: 'zdd', clientSecret: 's3cret' },
      },
      settings: { verified: true, skipVerifyEmail: true, createMissingUserFields: false },
      subscriptions: [
        {
          actionId: 'upsert-user',
          trigger: { types: ['identify'] },
          mapping: { name: { '@path': '$.traits.fullName' } },
        },
      ],
    })
    expect(c.destinations[1]).toMatchObject({
      id: 'sandbox',
      zendesk: { mode: 'sandbox' },
      subscriptions: null,
    })
  })

  test('every error in the file is listed at once, each with its path', () => {
    const bad = `
sources:
  - id: web
    writeKey: short
    destinations: [nowhere]
destinations:
  - id: Support
    zendesk: { subdomain: "bad label" }
    subscriptions:
      - action: explode
      - action: upsert-user
        mapping:
          colour: "red"
          name: { "@path": "traits.name" }
    extra: 1
`
    const problems = problemsOf(() => loadConfig({ ZD_SECRET: 'x' }, bad))
    expect(problems).toEqual(
      expect.arrayContaining([
        'sources[0].writeKey: must be at least 8 characters',
        'destinations[0].id: must be lower-case letters, digits and hyphens',
        'destinations[0].zendesk.subdomain: must be a DNS label (letters, digits and hyphens)',
        expect.stringMatching(/^destinations\[0\]: Unrecognized key/),
      ]),
    )
  })

  test('semantic errors are listed with their paths too', () => {
    const bad = `
sources:
  - { id: web, writeKey: "12345678", destinations: [support, ghost] }
destinations:
  - id: support
    zendesk: { subdomain: acme }
    subscriptions:
      - action: explode
      - action: upsert-user
        mapping:
          colour: "red"
          name: { "@path": "traits.name" }
`
    expect(problemsOf(() => loadConfig({}, bad))).toEqual([
      'destinations[0].subscriptions[0].action: unknown action "explode"',
      'destinations[0].subscriptions[1].mapping.colour: action "upsert-user" has no field "colour"',
      'destinations[0].subscriptions[1].mapping.name: @path must start with "$."',
      'destinations[0].zendesk: give oauth (clientId, clientSecret) or the legacy apiToken (email, token)',
      'sources[0].destinations[1]: no destination "ghost"',
    ])
  })

  test('a missing environment variable is named with its path, and secrets never appear', () => {
    const problems = problemsOf(() => loadConfig({}, good))
    expect(problems).toContain('sources[0].writeKey: environment variable WEB_WRITE_KEY is not set')
    expect(problems).toContain(
      'destinations[0].zendesk.oauth.clientSecret: environment variable ZD_SECRET is not set',
    )
  })
})
