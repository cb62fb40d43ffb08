/**
 * The latest OAuth access/refresh pair of each `oauth_tokens` destination (facts §1.2). Zendesk
 * rotates the pair on every refresh and revokes the old one at once, so the pair in the
 * configuration stops working at the first rotation: the rotated pair must outlive the process.
 *
 * One row per destination, beside the SHA-256 of the configured refresh token the row descends
 * from. At start, `startingCredentials` picks:
 *
 * | stored row                                   | starts with                                    |
 * | -------------------------------------------- | ---------------------------------------------- |
 * | none                                         | the configured pair                            |
 * | descends from the configured refresh token   | the stored pair (the configured one is revoked) |
 * | descends from another configured token       | the configured pair (the operator pasted a new one); the row is dropped |
 *
 * `save` writes with `synchronous = FULL`, so a rotated pair survives a power loss: the client
 * awaits it before using the new token, and losing it would leave only revoked tokens.
 *
 * The tokens are stored as they must be sent: whoever reads the data folder can act as the
 * Zendesk user that authorized them. The data folder must be readable by the service alone.
 * Encryption at rest, with a key from the environment, is a later improvement.
 *
 * Nothing here logs, and no method's result is meant for logs.
 */
import { createHash } from 'node:crypto'

import type Database from 'better-sqlite3'

import type { Clock } from '../lib/clock.js'

/** A rotated pair (the shape of the Zendesk client's `OAuthTokenPair`). */
export interface OAuthTokens {
  accessToken: string
  refreshToken: string
  /** Epoch ms; `null` when unknown. */
  accessExpiresAt: number | null
  refreshExpiresAt: number | null
}

/** Configured credentials holding a pair (the client's `oauth_tokens` credentials). */
export interface ConfiguredPair {
  accessToken: string
  refreshToken: string
  accessExpiresAt?: number | null
}

export interface StoredOAuthTokens extends OAuthTokens {
  /** SHA-256 (hex) of the configured refresh token this pair was rotated from. */
  configuredRefreshSha256: string
  /** Epoch ms of the rotation that produced the pair. */
  rotatedAt: number
}

/** Where the starting pair came from (for a log line; never the tokens themselves). */
export type StartingPairSource = 'configured' | 'stored' | 'configured_replaced_stored'

export interface OAuthTokenStore {
  get(destinationId: string): StoredOAuthTokens | null
  /** Keeps `pair` as the destination's latest, durably, replacing any previous one. */
  save(destinationId: string, pair: OAuthTokens, configuredRefreshToken: string): void
  delete(destinationId: string): void
  /**
   * The credentials a destination starts with (see the table above): `configured`, or a copy of it
   * with the stored tokens and access-token expiry.
   */
  startingCredentials<C extends ConfiguredPair>(
    destinationId: string,
    configured: C,
  ): { credentials: C; source: StartingPairSource }
}

export function refreshTokenSha256(refreshToken: string): string {
  return createHash('sha256').update(refreshToken, 'utf8').digest('hex')
}

export function openOAuthTokenStore(db: Database.Database, clock: Clock): OAuthTokenStore {
  db.exec(`CREATE TABLE IF NOT EXISTS oauth_tokens (
    destination_id TEXT PRIMARY KEY,
    access_token TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    access_expires_at INTEGER,
    refresh_expires_at INTEGER,
    configured_refresh_sha256 TEXT NOT NULL,
    rotated_at INTEGER NOT NULL
  )`)
  const upsert = db.prepare(`INSERT INTO oauth_tokens (destination_id, access_token, refresh_token,
      access_expires_at, refresh_expires_at, configured_refresh_sha256, rotated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (destination_id) DO UPDATE SET access_token = excluded.access_token,
      refresh_token = excluded.refresh_token, access_expires_at = excluded.access_expires_at,
      refresh_expires_at = excluded.refresh_expires_at,
      configured_refresh_sha256 = excluded.configured_refresh_sha256, rotated_at = excluded.rotated_at`)
  const select = db.prepare('SELECT * FROM oauth_tokens WHERE destination_id = ?')
  const remove = db.prepare('DELETE FROM oauth_tokens WHERE destination_id = ?')

  function get(destinationId: string): StoredOAuthTokens | null {
    const r = select.get(destinationId) as Record<string, unknown> | undefined
    if (!r) {
      return null
    }
    return {
      accessToken: r.access_token as string,
      refreshToken: r.refresh_token as string,
      accessExpiresAt: r.access_expires_at as number | null,
      refreshExpiresAt: r.refresh_expires_at as number | null,
      configuredRefreshSha256: r.configured_refresh_sha256 as string,
      rotatedAt: r.rotated_at as number,
    }
  }

  return {
    get,
    save(destinationId, pair, configuredRefreshToken) {
      // The connection may run at NORMAL (the queue's choice for throughput), where a commit can
      // be lost to a power cut. Rotations are rare: this one write pays for a WAL fsync.
      const previous = Number(db.pragma('synchronous', { simple: true }))
      db.pragma('synchronous = FULL')
      try {
        upsert.run(
          destinationId,
          pair.accessToken,
          pair.refreshToken,
          pair.accessExpiresAt,
          pair.refreshExpiresAt,
          refreshTokenSha256(configuredRefreshToken),
          clock.now(),
        )
      } finally {
        db.pragma(`synchronous = ${previous}`)
      }
    },
    delete(destinationId) {
      remove.run(destinationId)
    },
    startingCredentials(destinationId, configured) {
      const stored = get(destinationId)
      if (stored === null) {
        return { credentials: configured, source: 'configured' }
      }
      if (stored.configuredRefreshSha256 !== refreshTokenSha256(configured.refreshToken)) {
        // A new pair in the configuration: the operator authorized again. The stored row belongs
        // to the old grant; the next rotation writes a row for the new one.
        remove.run(destinationId)
        return { credentials: configured, source: 'configured_replaced_stored' }
      }
      return {
        credentials: {
          ...configured,
          accessToken: stored.accessToken,
          refreshToken: stored.refreshToken,
          accessExpiresAt: stored.accessExpiresAt,
        },
        source: 'stored',
      }
    },
  }
}
