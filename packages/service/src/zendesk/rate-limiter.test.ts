import { describe, expect, test } from 'vitest'

import { FakeClock } from '../lib/clock.js'
import { type RateLimitAnswer, type RatePermit, type Timers, ZendeskRateLimiter } from './rate-limiter.js'
import type { LimitClass } from './request.js'

/** Virtual time: timers fire in time order, moving the fake clock; nothing really sleeps. */
class VirtualTime implements Timers {
  readonly clock = new FakeClock()
  private pending: { at: number; fn: () => void }[] = []

  set(fn: () => void, ms: number): unknown {
    const timer = { at: this.clock.now() + ms, fn }
    this.pending.push(timer)
    return timer
  }

  clear(handle: unknown): void {
    this.pending = this.pending.filter((t) => t !== handle)
  }

  /** Runs timers until `promise` settles; fails if it waits for something no timer will bring. */
  async run<T>(promise: Promise<T>): Promise<T> {
    let settled = false
    promise.then(
      () => (settled = true),
      () => (settled = true),
    )
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve))
      if (settled) {
        return promise
      }
      const next = this.pending.sort((a, b) => a.at - b.at).shift()
      if (!next) {
        throw new Error('stuck: waiting with no timer pending')
      }
      this.clock.advance(Math.max(0, next.at - this.clock.now()))
      next.fn()
    }
  }
}

const t0 = new FakeClock().now()

/** Headers of an ordinary Support answer from a roomy account. */
function roomy(remaining = 690): RateLimitAnswer {
  return {
    status: 200,
    headers: { 'x-rate-limit': '700', 'x-rate-limit-remaining': String(remaining), 'ratelimit-reset': '60' },
  }
}

function setup(opts: { marginMs?: number; reserve?: number } = {}) {
  const vt = new VirtualTime()
  const limiter = new ZendeskRateLimiter({ clock: vt.clock, timers: vt, marginMs: 0, ...opts })
  /** Acquires (on virtual time), answers at once, and returns when it was let through (ms after t0). */
  const send = async (cls: LimitClass, key?: string, answer: RateLimitAnswer = roomy()): Promise<number> => {
    const permit = await vt.run(limiter.acquire(cls, key))
    const at = vt.clock.now() - t0
    permit.done(answer)
    return at
  }
  const take = (cls: LimitClass = 'account', key?: string): RatePermit => {
    const r = limiter.tryAcquire(cls, key)
    if (!r.ok) {
      throw new Error(`expected a permit, got a wait (${r.reason})`)
    }
    return r.permit
  }
  return { vt, limiter, send, take }
}

describe('the account budget', () => {
  test('before any rate-limit header, only one request is in flight', () => {
    const { limiter, take } = setup()
    const first = take()
    expect(limiter.tryAcquire('account')).toEqual({ ok: false, waitMs: null, reason: 'first-answer' })
    first.done(roomy())
    expect(limiter.tryAcquire('account').ok).toBe(true)
  })

  test('starts from 200 a minute until Zendesk tells the real limit', () => {
    const { limiter } = setup()
    expect(limiter.state().support).toMatchObject({ limit: 200, remaining: 200, headersSeen: false })
  })

  test('takes the limit and the remaining count from the headers', () => {
    const { limiter, take } = setup()
    take().done(roomy(650))
    expect(limiter.state().support).toMatchObject({
      limit: 700,
      remaining: 650,
      resetAt: t0 + 60_000,
      headersSeen: true,
    })
  })

  test('respects remaining = 0 until the reset, then sends again', async () => {
    const { vt, limiter, take, send } = setup()
    take().done({
      status: 200,
      headers: { 'x-rate-limit': '200', 'x-rate-limit-remaining': '0', 'ratelimit-reset': '20' },
    })
    expect(limiter.tryAcquire('account')).toEqual({ ok: false, waitMs: 20_000, reason: 'account' })
    vt.clock.advance(19_999)
    expect(limiter.tryAcquire('account').ok).toBe(false)
    expect(await send('account')).toBe(20_000)
  })

  test('a new window starts full at the limit Zendesk told, after one request has probed it', () => {
    const { vt, limiter, take } = setup()
    const small = (remaining: number): RateLimitAnswer => ({
      status: 200,
      headers: { 'x-rate-limit': '5', 'x-rate-limit-remaining': String(remaining), 'ratelimit-reset': '1' },
    })
    take().done(small(0))
    vt.clock.advance(1_000)
    expect(limiter.state().support).toMatchObject({ limit: 5, remaining: 5 })
    const probe = take()
    expect(limiter.tryAcquire('account')).toEqual({ ok: false, waitMs: null, reason: 'first-answer' })
    probe.done(small(4))
    for (let i = 0; i < 4; i += 1) {
      take()
    }
    expect(limiter.tryAcquire('account')).toMatchObject({ ok: false, reason: 'account' })
  })

  test('an answer to a request of the previous window does not count for the new one', () => {
    const { vt, limiter, take } = setup()
    take().done(roomy(100))
    const old = take()
    vt.clock.advance(60_000)
    old.done(roomy(0))
    expect(limiter.state().support).toMatchObject({ remaining: 700, resetAt: null })
    const probe = take()
    probe.done(roomy(680))
    expect(limiter.state().support.remaining).toBe(680)
  })

  test('keeps a reserve for other users of the account', () => {
    const { limiter, take } = setup({ reserve: 3 })
    take().done({
      status: 200,
      headers: { 'x-rate-limit': '700', 'x-rate-limit-remaining': '3', 'ratelimit-reset': '30' },
    })
    expect(limiter.tryAcquire('account')).toEqual({ ok: false, waitMs: 30_000, reason: 'account' })
  })

  test('counts requests still in flight against the remaining count of a header', () => {
    const { limiter, take } = setup()
    take().done(roomy())
    const inFlight = [take(), take(), take()]
    inFlight[0]?.done(roomy(10))
    // 10 left when the first answered, and two more requests are still on their way.
    expect(limiter.state().support.remaining).toBe(8)
  })

  test('an answer arriving late does not raise the count again within a window', () => {
    const { limiter, take } = setup()
    take().done(roomy())
    const [early, late] = [take(), take()]
    late.done(roomy(9))
    early.done(roomy(10))
    expect(limiter.state().support.remaining).toBe(8)
  })

  test('a later reset in a header means Zendesk started a new window: its count applies', () => {
    const { vt, limiter, take } = setup()
    take().done({
      status: 200,
      headers: { 'x-rate-limit': '700', 'x-rate-limit-remaining': '3', 'ratelimit-reset': '5' },
    })
    vt.clock.advance(4_000)
    take().done({
      status: 200,
      headers: { 'x-rate-limit': '700', 'x-rate-limit-remaining': '699', 'ratelimit-reset': '60' },
    })
    expect(limiter.state().support).toMatchObject({ remaining: 699, resetAt: t0 + 64_000 })
  })
})

describe('429 pauses', () => {
  test('never lets a request through during a pause', async () => {
    const { vt, limiter, take, send } = setup()
    take().done({ status: 429, headers: { 'retry-after': '30' } })
    expect(limiter.state().support.pausedUntil).toBe(t0 + 30_000)
    for (const cls of ['account', 'single-user', 'ticket-update', 'organization-update'] as const) {
      expect(limiter.tryAcquire(cls, 'k')).toEqual({ ok: false, waitMs: 30_000, reason: 'paused' })
    }
    vt.clock.advance(29_999)
    expect(limiter.tryAcquire('account')).toEqual({ ok: false, waitMs: 1, reason: 'paused' })
    expect(await send('account')).toBe(30_000)
    expect(limiter.state().support.pausedUntil).toBeNull()
  })

  test('waiting requests all stay held until the pause ends', async () => {
    const { vt, limiter, take } = setup()
    take().done(roomy())
    const blocker = take()
    blocker.done({ status: 429, headers: { 'retry-after': '5' } })
    const times: number[] = []
    const waiting = [1, 2, 3].map(async () => {
      const p = await limiter.acquire('account')
      times.push(vt.clock.now() - t0)
      p.done(roomy())
    })
    await vt.run(Promise.all(waiting))
    expect(times).toEqual([5_000, 5_000, 5_000])
  })

  test('a 429 without Retry-After pauses for 10 s', () => {
    const { limiter, take } = setup()
    take().done({ status: 429, headers: {} })
    expect(limiter.state().support.pausedUntil).toBe(t0 + 10_000)
  })

  test('a shorter Retry-After never shortens a running pause', () => {
    const { limiter, take } = setup()
    take().done(roomy())
    const [a, b] = [take(), take()]
    a.done({ status: 429, headers: { 'retry-after': '20' } })
    b.done({ status: 429, headers: { 'retry-after': '2' } })
    expect(limiter.state().support.pausedUntil).toBe(t0 + 20_000)
  })

  test('Support and Sell pause separately', () => {
    const { limiter, take } = setup()
    take('sell').done({ status: 429, headers: { 'retry-after': '60' } })
    expect(limiter.tryAcquire('account').ok).toBe(true)
    expect(limiter.tryAcquire('sell')).toMatchObject({ ok: false, reason: 'paused', waitMs: 60_000 })
    expect(limiter.state().sell.pausedUntil).toBe(t0 + 60_000)
  })
})

describe('endpoint budgets', () => {
  test('spaces single-user requests 1 s apart across the account', async () => {
    const { send } = setup()
    const times = []
    for (const user of ['a', 'b', 'c', 'd']) {
      times.push(await send('single-user', user))
    }
    expect(times).toEqual([0, 1_000, 2_000, 3_000])
  })

  test('the default margin lengthens the spacing to 1.1 s', async () => {
    const { send } = setup({ marginMs: 100 })
    expect([await send('single-user', 'a'), await send('single-user', 'b')]).toEqual([0, 1_100])
  })

  test('allows 5 single-user writes a minute per user', async () => {
    const { send } = setup()
    const times = []
    for (let i = 0; i < 7; i += 1) {
      times.push(await send('single-user', 'same@example.com'))
    }
    expect(times).toEqual([0, 1_000, 2_000, 3_000, 4_000, 60_000, 61_000])
  })

  test('other classes are not slowed by single-user writes', async () => {
    const { limiter, send } = setup()
    await send('single-user', 'a')
    expect(limiter.tryAcquire('single-user', 'b')).toMatchObject({ ok: false, reason: 'single-user-account' })
    expect(limiter.tryAcquire('account').ok).toBe(true)
  })

  test('ticket updates: 100 a minute per account and 30 per 10 minutes per ticket', () => {
    const { limiter, take } = setup()
    take().done(roomy())
    for (let i = 0; i < 30; i += 1) {
      take('ticket-update', '42').done(roomy())
    }
    expect(limiter.tryAcquire('ticket-update', '42')).toEqual({
      ok: false,
      waitMs: 600_000,
      reason: 'ticket-update-key',
    })
    for (let i = 0; i < 70; i += 1) {
      take('ticket-update', String(100 + i)).done(roomy())
    }
    expect(limiter.tryAcquire('ticket-update', '7')).toEqual({
      ok: false,
      waitMs: 60_000,
      reason: 'ticket-update-account',
    })
  })

  test('organization updates: 5 a minute per organization, others unaffected', () => {
    const { limiter, take } = setup()
    take().done(roomy())
    for (let i = 0; i < 5; i += 1) {
      take('organization-update', 'org-1').done(roomy())
    }
    expect(limiter.tryAcquire('organization-update', 'org-1')).toMatchObject({
      ok: false,
      reason: 'organization-update-key',
    })
    expect(limiter.tryAcquire('organization-update', 'org-2').ok).toBe(true)
  })

  test('a keyed class without a key only takes the account-level budgets', () => {
    const { limiter, take } = setup()
    take().done(roomy())
    for (let i = 0; i < 8; i += 1) {
      take('organization-update').done(roomy())
    }
    expect(limiter.tryAcquire('organization-update').ok).toBe(true)
  })

  test('Sell: 10 a second, without the Support account budget', async () => {
    const { send, limiter } = setup()
    const times = []
    for (let i = 0; i < 12; i += 1) {
      times.push(await send('sell', undefined, { status: 200, headers: {} }))
    }
    expect(times).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1_000, 1_000])
    expect(limiter.state().support.inFlight).toBe(0)
  })
})

describe('acquire', () => {
  test('wakes a request waiting for the first answer as soon as it comes', async () => {
    const { vt, limiter, take } = setup()
    const first = take()
    const second = limiter.acquire('account')
    vt.clock.advance(250)
    first.done(roomy())
    const permit = await vt.run(second)
    expect(vt.clock.now() - t0).toBe(250)
    permit.done(null)
    expect(limiter.state().support.inFlight).toBe(0)
  })

  test('a failed request (no answer) frees its place', () => {
    const { limiter, take } = setup()
    take().done(null)
    expect(limiter.tryAcquire('account').ok).toBe(true)
  })

  test('reporting an answer twice counts once', () => {
    const { limiter, take } = setup()
    take().done(roomy())
    const p = take()
    take()
    p.done(roomy())
    p.done(roomy())
    expect(limiter.state().support.inFlight).toBe(1)
  })

  test('stops waiting when its signal is aborted', async () => {
    const { limiter, take } = setup()
    take().done({ status: 429, headers: { 'retry-after': '600' } })
    const controller = new AbortController()
    const waiting = limiter.acquire('account', undefined, controller.signal)
    controller.abort(new Error('shutting down'))
    await expect(waiting).rejects.toThrow('shutting down')
  })
})
