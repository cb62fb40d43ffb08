import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

interface LogEntry {
  seq: number
  method: string
  path: string
  status: number
  time: string
}

async function requestLog(url: string, path: string): Promise<LogEntry[]> {
  const body: any = await (await fetch(`${url}/__emulator/requests?path=${path}`)).json()
  return body.requests
}

const identify = (i: number, name = `User ${i}`) => ({
  type: 'identify',
  userId: `u${i}`,
  traits: { email: `u${i}@example.com`, name },
})

const endUsers = async (t: TestService) => (await t.state()).users.filter((u: any) => u.role === 'end-user')

// Zendesk allows one single-user upsert a second per account: ten users take about ten seconds.
describe('an account without bulk import (create_or_update_many answers 403)', () => {
  test('users go out as single create_or_update calls, at most one a second, with no 429', async () => {
    t = await startTestService()
    const emulator = t.emulator.url
    const res = await fetch(`${emulator}/__emulator/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ bulkUserImport: false }),
    })
    expect(res.status).toBe(200)

    // Ten people; u3 is identified twice in the batch and goes out once, with the later name.
    const batch = [...Array.from({ length: 10 }, (_, i) => identify(i)), identify(3, 'Three Renamed')]
    expect((await t.post('/v1/batch', { batch })).body).toMatchObject({ accepted: 11 })
    const users = await t.waitFor(async () => {
      const found = await endUsers(t!)
      return found.length === 10 ? found : null
    }, 30_000)
    expect(users.find((u: any) => u.external_id === 'u3')).toMatchObject({ name: 'Three Renamed' })
    expect(t.service.workers.get([...t.service.workers.keys()][0]!)?.usesSingleRequests).toBe(true)

    // The fallback is remembered: later users go singly at once, without asking for bulk again.
    expect((await t.post('/v1/batch', { batch: [identify(10), identify(11)] })).body).toMatchObject({
      accepted: 2,
    })
    await t.waitFor(async () => (await endUsers(t!)).length === 12, 10_000)

    const bulk = await requestLog(emulator, 'create_or_update_many')
    expect(bulk.map((e) => e.status)).toEqual([403])
    const single = (await requestLog(emulator, '/users/create_or_update')).filter(
      (e) => !e.path.includes('create_or_update_many'),
    )
    expect(single.map((e) => e.status)).toEqual(Array.from({ length: 12 }, () => 201))
    // Steady state within the limit: no 429 anywhere after the fallback began, and single calls
    // at least a second apart.
    const all = await requestLog(emulator, '/api/v2/')
    expect(all.filter((e) => e.seq > bulk[0]!.seq && e.status === 429)).toEqual([])
    const gaps = single.slice(1).map((e, i) => Date.parse(e.time) - Date.parse(single[i]!.time))
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1_000)
  }, 60_000)
})
