import { describe, expect, test } from 'vitest'

import { DEFAULT_RETRY_AFTER_CAP_S, parseRetryAfter } from './retry-after.js'

const now = Date.parse('2026-11-21T10:00:00Z')

describe('parseRetryAfter', () => {
  test.each([
    { value: '1', expected: 1, why: 'delay-seconds' },
    { value: '0', expected: 0, why: 'zero means "now"' },
    { value: ' 30 ', expected: 30, why: 'surrounding spaces are ignored' },
    { value: '0.5', expected: 0.5, why: 'fractional seconds (the emulator scales Retry-After)' },
    { value: '86400', expected: DEFAULT_RETRY_AFTER_CAP_S, why: 'capped by default' },
    { value: 'Sat, 21 Nov 2026 10:00:42 GMT', expected: 42, why: 'an HTTP-date in the future' },
    { value: 'Sat, 21 Nov 2026 10:00:41 GMT', expected: 41, why: 'another IMF-fixdate' },
    { value: 'Sat, 21 Nov 2026 09:59:00 GMT', expected: 0, why: 'an HTTP-date in the past' },
    { value: 'Saturday, 21-Nov-26 10:01:00 GMT', expected: 60, why: 'the obsolete RFC 850 form' },
    {
      value: 'Sun, 22 Nov 2026 10:00:00 GMT',
      expected: DEFAULT_RETRY_AFTER_CAP_S,
      why: 'a far date is capped',
    },
    { value: '', expected: null, why: 'empty' },
    { value: '-5', expected: null, why: 'negative' },
    { value: '1e3', expected: null, why: 'exponent notation is not delay-seconds' },
    { value: 'soon', expected: null, why: 'garbage' },
    { value: null, expected: null, why: 'missing (null)' },
    { value: undefined, expected: null, why: 'missing (undefined)' },
  ])('reads $value as $expected ($why)', ({ value, expected }) => {
    expect(parseRetryAfter(value, now)).toBe(expected)
  })

  test('a caller-given cap applies to seconds and dates alike', () => {
    expect(parseRetryAfter('120', now, { maxS: 60 })).toBe(60)
    expect(parseRetryAfter('Sat, 21 Nov 2026 10:05:00 GMT', now, { maxS: 60 })).toBe(60)
    expect(parseRetryAfter('10', now, { maxS: 60 })).toBe(10)
  })

  test('a date with a sub-second remainder rounds up, so the wait is never too short', () => {
    expect(parseRetryAfter('Sat, 21 Nov 2026 10:00:05 GMT', now - 200)).toBe(6)
  })
})
