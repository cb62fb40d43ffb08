/**
 * The OAuth token store's contract (oauth-tokens.ts), as one vitest suite that every backend
 * runs: `describeOAuthTokensContract(backend)` with a backend of test/store-backends.ts.
 */
import { createHash } from 'node:crypto'

import { afterAll, describe, expect, test } from 'vitest'

import type { StoreBackend } from '../../test/store-backends.js'
import { FakeClock } from '../lib/clock.js'
import type { Credentials } from '../zendesk/auth.js'
import { refreshTokenSha256, type OAuthTokens } from './oauth-tokens.js'

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

export function describeOAuthTokensContract(backend: StoreBackend): void {
  describe(`the OAuth token store (${backend.name})`, () => {
    afterAll(() => backend.cleanup())

    test('with nothing stored, a destination starts with the configured pair', async () => {
      const store = (await backend.open()).oauthTokens(new FakeClock())
      expect(await store.startingCredentials('support', configured)).toEqual({
        credentials: configured,
        source: 'configured',
      })
      expect(await store.get('support')).toBeNull()
    })

    test('a rotated pair survives reopening the database and wins over the configured pair it came from', async () => {
      const db = await backend.open()
      const clock = new FakeClock()
      await db.oauthTokens(clock).save('support', rotated(1, clock), configured.refreshToken)

      const store = (await db.reopen()).oauthTokens(clock)
      expect(await store.get('support')).toEqual({
        ...rotated(1, clock),
        configuredRefreshSha256: refreshTokenSha256('configured-refresh'),
        rotatedAt: clock.now(),
      })
      // The client id and secret stay the configured ones; the tokens and expiry are the stored ones.
      expect(await store.startingCredentials('support', configured)).toEqual({
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

    test('each rotation replaces the previous pair, and destinations keep their own pairs', async () => {
      const db = await backend.open()
      const clock = new FakeClock()
      const store = db.oauthTokens(clock)
      await store.save('support', rotated(1, clock), configured.refreshToken)
      clock.advance(60_000)
      await store.save('support', rotated(2, clock), configured.refreshToken)
      await store.save('other', rotated(9, clock), 'other-configured-refresh')

      expect(await store.get('support')).toMatchObject({ refreshToken: 'refresh-2', rotatedAt: clock.now() })
      expect((await store.startingCredentials('support', configured)).credentials).toMatchObject({
        accessToken: 'access-2',
        refreshToken: 'refresh-2',
      })
      expect(await store.get('other')).toMatchObject({ refreshToken: 'refresh-9' })
      expect((await db.committedRows('oauth_tokens')).map((r) => r.destination_id)).toEqual([
        'other',
        'support',
      ])
      await store.delete('other')
      expect(await store.get('other')).toBeNull()
    })

    test('a newly configured pair (the operator authorized again) wins, and the stale stored pair is dropped', async () => {
      const clock = new FakeClock()
      const store = (await backend.open()).oauthTokens(clock)
      await store.save('support', rotated(1, clock), configured.refreshToken)

      const pasted = { ...configured, accessToken: 'pasted-access', refreshToken: 'pasted-refresh' }
      expect(await store.startingCredentials('support', pasted)).toEqual({
        credentials: pasted,
        source: 'configured_replaced_stored',
      })
      expect(await store.get('support')).toBeNull()

      // The new grant's rotations are then the ones that win over it.
      await store.save('support', rotated(2, clock), pasted.refreshToken)
      expect(await store.startingCredentials('support', pasted)).toMatchObject({
        credentials: { refreshToken: 'refresh-2' },
        source: 'stored',
      })
    })

    test('the configured refresh token is kept only as its SHA-256, and an unknown lifetime as null', async () => {
      const clock = new FakeClock()
      const db = await backend.open()
      const store = db.oauthTokens(clock)
      await store.save(
        'support',
        { accessToken: 'a', refreshToken: 'r', accessExpiresAt: null, refreshExpiresAt: null },
        configured.refreshToken,
      )
      const [row] = await db.committedRows('oauth_tokens')
      expect(Object.values(row!)).not.toContain('configured-refresh')
      expect(row).toMatchObject({
        configured_refresh_sha256: createHash('sha256').update('configured-refresh').digest('hex'),
        access_expires_at: null,
        refresh_expires_at: null,
      })
      expect((await store.startingCredentials('support', configured)).credentials).toMatchObject({
        accessToken: 'a',
        accessExpiresAt: null,
      })
    })
  })
}
