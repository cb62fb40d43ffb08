/**
 * The client-side rate limiter of one Zendesk account (facts §2.4, §8, §10). A request first
 * `acquire`s a permit for its `LimitClass`, is sent, then reports the answer through
 * `permit.done(answer)`; the limiter learns from the answer's headers.
 *
 * Budgets, all of which must allow a request before it goes:
 *
 * - **Account (Support API)**, fed by `X-Rate-Limit` / `X-Rate-Limit-Remaining` /
 *   `ratelimit-reset` (facts §8.3). Until the first answer with those headers, the limit is
 *   assumed to be `defaultLimitPerMinute` (200, the lowest current plan). At the start and after
 *   each reset, only one request is in flight until an answer tells what is left of the window,
 *   so a burst sent on a guess cannot trip a smaller account. When the remaining count reaches
 *   `reserve`, requests wait until the reset. The count is estimated conservatively: a header's
 *   remaining minus the requests still in flight, and within one window never raised again by
 *   an answer that arrives out of order.
 * - **Pause**: a 429 pauses the whole API (Support or Sell) for its `Retry-After`
 *   (`defaultRetryAfterS` when absent; Zendesk's own client waits 10 s); nothing is sent before
 *   the pause ends. A 503's Retry-After does not pause: it stays on the error, for the delivery
 *   layer to schedule that job's retry.
 * - **Endpoint budgets** (sliding windows, exact: never more than N in any window of W):
 *   `single-user` 1 a second per account and 5 a minute per `limitKey`; `ticket-update` 100 a
 *   minute per account and 30 per 10 minutes per `limitKey` (the ticket);
 *   `organization-update` 5 a minute per `limitKey`; `sell` 10 a second (36,000 an hour per
 *   token). A keyed class without a `limitKey` only takes the account-level part.
 *   Every endpoint window is lengthened by `marginMs`, because Zendesk counts arrival times and
 *   ours are send times.
 *
 * Time comes from the injected clock and timers, so tests run on fake time.
 */
import type { Clock } from '../lib/clock.js'
import { parseRetryAfter } from '../lib/retry-after.js'
import type { LimitClass, ZendeskApi } from './request.js'

const SECOND = 1_000
const MINUTE = 60 * SECOND
/** Rounding of `ratelimit-reset` to whole seconds moves a window's end by up to this much. */
const RESET_TOLERANCE_MS = 1_500

/** Endpoint limits [D-rl] [D-users] (facts §2.4, §8.2, §10). */
export const ENDPOINT_LIMITS = {
  singleUserPerAccount: { limit: 1, windowMs: SECOND },
  singleUserPerUser: { limit: 5, windowMs: MINUTE },
  ticketUpdatePerAccount: { limit: 100, windowMs: MINUTE },
  ticketUpdatePerTicket: { limit: 30, windowMs: 10 * MINUTE },
  organizationUpdatePerOrganization: { limit: 5, windowMs: MINUTE },
  sellPerToken: { limit: 10, windowMs: SECOND },
} as const

/** Timers, injectable so that tests can run the limiter on virtual time. */
export interface Timers {
  set(fn: () => void, ms: number): unknown
  clear(handle: unknown): void
}

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

export interface RateLimiterOptions {
  clock: Clock
  timers?: Timers
  /** Account limit assumed before Zendesk's headers tell (requests per minute). Default 200. */
  defaultLimitPerMinute?: number
  /** Requests left unused in each account window, for other users of the account. Default 0. */
  reserve?: number
  /** Added to every endpoint window, ms. Default 100. */
  marginMs?: number
  /** Pause after a 429 without `Retry-After`, seconds. Default 10. */
  defaultRetryAfterS?: number
  /** Longest pause a `Retry-After` can impose, seconds. Default 900. */
  maxRetryAfterS?: number
  /**
   * Sell requests a second per token. Default 10 (36,000 an hour, facts §10); other values for a
   * Sell account with another limit, or an emulator whose time runs faster (benchmarks).
   */
  sellPerSecond?: number
}

/** What the limiter needs of an answer. */
export interface RateLimitAnswer {
  status: number
  /** Lower-case header names. */
  headers: Record<string, string>
}

/** The right to send one request. */
export interface RatePermit {
  readonly api: ZendeskApi
  /** Reports the answer, or `null` when none came (timeout, network). Only the first call counts. */
  done(answer: RateLimitAnswer | null): void
}

export type WaitReason =
  | 'paused'
  | 'first-answer'
  | 'account'
  | 'single-user-account'
  | 'single-user-key'
  | 'ticket-update-account'
  | 'ticket-update-key'
  | 'organization-update-key'
  | 'sell'

export type TryAcquireResult =
  | { ok: true; permit: RatePermit }
  /** `waitMs: null`: wait until an answer in flight comes back. */
  | { ok: false; waitMs: number | null; reason: WaitReason }

export interface RateLimiterState {
  support: {
    /** Account limit per window (from `X-Rate-Limit`, or the default). */
    limit: number
    /** Estimated requests left in the current window. */
    remaining: number
    /** Epoch ms when the window resets; `null` before the first request. */
    resetAt: number | null
    /** Epoch ms until which a 429 paused the account; `null` when not paused. */
    pausedUntil: number | null
    inFlight: number
    /** Whether Zendesk's rate-limit headers have been seen yet. */
    headersSeen: boolean
  }
  sell: { pausedUntil: number | null; inFlight: number }
}

/** At most `limit` takes in any window of `windowMs`. */
class SlidingWindow {
  private readonly times: number[] = []
  private readonly limit: number
  private readonly windowMs: number

  constructor(limit: number, windowMs: number) {
    this.limit = limit
    this.windowMs = windowMs
  }

  waitMs(now: number): number {
    this.prune(now)
    const oldest = this.times[0]
    return this.times.length < this.limit || oldest === undefined ? 0 : oldest + this.windowMs - now
  }

  take(now: number): void {
    this.times.push(now)
  }

  /** Whether nothing in it counts any more (so a keyed window can be dropped). */
  isIdle(now: number): boolean {
    this.prune(now)
    return this.times.length === 0
  }

  private prune(now: number): void {
    while (this.times.length > 0 && (this.times[0] ?? 0) + this.windowMs <= now) {
      this.times.shift()
    }
  }
}

/** Sliding windows per key (user, ticket, organization), swept now and then. */
class KeyedWindows {
  private readonly windows = new Map<string, SlidingWindow>()
  private readonly limit: number
  private readonly windowMs: number
  private takes = 0

  constructor(limit: number, windowMs: number) {
    this.limit = limit
    this.windowMs = windowMs
  }

  waitMs(key: string, now: number): number {
    return this.windows.get(key)?.waitMs(now) ?? 0
  }

  take(key: string, now: number): void {
    let w = this.windows.get(key)
    if (!w) {
      w = new SlidingWindow(this.limit, this.windowMs)
      this.windows.set(key, w)
    }
    w.take(now)
    this.takes += 1
    if (this.takes % 1_000 === 0) {
      for (const [k, v] of this.windows) {
        if (v.isIdle(now)) {
          this.windows.delete(k)
        }
      }
    }
  }
}

/** The account-wide Support budget, learnt from Zendesk's headers. */
class AccountBudget {
  limit: number
  remaining: number
  /** End of the current window; `null` until a request opens one. */
  resetAt: number | null = null
  headersSeen = false
  inFlight = 0
  pausedUntil = 0
  /** Counts windows, so that answers to requests of a past window do not touch the current one. */
  epoch = 0
  /** Whether an answer of the current window has set `remaining` yet. */
  confirmed = false

  constructor(defaultLimit: number) {
    this.limit = defaultLimit
    this.remaining = defaultLimit
  }

  /** Starts a new window once the current one has ended. */
  roll(now: number): void {
    if (this.resetAt !== null && now >= this.resetAt) {
      this.remaining = this.limit
      this.resetAt = null
      this.epoch += 1
      this.confirmed = false
    }
  }

  /** 0 = may send; a number = ms to wait; null = wait for the first answer. */
  waitMs(now: number, reserve: number): { waitMs: number | null; reason: WaitReason } | null {
    if (now < this.pausedUntil) {
      return { waitMs: this.pausedUntil - now, reason: 'paused' }
    }
    this.roll(now)
    // Until an answer tells how much of this window is left (at the start, and after each
    // reset), one request at a time: a burst sent on a guess could trip a small account.
    if (!this.confirmed && this.inFlight > 0) {
      return { waitMs: null, reason: 'first-answer' }
    }
    if (this.remaining <= Math.min(reserve, this.limit - 1)) {
      const resetAt = this.resetAt ?? now + MINUTE
      this.resetAt = resetAt
      return { waitMs: Math.max(1, resetAt - now), reason: 'account' }
    }
    return null
  }

  take(now: number): number {
    this.remaining -= 1
    this.inFlight += 1
    // Without a reset header, a window is assumed to last a minute from its first request.
    this.resetAt ??= now + MINUTE
    return this.epoch
  }

  observe(now: number, headers: Record<string, string>, epoch: number): void {
    this.roll(now)
    const limit = intHeader(headers, 'x-rate-limit') ?? intHeader(headers, 'ratelimit-limit')
    const remaining =
      intHeader(headers, 'x-rate-limit-remaining') ?? intHeader(headers, 'ratelimit-remaining')
    const resetS = intHeader(headers, 'ratelimit-reset')
    if (limit === null && remaining === null) {
      return
    }
    this.headersSeen = true
    if (limit !== null && limit > 0) {
      this.limit = limit
    }
    if (remaining === null || epoch !== this.epoch) {
      return
    }
    // Requests still in flight may or may not be counted in this header: assume they are not.
    const estimate = Math.max(0, remaining - this.inFlight)
    const resetAt = resetS !== null ? now + resetS * SECOND : null
    const newServerWindow =
      resetAt !== null && this.resetAt !== null && resetAt > this.resetAt + RESET_TOLERANCE_MS
    if (!this.confirmed || newServerWindow) {
      this.remaining = estimate
      this.confirmed = true
      if (resetAt !== null) {
        this.resetAt = resetAt
      }
      return
    }
    // Same window: an answer that arrives late must not raise the count again.
    this.remaining = Math.min(this.remaining, estimate)
    if (resetAt !== null && (this.resetAt === null || resetAt > this.resetAt)) {
      this.resetAt = resetAt
    }
  }
}

export class ZendeskRateLimiter {
  private readonly clock: Clock
  private readonly timers: Timers
  private readonly reserve: number
  private readonly defaultRetryAfterS: number
  private readonly maxRetryAfterS: number
  private readonly account: AccountBudget
  private readonly singleUserAccount: SlidingWindow
  private readonly singleUserKey: KeyedWindows
  private readonly ticketAccount: SlidingWindow
  private readonly ticketKey: KeyedWindows
  private readonly organizationKey: KeyedWindows
  private readonly sellWindow: SlidingWindow
  private sellPausedUntil = 0
  private sellInFlight = 0
  private readonly waiters = new Set<() => void>()
  private timer: { at: number; handle: unknown } | null = null

  constructor(opts: RateLimiterOptions) {
    this.clock = opts.clock
    this.timers = opts.timers ?? realTimers
    this.reserve = opts.reserve ?? 0
    this.defaultRetryAfterS = opts.defaultRetryAfterS ?? 10
    this.maxRetryAfterS = opts.maxRetryAfterS ?? 900
    this.account = new AccountBudget(opts.defaultLimitPerMinute ?? 200)
    const margin = opts.marginMs ?? 100
    const L = ENDPOINT_LIMITS
    this.singleUserAccount = new SlidingWindow(
      L.singleUserPerAccount.limit,
      L.singleUserPerAccount.windowMs + margin,
    )
    this.singleUserKey = new KeyedWindows(L.singleUserPerUser.limit, L.singleUserPerUser.windowMs + margin)
    this.ticketAccount = new SlidingWindow(
      L.ticketUpdatePerAccount.limit,
      L.ticketUpdatePerAccount.windowMs + margin,
    )
    this.ticketKey = new KeyedWindows(
      L.ticketUpdatePerTicket.limit,
      L.ticketUpdatePerTicket.windowMs + margin,
    )
    this.organizationKey = new KeyedWindows(
      L.organizationUpdatePerOrganization.limit,
      L.organizationUpdatePerOrganization.windowMs + margin,
    )
    this.sellWindow = new SlidingWindow(
      Math.max(1, Math.floor(opts.sellPerSecond ?? L.sellPerToken.limit)),
      L.sellPerToken.windowMs + margin,
    )
  }

  /** Takes a permit now if every budget allows, else says how long to wait and why. Never waits. */
  tryAcquire(limitClass: LimitClass, limitKey?: string): TryAcquireResult {
    const now = this.clock.now()
    if (limitClass === 'sell') {
      if (now < this.sellPausedUntil) {
        return { ok: false, waitMs: this.sellPausedUntil - now, reason: 'paused' }
      }
      const w = this.sellWindow.waitMs(now)
      if (w > 0) {
        return { ok: false, waitMs: w, reason: 'sell' }
      }
      this.sellWindow.take(now)
      this.sellInFlight += 1
      return { ok: true, permit: this.permit('sell', 0) }
    }

    const waits: { waitMs: number | null; reason: WaitReason }[] = []
    const accountWait = this.account.waitMs(now, this.reserve)
    if (accountWait) {
      waits.push(accountWait)
    }
    const endpoint = (w: number, reason: WaitReason): void => {
      if (w > 0) {
        waits.push({ waitMs: w, reason })
      }
    }
    switch (limitClass) {
      case 'single-user':
        endpoint(this.singleUserAccount.waitMs(now), 'single-user-account')
        if (limitKey !== undefined) {
          endpoint(this.singleUserKey.waitMs(limitKey, now), 'single-user-key')
        }
        break
      case 'ticket-update':
        endpoint(this.ticketAccount.waitMs(now), 'ticket-update-account')
        if (limitKey !== undefined) {
          endpoint(this.ticketKey.waitMs(limitKey, now), 'ticket-update-key')
        }
        break
      case 'organization-update':
        if (limitKey !== undefined) {
          endpoint(this.organizationKey.waitMs(limitKey, now), 'organization-update-key')
        }
        break
      case 'account':
        break
    }
    const first = waits[0]
    if (first !== undefined) {
      // The longest known wait; "until an answer" only when nothing else is known. A waiter is
      // also woken by every answer, so it never oversleeps a change.
      let pick = first
      for (const w of waits) {
        if (w.waitMs !== null && (pick.waitMs === null || w.waitMs > pick.waitMs)) {
          pick = w
        }
      }
      return { ok: false, waitMs: pick.waitMs, reason: pick.reason }
    }

    const epoch = this.account.take(now)
    switch (limitClass) {
      case 'single-user':
        this.singleUserAccount.take(now)
        if (limitKey !== undefined) {
          this.singleUserKey.take(limitKey, now)
        }
        break
      case 'ticket-update':
        this.ticketAccount.take(now)
        if (limitKey !== undefined) {
          this.ticketKey.take(limitKey, now)
        }
        break
      case 'organization-update':
        if (limitKey !== undefined) {
          this.organizationKey.take(limitKey, now)
        }
        break
      case 'account':
        break
    }
    return { ok: true, permit: this.permit('support', epoch) }
  }

  /** Waits until every budget allows the request, then takes a permit. */
  async acquire(limitClass: LimitClass, limitKey?: string, signal?: AbortSignal): Promise<RatePermit> {
    for (;;) {
      signal?.throwIfAborted()
      const result = this.tryAcquire(limitClass, limitKey)
      if (result.ok) {
        return result.permit
      }
      await this.wait(result.waitMs, signal)
    }
  }

  /** Pauses an API for `seconds` (a 429's Retry-After); an earlier end never shortens a pause. */
  pauseFor(api: ZendeskApi, seconds: number): void {
    const until = this.clock.now() + Math.min(seconds, this.maxRetryAfterS) * SECOND
    if (api === 'sell') {
      this.sellPausedUntil = Math.max(this.sellPausedUntil, until)
    } else {
      this.account.pausedUntil = Math.max(this.account.pausedUntil, until)
    }
  }

  /** For metrics and the admin UI. */
  state(): RateLimiterState {
    const now = this.clock.now()
    const a = this.account
    a.roll(now)
    return {
      support: {
        limit: a.limit,
        remaining: Math.max(0, a.remaining),
        resetAt: a.resetAt,
        pausedUntil: a.pausedUntil > now ? a.pausedUntil : null,
        inFlight: a.inFlight,
        headersSeen: a.headersSeen,
      },
      sell: {
        pausedUntil: this.sellPausedUntil > now ? this.sellPausedUntil : null,
        inFlight: this.sellInFlight,
      },
    }
  }

  private permit(api: ZendeskApi, epoch: number): RatePermit {
    let settled = false
    return {
      api,
      done: (answer) => {
        if (settled) {
          return
        }
        settled = true
        this.settle(api, epoch, answer)
      },
    }
  }

  private settle(api: ZendeskApi, epoch: number, answer: RateLimitAnswer | null): void {
    const now = this.clock.now()
    if (api === 'sell') {
      this.sellInFlight -= 1
    } else {
      this.account.inFlight -= 1
      if (answer) {
        this.account.observe(now, answer.headers, epoch)
      }
    }
    if (answer?.status === 429) {
      const retryAfterS =
        parseRetryAfter(answer.headers['retry-after'], now, { maxS: this.maxRetryAfterS }) ??
        this.defaultRetryAfterS
      this.pauseFor(api, retryAfterS)
    }
    this.wakeAll()
  }

  /** Resolves after `ms`, or at the next answer, whichever comes first. */
  private wait(ms: number | null, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.delete(wake)
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'))
      }
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      this.waiters.add(wake)
      signal?.addEventListener('abort', onAbort, { once: true })
      if (ms !== null) {
        this.wakeAt(this.clock.now() + ms)
      }
    })
  }

  /** One timer for all waiters: the earliest moment any of them asked to be woken. */
  private wakeAt(at: number): void {
    if (this.timer && this.timer.at <= at) {
      return
    }
    if (this.timer) {
      this.timers.clear(this.timer.handle)
    }
    const handle = this.timers.set(
      () => {
        this.timer = null
        this.wakeAll()
      },
      Math.max(0, at - this.clock.now()),
    )
    this.timer = { at, handle }
  }

  private wakeAll(): void {
    const waiters = [...this.waiters]
    this.waiters.clear()
    for (const wake of waiters) {
      wake()
    }
  }
}

function intHeader(headers: Record<string, string>, name: string): number | null {
  const v = headers[name]
  if (v === undefined || !/^\s*\d+\s*$/.test(v)) {
    return null
  }
  return Number(v)
}
