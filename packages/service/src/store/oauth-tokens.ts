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
 * `save` is durable when it resolves (SQLite: written with `synchronous = FULL`; PostgreSQL:
 * `synchronous_commit = on` for that transaction), so a rotated pair survives a power loss: the
 * client awaits it before using the new token, and losing it would leave only revoked tokens.
 *
 * `OAuthTokenStore` is the interface; `openOAuthTokenStore` keeps it in the service's SQLite
 * database, `openPgOAuthTokenStore` (pg-oauth-tokens.ts) in PostgreSQL (then every node starts
 * from the latest rotation, whichever node made it); oauth-tokens.contract.ts runs on both.
 *
 * The tokens are stored as they must be sent: whoever reads the data folder (or the database) can
 * act as the Zendesk user that authorized them. The data folder must be readable by the service
 * alone; on PostgreSQL, the table by the service's role alone.
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
  get(destinationId: string): Promise<StoredOAuthTokens | null>
  /** Keeps `pair` as the destination's latest, durably, replacing any previous one. */
  save(destinationId: string, pair: OAuthTokens, configuredRefreshToken: string): Promise<void>
  delete(destinationId: string): Promise<void>
  /**
   * The credentials a destination starts with (see the table above): `configured`, or a copy of it
   * with the stored tokens and access-token expiry.
   */
  startingCredentials<C extends ConfiguredPair>(
    destinationId: string,
    configured: C,
  ): Promise<{ credentials: C; source: StartingPairSource }>
}

/** The rows a backend reads and writes; `tokenStoreOver` adds the choice of starting pair. */
export interface OAuthTokenRows {
  get(destinationId: string): Promise<StoredOAuthTokens | null>
  save(destinationId: string, row: StoredOAuthTokens): Promise<void>
  delete(destinationId: string): Promise<void>
}

/** The store over a backend's rows (the choice in the table above is the same on every backend). */
export function tokenStoreOver(rows: OAuthTokenRows, clock: Clock): OAuthTokenStore {
  return {
    get: (destinationId) => rows.get(destinationId),
    save: (destinationId, pair, configuredRefreshToken) =>
      rows.save(destinationId, {
        accessToken: pair.accessToken,
        refreshToken: pair.refreshToken,
        accessExpiresAt: pair.accessExpiresAt,
        refreshExpiresAt: pair.refreshExpiresAt,
        configuredRefreshSha256: refreshTokenSha256(configuredRefreshToken),
        rotatedAt: clock.now(),
      }),
    delete: (destinationId) => rows.delete(destinationId),
    async startingCredentials(destinationId, configured) {
      const stored = await rows.get(destinationId)
      if (stored === null) {
        return { credentials: configured, source: 'configured' }
      }
      if (stored.configuredRefreshSha256 !== refreshTokenSha256(configured.refreshToken)) {
        // A new pair in the configuration: the operator authorized again. The stored row belongs
        // to the old grant; the next rotation writes a row for the new one.
        await rows.delete(destinationId)
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

/** A row (either backend; bigint columns may come as strings). */
export function toStoredTokens(r: Record<string, unknown>): StoredOAuthTokens {
  const epoch = (v: unknown) => (v === null || v === undefined ? null : Number(v))
  return {
    accessToken: r.access_token as string,
    refreshToken: r.refresh_token as string,
    accessExpiresAt: epoch(r.access_expires_at),
    refreshExpiresAt: epoch(r.refresh_expires_at),
    configuredRefreshSha256: r.configured_refresh_sha256 as string,
    rotatedAt: Number(r.rotated_at),
  }
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

  return tokenStoreOver(
    {
      get: (destinationId) =>
        settle(() => {
          const r = select.get(destinationId) as Record<string, unknown> | undefined
          return r ? toStoredTokens(r) : null
        }),
      save: (destinationId, row) =>
        settle(() => {
          // The connection may run at NORMAL (the queue's choice for throughput), where a commit
          // can be lost to a power cut. Rotations are rare: this one write pays for a WAL fsync.
          const previous = Number(db.pragma('synchronous', { simple: true }))
          db.pragma('synchronous = FULL')
          try {
            upsert.run(
              destinationId,
              row.accessToken,
              row.refreshToken,
              row.accessExpiresAt,
              row.refreshExpiresAt,
              row.configuredRefreshSha256,
              row.rotatedAt,
            )
          } finally {
            db.pragma(`synchronous = ${previous}`)
          }
        }),
      delete: (destinationId) =>
        settle(() => {
          remove.run(destinationId)
        }),
    },
    clock,
  )
}

/** A synchronous step as a promise: its result resolves, its exception rejects. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()))
}
