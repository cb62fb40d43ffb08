import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

const usersBy = (state: any, email: string) => state.users.filter((u: any) => u.email === email)

describe('an identify becomes a Zendesk user', () => {
  test('curl-style identify: Ann appears in Zendesk with her name and external_id', async () => {
    t = await startTestService()
    const r = await t.post('/v1/identify', {
      userId: 'u1',
      traits: { email: 'ann@example.com', name: 'Ann' },
    })
    expect(r).toEqual({ status: 200, body: { success: true, accepted: 1, rejected: [] } })
    const [ann] = await t.waitFor(async () => {
      const found = usersBy(await t!.state(), 'ann@example.com')
      return found.length > 0 ? found : null
    })
    expect(ann).toMatchObject({ name: 'Ann', external_id: 'u1', role: 'end-user' })
  })

  test('a batch goes out as one create_or_update_many call, and later traits of a person win', async () => {
    t = await startTestService()
    const batch = [
      ...Array.from({ length: 50 }, (_, i) => ({
        type: 'identify',
        userId: `u${i}`,
        traits: { email: `p${i}@example.com`, name: `P ${i}` },
      })),
      { type: 'identify', userId: 'u7', traits: { name: 'Seven Renamed', phone: '+4512345678' } },
    ]
    const r = await t.post('/v1/batch', { batch })
    expect(r.body).toMatchObject({ success: true, accepted: 51 })
    const state = await t.waitFor(async () => {
      const s = await t!.state()
      return s.users.length === 51 ? s : null
    })
    expect(state.users.find((u: any) => u.external_id === 'u7')).toMatchObject({
      name: 'Seven Renamed',
      email: 'p7@example.com',
      phone: '+4512345678',
    })
    const log: any = await (await fetch(`${t.emulator.url}/__emulator/requests?path=create_or_update`)).json()
    expect(log.requests.map((e: any) => e.path)).toEqual(['/api/v2/users/create_or_update_many.json'])
  })

  test('a batch with invalid events delivers the valid ones and reports the others by index and reason', async () => {
    t = await startTestService()
    const r = await t.post('/v1/batch', {
      batch: [
        { type: 'identify', userId: 'ok1', traits: { email: 'ok1@example.com', name: 'Ok One' } },
        { type: 'identify', traits: { email: 'nobody@example.com' } },
        { type: 'track', userId: 'x' },
        { type: 'identify', userId: 'ok2', traits: { email: 'ok2@example.com', name: 'Ok Two' } },
      ],
    })
    expect(r.status).toBe(200)
    expect(r.body).toEqual({
      success: true,
      accepted: 2,
      rejected: [
        { index: 1, reasons: [{ path: 'userId', message: 'userId or anonymousId is required' }] },
        { index: 2, reasons: [{ path: 'event', message: 'is required' }] },
      ],
    })
    await t.waitFor(async () => (await t!.state()).users.length === 3)
    const emails = (await t.state()).users.map((u: any) => u.email).sort()
    expect(emails).toEqual(['admin@example.com', 'ok1@example.com', 'ok2@example.com'])
  })
})
