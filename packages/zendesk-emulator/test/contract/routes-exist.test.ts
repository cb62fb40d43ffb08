/**
 * Every Support endpoint the emulator serves must be one Zendesk documents (the OpenAPI document),
 * or be on the explained `MISSING_FROM_DOCUMENT` list, so a typo in a route or an invented endpoint
 * fails here. Events API paths are not in the document (facts §0.1) and are left out.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

import { startTestEmulator, type TestClient } from '../client.js'
import { loadOas, MISSING_FROM_DOCUMENT, type Oas, supportRoutes } from './oas.js'

let oas: Oas
let zd: TestClient

beforeAll(async () => {
  oas = loadOas()
  // No rate limits: every route is called twice in a row below.
  zd = await startTestEmulator({ rateLimits: false })
})
afterAll(async () => {
  await zd.close()
})

/** A list key with parameter names erased, for comparing the list with the routes. */
function shape(key: string): string {
  return key.replace(/\{[^}]+\}/g, '{}')
}

describe('the emulated Support API against Zendesk’s OpenAPI document', () => {
  test('the emulator reports its routes, including the job status endpoints', () => {
    const keys = supportRoutes(zd.emulator.routes).map((r) => `${r.method} ${r.template}`)
    expect(keys).toContain('GET /api/v2/job_statuses/{job_status_id}')
    expect(keys).toContain('GET /api/v2/job_statuses/show_many')
  })

  test('every emulated Support endpoint is in the document, or on the explained missing-from-document list', () => {
    const missing = supportRoutes(zd.emulator.routes)
      .filter((r) => !oas.hasOperation(r.method, r.template))
      .map((r) => shape(`${r.method} ${r.template}`))
    const allowed = Object.keys(MISSING_FROM_DOCUMENT).map(shape)
    console.info(`Emulated Support endpoints missing from Zendesk's document:\n  ${missing.join('\n  ')}`)
    // Exactly the list: a new undocumented endpoint fails until it is listed with a reason, and a
    // listed one that is no longer served (or that a newer document adds) must leave the list.
    expect(missing.sort()).toEqual(allowed.sort())
  })

  test('the missing-from-document list names endpoints the document really lacks', () => {
    for (const key of Object.keys(MISSING_FROM_DOCUMENT)) {
      const [method, path] = key.split(' ') as [string, string]
      expect(oas.hasOperation(method, path), key).toBe(false)
    }
  })

  test('every emulated Support endpoint answers the same with and without .json', async () => {
    // Parameters get ids that exist nowhere, so reads answer 404 RecordNotFound and writes fail
    // validation: enough to prove the route was reached (an unrouted path is 404 InvalidEndpoint).
    const routes = supportRoutes(zd.emulator.routes)
    expect(routes.length).toBeGreaterThan(0)
    for (const { method, template } of routes) {
      const path = template.replace(/\{([^}]+)\}/g, (_m, name: string) =>
        name.includes('job_status') ? 'V3-0000' : '999999999',
      )
      const body = method === 'POST' || method === 'PUT' ? {} : undefined
      const bare = await zd.request(method, path, body)
      const suffixed = await zd.request(method, `${path}.json`, body)
      const what = `${method} ${path}: ${bare.status} ${bare.text.slice(0, 120)} / .json: ${suffixed.status} ${suffixed.text.slice(0, 120)}`
      expect(bare.body?.error, what).not.toBe('InvalidEndpoint')
      expect(suffixed.body?.error, what).not.toBe('InvalidEndpoint')
      expect(suffixed.status, what).toBe(bare.status)
    }
  })
})
