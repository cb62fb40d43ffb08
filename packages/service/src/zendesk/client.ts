/**
 * Executes `ZendeskRequest` values over HTTP (conventions §4.2, §4.6). One client per Zendesk
 * account. For every request it:
 *
 * 1. gets the `Authorization` header from the token provider (which may fetch an OAuth token);
 * 2. waits for a permit from the account's rate limiter;
 * 3. sends `{support}/api/v2/{path}.json` or `{sell}/v2/{path}` with a JSON body, over a keep-alive
 *    undici pool (10 connections per origin), with a total timeout;
 * 4. reports the answer's headers to the limiter (which pauses the account on a 429);
 * 5. returns a 2xx answer, or throws a `ZendeskError` (body parsed as JSON when it is JSON:
 *    Zendesk may answer errors as text/html, facts §1.4).
 *
 * A 401 on OAuth credentials is retried exactly once with a fresh token. Nothing else is retried
 * here: 429 and 5xx go back to the delivery layer, the one place that decides retries
 * (conventions §5.5); the limiter already holds the 429's Retry-After, so the next request waits.
 */
import { Agent, request as undiciRequest } from 'undici'

import { AppError, ERROR_KINDS } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import {
  createTokenProvider,
  silentLogger,
  type Credentials,
  type OAuthTokenPair,
  type TokenProvider,
  type ZendeskLogger,
} from './auth.js'
import {
  errorFromAnswer,
  invalidResponseError,
  networkError,
  timeoutError,
  ZendeskError,
  type RequestInfo,
} from './errors.js'
import type { RateLimitAnswer, ZendeskRateLimiter } from './rate-limiter.js'
import type { ZendeskRequest, ZendeskResponse } from './request.js'

export const DEFAULT_TIMEOUT_MS = 30_000
export const DEFAULT_USER_AGENT = 'zendesk-destination'

export interface ZendeskClientOptions {
  /** From `supportBaseUrl()`. */
  supportBaseUrl: string
  /** From `sellBaseUrl()`; needed only for Sell requests. */
  sellBaseUrl?: string
  /** Support API credentials (a provider is built from them), or a ready provider. */
  credentials?: Credentials
  tokenProvider?: TokenProvider
  /** Stores a rotated OAuth pair (with `credentials.kind === 'oauth_tokens'`). */
  onRotate?: (pair: OAuthTokenPair) => void | Promise<void>
  /** Sell API personal access token. */
  sellToken?: string
  limiter: ZendeskRateLimiter
  clock: Clock
  /** Total time for one HTTP exchange (connect, headers, body), ms. Default 30 s. */
  timeoutMs?: number
  logger?: ZendeskLogger
  /** Sell rejects requests without a User-Agent (facts §10). */
  userAgent?: string
  /** Connections per origin. Default 10. */
  connections?: number
}

export interface SendOptions {
  /** Aborts waiting for the limiter and the request itself (shutdown). */
  signal?: AbortSignal
}

/** The acting user, as `testConnection` found it. */
export interface ConnectedUser {
  userId: number
  name: string | null
  email: string | null
  role: string | null
}

export interface ZendeskClient {
  send<T = unknown>(req: ZendeskRequest, opts?: SendOptions): Promise<ZendeskResponse<T>>
  /**
   * Checks the Support credentials with `GET users/me`, requiring a real user id: Zendesk answers
   * 200 with an anonymous user to bad credentials on that endpoint (facts §1.3).
   */
  testConnection(opts?: SendOptions): Promise<ConnectedUser>
  /**
   * Checks the Sell token with `GET users/self` (Sell's "Retrieve an authenticating user"):
   * what the worker probes after Sell refused the token. Without a Sell token it throws
   * `ZD_NO_CREDENTIALS`.
   */
  testSellConnection(opts?: SendOptions): Promise<ConnectedUser>
  /** Closes the connection pool. */
  close(): Promise<void>
}

interface RawAnswer {
  status: number
  headers: Record<string, string>
  text: string
  /** When the exchange began (`ZendeskResponse.sentAt`). */
  sentAt: number
}

export function createZendeskClient(opts: ZendeskClientOptions): ZendeskClient {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const logger = opts.logger ?? silentLogger
  const userAgent = opts.userAgent ?? DEFAULT_USER_AGENT
  const { limiter, clock } = opts
  const supportBase = opts.supportBaseUrl.replace(/\/+$/, '')
  const sellBase = opts.sellBaseUrl?.replace(/\/+$/, '') ?? null

  if (opts.credentials && opts.tokenProvider) {
    throw new AppError(
      ERROR_KINDS.internal,
      'ZD_CLIENT_OPTIONS',
      'createZendeskClient: give credentials or a tokenProvider, not both',
    )
  }
  const providerOptions = {
    supportBaseUrl: supportBase,
    clock,
    logger,
    timeoutMs,
    userAgent,
    ...(opts.onRotate ? { onRotate: opts.onRotate } : {}),
  }
  const support: TokenProvider | null =
    opts.tokenProvider ?? (opts.credentials ? createTokenProvider(opts.credentials, providerOptions) : null)
  const sell: TokenProvider | null = opts.sellToken
    ? createTokenProvider({ kind: 'sell_token', token: opts.sellToken }, providerOptions)
    : null

  const agent = new Agent({
    connections: opts.connections ?? 10,
    keepAliveTimeout: 30_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: Math.min(timeoutMs, 10_000) },
  })

  function urlOf(req: ZendeskRequest): string {
    const path = req.path.replace(/^\/+/, '').replace(/\.json$/, '')
    let url: string
    if (req.api === 'sell') {
      if (sellBase === null) {
        throw new AppError(
          ERROR_KINDS.invalidConfig,
          'ZD_NO_SELL_URL',
          'sellBaseUrl: required for Sell requests',
          {
            field: 'sellBaseUrl',
          },
        )
      }
      url = `${sellBase}/v2/${path}`
    } else {
      url = `${supportBase}/api/v2/${path}.json`
    }
    const query = req.query ? new URLSearchParams(req.query).toString() : ''
    return query === '' ? url : `${url}?${query}`
  }

  /** One exchange: limiter permit, HTTP, answer reported to the limiter. Throws only for no answer. */
  async function exchange(
    req: ZendeskRequest,
    url: string,
    authorization: string,
    info: RequestInfo,
    signal: AbortSignal | undefined,
  ): Promise<RawAnswer> {
    const permit = await limiter.acquire(req.limitClass, req.limitKey, signal)
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': userAgent,
      authorization,
    }
    let body: string | undefined
    if (req.body !== undefined) {
      body = JSON.stringify(req.body)
      headers['content-type'] = 'application/json'
    }
    const timeout = AbortSignal.timeout(timeoutMs)
    const started = clock.now()
    let answer: RawAnswer
    try {
      const res = await undiciRequest(url, {
        dispatcher: agent,
        method: req.method,
        headers,
        body: body ?? null,
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      })
      answer = {
        status: res.statusCode,
        headers: flatHeaders(res.headers),
        text: await res.body.text(),
        sentAt: started,
      }
    } catch (err) {
      permit.done(null)
      throw noAnswerError(err, info, timeout, signal)
    }
    const limitAnswer: RateLimitAnswer = { status: answer.status, headers: answer.headers }
    permit.done(limitAnswer)
    logger.debug(
      { api: req.api, method: req.method, path: info.path, status: answer.status, ms: clock.now() - started },
      'Zendesk request',
    )
    return answer
  }

  function noAnswerError(
    err: unknown,
    info: RequestInfo,
    timeout: AbortSignal,
    signal: AbortSignal | undefined,
  ): ZendeskError {
    if (signal?.aborted && !timeout.aborted) {
      return new ZendeskError({
        kind: ERROR_KINDS.transient,
        code: 'ZD_ABORTED',
        message: `${info.method} ${info.path} was cancelled before Zendesk answered`,
        status: null,
        method: info.method,
        path: info.path,
        api: info.api ?? null,
        cause: err,
      })
    }
    const code = (err as { code?: unknown } | null)?.code
    const isTimeout =
      timeout.aborted ||
      (err instanceof Error && err.name === 'TimeoutError') ||
      code === 'UND_ERR_HEADERS_TIMEOUT' ||
      code === 'UND_ERR_BODY_TIMEOUT' ||
      code === 'UND_ERR_CONNECT_TIMEOUT'
    return isTimeout ? timeoutError(info, timeoutMs, err) : networkError(info, err)
  }

  async function send<T>(req: ZendeskRequest, sendOpts: SendOptions = {}): Promise<ZendeskResponse<T>> {
    const provider = req.api === 'sell' ? sell : support
    if (provider === null) {
      throw new AppError(
        ERROR_KINDS.invalidConfig,
        'ZD_NO_CREDENTIALS',
        req.api === 'sell'
          ? 'sellToken: required for Sell requests'
          : 'credentials: required for Support requests',
        { field: req.api === 'sell' ? 'sellToken' : 'credentials' },
      )
    }
    const url = urlOf(req)
    const info: RequestInfo = { method: req.method, path: req.path, api: req.api }

    let authorization = await provider.authorization()
    let answer = await exchange(req, url, authorization, info, sendOpts.signal)
    if (answer.status === 401 && provider.invalidate(authorization)) {
      logger.debug(
        { api: req.api, path: info.path },
        'Zendesk refused the OAuth token; retrying once with a new one',
      )
      authorization = await provider.authorization()
      answer = await exchange(req, url, authorization, info, sendOpts.signal)
    }

    const parsed = parseBody(answer.text)
    const ok = answer.status >= 200 && answer.status < 300
    if (ok) {
      if (parsed.kind === 'text') {
        throw invalidResponseError(info, answer.status, answer.text)
      }
      return {
        status: answer.status,
        headers: answer.headers,
        body: parsed.value as T,
        sentAt: answer.sentAt,
      }
    }
    throw errorFromAnswer(
      { status: answer.status, headers: answer.headers, body: parsed.value },
      info,
      clock.now(),
    )
  }

  async function testConnection(sendOpts: SendOptions = {}): Promise<ConnectedUser> {
    const res = await send<{ user?: Record<string, unknown> | null }>(
      { api: 'support', method: 'GET', path: 'users/me', limitClass: 'account' },
      sendOpts,
    )
    const user = isRecord(res.body) && isRecord(res.body.user) ? res.body.user : null
    const id = user?.id
    if (user === null || typeof id !== 'number') {
      throw new ZendeskError({
        kind: ERROR_KINDS.authFailed,
        code: 'ZD_ANONYMOUS_USER',
        message: 'Zendesk answered users/me with an anonymous user: the credentials were not accepted',
        status: res.status,
        method: 'GET',
        path: 'users/me',
      })
    }
    return {
      userId: id,
      name: stringOrNull(user.name),
      email: stringOrNull(user.email),
      role: stringOrNull(user.role),
    }
  }

  async function testSellConnection(sendOpts: SendOptions = {}): Promise<ConnectedUser> {
    const res = await send<{ data?: Record<string, unknown> | null }>(
      { api: 'sell', method: 'GET', path: 'users/self', limitClass: 'sell' },
      sendOpts,
    )
    const user = isRecord(res.body) && isRecord(res.body.data) ? res.body.data : null
    const id = user?.id
    if (user === null || typeof id !== 'number') {
      throw invalidResponseError({ method: 'GET', path: 'users/self', api: 'sell' }, res.status, 'no user')
    }
    return {
      userId: id,
      name: stringOrNull(user.name),
      email: stringOrNull(user.email),
      role: stringOrNull(user.role),
    }
  }

  return {
    send,
    testConnection,
    testSellConnection,
    close: () => agent.close(),
  }
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined) {
      out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v
    }
  }
  return out
}

function parseBody(
  text: string,
): { kind: 'json' | 'empty'; value: unknown } | { kind: 'text'; value: string } {
  if (text.trim() === '') {
    return { kind: 'empty', value: null }
  }
  try {
    return { kind: 'json', value: JSON.parse(text) as unknown }
  } catch {
    return { kind: 'text', value: text }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function stringOrNull(v: unknown): string | null {
  return typeof v === 'string' ? v : null
}
