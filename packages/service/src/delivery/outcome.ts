/**
 * The one place that decides what happens to a job after an attempt (conventions §4.5):
 *
 * | What happened                                   | Outcome                                       |
 * | ----------------------------------------------- | --------------------------------------------- |
 * | success                                         | delivered                                     |
 * | invalid_event (the sender's data is wrong)      | failed — not retried                          |
 * | rejected (Zendesk refused this record: 4xx)     | failed — not retried, Zendesk's error kept    |
 * | invalid_config (the operator must fix a setting)| parked — replayable after the fix             |
 * | auth_failed (401/403)                           | parked — attempts not spent                   |
 * | rate_limited (429)                              | retry at Retry-After (capped, jittered); attempts do not run out, Zendesk asked us to wait |
 * | transient (5xx, timeout, network)               | retry with exponential backoff (or Retry-After if longer) until maxAttempts, then failed |
 * | anything else (a bug of ours)                   | parked — kept for a fix and replay            |
 */
import { AppError, ERROR_KINDS } from '../errors.js'

export type Outcome =
  | { kind: 'delivered' }
  /** `spendAttempt` is false for rate limits: Zendesk asked us to wait; the job did not fail. */
  | { kind: 'retry'; at: number; reason: string; spendAttempt: boolean }
  | { kind: 'failed'; reason: string }
  | { kind: 'parked'; reason: string }

export interface RetryPolicy {
  /** Attempts after which a transient failure becomes final. */
  maxAttempts: number
  /** Longest wait accepted from a Retry-After header. */
  maxRetryAfterMs: number
}

export interface Attempt {
  /** Null on success. */
  error: unknown
  /** Attempts made so far, this one included (1 on the first failure). */
  attempt: number
  now: number
}

export interface OutcomeDeps {
  policy: RetryPolicy
  /** Backoff for the nth attempt (1-based), jitter included. */
  backoffMs: (attempt: number) => number
  /** Jitter in [0, 1), injected for tests. */
  random: () => number
}

function describe(error: unknown): string {
  if (error instanceof AppError) {
    return `${error.code}: ${error.message}`
  }
  return error instanceof Error ? error.message : String(error)
}

export function classifyOutcome(a: Attempt, deps: OutcomeDeps): Outcome {
  if (a.error === null) {
    return { kind: 'delivered' }
  }
  const reason = describe(a.error)
  if (!(a.error instanceof AppError)) {
    return { kind: 'parked', reason: `internal error: ${reason}` }
  }
  const retryAfterMs =
    a.error.retryAfterS === undefined
      ? undefined
      : Math.min(a.error.retryAfterS * 1000, deps.policy.maxRetryAfterMs)
  switch (a.error.kind) {
    case ERROR_KINDS.invalidEvent:
    case ERROR_KINDS.rejected:
      return { kind: 'failed', reason }
    case ERROR_KINDS.invalidConfig:
    case ERROR_KINDS.authFailed:
    case ERROR_KINDS.internal:
      return { kind: 'parked', reason }
    case ERROR_KINDS.rateLimited: {
      // Up to 10% jitter after Retry-After, so that parked workers don't all wake together.
      const wait = (retryAfterMs ?? deps.backoffMs(a.attempt)) * (1 + 0.1 * deps.random())
      return { kind: 'retry', at: a.now + Math.ceil(wait), reason, spendAttempt: false }
    }
    case ERROR_KINDS.transient: {
      if (a.attempt >= deps.policy.maxAttempts) {
        return { kind: 'failed', reason: `gave up after ${a.attempt} attempts: ${reason}` }
      }
      const wait = Math.max(deps.backoffMs(a.attempt), retryAfterMs ?? 0)
      return { kind: 'retry', at: a.now + Math.ceil(wait), reason, spendAttempt: true }
    }
  }
}
