import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

describe('health and readiness', () => {
  test('GET /health is live and GET /ready reports the database and that Zendesk is reachable', async () => {
    t = await startTestService()
    const health = await (await fetch(`${t.url}/health`)).json()
    expect(health).toMatchObject({ status: 'ok', destinations: [{ id: 'default', mode: 'sandbox' }] })
    // The worker takes over the destination's jobs in its first round, a few queue calls after
    // the start: until then /ready says it is not delivering yet.
    const url = t.url
    const ready = await t.waitFor(async () => {
      const r = await fetch(`${url}/ready`)
      const body = (await r.json()) as { destinations: { delivering: boolean }[] }
      return body.destinations[0]?.delivering === true ? { status: r.status, body } : null
    })
    expect(ready.status).toBe(200)
    expect(ready.body).toEqual({
      status: 'ready',
      database: 'ok',
      // One process on the embedded queue holds every destination's delivery lease, for good.
      node: expect.any(String),
      leases: [{ destination: 'default', since: expect.any(String), until: null }],
      destinations: [
        {
          id: 'default',
          reachable: true,
          delivering: true,
          paused_for_auth: false,
          paused_for_sell_auth: false,
          single_requests: false,
        },
      ],
    })
  })

  test('a destination whose credentials Zendesk refuses is reported unreachable', async () => {
    t = await startTestService({
      deps: {
        resolveZendesk: () =>
          Promise.resolve({
            baseUrl: 'http://127.0.0.1:9',
            sellBaseUrl: 'http://127.0.0.1:9',
            credentials: { kind: 'oauth_client_credentials', clientId: 'x', clientSecret: 'y' },
            sellToken: null,
          }),
      },
    })
    const body: any = await (await fetch(`${t.url}/ready`)).json()
    expect(body.destinations[0]).toMatchObject({ id: 'default', reachable: false })
  })
})
