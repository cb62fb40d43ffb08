import { describe, expect, test } from 'vitest'

import { backoffCeilingMs, backoffDelayMs } from './backoff.js'

const opts = { baseMs: 1_000, maxMs: 60_000 }

describe('backoffCeilingMs', () => {
  test.each([
    { attempt: 1, ceiling: 1_000 },
    { attempt: 2, ceiling: 2_000 },
    { attempt: 3, ceiling: 4_000 },
    { attempt: 6, ceiling: 32_000 },
    { attempt: 7, ceiling: 60_000 },
    { attempt: 50, ceiling: 60_000 },
    { attempt: 5_000, ceiling: 60_000 },
    { attempt: 0, ceiling: 1_000 },
    { attempt: -3, ceiling: 1_000 },
  ])('attempt $attempt has a ceiling of $ceiling ms', ({ attempt, ceiling }) => {
    expect(backoffCeilingMs(attempt, opts)).toBe(ceiling)
  })
})

describe('backoffDelayMs (full jitter)', () => {
  test.each([
    { attempt: 1, random: 0, delay: 0 },
    { attempt: 1, random: 0.5, delay: 500 },
    { attempt: 3, random: 0.25, delay: 1_000 },
    { attempt: 3, random: 0.999_9, delay: 3_999 },
    { attempt: 10, random: 0.5, delay: 30_000 },
    { attempt: 10, random: 1.5, delay: 60_000 },
    { attempt: 10, random: -1, delay: 0 },
  ])('attempt $attempt with random $random waits $delay ms', ({ attempt, random, delay }) => {
    expect(backoffDelayMs(attempt, { ...opts, random: () => random })).toBe(delay)
  })

  test('without an injected random the delay stays within [0, ceiling)', () => {
    for (let i = 0; i < 200; i += 1) {
      const d = backoffDelayMs(4, opts)
      expect(d).toBeGreaterThanOrEqual(0)
      expect(d).toBeLessThan(8_000)
    }
  })
})
