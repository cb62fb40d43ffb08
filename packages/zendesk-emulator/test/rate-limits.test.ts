import { describe, expect, test } from 'vitest'

import { PLAN_LIMITS } from '../src/index.js'
import { useTestEmulator } from './client.js'

const zd = useTestEmulator()

const probe = '/api/v2/job_statuses/V3-probe.json'

describe('account-wide limit', () => {
  test('plans have Zendesk’s documented limits', () => {
    expect(PLAN_LIMITS).toEqual({
      team: 200,
      growth: 400,
      professional: 400,
      enterprise: 700,
      high_volume: 2500,
    })
  })

  test.each(Object.entries(PLAN_LIMITS))(
    'plan %s reports %i in X-Rate-Limit and ratelimit-limit',
    async (plan, limit) => {
      zd.emulator.configure({ plan: plan as keyof typeof PLAN_LIMITS })
      const r = await zd.get(probe)
      expect(r.headers.get('x-rate-limit')).toBe(String(limit))
      expect(r.headers.get('x-rate-limit-remaining')).toBe(String(limit - 1))
      expect(r.headers.get('ratelimit-limit')).toBe(String(limit))
      expect(r.headers.get('ratelimit-remaining')).toBe(String(limit - 1))
      expect(Number(r.headers.get('ratelimit-reset'))).toBeGreaterThan(0)
    },
  )

  test('over the limit, 429 with Retry-After; the headers count down to zero', async () => {
    zd.emulator.configure({ accountLimitPerMinute: 3 })
    const remaining: (string | null)[] = []
    for (let i = 0; i < 3; i++) {
      const r = await zd.get(probe)
      expect(r.status).toBe(404)
      remaining.push(r.headers.get('x-rate-limit-remaining'))
    }
    expect(remaining).toEqual(['2', '1', '0'])
    const limited = await zd.get(probe)
    expect(limited.status).toBe(429)
    const retryAfter = Number(limited.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(limited.headers.get('x-rate-limit-remaining')).toBe('0')
  })

  test('unauthenticated requests and the inspection API do not use the budget', async () => {
    zd.emulator.configure({ accountLimitPerMinute: 1 })
    await zd.get(probe, 'none')
    await zd.get('/__emulator/state', 'none')
    expect((await zd.get(probe)).status).toBe(404)
    expect((await zd.get(probe)).status).toBe(429)
  })

  test('rate limits can be switched off', async () => {
    zd.emulator.configure({ accountLimitPerMinute: 1, rateLimits: false })
    expect((await zd.get(probe)).status).toBe(404)
    expect((await zd.get(probe)).status).toBe(404)
  })
})

describe('time scale', () => {
  test('time scale 10 gives a 6-second window, and Retry-After shrinks with it', async () => {
    zd.emulator.configure({ accountLimitPerMinute: 1, timeScale: 10 })
    const first = await zd.get(probe)
    expect(Number(first.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(6)
    const limited = await zd.get(probe)
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(6)
    const cfg = await zd.get('/__emulator/config', 'none')
    expect(cfg.body).toMatchObject({ timeScale: 10, windowSeconds: 6 })
  })

  test('after the scaled window the budget is back', async () => {
    zd.emulator.configure({ accountLimitPerMinute: 1, timeScale: 300 }) // 200 ms windows
    expect((await zd.get(probe)).status).toBe(404)
    expect((await zd.get(probe)).status).toBe(429)
    await new Promise((resolve) => setTimeout(resolve, 250))
    expect((await zd.get(probe)).status).toBe(404)
  })
})
