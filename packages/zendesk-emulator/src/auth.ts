/**
 * Authentication as Zendesk does it (facts §1.2, §1.3):
 *
 * - `Basic base64("{email}/token:{api_token}")`: the account's API token; the email picks the
 *   acting user, who must be an agent or admin. Rejected for everyone once `apiTokensRetired`
 *   is on (Zendesk's 2027-04-30 cut-off).
 * - `Basic base64("{email}:{password}")`: always rejected (password access was removed in 2026).
 * - `Bearer {access_token}`: an OAuth access token issued by `/oauth/tokens`, until it expires or
 *   is revoked by a refresh.
 * - The Sell API (`/v2/*`) takes `Bearer {sell token}` only.
 *
 * Any failure is 401 `{"error":"Couldn't authenticate you"}`.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

import type { Account, OAuthTokenRecord } from './account.js'

export type AuthKind = 'api_token' | 'oauth' | 'sell_token' | 'basic_password' | 'none' | 'invalid'

export interface AuthResult {
  kind: AuthKind
  ok: boolean
  /** The acting Support user, when authenticated for the Support API. */
  userId: number | null
}

/** Tells what kind of credentials a request carries, without checking them (for the request log). */
export function authKindOf(header: string | undefined): AuthKind {
  if (!header) {
    return 'none'
  }
  const [scheme, value = ''] = header.split(/\s+/, 2)
  if (scheme?.toLowerCase() === 'bearer') {
    return 'oauth'
  }
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    return decoded.includes('/token:') ? 'api_token' : 'basic_password'
  }
  return 'invalid'
}

/** Checks Support API credentials (Basic token or OAuth bearer). */
export function authenticateSupport(account: Account, header: string | undefined): AuthResult {
  if (!header) {
    return { kind: 'none', ok: false, userId: null }
  }
  const [scheme = '', value = ''] = header.split(/\s+/, 2)
  if (scheme.toLowerCase() === 'bearer') {
    const token = findLiveAccessToken(account, value)
    return { kind: 'oauth', ok: token !== null, userId: token ? adminId(account) : null }
  }
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    const sep = decoded.indexOf(':')
    const user = sep >= 0 ? decoded.slice(0, sep) : decoded
    const secret = sep >= 0 ? decoded.slice(sep + 1) : ''
    if (!user.endsWith('/token')) {
      return { kind: 'basic_password', ok: false, userId: null }
    }
    if (account.config.apiTokensRetired || !safeEqual(secret, account.seed.apiToken)) {
      return { kind: 'api_token', ok: false, userId: null }
    }
    const email = user.slice(0, -'/token'.length).toLowerCase()
    const actor = staffUserByEmail(account, email)
    return { kind: 'api_token', ok: actor !== null, userId: actor }
  }
  return { kind: 'invalid', ok: false, userId: null }
}

/** Checks Sell API credentials (`Bearer {sell token}`). */
export function authenticateSell(account: Account, header: string | undefined): AuthResult {
  const [scheme = '', value = ''] = (header ?? '').split(/\s+/, 2)
  const ok =
    !account.config.sellTokenRevoked &&
    scheme.toLowerCase() === 'bearer' &&
    safeEqual(value, account.seed.sellToken)
  return { kind: header ? 'sell_token' : 'none', ok, userId: null }
}

export function findLiveAccessToken(account: Account, accessToken: string): OAuthTokenRecord | null {
  const token = account.data.oauthTokens.get(accessToken)
  if (!token || token.revoked || token.accessExpiresAt <= account.now()) {
    return null
  }
  return token
}

/** The token endpoint's PKCE check (RFC 7636): S256 or plain. */
export function verifyPkce(verifier: string, challenge: string, method: string | null): boolean {
  if (!method || method === 'plain') {
    return safeEqual(verifier, challenge)
  }
  if (method === 'S256') {
    const hashed = createHash('sha256').update(verifier).digest('base64url')
    return safeEqual(hashed, challenge)
  }
  return false
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function adminId(account: Account): number | null {
  return staffUserByEmail(account, account.seed.adminEmail.toLowerCase())
}

function staffUserByEmail(account: Account, email: string): number | null {
  for (const identity of account.data.identities.withValue('email', email)) {
    const user = account.data.users.get(identity.user_id)
    if (user && user.active && (user.role === 'admin' || user.role === 'agent')) {
      return user.id
    }
  }
  return null
}
