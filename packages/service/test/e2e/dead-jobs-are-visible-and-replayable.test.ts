import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

async function get(path: string): Promise<any> {
  const r = await fetch(`${t!.url}${path}`)
  return { status: r.status, body: await r.json() }
}

describe('the operator sees failed records and can replay them', () => {
  test('a record Zendesk refuses ends dead with Zendesk’s reason; replay sends it again', async () => {
    t = await startTestService()
    await t.post('/v1/batch', {
      batch: [
        { type: 'identify', userId: 'good', traits: { email: 'good@example.com', name: 'Good' } },
        { type: 'identify', userId: 'bad', traits: { email: 'not-an-email', name: 'Bad' } },
      ],
    })
    const dead = await t.waitFor(async () => {
      const r = await get('/admin/api/destinations/default/jobs?state=dead')
      return r.body.jobs.length === 1 ? r.body.jobs : null
    })
    expect(dead[0]).toMatchObject({ state: 'dead', attempts: 1, payload: { userId: 'bad' } })
    expect(dead[0].lastError).toMatch(/not properly formatted/)

    const overview = await get('/admin/api/destinations')
    expect(overview.body.destinations).toEqual([
      {
        id: 'default',
        pausedForAuth: false,
        singleRequests: false,
        jobs: expect.objectContaining({ done: 1, dead: 1 }),
      },
    ])

    const replay = await fetch(`${t.url}/admin/api/destinations/default/replay`, { method: 'POST' })
    expect(await replay.json()).toEqual({ replayed: 1 })
    // Zendesk refuses it again: dead again, after a second bulk call.
    await t.waitFor(async () => {
      const log: any = await (
        await fetch(`${t!.emulator.url}/__emulator/requests?path=create_or_update_many`)
      ).json()
      return log.requests.length === 2
    })
    await t.waitFor(
      async () => (await get('/admin/api/destinations/default/jobs?state=dead')).body.jobs.length === 1,
    )
  })

  test('bad requests name the field; unknown destinations are 404', async () => {
    t = await startTestService()
    expect((await get('/admin/api/destinations/nope/jobs')).status).toBe(404)
    const bad = await get('/admin/api/destinations/default/jobs?state=lost')
    expect(bad.status).toBe(400)
    expect(bad.body.message).toMatch(/^state: /)
  })
})
