import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, test } from 'vitest'

import { FakeClock } from '../lib/clock.js'
import type { Credentials } from '../zendesk/auth.js'
import { openOAuthTokenStore, refreshTokenSha256, type OAuthTokens } from './oauth-tokens.js'

const dir = mkdtempSync(join(tmpdir(), 'zdd-oauth-tokens-'))
let files = 0
const open: Database.Database[] = []

function freshPath(): string {
  files++
  return join(dir, `store-${files}.sqlite`)
}

function database(path: string): Database.Database {
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  open.push(db)
  return db
}

afterEach(() => {
  for (const db of open.splice(0)) {
    if (db.open) {
      db.close()
    }
  }
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

const configured: Extract<Credentials, { kind: 'oauth_tokens' }> = {
  kind: 'oauth_tokens',
  clientId: 'sandbox-client',
  clientSecret: 'sandbox-secret',
  accessToken: 'configured-access',
  refreshToken: 'configured-refresh',
}

function rotated(n: number, clock: FakeClock): OAuthTokens {
  return {
    accessToken: `access-${n}`,
    refreshToken: `refresh-${n}`,
    accessExpiresAt: clock.now() + 7_200_000,
    refreshExpiresAt: clock.now() + 2_592_000_000,
  }
}

describe('the OAuth token store', () => {
  test('with nothing stored, a destination starts with the configured pair', () => {
    const store = openOAuthTokenStore(database(freshPath()), new FakeClock())
    expect(store.startingCredentials('support', configured)).toEqual({
      credentials: configured,
      source: 'configured',
    })
    expect(store.get('support')).toBeNull()
  })

  test('a rotated pair survives reopening the file and wins over the configured pair it came from', () => {
    const path = freshPath()
    const clock = new FakeClock()
    const first = openOAuthTokenStore(database(path), clock)
    first.save('support', rotated(1, clock), configured.refreshToken)
    open[0]!.close()

    const store = openOAuthTokenStore(database(path), clock)
    expect(store.get('support')).toEqual({
      ...rotated(1, clock),
      configuredRefreshSha256: refreshTokenSha256('configured-refresh'),
      rotatedAt: clock.now(),
    })
    // The client id and secret stay the configured ones; the tokens and expiry are the stored ones.
    expect(store.startingCredentials('support', configured)).toEqual({
      credentials: {
        kind: 'oauth_tokens',
        clientId: 'sandbox-client',
        clientSecret: 'sandbox-secret',
        accessToken: 'access-1',
        refreshToken: 'refresh-1',
        accessExpiresAt: clock.now() + 7_200_000,
      },
      source: 'stored',
    })
  })

  test('each rotation replaces the previous pair, and destinations keep their own pairs', () => {
    const clock = new FakeClock()
    const store = openOAuthTokenStore(database(freshPath()), clock)
    store.save('support', rotated(1, clock), configured.refreshToken)
    clock.advance(60_000)
    store.save('support', rotated(2, clock), configured.refreshToken)
    store.save('other', rotated(9, clock), 'other-configured-refresh')

    expect(store.get('support')).toMatchObject({ refreshToken: 'refresh-2', rotatedAt: clock.now() })
    expect(store.startingCredentials('support', configured).credentials).toMatchObject({
      accessToken: 'access-2',
      refreshToken: 'refresh-2',
    })
    expect(store.get('other')).toMatchObject({ refreshToken: 'refresh-9' })
    const rows = open[0]!.prepare('SELECT destination_id FROM oauth_tokens ORDER BY 1').all()
    expect(rows).toEqual([{ destination_id: 'other' }, { destination_id: 'support' }])
  })

  test('a newly configured pair (the operator authorized again) wins, and the stale stored pair is dropped', () => {
    const clock = new FakeClock()
    const store = openOAuthTokenStore(database(freshPath()), clock)
    store.save('support', rotated(1, clock), configured.refreshToken)

    const pasted = { ...configured, accessToken: 'pasted-access', refreshToken: 'pasted-refresh' }
    expect(store.startingCredentials('support', pasted)).toEqual({
      credentials: pasted,
      source: 'configured_replaced_stored',
    })
    expect(store.get('support')).toBeNull()

    // The new grant's rotations are then the ones that win over it.
    store.save('support', rotated(2, clock), pasted.refreshToken)
    expect(store.startingCredentials('support', pasted)).toMatchObject({
      credentials: { refreshToken: 'refresh-2' },
      source: 'stored',
    })
  })

  test('the configured refresh token is kept only as its SHA-256, and an unknown lifetime as null', () => {
    const clock = new FakeClock()
    const db = database(freshPath())
    const store = openOAuthTokenStore(db, clock)
    store.save(
      'support',
      { accessToken: 'a', refreshToken: 'r', accessExpiresAt: null, refreshExpiresAt: null },
      configured.refreshToken,
    )
    const row = db.prepare('SELECT * FROM oauth_tokens').get() as Record<string, unknown>
    expect(Object.values(row)).not.toContain('configured-refresh')
    expect(row).toMatchObject({
      configured_refresh_sha256: createHash('sha256').update('configured-refresh').digest('hex'),
      access_expires_at: null,
      refresh_expires_at: null,
    })
    expect(store.startingCredentials('support', configured).credentials).toMatchObject({
      accessToken: 'a',
      accessExpiresAt: null,
    })
  })

  test("a save leaves the shared connection's synchronous setting (NORMAL) as it was", () => {
    const db = database(freshPath())
    const store = openOAuthTokenStore(db, new FakeClock())
    expect(db.pragma('synchronous', { simple: true })).toBe(1)
    store.save('support', rotated(1, new FakeClock()), configured.refreshToken)
    expect(db.pragma('synchronous', { simple: true })).toBe(1)
  })
})
