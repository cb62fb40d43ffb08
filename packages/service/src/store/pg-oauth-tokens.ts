/**
 * The rotated OAuth pairs (oauth-tokens.ts: what is kept and which pair a destination starts
 * with) in PostgreSQL, table `oauth_tokens` of db/migrations/pg. A save commits with
 * `synchronous_commit = on` whatever the server's default, so that a rotated pair is on disk
 * before the client uses it (Zendesk has revoked the previous one).
 */
import { withTransaction, type PgPool } from '../db/pg.js'
import type { Clock } from '../lib/clock.js'
import { toStoredTokens, tokenStoreOver, type OAuthTokenStore } from './oauth-tokens.js'

const UPSERT = `
  INSERT INTO oauth_tokens (destination_id, access_token, refresh_token, access_expires_at,
                            refresh_expires_at, configured_refresh_sha256, rotated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7)
  ON CONFLICT (destination_id) DO UPDATE SET access_token = excluded.access_token,
    refresh_token = excluded.refresh_token, access_expires_at = excluded.access_expires_at,
    refresh_expires_at = excluded.refresh_expires_at,
    configured_refresh_sha256 = excluded.configured_refresh_sha256, rotated_at = excluded.rotated_at`

export function openPgOAuthTokenStore(pool: PgPool, clock: Clock): OAuthTokenStore {
  return tokenStoreOver(
    {
      async get(destinationId) {
        const { rows } = await pool.query<Record<string, unknown>>(
          'SELECT * FROM oauth_tokens WHERE destination_id = $1',
          [destinationId],
        )
        return rows[0] ? toStoredTokens(rows[0]) : null
      },
      async save(destinationId, row) {
        await withTransaction(pool, async (client) => {
          await client.query('SET LOCAL synchronous_commit = on')
          await client.query(UPSERT, [
            destinationId,
            row.accessToken,
            row.refreshToken,
            row.accessExpiresAt,
            row.refreshExpiresAt,
            row.configuredRefreshSha256,
            row.rotatedAt,
          ])
        })
      },
      async delete(destinationId) {
        await pool.query('DELETE FROM oauth_tokens WHERE destination_id = $1', [destinationId])
      },
    },
    clock,
  )
}
