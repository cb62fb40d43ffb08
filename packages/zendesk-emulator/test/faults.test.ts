import { describe, expect, test } from 'vitest'

import { basicToken, startTestEmulator, useTestEmulator } from './client.js'

const zd = useTestEmulator()

const probe = '/api/v2/job_statuses/V3-probe.json'

async function schedule(...faults: unknown[]) {
  const r = await zd.post('/__emulator/faults', { faults }, 'none')
  expect(r.status).toBe(200)
  return r.body
}

describe('status faults', () => {
  test.each([500, 502, 503])('the next request answers %i, then normal service resumes', async (status) => {
    await schedule({ kind: 'status', status, count: 1 })
    const r = await zd.get(probe)
    expect(r.status).toBe(status)
    expect(r.headers.get('retry-after')).toBeNull()
    expect((await zd.get(probe)).status).toBe(404)
  })

  test('a 503 with Retry-After', async () => {
    await schedule({ kind: 'status', status: 503, retryAfterS: 7, count: 1 })
    const r = await zd.get(probe)
    expect(r.status).toBe(503)
    expect(r.headers.get('retry-after')).toBe('7')
  })

  test('a 429 with Retry-After', async () => {
    await schedule({ kind: 'status', status: 429, retryAfterS: 3, count: 2 })
    expect((await zd.get(probe)).status).toBe(429)
    const second = await zd.get(probe)
    expect(second.status).toBe(429)
    expect(second.headers.get('retry-after')).toBe('3')
    expect((await zd.get(probe)).status).toBe(404)
  })

  test('a fault limited to matching paths leaves other paths alone', async () => {
    await schedule({ kind: 'status', status: 500, path: '/users', count: 5 })
    expect((await zd.get(probe)).status).toBe(404)
    expect((await zd.get('/api/v2/users/show_many.json?ids=1')).status).toBe(500)
  })

  test('a regular-expression path and a method filter', async () => {
    await schedule({ kind: 'status', status: 502, path: '/job_statuses\\/V3-/', method: 'GET' })
    expect((await zd.get(probe)).status).toBe(502)
    expect((await zd.post(probe, {})).status).not.toBe(502)
  })

  test('a share of requests fails, reproducibly for the same random seed', async () => {
    await schedule({ kind: 'status', status: 503, share: 0.5 })
    const statuses: number[] = []
    for (let i = 0; i < 40; i++) {
      statuses.push((await zd.get(probe)).status)
    }
    const failed = statuses.filter((s) => s === 503).length
    expect(failed).toBeGreaterThan(8)
    expect(failed).toBeLessThan(32)
  })
})

describe('connection faults', () => {
  test('a hang lasts past the client’s timeout', async () => {
    await schedule({ kind: 'hang', count: 1, hangMs: 2000 })
    const started = Date.now()
    await expect(
      fetch(`${zd.url}${probe}`, {
        headers: { authorization: basicToken('admin@example.com', 'sandbox-api-token') },
        signal: AbortSignal.timeout(200),
      }),
    ).rejects.toThrow(/aborted|timeout/i)
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
    expect((await zd.get(probe)).status).toBe(404)
  })

  test('a reset closes the connection without an answer', async () => {
    await schedule({ kind: 'reset', count: 1 })
    await expect(
      fetch(`${zd.url}${probe}`, {
        headers: { authorization: basicToken('admin@example.com', 'sandbox-api-token') },
      }),
    ).rejects.toThrow(/fetch failed/)
    const log = await zd.get('/__emulator/requests', 'none')
    expect(log.body.requests[0]).toMatchObject({ fault: 'reset', status: 0 })
  })

  test('latency delays the answer', async () => {
    await schedule({ kind: 'latency', latencyMs: 150, count: 1 })
    const started = Date.now()
    const r = await zd.get(probe)
    expect(r.status).toBe(404)
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
  })
})

describe('scheduling', () => {
  test('a bad rule is refused naming the field and the reason', async () => {
    const r = await zd.post('/__emulator/faults', { faults: [{ kind: 'status', status: 418 }] }, 'none')
    expect(r.status).toBe(400)
    expect(r.body.description).toBe('faults[0].status: must be one of 429, 500, 502, 503, 504')
    const k = await zd.post('/__emulator/faults', { faults: [{ kind: 'explode' }] }, 'none')
    expect(k.body.description).toMatch(/^faults\[0\]\.kind: must be one of/)
  })

  test('faults can be listed and cleared, and options can schedule them at start', async () => {
    await schedule({ kind: 'status', status: 500 })
    expect((await zd.get('/__emulator/faults', 'none')).body.faults).toHaveLength(1)
    expect((await zd.del('/__emulator/faults', 'none')).status).toBe(204)
    expect((await zd.get(probe)).status).toBe(404)

    const other = await startTestEmulator({ faults: [{ kind: 'status', status: 503, count: 1 }] })
    try {
      expect((await other.get(probe)).status).toBe(503)
      expect((await other.get(probe)).status).toBe(404)
    } finally {
      await other.close()
    }
  })

  test('the inspection API is never faulted', async () => {
    await schedule({ kind: 'status', status: 500 })
    expect((await zd.get('/__emulator/state', 'none')).status).toBe(200)
  })
})
