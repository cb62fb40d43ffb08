/**
 * Credentials for the Zendesk APIs and the `TokenProvider` that turns them into an
 * `Authorization` header (facts §1.2, §10):
 *
 * | kind                       | header                                   | on a 401                 |
 * | -------------------------- | ---------------------------------------- | ------------------------ |
 * | `oauth_client_credentials` | `Bearer` from `grant_type=client_credentials` | fetch a new token   |
 * | `oauth_tokens`             | `Bearer`, refreshed with `grant_type=refresh_token` | refresh the pair |
 * | `api_token` (legacy)       | `Basic base64("{email}/token:{token}")`  | nothing to do            |
 * | `sell_token`               | `Bearer {token}` (Sell API only)         | nothing to do            |
 *
 * OAuth tokens are fetched lazily, cached, and renewed before they expire: at
 * `expires_in − min(60 s, 10 % of the lifetime)`. Concurrent callers share one token request, which
 * matters for refresh tokens: Zendesk revokes the old pair on refresh (facts §1.2), so a second
 * refresh with the same refresh token would fail.
 *
 * Token requests go through oauth4webapi (request shape and token-response validation per
 * RFC 6749), with the client secret in the form body (`client_secret_post`), as Zendesk's docs
 * show the secret among the body parameters. Zendesk's examples send JSON; a form body is the
 * RFC's encoding and what the emulator and OAuth servers generally accept (unverified on a real
 * account).
 *
 * Secrets live in private fields: they never appear in `JSON.stringify`, `String()`,
 * `util.inspect`, logs or errors.
 */
import * as oauth from 'oauth4webapi'

import { AppError, ERROR_KINDS } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import { redact } from '../lib/redact.js'
import { errorFromAnswer, networkError, timeoutError, ZendeskError } from './errors.js'

/** Zendesk's cut-off for API tokens (facts §0.2). */
export const API_TOKEN_CUTOFF = '2027-04-30'
const API_TOKEN_CUTOFF_MS = Date.parse(`${API_TOKEN_CUTOFF}T00:00:00Z`)
const DAY_MS = 24 * 60 * 60 * 1000

/** What a destination stores to reach Zendesk. */
export type Credentials =
  | {
      kind: 'oauth_client_credentials'
      clientId: string
      clientSecret: string
      /** Space-separated scopes; `read write` by default. */
      scope?: string
    }
  | {
      /** An access/refresh pair from an authorization-code grant (the admin UI's "Connect"). */
      kind: 'oauth_tokens'
      clientId: string
      /** Confidential clients authenticate the refresh; public (PKCE) clients have none. */
      clientSecret?: string
      accessToken: string
      refreshToken: string
      /** Epoch ms when the access token expires; `null` when unknown. */
      accessExpiresAt?: number | null
    }
  | { kind: 'api_token'; email: string; token: string }
  | { kind: 'sell_token'; token: string }

export type CredentialsKind = Credentials['kind']

/** A rotated OAuth pair, handed to `onRotate` so that the caller stores it. */
export interface OAuthTokenPair {
  accessToken: string
  refreshToken: string
  /** Epoch ms; `null` when Zendesk gave no lifetime. */
  accessExpiresAt: number | null
  refreshExpiresAt: number | null
}

/** The slice of a pino logger used here and by the client. */
export interface ZendeskLogger {
  debug(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export const silentLogger: ZendeskLogger = { debug: () => {}, warn: () => {}, error: () => {} }

/** Gives the `Authorization` header for the next request. */
export interface TokenProvider {
  readonly kind: CredentialsKind
  /** The header value; may fetch or refresh a token (throws `ZendeskError`). */
  authorization(): Promise<string>
  /**
   * Called after Zendesk answered 401 to a request sent with `refused`. Returns whether a retry
   * with a fresh header can help (OAuth: the next `authorization()` gets a new token).
   */
  invalidate(refused: string): boolean
  /** A description without secrets. */
  toJSON(): Record<string, unknown>
  /** A short label without secrets. */
  toString(): string
}

export interface TokenProviderOptions {
  /** The Support origin (`supportBaseUrl()`); the token endpoint is `{base}/oauth/tokens`. */
  supportBaseUrl: string
  clock: Clock
  logger: ZendeskLogger
  /** Persists a rotated pair (`oauth_tokens` only). Zendesk has already revoked the old one. */
  onRotate?: (pair: OAuthTokenPair) => void | Promise<void>
  /** Timeout of one token request, ms. */
  timeoutMs?: number
  userAgent?: string
}

export function createTokenProvider(credentials: Credentials, opts: TokenProviderOptions): TokenProvider {
  switch (credentials.kind) {
    case 'api_token':
      return new ApiTokenProvider(credentials.email, credentials.token, opts)
    case 'sell_token':
      return new SellTokenProvider(credentials.token)
    case 'oauth_client_credentials':
      return new ClientCredentialsProvider(credentials, opts)
    case 'oauth_tokens':
      return new RefreshingTokenProvider(credentials, opts)
  }
}

/** Days until API tokens stop working, rounded up; 0 or less once they have. */
export function apiTokenDaysLeft(nowMs: number): number {
  return Math.ceil((API_TOKEN_CUTOFF_MS - nowMs) / DAY_MS)
}

class ApiTokenProvider implements TokenProvider {
  readonly kind = 'api_token'
  readonly email: string
  readonly #header: string
  readonly #token: string

  constructor(email: string, token: string, opts: TokenProviderOptions) {
    if (email === '' || token === '') {
      throw new AppError(
        ERROR_KINDS.invalidConfig,
        'ZD_MISSING_CREDENTIALS',
        'API token: email and token are required',
      )
    }
    this.email = email
    this.#token = token
    this.#header = `Basic ${Buffer.from(`${email}/token:${token}`).toString('base64')}`
    const daysLeft = apiTokenDaysLeft(opts.clock.now())
    opts.logger.warn(
      { credentials: 'api_token', cutoff: API_TOKEN_CUTOFF, daysLeft },
      daysLeft > 0
        ? `Zendesk API tokens stop working on ${API_TOKEN_CUTOFF} (${daysLeft} days left); switch to OAuth`
        : `Zendesk API tokens stopped working on ${API_TOKEN_CUTOFF}; switch to OAuth`,
    )
  }

  authorization(): Promise<string> {
    return Promise.resolve(this.#header)
  }

  invalidate(): boolean {
    return false
  }

  toJSON(): Record<string, unknown> {
    return { kind: this.kind, email: this.email, token: redact(this.#token) }
  }

  toString(): string {
    return `TokenProvider(api_token ${this.email})`
  }
}

class SellTokenProvider implements TokenProvider {
  readonly kind = 'sell_token'
  readonly #token: string

  constructor(token: string) {
    if (token === '') {
      throw new AppError(
        ERROR_KINDS.invalidConfig,
        'ZD_MISSING_CREDENTIALS',
        'Sell token: the token is required',
      )
    }
    this.#token = token
  }

  authorization(): Promise<string> {
    return Promise.resolve(`Bearer ${this.#token}`)
  }

  invalidate(): boolean {
    return false
  }

  toJSON(): Record<string, unknown> {
    return { kind: this.kind, token: redact(this.#token) }
  }

  toString(): string {
    return 'TokenProvider(sell_token)'
  }
}

interface CachedToken {
  header: string
  /** When to stop using it: its expiry minus the safety margin; `null` = until refused. */
  renewAt: number | null
}

/** Shared by both OAuth providers: caching, renewal margin, single flight, token requests. */
abstract class OAuthProvider implements TokenProvider {
  abstract readonly kind: 'oauth_client_credentials' | 'oauth_tokens'
  readonly clientId: string
  protected readonly opts: TokenProviderOptions
  protected readonly as: oauth.AuthorizationServer
  protected readonly client: oauth.Client
  #cached: CachedToken | null = null
  #pending: Promise<CachedToken> | null = null

  constructor(clientId: string, opts: TokenProviderOptions) {
    this.clientId = clientId
    this.opts = opts
    this.as = { issuer: opts.supportBaseUrl, token_endpoint: `${opts.supportBaseUrl}/oauth/tokens` }
    this.client = { client_id: clientId }
  }

  async authorization(): Promise<string> {
    const cached = this.#cached
    if (cached && (cached.renewAt === null || this.opts.clock.now() < cached.renewAt)) {
      return cached.header
    }
    if (!this.#pending) {
      this.#pending = this.fetchToken().finally(() => {
        this.#pending = null
      })
    }
    const token = await this.#pending
    this.#cached = token
    return token.header
  }

  invalidate(refused: string): boolean {
    if (this.#cached?.header === refused) {
      this.#cached = null
    }
    return true
  }

  /** Seeds the cache (a stored access token that is still good). */
  protected seed(token: CachedToken): void {
    this.#cached = token
  }

  protected abstract fetchToken(): Promise<CachedToken>

  abstract toJSON(): Record<string, unknown>

  toString(): string {
    return `TokenProvider(${this.kind} ${this.clientId})`
  }

  /** When to renew a token that lives `expiresInS` from now. */
  protected renewAt(expiresInS: number | undefined): number | null {
    if (expiresInS === undefined) {
      return null
    }
    const lifetimeMs = expiresInS * 1000
    return this.opts.clock.now() + lifetimeMs - Math.min(60_000, lifetimeMs / 10)
  }

  protected requestOptions(): oauth.TokenEndpointRequestOptions {
    return {
      [oauth.allowInsecureRequests]: this.as.token_endpoint?.startsWith('http://') ?? false,
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      headers: { 'user-agent': this.opts.userAgent ?? 'zendesk-destination' },
    }
  }

  /** Sends a token request and validates the answer, turning every failure into a ZendeskError. */
  protected async tokenRequest(
    send: () => Promise<Response>,
    process: (response: Response) => Promise<oauth.TokenEndpointResponse>,
  ): Promise<oauth.TokenEndpointResponse> {
    const info = { method: 'POST', path: 'oauth/tokens' }
    let response: Response
    try {
      response = await send()
    } catch (err) {
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
        throw timeoutError(info, this.opts.timeoutMs ?? 30_000)
      }
      throw networkError(info, err instanceof TypeError && err.cause !== undefined ? err.cause : err)
    }
    if (response.status !== 200) {
      const text = await response.text()
      const headers: Record<string, string> = {}
      response.headers.forEach((v, k) => {
        headers[k] = v
      })
      throw errorFromAnswer(
        { status: response.status, headers, body: parseMaybeJson(text) },
        info,
        this.opts.clock.now(),
        'oauth',
      )
    }
    try {
      return await process(response)
    } catch {
      // No cause and no body: a malformed success answer may still carry a token.
      throw new ZendeskError({
        kind: ERROR_KINDS.transient,
        code: 'ZD_INVALID_RESPONSE',
        message: 'Zendesk answered the OAuth token request with a body that is not a valid token response',
        status: response.status,
        method: info.method,
        path: info.path,
      })
    }
  }
}

class ClientCredentialsProvider extends OAuthProvider {
  readonly kind = 'oauth_client_credentials'
  readonly scope: string
  readonly #secret: string

  constructor(c: Extract<Credentials, { kind: 'oauth_client_credentials' }>, opts: TokenProviderOptions) {
    super(c.clientId, opts)
    if (c.clientId === '' || c.clientSecret === '') {
      throw new AppError(
        ERROR_KINDS.invalidConfig,
        'ZD_MISSING_CREDENTIALS',
        'OAuth client credentials: client id and secret are required',
      )
    }
    this.#secret = c.clientSecret
    this.scope = c.scope ?? 'read write'
  }

  protected async fetchToken(): Promise<CachedToken> {
    const result = await this.tokenRequest(
      () =>
        oauth.clientCredentialsGrantRequest(
          this.as,
          this.client,
          oauth.ClientSecretPost(this.#secret),
          { scope: this.scope },
          this.requestOptions(),
        ),
      (response) => oauth.processClientCredentialsResponse(this.as, this.client, response),
    )
    this.opts.logger.debug(
      { credentials: this.kind, clientId: this.clientId, expiresInS: result.expires_in ?? null },
      'Fetched a Zendesk OAuth access token',
    )
    return { header: `Bearer ${result.access_token}`, renewAt: this.renewAt(result.expires_in) }
  }

  toJSON(): Record<string, unknown> {
    return { kind: this.kind, clientId: this.clientId, clientSecret: redact(this.#secret), scope: this.scope }
  }
}

class RefreshingTokenProvider extends OAuthProvider {
  readonly kind = 'oauth_tokens'
  readonly #secret: string | null
  #refreshToken: string

  constructor(c: Extract<Credentials, { kind: 'oauth_tokens' }>, opts: TokenProviderOptions) {
    super(c.clientId, opts)
    if (c.clientId === '' || c.refreshToken === '') {
      throw new AppError(
        ERROR_KINDS.invalidConfig,
        'ZD_MISSING_CREDENTIALS',
        'OAuth tokens: client id and refresh token are required',
      )
    }
    this.#secret = c.clientSecret ?? null
    this.#refreshToken = c.refreshToken
    if (c.accessToken !== '') {
      const expiresAt = c.accessExpiresAt ?? null
      // A stored token is used until its expiry minus the same margin as a fresh one would get
      // (its lifetime is unknown here, so the fixed 60 s margin applies).
      this.seed({
        header: `Bearer ${c.accessToken}`,
        renewAt: expiresAt === null ? null : expiresAt - 60_000,
      })
    }
  }

  protected async fetchToken(): Promise<CachedToken> {
    const auth = this.#secret === null ? oauth.None() : oauth.ClientSecretPost(this.#secret)
    const result = await this.tokenRequest(
      () =>
        oauth.refreshTokenGrantRequest(this.as, this.client, auth, this.#refreshToken, this.requestOptions()),
      (response) => oauth.processRefreshTokenResponse(this.as, this.client, response),
    )
    const now = this.opts.clock.now()
    const refreshExpiresIn = result.refresh_token_expires_in
    const pair: OAuthTokenPair = {
      accessToken: result.access_token,
      // Zendesk always rotates (facts §1.2); keep the old one if a server ever does not.
      refreshToken: result.refresh_token ?? this.#refreshToken,
      accessExpiresAt: result.expires_in === undefined ? null : now + result.expires_in * 1000,
      refreshExpiresAt: typeof refreshExpiresIn === 'number' ? now + refreshExpiresIn * 1000 : null,
    }
    this.#refreshToken = pair.refreshToken
    this.opts.logger.debug(
      { credentials: this.kind, clientId: this.clientId, expiresInS: result.expires_in ?? null },
      'Refreshed the Zendesk OAuth token pair',
    )
    try {
      await this.opts.onRotate?.(pair)
    } catch (err) {
      // The new pair works and the old one is revoked: keep going with the new pair in memory.
      // Only a restart would need the stored pair, and it would then fail as auth_failed.
      this.opts.logger.error(
        { credentials: this.kind, clientId: this.clientId, err: errorSummary(err) },
        'Could not store the rotated Zendesk OAuth token pair; the stored pair is now revoked',
      )
    }
    return { header: `Bearer ${pair.accessToken}`, renewAt: this.renewAt(result.expires_in) }
  }

  toJSON(): Record<string, unknown> {
    return {
      kind: this.kind,
      clientId: this.clientId,
      clientSecret: redact(this.#secret),
      refreshToken: redact(this.#refreshToken),
    }
  }
}

function parseMaybeJson(text: string): unknown {
  if (text === '') {
    return null
  }
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

function errorSummary(err: unknown): Record<string, unknown> {
  return err instanceof Error ? { name: err.name, message: err.message } : { value: String(err) }
}
