import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

async function deliveryLog(query = ''): Promise<any[]> {
  const r = await fetch(`${t!.url}/admin/api/delivery-log${query}`)
  return ((await r.json()) as { entries: any[] }).entries
}

const withAlias = `
sources:
  - { id: web, writeKey: test-write-key, destinations: [default] }
destinations:
  - id: default
    zendesk: { url: "http://127.0.0.1:9", oauth: { clientId: x, clientSecret: y } }
    subscriptions:
      - action: upsert-user
      - action: alias-external-id
`

describe('an alias moves external_id from previousId to userId (optional action)', () => {
  test('the user with previousId gets userId; an unknown previousId is nothing to do; a taken userId fails with why', async () => {
    t = await startTestService({ configYaml: withAlias })
    await t.post('/v1/batch', {
      batch: [
        { type: 'identify', userId: 'anon-7', traits: { email: 'dee@example.com', name: 'Dee' } },
        { type: 'identify', userId: 'u-taken', traits: { email: 'eve@example.com', name: 'Eve' } },
        { type: 'identify', userId: 'anon-9', traits: { email: 'fay@example.com', name: 'Fay' } },
      ],
    })
    await t.waitFor(async () => (await t!.state()).users.filter((u: any) => u.external_id).length === 3)

    await t.post('/v1/batch', {
      batch: [
        { type: 'alias', messageId: 'm-move', previousId: 'anon-7', userId: 'u-7' },
        { type: 'alias', messageId: 'm-ghost', previousId: 'ghost', userId: 'u-8' },
        { type: 'alias', messageId: 'm-taken', previousId: 'anon-9', userId: 'u-taken' },
      ],
    })
    const entries = await t.waitFor(async () => {
      const e = (await deliveryLog()).filter((x) => x.type === 'alias')
      return e.length === 3 ? e : null
    })
    const byMessage = new Map(entries.map((e) => [e.messageId, e]))
    expect(byMessage.get('m-move')).toMatchObject({
      actions: ['alias-external-id'],
      outcome: 'delivered',
      reason: null,
    })
    expect(byMessage.get('m-ghost')).toMatchObject({
      outcome: 'delivered',
      reason: 'no Zendesk user has external_id "ghost"; nothing to move',
    })
    expect(byMessage.get('m-taken')).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(
        /^ALIAS_EXTERNAL_ID_TAKEN: userId: Zendesk user \d+ already has external_id "u-taken"/,
      ),
    })

    const state = await t.state()
    const ext = (email: string) => state.users.find((u: any) => u.email === email)?.external_id
    expect(ext('dee@example.com')).toBe('u-7')
    expect(ext('eve@example.com')).toBe('u-taken')
    expect(ext('fay@example.com')).toBe('anon-9')
    const log: any = await (await fetch(`${t.emulator.url}/__emulator/requests?path=users/`)).json()
    const calls: string[] = log.requests.map((r: any) => `${r.method} ${r.path.replace(/\.json$/, '')}`)
    expect(calls.filter((c) => c === 'GET /api/v2/users/show_many').length).toBeGreaterThan(0)
    // One update_many for the one move: nothing is written for the unknown or the taken id.
    expect(calls.filter((c) => c === 'PUT /api/v2/users/update_many')).toHaveLength(1)

    // Later identifies with the new id find the same person.
    await t.post('/v1/identify', { userId: 'u-7', traits: { name: 'Dee Moved' } })
    await t.waitFor(async () =>
      (await t!.state()).users.some((u: any) => u.external_id === 'u-7' && u.name === 'Dee Moved'),
    )
    expect((await t.state()).users.filter((u: any) => u.external_id)).toHaveLength(3)
  })

  test('without a subscription naming it, alias calls are skipped with a reason', async () => {
    t = await startTestService()
    await t.post('/v1/identify', { userId: 'anon-1', traits: { email: 'gil@example.com', name: 'Gil' } })
    await t.post('/v1/alias', { messageId: 'm-alias', previousId: 'anon-1', userId: 'u-1' })
    const [entry] = await t.waitFor(async () => {
      const e = await deliveryLog('?message_id=m-alias')
      return e.length > 0 ? e : null
    })
    expect(entry).toMatchObject({ outcome: 'skipped', actions: [] })
    expect(entry.reason).toMatch(/alias-external-id/)
    await t.waitFor(async () => (await t!.state()).users.some((u: any) => u.email === 'gil@example.com'))
    const state = await t.state()
    expect(state.users.find((u: any) => u.email === 'gil@example.com').external_id).toBe('anon-1')
  })
})
