import { describe, expect, test } from 'vitest'

import { startTestEmulator, useTestEmulator } from './client.js'

const zd = useTestEmulator()

describe('inspection API', () => {
  test('GET state shows the seeded sandbox account', async () => {
    const state = await zd.state()
    expect(state.account).toEqual({ subdomain: 'sandbox', url: zd.url })
    expect(state.users).toHaveLength(1)
    expect(state.users[0]).toMatchObject({ email: 'admin@example.com', role: 'admin', active: true })
  })

  test('seed values can be overridden', async () => {
    const other = await startTestEmulator({
      seed: { subdomain: 'acme', adminEmail: 'ops@acme.test', apiToken: 't0k' },
    })
    try {
      const state = await other.state()
      expect(state.account.subdomain).toBe('acme')
      expect(state.users[0].email).toBe('ops@acme.test')
      const auth = `Basic ${Buffer.from('ops@acme.test/token:t0k').toString('base64')}`
      expect((await other.get('/api/v2/job_statuses/x', { raw: auth })).status).toBe(404)
      expect((await other.get('/api/v2/job_statuses/x', 'token')).status).toBe(404)
    } finally {
      await other.close()
    }
  })

  test('GET requests is the request log: method, path, status, auth kind and time', async () => {
    await zd.get('/api/v2/job_statuses/V3-a.json?x=1')
    await zd.get('/api/v2/job_statuses/V3-b', 'none')
    const r = await zd.get('/__emulator/requests', 'none')
    expect(r.body.total).toBe(2)
    expect(r.body.requests).toMatchObject([
      {
        seq: 1,
        method: 'GET',
        path: '/api/v2/job_statuses/V3-a.json',
        query: 'x=1',
        status: 404,
        authKind: 'api_token',
      },
      { seq: 2, method: 'GET', path: '/api/v2/job_statuses/V3-b', status: 401, authKind: 'none' },
    ])
    expect(Date.parse(r.body.requests[0].time)).not.toBeNaN()
    const since = await zd.get('/__emulator/requests?since=1', 'none')
    expect(since.body.requests.map((e: any) => e.seq)).toEqual([2])
    expect((await zd.del('/__emulator/requests', 'none')).status).toBe(204)
    expect((await zd.get('/__emulator/requests', 'none')).body.requests).toEqual([])
  })

  test('PUT config changes plan, limits, time scale, bulk import, job delay and token retirement', async () => {
    const r = await zd.put(
      '/__emulator/config',
      { plan: 'team', timeScale: 10, bulkUserImport: false, jobDelayMs: 5, apiTokensRetired: true },
      'none',
    )
    expect(r.status).toBe(200)
    expect(r.body.config).toMatchObject({
      plan: 'team',
      timeScale: 10,
      bulkUserImport: false,
      jobDelayMs: 5,
      apiTokensRetired: true,
    })
    expect(r.body.accountLimitPerMinute).toBe(200)
    expect((await zd.get('/api/v2/job_statuses/x')).status).toBe(401)
  })

  test('PUT config refuses bad values naming the field and the reason', async () => {
    const r = await zd.put('/__emulator/config', { plan: 'platinum', timeScale: -1, nonsense: true }, 'none')
    expect(r.status).toBe(400)
    expect(r.body.error).toBe('InvalidConfig')
    expect(r.body.details.join('\n')).toMatch(/plan:/)
    expect(r.body.details.join('\n')).toMatch(/timeScale:/)
    expect(r.body.details.join('\n')).toMatch(/nonsense/)
  })

  test('POST reset empties the account back to its seed and keeps the config unless asked', async () => {
    await zd.put('/__emulator/config', { plan: 'team' }, 'none')
    await zd.get('/api/v2/job_statuses/x')
    expect((await zd.post('/__emulator/reset', {}, 'none')).status).toBe(200)
    expect((await zd.get('/__emulator/requests', 'none')).body.total).toBe(0)
    expect((await zd.get('/__emulator/config', 'none')).body.config.plan).toBe('team')
    await zd.post('/__emulator/reset', { config: true }, 'none')
    expect((await zd.get('/__emulator/config', 'none')).body.config.plan).toBe('enterprise')
    expect((await zd.state()).users).toHaveLength(1)
  })

  test('bad createEmulator options are refused with the field', async () => {
    await expect(startTestEmulator({ timeScale: 0 })).rejects.toThrow(/timeScale/)
  })
})
