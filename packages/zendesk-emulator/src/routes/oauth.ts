/**
 * OAuth 2.0 as Zendesk serves it (facts §1.2): `GET /oauth/authorizations/new` and
 * `POST /oauth/tokens` with the grants `client_credentials`, `authorization_code` (with PKCE) and
 * `refresh_token`. The authorization page approves at once and redirects with a code.
 *
 * - Access tokens live `accessTokenTtlS` (scaled); an expired one gets 401 on the API.
 * - A refresh returns a new access/refresh pair and revokes the old pair [KB-refresh].
 * - Client authentication: `client_id` / `client_secret` in the body, or HTTP Basic.
 * - Errors follow RFC 6749 §5.2: `{"error": "invalid_grant", "error_description": "…"}`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'

import type { Account, OAuthTokenRecord } from '../account.js'
import { safeEqual, verifyPkce } from '../auth.js'
import { isObject, type RouteModule } from '../http.js'

function oauthError(reply: FastifyReply, status: number, error: string, description: string): FastifyReply {
  return reply.code(status).send({ error, error_description: description })
}

function field(body: Record<string, unknown>, key: string): string | null {
  const v = body[key]
  return typeof v === 'string' && v !== '' ? v : null
}

/** Client credentials from the body or from a Basic header. */
function clientOf(
  request: FastifyRequest,
  body: Record<string, unknown>,
): { id: string | null; secret: string | null } {
  const header = request.headers.authorization
  if (header?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8')
    const sep = decoded.indexOf(':')
    if (sep > 0) {
      return {
        id: decodeURIComponent(decoded.slice(0, sep)),
        secret: decodeURIComponent(decoded.slice(sep + 1)),
      }
    }
  }
  return { id: field(body, 'client_id'), secret: field(body, 'client_secret') }
}

function issue(account: Account, clientId: string, scope: string, withRefresh: boolean): OAuthTokenRecord {
  const now = account.now()
  const record: OAuthTokenRecord = {
    accessToken: account.randomHex(64),
    refreshToken: withRefresh ? account.randomHex(64) : null,
    clientId,
    scope,
    accessExpiresAt: now + account.scaled(account.config.accessTokenTtlS * 1000),
    refreshExpiresAt: withRefresh ? now + account.scaled(account.config.refreshTokenTtlS * 1000) : null,
    revoked: false,
  }
  account.data.oauthTokens.set(record.accessToken, record)
  return record
}

function tokenBody(account: Account, t: OAuthTokenRecord): Record<string, unknown> {
  const body: Record<string, unknown> = {
    access_token: t.accessToken,
    token_type: 'bearer',
    scope: t.scope,
    // The lifetime as it really is under the time scale, so clients renew in time.
    expires_in: Math.max(1, Math.floor(account.config.accessTokenTtlS / account.config.timeScale)),
  }
  if (t.refreshToken) {
    body.refresh_token = t.refreshToken
    body.refresh_token_expires_in = Math.max(
      1,
      Math.floor(account.config.refreshTokenTtlS / account.config.timeScale),
    )
  }
  return body
}

export const oauthRoutes: RouteModule = (app, { account }) => {
  app.get('/oauth/authorizations/new', (request, reply) => {
    const q = request.query as Record<string, string | undefined>
    if (q.client_id !== account.seed.oauthClientId) {
      return oauthError(reply, 400, 'invalid_client', 'Unknown client_id')
    }
    if (q.response_type !== 'code') {
      return oauthError(reply, 400, 'unsupported_response_type', 'Only response_type=code is supported')
    }
    if (!q.redirect_uri) {
      return oauthError(reply, 400, 'invalid_request', 'redirect_uri is required')
    }
    const code = account.randomHex(40)
    account.data.authorizationCodes.set(code, {
      code,
      clientId: q.client_id,
      redirectUri: q.redirect_uri,
      scope: q.scope ?? 'read write',
      codeChallenge: q.code_challenge ?? null,
      codeChallengeMethod: q.code_challenge_method ?? null,
      expiresAt: account.now() + account.scaled(10 * 60 * 1000),
      used: false,
    })
    const target = new URL(q.redirect_uri)
    target.searchParams.set('code', code)
    if (q.state !== undefined) {
      target.searchParams.set('state', q.state)
    }
    return reply.redirect(target.toString(), 302)
  })

  app.post('/oauth/tokens', (request, reply) => {
    const body = isObject(request.body) ? (request.body as Record<string, unknown>) : {}
    const grant = field(body, 'grant_type')
    const client = clientOf(request, body)
    const clientOk =
      client.id === account.seed.oauthClientId &&
      client.secret !== null &&
      safeEqual(client.secret, account.seed.oauthClientSecret)
    const scope = field(body, 'scope') ?? 'read write'

    switch (grant) {
      case 'client_credentials': {
        if (!clientOk) {
          return oauthError(reply, 401, 'invalid_client', 'Client authentication failed')
        }
        return tokenBody(account, issue(account, account.seed.oauthClientId, scope, false))
      }
      case 'authorization_code': {
        if (client.id !== account.seed.oauthClientId) {
          return oauthError(reply, 401, 'invalid_client', 'Client authentication failed')
        }
        const code = account.data.authorizationCodes.get(field(body, 'code') ?? '')
        if (!code || code.used || code.expiresAt <= account.now() || code.clientId !== client.id) {
          return oauthError(reply, 400, 'invalid_grant', 'The authorization code is invalid, expired or used')
        }
        if (field(body, 'redirect_uri') !== code.redirectUri) {
          return oauthError(
            reply,
            400,
            'invalid_grant',
            'redirect_uri does not match the authorization request',
          )
        }
        if (code.codeChallenge !== null) {
          const verifier = field(body, 'code_verifier')
          if (!verifier || !verifyPkce(verifier, code.codeChallenge, code.codeChallengeMethod)) {
            return oauthError(reply, 400, 'invalid_grant', 'PKCE verification failed')
          }
        } else if (!clientOk) {
          // Without PKCE, the confidential client must authenticate.
          return oauthError(reply, 401, 'invalid_client', 'Client authentication failed')
        }
        code.used = true
        return tokenBody(account, issue(account, code.clientId, code.scope, true))
      }
      case 'refresh_token': {
        // A confidential client that sends a secret must send the right one; a public (PKCE)
        // client sends none.
        if (client.id !== account.seed.oauthClientId || (client.secret !== null && !clientOk)) {
          return oauthError(reply, 401, 'invalid_client', 'Client authentication failed')
        }
        const refresh = field(body, 'refresh_token')
        const old = [...account.data.oauthTokens.values()].find(
          (t) => t.refreshToken !== null && t.refreshToken === refresh,
        )
        if (!old || old.revoked || (old.refreshExpiresAt !== null && old.refreshExpiresAt <= account.now())) {
          return oauthError(reply, 400, 'invalid_grant', 'The refresh token is invalid, expired or revoked')
        }
        old.revoked = true
        return tokenBody(account, issue(account, old.clientId, old.scope, true))
      }
      default:
        return oauthError(
          reply,
          400,
          'unsupported_grant_type',
          `grant_type must be client_credentials, authorization_code or refresh_token`,
        )
    }
  })
}
