/**
 * Rate limits, as Zendesk documents them [D-rl] (facts §8):
 *
 * - account-wide: N requests per minute by plan (200 / 400 / 700 / 2,500), reported on every
 *   Support response in `X-Rate-Limit`, `X-Rate-Limit-Remaining` and `ratelimit-*`;
 * - endpoint buckets on top, reported as `Zendesk-RateLimit-<name>: total=N; remaining=N; resets=S`:
 *   single-user `create_or_update` and `PUT users/{id}` (5 a minute per user, 1 a second per
 *   account), `PUT organizations/{id}` (5 a minute per organization), ticket updates (30 per
 *   10 minutes per user per ticket, 100 a minute per account, 300 with High Volume);
 * - over any bucket: 429 with `Retry-After` (seconds).
 *
 * Windows are fixed and aligned to when a bucket's window started. Every window is divided by
 * the account's time scale, so `timeScale: 10` makes a minute last 6 seconds and Retry-After
 * shrinks with it.
 */
import type { Account } from './account.js'
import { rateLimited } from './errors.js'

interface Window {
  startedAt: number
  used: number
}

export interface BucketState {
  limit: number
  remaining: number
  /** Seconds (real, scaled) until the window resets, rounded up. */
  resetS: number
}

/** Fixed-window counters keyed by bucket name; one instance per emulator. */
export class RateLimiter {
  private windows = new Map<string, Window>()
  private readonly account: Account

  constructor(account: Account) {
    this.account = account
  }

  reset(): void {
    this.windows.clear()
  }

  /** Looks at a bucket without taking from it. */
  peek(key: string, limit: number, windowMs: number): BucketState {
    const w = this.current(key, windowMs)
    return this.state(w, limit, windowMs)
  }

  /**
   * Takes one request from the bucket if it has room. Returns the bucket after the attempt and
   * whether it was allowed.
   */
  take(key: string, limit: number, windowMs: number): BucketState & { allowed: boolean } {
    const w = this.current(key, windowMs)
    const allowed = w.used < limit
    if (allowed) {
      w.used += 1
    }
    return { ...this.state(w, limit, windowMs), allowed }
  }

  private current(key: string, windowMs: number): Window {
    const now = this.account.now()
    const span = this.account.scaled(windowMs)
    let w = this.windows.get(key)
    if (!w || now - w.startedAt >= span) {
      w = { startedAt: now, used: 0 }
      this.windows.set(key, w)
    }
    return w
  }

  private state(w: Window, limit: number, windowMs: number): BucketState {
    const span = this.account.scaled(windowMs)
    const leftMs = Math.max(0, w.startedAt + span - this.account.now())
    return { limit, remaining: Math.max(0, limit - w.used), resetS: Math.max(1, Math.ceil(leftMs / 1000)) }
  }
}

export const MINUTE = 60_000
export const SECOND = 1_000

/** `Zendesk-RateLimit-<name>` header value. */
export function bucketHeader(state: BucketState): string {
  return `total=${state.limit}; remaining=${state.remaining}; resets=${state.resetS}`
}

/**
 * Takes from each bucket in order; the first one that is full answers 429. Buckets taken before
 * a refusal stay taken, as a real request that was refused still counted.
 */
export function enforceBuckets(
  limiter: RateLimiter,
  buckets: { key: string; limit: number; windowMs: number; header?: string }[],
  setHeader: (name: string, value: string) => void,
): void {
  for (const b of buckets) {
    const state = limiter.take(b.key, b.limit, b.windowMs)
    if (b.header) {
      setHeader(`zendesk-ratelimit-${b.header}`, bucketHeader(state))
    }
    if (!state.allowed) {
      const headers: Record<string, string> = {}
      if (b.header) {
        headers[`zendesk-ratelimit-${b.header}`] = bucketHeader(state)
      }
      throw rateLimited(state.resetS, headers)
    }
  }
}
