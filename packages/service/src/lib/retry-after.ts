/**
 * `Retry-After` parsing (RFC 9110 §10.2.3): either delay-seconds or an HTTP-date. Zendesk sends
 * seconds on a 429 and sometimes on a 503 (facts §8.3, §8.4). Pure: the caller passes the time.
 */

/** Ceiling applied when the caller gives none: a misbehaving proxy must not park us for a day. */
export const DEFAULT_RETRY_AFTER_CAP_S = 900

export interface RetryAfterOptions {
  /** Largest value returned, seconds. */
  maxS?: number
}

/**
 * Seconds to wait, from a `Retry-After` value; `null` when the header is missing or unreadable.
 * A date in the past gives 0. Fractional seconds are accepted (the emulator scales Retry-After
 * and may send `0.5`), although the RFC only allows whole seconds.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  nowMs: number,
  opts: RetryAfterOptions = {},
): number | null {
  const maxS = opts.maxS ?? DEFAULT_RETRY_AFTER_CAP_S
  if (value === null || value === undefined) {
    return null
  }
  const text = value.trim()
  if (text === '') {
    return null
  }
  let seconds: number
  if (/^\d+(\.\d+)?$/.test(text)) {
    seconds = Number(text)
  } else {
    // HTTP-date (IMF-fixdate, or the obsolete RFC 850 / asctime forms Date.parse also reads).
    // Require a letter so that negative or odd numbers such as "-5" or "1e3" are not read as dates.
    if (!/[a-z]/i.test(text)) {
      return null
    }
    const at = Date.parse(text)
    if (Number.isNaN(at)) {
      return null
    }
    seconds = Math.max(0, Math.ceil((at - nowMs) / 1000))
  }
  return Math.min(seconds, maxS)
}
