import { describe, expect, test } from 'vitest'

import { loadConfig, zendeskCredentials, type RemoteZendeskConnection } from './config.js'
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

  test('an OAuth access and refresh token pair, with its client id, needs no client secret', () => {
    const c = loadConfig({
      ZENDESK_SUBDOMAIN: 'acme',
      ZENDESK_OAUTH_CLIENT_ID: 'id',
      ZENDESK_OAUTH_ACCESS_TOKEN: 'at',
      ZENDESK_OAUTH_REFRESH_TOKEN: 'rt',
    })
    const zendesk = c.destinations[0]?.zendesk as RemoteZendeskConnection
    expect(zendesk).toMatchObject({
      mode: 'remote',
      oauth: null,
      oauthTokens: { clientId: 'id', clientSecret: null, accessToken: 'at', refreshToken: 'rt' },
    })
    expect(zendeskCredentials(zendesk)).toEqual({
      kind: 'oauth_tokens',
      clientId: 'id',
      accessToken: 'at',
      refreshToken: 'rt',
    })
  })

  test('with a token pair, the client secret belongs to the pair (a confidential client)', () => {
    const c = loadConfig({
      ZENDESK_URL: 'http://127.0.0.1:4010',
      ZENDESK_OAUTH_CLIENT_ID: 'id',
      ZENDESK_OAUTH_CLIENT_SECRET: 'secret',
      ZENDESK_OAUTH_ACCESS_TOKEN: 'at',
      ZENDESK_OAUTH_REFRESH_TOKEN: 'rt',
    })
    expect(zendeskCredentials(c.destinations[0]?.zendesk as RemoteZendeskConnection)).toEqual({
      kind: 'oauth_tokens',
      clientId: 'id',
      clientSecret: 'secret',
      accessToken: 'at',
      refreshToken: 'rt',
    })
  })

  test('half a token pair, or a pair without its client id, is refused', () => {
    expect(
      problemsOf(() => loadConfig({ ZENDESK_SUBDOMAIN: 'acme', ZENDESK_OAUTH_REFRESH_TOKEN: 'rt' })),
    ).toEqual([
      'ZENDESK_OAUTH_ACCESS_TOKEN: required with ZENDESK_OAUTH_REFRESH_TOKEN',
      'ZENDESK_OAUTH_CLIENT_ID: required with ZENDESK_OAUTH_ACCESS_TOKEN and ZENDESK_OAUTH_REFRESH_TOKEN',
    ])
    expect(
      problemsOf(() => loadConfig({ ZENDESK_OAUTH_ACCESS_TOKEN: 'at', ZENDESK_OAUTH_CLIENT_ID: 'id' })),
    ).toEqual([
      'ZENDESK_SUBDOMAIN: required when Zendesk credentials are given (or set ZENDESK_URL)',
      'ZENDESK_OAUTH_REFRESH_TOKEN: required with ZENDESK_OAUTH_ACCESS_TOKEN',
    ])
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
          email: { "@if": { "exists": { "@path": "$.traits.email" }, "then": { "@path": "$.traits.email" } } }
          phone: { "@if": { "then": { "@template": "+{{traits.phone}}" } } }
`
    expect(problemsOf(() => loadConfig({}, bad))).toEqual([
      'destinations[0].subscriptions[0].action: unknown action "explode"',
      'destinations[0].subscriptions[1].mapping.colour: action "upsert-user" has no field "colour"',
      'destinations[0].subscriptions[1].mapping.name: @path must start with "$."',
      'destinations[0].subscriptions[1].mapping.phone.@if: needs exactly one condition, "exists" or "blank"',
      'destinations[0].zendesk: give oauth (clientId, clientSecret), oauthTokens (clientId, accessToken, refreshToken) or the legacy apiToken (email, token)',
      'sources[0].destinations[1]: no destination "ghost"',
    ])
  })

  test('an OAuth token pair is a third choice of credentials, read from the environment', () => {
    const file = `
sources:
  - { id: web, writeKey: "12345678", destinations: [support, public] }
destinations:
  - id: support
    zendesk:
      subdomain: acme
      oauthTokens:
        clientId: zdd
        clientSecret: "\${ZD_SECRET}"
        accessToken: "\${ZD_ACCESS}"
        refreshToken: "\${ZD_REFRESH}"
  - id: public
    zendesk:
      subdomain: acme
      oauthTokens: { clientId: zdd-pkce, accessToken: a2, refreshToken: r2 }
`
    const c = loadConfig({ ZD_SECRET: 's', ZD_ACCESS: 'a1', ZD_REFRESH: 'r1' }, file)
    const [support, pub] = c.destinations.map((d) => d.zendesk as RemoteZendeskConnection)
    expect(support).toMatchObject({
      oauth: null,
      apiToken: null,
      oauthTokens: { clientId: 'zdd', clientSecret: 's', accessToken: 'a1', refreshToken: 'r1' },
    })
    expect(zendeskCredentials(support!)).toEqual({
      kind: 'oauth_tokens',
      clientId: 'zdd',
      clientSecret: 's',
      accessToken: 'a1',
      refreshToken: 'r1',
    })
    expect(zendeskCredentials(pub!)).toEqual({
      kind: 'oauth_tokens',
      clientId: 'zdd-pkce',
      accessToken: 'a2',
      refreshToken: 'r2',
    })
  })

  test('token-pair errors name their path', () => {
    const file = `
sources:
  - { id: web, writeKey: "12345678", destinations: [support] }
destinations:
  - id: support
    zendesk:
      subdomain: acme
      oauth: { clientId: zdd, clientSecret: s }
      oauthTokens: { clientId: zdd, accessToken: "", refreshToken: "\${ZD_REFRESH}", scope: read }
`
    expect(problemsOf(() => loadConfig({}, file))).toEqual([
      'destinations[0].zendesk.oauthTokens.refreshToken: environment variable ZD_REFRESH is not set',
      'destinations[0].zendesk.oauthTokens.accessToken: Too small: expected string to have >=1 characters',
      'destinations[0].zendesk.oauthTokens.refreshToken: Too small: expected string to have >=1 characters',
      'destinations[0].zendesk.oauthTokens: Unrecognized key: "scope"',
    ])
    const both = file.replace(
      /accessToken: "", refreshToken: "\$\{ZD_REFRESH\}", scope: read/,
      'accessToken: a, refreshToken: r',
    )
    expect(problemsOf(() => loadConfig({}, both))).toEqual([
      'destinations[0].zendesk.oauthTokens: give one kind of credentials; oauthTokens excludes oauth and apiToken',
    ])
  })

  test('two destinations cannot share one token pair (each refresh would revoke the other)', () => {
    const file = `
sources:
  - { id: web, writeKey: "12345678", destinations: [a, b] }
destinations:
  - { id: a, zendesk: { subdomain: acme, oauthTokens: { clientId: zdd, accessToken: at, refreshToken: rt } } }
  - { id: b, zendesk: { subdomain: acme, oauthTokens: { clientId: zdd, accessToken: at, refreshToken: rt } } }
`
    expect(problemsOf(() => loadConfig({}, file))).toEqual([
      'destinations[1].zendesk.oauthTokens: the same token pair as destinations[0]; each destination needs its own grant',
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

describe('how upsert-user finds users (settings)', () => {
  const withSettings = (settings: string) => `
sources:
  - { id: web, writeKey: "12345678", destinations: [support] }
destinations:
  - id: support
    zendesk: { subdomain: acme, oauth: { clientId: zdd, clientSecret: s } }
    settings: { ${settings} }
`

  test('by external_id, without changing primary emails, unless the file says otherwise', () => {
    expect(loadConfig({}, withSettings('')).destinations[0]?.settings).toMatchObject({
      matchUsersBy: 'external_id',
      updatePrimaryEmail: false,
    })
    expect(
      loadConfig({}, withSettings('matchUsersBy: email, updatePrimaryEmail: true')).destinations[0]?.settings,
    ).toMatchObject({ matchUsersBy: 'email', updatePrimaryEmail: true })
  })

  test('another way of matching is refused with its path', () => {
    expect(problemsOf(() => loadConfig({}, withSettings('matchUsersBy: phone')))).toEqual([
      expect.stringMatching(/^destinations\[0\]\.settings\.matchUsersBy: /),
    ])
  })
})

describe('the database setting', () => {
  test('without DATABASE_URL the queue and state stay in the SQLite file in DATA_DIR', () => {
    expect(loadConfig({}).database).toBeNull()
  })

  test('DATABASE_URL selects PostgreSQL, with a pool of DATABASE_POOL_SIZE connections (default 10)', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://zdd:secret@db.internal:5432/zdd' }).database).toEqual({
      url: 'postgres://zdd:secret@db.internal:5432/zdd',
      poolSize: 10,
    })
    expect(
      loadConfig({ DATABASE_URL: 'postgresql://db.internal/zdd', DATABASE_POOL_SIZE: '25' }).database,
    ).toEqual({ url: 'postgresql://db.internal/zdd', poolSize: 25 })
  })

  test('a DATABASE_URL that is not a PostgreSQL URL is refused without repeating it', () => {
    const problems = problemsOf(() =>
      loadConfig({ DATABASE_URL: 'mysql://zdd:secret@db/zdd', DATABASE_POOL_SIZE: '0' }),
    )
    expect(problems).toEqual([
      'DATABASE_URL: must be a postgres:// (or postgresql://) URL',
      expect.stringMatching(/^DATABASE_POOL_SIZE: /),
    ])
    expect(problems.join('\n')).not.toContain('secret')
  })
})
