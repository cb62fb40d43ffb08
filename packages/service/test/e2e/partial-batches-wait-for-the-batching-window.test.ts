import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

function identifies(from: number, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    type: 'identify',
    userId: `w${from + i}`,
    traits: { email: `w${from + i}@example.com`, name: `W ${from + i}` },
  }))
}

describe('the batching window', () => {
  test('records that arrive within the window fill one bulk call of 100 instead of two partial ones', async () => {
    t = await startTestService({ deps: { workerOptions: { batchWindowMs: 1500, pollIntervalMs: 20 } } })
    expect((await t.post('/v1/batch', { batch: identifies(0, 60) })).status).toBe(200)
    expect((await t.post('/v1/batch', { batch: identifies(60, 60) })).status).toBe(200)
    const state = await t.waitFor(async () => {
      const s = await t!.state()
      return s.users.length === 121 ? s : null
    })
    // Every bulk call's job status records how many users it carried, in the order sent.
    expect(state.job_statuses.map((j: any) => j.total)).toEqual([100, 20])
  })

  test('a partial batch is sent once the window is over, without waiting for more', async () => {
    t = await startTestService({ deps: { workerOptions: { batchWindowMs: 300, pollIntervalMs: 20 } } })
    const sentAt = Date.now()
    await t.post('/v1/batch', { batch: identifies(0, 5) })
    await t.waitFor(async () => (await t!.state()).users.length === 6)
    const log: any = await (
      await fetch(`${t.emulator.url}/__emulator/requests?path=create_or_update_many`)
    ).json()
    expect(log.requests).toHaveLength(1)
    expect(Date.parse(log.requests[0].time) - sentAt).toBeGreaterThanOrEqual(250)
  })
})
