/**
 * The service's one error family (conventions §4.5). Every error carries a stable `code`
 * (area-prefixed, SCREAMING_SNAKE) and a `kind` saying who must act. Delivery turns kinds into
 * job outcomes in exactly one place (`delivery/outcome.ts`); HTTP turns them into statuses.
 */

export const ERROR_KINDS = {
  /** The sender must fix the event (400 at ingest; job failed, not retried). */
  invalidEvent: 'invalid_event',
  /** The operator must fix configuration (400 at admin; job parked, replayable). */
  invalidConfig: 'invalid_config',
  /** The operator must fix Zendesk credentials (destination paused; jobs parked). */
  authFailed: 'auth_failed',
  /** Zendesk refused this record (job failed for that item). */
  rejected: 'rejected',
  /** Wait and retry (429, Retry-After). */
  rateLimited: 'rate_limited',
  /** Zendesk or the network failed transiently (retry with backoff). */
  transient: 'transient',
  /** A bug of ours (job parked, alert). */
  internal: 'internal',
} as const

export type ErrorKind = (typeof ERROR_KINDS)[keyof typeof ERROR_KINDS]

export interface AppErrorOptions {
  /** Field path the error is about, e.g. `traits.email`. */
  field?: string
  /** Seconds to wait before retrying, when Zendesk said so. */
  retryAfterS?: number
  cause?: unknown
}

export class AppError extends Error {
  readonly code: string
  readonly kind: ErrorKind
  readonly field: string | undefined
  readonly retryAfterS: number | undefined

  constructor(kind: ErrorKind, code: string, message: string, opts: AppErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'AppError'
    this.kind = kind
    this.code = code
    this.field = opts.field
    this.retryAfterS = opts.retryAfterS
  }
}

/** Configuration that cannot start the service; lists every problem at once. */
export class ConfigError extends AppError {
  readonly problems: string[]

  constructor(problems: string[]) {
    super(ERROR_KINDS.invalidConfig, 'CONFIG_INVALID', `Invalid configuration:\n  ${problems.join('\n  ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}
