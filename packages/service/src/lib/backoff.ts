/**
 * Exponential backoff with "full jitter" (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): the delay of attempt n is drawn uniformly from [0, min(max, base · 2^(n-1))). Full
 * jitter spreads retries of many jobs that failed together (a Zendesk incident) instead of
 * sending them back in waves. Randomness is injected so tests are exact.
 */

export interface BackoffOptions {
  /** Ceiling of the first attempt's delay, milliseconds. */
  baseMs: number
  /** Largest ceiling, milliseconds. */
  maxMs: number
  /** A number in [0, 1); `Math.random` unless a test injects one. */
  random?: () => number
}

/** The upper bound of the delay after failed attempt `attempt` (1 = the first failure). */
export function backoffCeilingMs(attempt: number, opts: Pick<BackoffOptions, 'baseMs' | 'maxMs'>): number {
  const n = Math.max(1, Math.floor(attempt))
  // 2^(n-1) overflows to Infinity for large n; Math.min keeps the result finite.
  return Math.min(opts.maxMs, opts.baseMs * 2 ** (n - 1))
}

/** The delay after failed attempt `attempt`, milliseconds, rounded down to a whole millisecond. */
export function backoffDelayMs(attempt: number, opts: BackoffOptions): number {
  const random = opts.random ?? Math.random
  const r = Math.min(Math.max(random(), 0), 1)
  return Math.floor(r * backoffCeilingMs(attempt, opts))
}
