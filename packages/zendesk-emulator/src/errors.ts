/**
 * Zendesk's error bodies, one builder per shape (facts §1.3, §1.4). Route handlers throw an
 * `ApiError`; the server's error handler writes its status, headers and body unchanged.
 */

export class ApiError extends Error {
  readonly status: number
  readonly body: unknown
  readonly headers: Record<string, string>

  constructor(status: number, body: unknown, headers: Record<string, string> = {}) {
    super(`emulated Zendesk error ${status}`)
    this.status = status
    this.body = body
    this.headers = headers
  }
}

/** One entry of a 422 `details` list. Codes: DuplicateValue, InvalidValue, BlankValue, … */
export interface FieldError {
  description: string
  error: string
}

export type ErrorDetails = Record<string, FieldError[]>

/** Collects every problem of a request before answering one 422 with all of them. */
export function detailsCollector(): {
  details: ErrorDetails
  add: (field: string, error: string, description: string) => void
} {
  const details: ErrorDetails = {}
  return {
    details,
    add: (field, error, description) => {
      ;(details[field] ??= []).push({ description, error })
    },
  }
}

export function recordInvalidBody(details: ErrorDetails): unknown {
  return { error: 'RecordInvalid', description: 'Record validation errors', details }
}

/** 422 RecordInvalid with per-field details, e.g. `{ email: [{ description, error: 'DuplicateValue' }] }`. */
export function recordInvalid(details: ErrorDetails): ApiError {
  return new ApiError(422, recordInvalidBody(details))
}

/** A one-field 422, the common case. */
export function fieldInvalid(field: string, error: string, description: string): ApiError {
  return recordInvalid({ [field]: [{ description, error }] })
}

export function recordNotFound(): ApiError {
  return new ApiError(404, { error: 'RecordNotFound', description: 'Not found' })
}

export function invalidEndpoint(): ApiError {
  return new ApiError(404, { error: 'InvalidEndpoint', description: 'Not found' })
}

export function unauthorized(): ApiError {
  return new ApiError(401, { error: "Couldn't authenticate you" })
}

export function forbidden(
  message = 'You do not have access to this page. Please contact the account owner of this help desk for further help.',
): ApiError {
  return new ApiError(403, { error: { title: 'Forbidden', message } })
}

/** 400 for a malformed request (missing parameters, too many items in a bulk call, …). */
export function badRequest(error: string, description: string): ApiError {
  return new ApiError(400, { error, description })
}

/** Zendesk's bulk limit: at most 100 items per call [OAS]. */
export const BULK_LIMIT = 100

export function tooManyItems(what: string, count: number): ApiError {
  return badRequest(
    'InvalidValue',
    `Too many ${what}: ${count} given, at most ${BULK_LIMIT} allowed per request`,
  )
}

/** Body of a 429 (the docs' example is an HTML body; clients must not parse it) [D-bp]. */
export function rateLimited(retryAfterS: number, extraHeaders: Record<string, string> = {}): ApiError {
  return new ApiError(429, 'Too Many Requests', { 'retry-after': String(retryAfterS), ...extraHeaders })
}

/**
 * How a bulk job reports an item that failed with `err` (facts §7): `error` is the code a single
 * call would have answered (`RecordInvalid`, `RecordNotFound`, …) and `details` the descriptions
 * joined into one line (e.g. "Name: Acme has already been taken"). The real texts per job kind are
 * unverified. Anything that is not an `ApiError` is a bug and is rethrown.
 */
export function bulkFailure(err: unknown): { error: string; details: string } {
  if (!(err instanceof ApiError) || typeof err.body !== 'object' || err.body === null) {
    throw err
  }
  const body = err.body as { error?: unknown; description?: unknown; details?: ErrorDetails }
  const error = String(body.error)
  const entries = body.details ? Object.values(body.details).flat() : []
  if (entries.length > 0) {
    return { error, details: entries.map((e) => e.description.trim()).join(' ') }
  }
  return { error, details: String(body.description) }
}
