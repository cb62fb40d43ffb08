import { describe, expect, test } from 'vitest'

import { useTestEmulator } from './client.js'

const zd = useTestEmulator()

describe('job statuses', () => {
  test('an unknown job status is 404 RecordNotFound, with and without .json', async () => {
    for (const path of ['/api/v2/job_statuses/V3-nope.json', '/api/v2/job_statuses/V3-nope']) {
      const r = await zd.get(path)
      expect(r.status).toBe(404)
      expect(r.body).toEqual({ error: 'RecordNotFound', description: 'Not found' })
    }
  })

  test('an unknown Support endpoint is 404 InvalidEndpoint', async () => {
    const r = await zd.get('/api/v2/no_such_thing.json')
    expect(r.status).toBe(404)
    expect(r.body.error).toBe('InvalidEndpoint')
  })
})
