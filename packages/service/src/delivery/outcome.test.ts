import { describe, expect, test } from 'vitest'

import { AppError, ERROR_KINDS, type ErrorKind } from '../errors.js'
import { classifyOutcome, type Outcome, type OutcomeDeps } from './outcome.js'

const deps: OutcomeDeps = {
  policy: { maxAttempts: 5, maxRetryAfterMs: 60_000 },
  backoffMs: (attempt) => 1000 * 2 ** (attempt - 1),
  random: () => 0.5,
}
const now = 1_000_000

function err(kind: ErrorKind, retryAfterS?: number): AppError {
  return new AppError(
    kind,
    `TEST_${kind.toUpperCase()}`,
    'boom',
    retryAfterS === undefined ? {} : { retryAfterS },
  )
}

describe('classifyOutcome', () => {
  test.each<[string, unknown, number, Outcome]>([
    ['success', null, 1, { kind: 'delivered' }],
    [
      'invalid event',
      err(ERROR_KINDS.invalidEvent),
      1,
      { kind: 'failed', reason: 'TEST_INVALID_EVENT: boom' },
    ],
    [
      'Zendesk rejected the record',
      err(ERROR_KINDS.rejected),
      1,
      { kind: 'failed', reason: 'TEST_REJECTED: boom' },
    ],
    [
      'bad configuration',
      err(ERROR_KINDS.invalidConfig),
      1,
      { kind: 'parked', reason: 'TEST_INVALID_CONFIG: boom' },
    ],
    [
      'auth failure, first attempt',
      err(ERROR_KINDS.authFailed),
      1,
      { kind: 'parked', reason: 'TEST_AUTH_FAILED: boom' },
    ],
    [
      'auth failure, late attempt',
      err(ERROR_KINDS.authFailed),
      9,
      { kind: 'parked', reason: 'TEST_AUTH_FAILED: boom' },
    ],
    ['our bug', err(ERROR_KINDS.internal), 1, { kind: 'parked', reason: 'TEST_INTERNAL: boom' }],
    ['a plain Error', new Error('oops'), 1, { kind: 'parked', reason: 'internal error: oops' }],
    [
      '429 with Retry-After 3',
      err(ERROR_KINDS.rateLimited, 3),
      1,
      { kind: 'retry', at: now + 3150, reason: 'TEST_RATE_LIMITED: boom', spendAttempt: false },
    ],
    [
      '429 with a huge Retry-After is capped',
      err(ERROR_KINDS.rateLimited, 86_400),
      1,
      { kind: 'retry', at: now + 63_000, reason: 'TEST_RATE_LIMITED: boom', spendAttempt: false },
    ],
    [
      '429 never runs out of attempts',
      err(ERROR_KINDS.rateLimited, 1),
      50,
      { kind: 'retry', at: now + 1050, reason: 'TEST_RATE_LIMITED: boom', spendAttempt: false },
    ],
    [
      '429 without Retry-After backs off',
      err(ERROR_KINDS.rateLimited),
      2,
      { kind: 'retry', at: now + 2100, reason: 'TEST_RATE_LIMITED: boom', spendAttempt: false },
    ],
    [
      '5xx, first attempt',
      err(ERROR_KINDS.transient),
      1,
      { kind: 'retry', at: now + 1000, reason: 'TEST_TRANSIENT: boom', spendAttempt: true },
    ],
    [
      '5xx, third attempt',
      err(ERROR_KINDS.transient),
      3,
      { kind: 'retry', at: now + 4000, reason: 'TEST_TRANSIENT: boom', spendAttempt: true },
    ],
    [
      '503 with a longer Retry-After',
      err(ERROR_KINDS.transient, 30),
      1,
      { kind: 'retry', at: now + 30_000, reason: 'TEST_TRANSIENT: boom', spendAttempt: true },
    ],
    [
      '5xx, last attempt',
      err(ERROR_KINDS.transient),
      5,
      { kind: 'failed', reason: 'gave up after 5 attempts: TEST_TRANSIENT: boom' },
    ],
  ])('%s', (_name, error, attempt, expected) => {
    expect(classifyOutcome({ error, attempt, now }, deps)).toEqual(expected)
  })
})
