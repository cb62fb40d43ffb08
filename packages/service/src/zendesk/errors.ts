/**
 * `ZendeskError`: what the client throws for every failed Zendesk call, classified by who must
 * act (conventions §4.5):
 *
 * | Answer                              | kind           | code                   |
 * | ----------------------------------- | -------------- | ---------------------- |
 * | 401, 403                            | `auth_failed`  | `ZD_HTTP_401` / `_403` |
 * | 429                                 | `rate_limited` | `ZD_RATE_LIMITED`      |
 * | 5xx, 408                            | `transient`    | `ZD_HTTP_5xx` / `_408` |
 * | other 4xx (400, 404, 409, 422, …)   | `rejected`     | `ZD_HTTP_4xx`          |
 * | 3xx (we never follow redirects)     | `invalid_config` | `ZD_HTTP_3xx`        |
 * | no answer in time                   | `transient`    | `ZD_TIMEOUT`           |
 * | connection refused, reset, DNS      | `transient`    | `ZD_NETWORK`           |
 * | a 2xx whose body is not JSON        | `transient`    | `ZD_INVALID_RESPONSE`  |
 * | the OAuth token endpoint refuses    | `auth_failed`  | `ZD_OAUTH_REFUSED`     |
 *
 * Zendesk's own error code (`RecordInvalid`, `Forbidden`, Sell's `blank`, OAuth's
 * `invalid_grant`, …) is kept apart in `zendeskCode`; the description text is localised to the
 * acting user's language (facts §1.4), so code must branch on `zendeskCode`, never on text.
 * An error never holds request headers, so credentials cannot leak through it.
 */
import { AppError, ERROR_KINDS, type ErrorKind } from '../errors.js'
import { parseRetryAfter } from '../lib/retry-after.js'
import type { ZendeskApi } from './request.js'

/** Longest text body kept on an error (Zendesk may answer with a whole HTML page). */
const MAX_TEXT_BODY = 2_000

export interface ZendeskErrorInit {
  kind: ErrorKind
  code: string
  message: string
  /** HTTP status; `null` when no answer came (timeout, network). */
  status: number | null
  zendeskCode?: string | null
  retryAfterS?: number | null
  body?: unknown
  method?: string
  path?: string
  /** Which API answered (its credentials are the ones a 401 refused). */
  api?: ZendeskApi | null
  cause?: unknown
}

export class ZendeskError extends AppError {
  readonly status: number | null
  /** Zendesk's error code from the body, e.g. `RecordInvalid`; `null` when there was none. */
  readonly zendeskCode: string | null
  /** The answer's body: parsed JSON, or text (truncated); `null` when there was none. */
  readonly body: unknown
  readonly method: string | null
  /** The request path below the API root (no query string, no host). */
  readonly path: string | null
  /**
   * The API the request went to: Support or Sell have their own credentials, so an auth failure
   * says which to fix (and the worker probes those); null when not known.
   */
  readonly api: ZendeskApi | null

  constructor(init: ZendeskErrorInit) {
    super(init.kind, init.code, init.message, {
      ...(init.retryAfterS !== null && init.retryAfterS !== undefined
        ? { retryAfterS: init.retryAfterS }
        : {}),
      ...(init.cause !== undefined ? { cause: init.cause } : {}),
    })
    this.name = 'ZendeskError'
    this.status = init.status
    this.zendeskCode = init.zendeskCode ?? null
    this.body = init.body ?? null
    this.method = init.method ?? null
    this.path = init.path ?? null
    this.api = init.api ?? null
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      kind: this.kind,
      code: this.code,
      message: this.message,
      status: this.status,
      zendeskCode: this.zendeskCode,
      retryAfterS: this.retryAfterS ?? null,
      method: this.method,
      path: this.path,
      api: this.api,
      body: this.body,
    }
  }
}

/** Who must act on an HTTP status (see the table above). */
export function kindOfStatus(status: number): ErrorKind {
  if (status === 401 || status === 403) {
    return ERROR_KINDS.authFailed
  }
  if (status === 429) {
    return ERROR_KINDS.rateLimited
  }
  if (status >= 500 || status === 408) {
    return ERROR_KINDS.transient
  }
  if (status >= 400) {
    return ERROR_KINDS.rejected
  }
  if (status >= 300) {
    // A redirect is unexpected: Zendesk does not redirect a renamed subdomain (facts §1.1), so
    // this points at a wrong base URL or a proxy in between (unverified).
    return ERROR_KINDS.invalidConfig
  }
  return ERROR_KINDS.transient
}

/**
 * Zendesk's error code from any of its error shapes (facts §1.4, §10):
 * `{"error":"RecordInvalid"}`, `{"error":{"title":"Forbidden"}}`, `{"errors":[{"code":"…"}]}`,
 * Sell's `{"errors":[{"error":{"code":"blank"}}]}` and OAuth's `{"error":"invalid_grant"}`.
 */
export function zendeskCodeOf(body: unknown): string | null {
  if (!isRecord(body)) {
    return null
  }
  const error = body.error
  if (typeof error === 'string' && error !== '') {
    return error
  }
  if (isRecord(error)) {
    return stringOf(error.title) ?? stringOf(error.code)
  }
  const first = Array.isArray(body.errors) ? (body.errors[0] as unknown) : undefined
  if (isRecord(first)) {
    if (isRecord(first.error)) {
      return stringOf(first.error.code)
    }
    return stringOf(first.code) ?? stringOf(first.title)
  }
  return null
}

/** A human-readable description from the body, when Zendesk gave one. */
function descriptionOf(body: unknown): string | null {
  if (!isRecord(body)) {
    return null
  }
  if (isRecord(body.error)) {
    return stringOf(body.error.message)
  }
  const direct = stringOf(body.description) ?? stringOf(body.error_description)
  if (direct !== null) {
    return direct
  }
  const first = Array.isArray(body.errors) ? (body.errors[0] as unknown) : undefined
  if (isRecord(first)) {
    if (isRecord(first.error)) {
      return sellDescription(body.errors as unknown[])
    }
    return stringOf(first.detail) ?? stringOf(first.title)
  }
  return null
}

/** Sell's errors described at most this many at a time (a record may fail on every field). */
const MAX_SELL_ERRORS = 5

/**
 * Sell's error list (facts §10 [Sell-err]): each `{error: {field, code, message, details}}`
 * becomes `field: message (details)`, so that a wrong Mapping ID reads
 * `custom_fields: is an unknown attribute ("aud_vip" is not a contact custom field…)` instead of
 * only its code. Several errors are joined with `; `.
 */
function sellDescription(errors: unknown[]): string | null {
  const parts = errors.flatMap((item): string[] => {
    const e = isRecord(item) && isRecord(item.error) ? item.error : null
    if (e === null) {
      return []
    }
    const message = stringOf(e.message)
    const details = stringOf(e.details)
    const text =
      message !== null && details !== null && details !== message
        ? `${message} (${details})`
        : (message ?? details ?? stringOf(e.code))
    if (text === null) {
      return []
    }
    const field = stringOf(e.field)
    return [field !== null ? `${field}: ${text}` : text]
  })
  if (parts.length === 0) {
    return null
  }
  const more = parts.length > MAX_SELL_ERRORS ? `; and ${parts.length - MAX_SELL_ERRORS} more` : ''
  return parts.slice(0, MAX_SELL_ERRORS).join('; ') + more
}

export interface FailedAnswer {
  status: number
  headers: Record<string, string>
  /** Parsed JSON, text, or null. */
  body: unknown
}

export interface RequestInfo {
  method: string
  path: string
  /** Support unless told (the OAuth token endpoint is Support's). */
  api?: ZendeskApi
}

/** The error for a non-2xx answer of the API (`area: 'api'`) or of the OAuth token endpoint. */
export function errorFromAnswer(
  answer: FailedAnswer,
  request: RequestInfo,
  nowMs: number,
  area: 'api' | 'oauth' = 'api',
): ZendeskError {
  const { status } = answer
  const body = typeof answer.body === 'string' ? truncate(answer.body) : answer.body
  const zendeskCode = zendeskCodeOf(body)
  const retryAfterS = parseRetryAfter(answer.headers['retry-after'], nowMs)
  let kind = kindOfStatus(status)
  let code = status === 429 ? 'ZD_RATE_LIMITED' : `ZD_HTTP_${status}`
  if (area === 'oauth' && status >= 400 && status < 500 && status !== 429 && status !== 408) {
    // RFC 6749 §5.2: invalid_client, invalid_grant (a revoked or expired refresh token), … —
    // only the operator can fix these.
    kind = ERROR_KINDS.authFailed
    code = 'ZD_OAUTH_REFUSED'
  }
  const what = zendeskCode !== null ? `${status} ${zendeskCode}` : String(status)
  const description = descriptionOf(body)
  const message =
    `Zendesk answered ${what} to ${request.method} ${request.path}` +
    (description !== null ? `: ${description}` : '') +
    (retryAfterS !== null ? ` (retry after ${retryAfterS} s)` : '')
  return new ZendeskError({
    kind,
    code,
    message,
    status,
    zendeskCode,
    retryAfterS,
    body,
    method: request.method,
    path: request.path,
    api: request.api ?? null,
  })
}

export function timeoutError(request: RequestInfo, timeoutMs: number, cause?: unknown): ZendeskError {
  return new ZendeskError({
    kind: ERROR_KINDS.transient,
    code: 'ZD_TIMEOUT',
    message: `Zendesk did not answer ${request.method} ${request.path} within ${timeoutMs} ms`,
    status: null,
    method: request.method,
    path: request.path,
    api: request.api ?? null,
    cause,
  })
}

export function networkError(request: RequestInfo, cause: unknown): ZendeskError {
  const reason = causeSummary(cause)
  return new ZendeskError({
    kind: ERROR_KINDS.transient,
    code: 'ZD_NETWORK',
    message: `${request.method} ${request.path} failed before Zendesk answered${reason ? `: ${reason}` : ''}`,
    status: null,
    method: request.method,
    path: request.path,
    api: request.api ?? null,
    cause,
  })
}

export function invalidResponseError(request: RequestInfo, status: number, body: string): ZendeskError {
  return new ZendeskError({
    kind: ERROR_KINDS.transient,
    code: 'ZD_INVALID_RESPONSE',
    message: `Zendesk answered ${status} to ${request.method} ${request.path} with a body that is not JSON`,
    status,
    body: truncate(body),
    method: request.method,
    path: request.path,
    api: request.api ?? null,
  })
}

/** `ECONNREFUSED`, `UND_ERR_SOCKET: other side closed`, … — codes and messages, never headers. */
function causeSummary(cause: unknown): string {
  if (!(cause instanceof Error)) {
    return ''
  }
  const code = (cause as Error & { code?: unknown }).code
  return typeof code === 'string' ? `${code} ${cause.message}` : cause.message
}

function truncate(text: string): string {
  return text.length > MAX_TEXT_BODY ? `${text.slice(0, MAX_TEXT_BODY)}…` : text
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function stringOf(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null
}
