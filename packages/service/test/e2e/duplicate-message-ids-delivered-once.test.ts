/**
 * SDKs retry a request whose answer they did not get, with the same messageIds. Such a repeat is
 * accepted (so the SDK stops retrying) and not delivered again: a repeat that carries changed
 * traits must leave Zendesk as it was. A later event with a new messageId is the control — it is
 * delivered, and since jobs are claimed in the order received, once it has arrived any repeat
 * that had been queued before it would have arrived too.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined
let dataDir: string | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
  if (dataDir) {
    rmSync(dataDir, { recursive: true, force: true })
    dataDir = undefined
  }
})

const identify = (i: number, name: string, messageId = `msg-${i}`) => ({
  type: 'identify',
  messageId,
  userId: `dup-${i}`,
  traits: { email: `dup-${i}@example.com`, name },
})

const userOf = (state: any, i: number) => state.users.find((u: any) => u.external_id === `dup-${i}`)

async function waitForName(t: TestService, i: number, name: string): Promise<any> {
  return t.waitFor(async () => {
    const state = await t.state()
    return userOf(state, i)?.name === name ? state : null
  })
}

describe('a repeated messageId is accepted and delivered once', () => {
  test('a batch sent again with the same messageIds (an SDK retry) is accepted and changes nothing', async () => {
    t = await startTestService()
    const first = await t.post('/v1/batch', {
      batch: Array.from({ length: 20 }, (_, i) => identify(i, `Original ${i}`)),
    })
    expect(first.body).toMatchObject({ success: true, accepted: 20 })
    await t.waitFor(async () => (await t!.state()).users.length === 21)

    const retry = await t.post('/v1/batch', {
      batch: Array.from({ length: 20 }, (_, i) => identify(i, `Changed ${i}`)),
    })
    expect(retry).toEqual({ status: 200, body: { success: true, accepted: 20, rejected: [] } })
    const single = await t.post('/v1/identify', identify(3, 'Changed again'))
    expect(single).toEqual({ status: 200, body: { success: true, accepted: 1, rejected: [] } })

    // The control: a new messageId for user 0 is delivered.
    expect((await t.post('/v1/identify', identify(0, 'Control', 'msg-new'))).status).toBe(200)
    const state = await waitForName(t, 0, 'Control')
    expect(state.users).toHaveLength(21)
    for (let i = 1; i < 20; i++) {
      expect(userOf(state, i)).toMatchObject({ name: `Original ${i}`, email: `dup-${i}@example.com` })
    }
  })

  test('two events with one messageId in the same batch: the first is delivered, the second is not', async () => {
    t = await startTestService()
    const r = await t.post('/v1/batch', {
      batch: [
        identify(1, 'First', 'same-id'),
        identify(1, 'Second', 'same-id'),
        identify(2, 'Marker', 'other-id'),
      ],
    })
    expect(r.body).toMatchObject({ success: true, accepted: 3, rejected: [] })
    const state = await waitForName(t, 2, 'Marker')
    expect(userOf(state, 1)).toMatchObject({ name: 'First' })
    expect(state.users).toHaveLength(3)
  })

  test('the messageIds seen are remembered across a restart of the service', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'zdd-dup-'))
    t = await startTestService({ dataDir })
    expect((await t.post('/v1/identify', identify(1, 'Before restart'))).status).toBe(200)
    await waitForName(t, 1, 'Before restart')
    await t.stop()
    t = undefined

    // A new service on the same data folder, and a fresh (empty) Zendesk: a repeat must not reach it.
    t = await startTestService({ dataDir })
    expect((await t.post('/v1/identify', identify(1, 'After restart'))).status).toBe(200)
    expect((await t.post('/v1/identify', identify(2, 'Marker'))).status).toBe(200)
    const state = await waitForName(t, 2, 'Marker')
    expect(userOf(state, 1)).toBeUndefined()
    const log: any = await (await fetch(`${t.emulator.url}/__emulator/requests?path=create_or_update`)).json()
    expect(log.requests.length).toBeGreaterThan(0)
  })
})
