/**
 * A primary-email change (issue 4, action 1; RudderStack's "Update user's primary email",
 * `searchByExternalId`): with `updatePrimaryEmail`, an identify with a new email for a known
 * userId makes that email the user's primary one, through Zendesk's identities; the old email
 * stays as a secondary. Only the users whose primary email changes cost identity calls. Without
 * the setting, Zendesk's own rule holds: the new email is added as a secondary email.
 */
import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

async function deliveryLog(query = ''): Promise<any[]> {
  const r = await fetch(`${t!.url}/admin/api/delivery-log${query}`)
  expect(r.status).toBe(200)
  return ((await r.json()) as { entries: any[] }).entries
}

async function emulatorCalls(): Promise<string[]> {
  const r = await fetch(`${t!.emulator.url}/__emulator/requests?path=users`)
  return ((await r.json()) as { requests: any[] }).requests.map(
    (x: any) => `${x.method} ${x.path.replace(/\.json$/, '').replace(/\/\d+/g, '/{id}')}`,
  )
}

const config = (settings: string) => `
sources:
  - { id: web, writeKey: test-write-key, destinations: [default] }
destinations:
  - id: default
    zendesk: { url: "http://127.0.0.1:9", oauth: { clientId: x, clientSecret: y } }
    settings: { ${settings} }
`

/** Identifies three users and waits until Zendesk has them; returns their ids by userId. */
async function threeUsers(): Promise<Map<string, number>> {
  await t!.post('/v1/batch', {
    batch: ['ann', 'bob', 'cy'].map((n) => ({
      type: 'identify',
      userId: `u-${n}`,
      traits: { email: `${n}@old.example`, name: n },
    })),
  })
  const state = await t!.waitFor(async () => {
    const s = await t!.state()
    return s.users.filter((u: any) => u.external_id).length === 3 ? s : null
  })
  return new Map(state.users.filter((u: any) => u.external_id).map((u: any) => [u.external_id, u.id]))
}

async function emailsOf(userId: number): Promise<[string, boolean][]> {
  return (await t!.state()).identities
    .filter((i: any) => i.user_id === userId && i.type === 'email')
    .sort((a: any, b: any) => Number(b.primary) - Number(a.primary))
    .map((i: any) => [i.value, i.primary])
}

describe('an identify with a new email for a known userId', () => {
  test('with updatePrimaryEmail, the new email becomes primary and the old one stays; only that user costs identity calls', async () => {
    t = await startTestService({ configYaml: config('updatePrimaryEmail: true') })
    const ids = await threeUsers()
    const ann = ids.get('u-ann')!

    await t.post('/v1/batch', {
      batch: [
        { type: 'identify', messageId: 'm-ann', userId: 'u-ann', traits: { email: 'Ann@New.example' } },
        {
          type: 'identify',
          messageId: 'm-bob',
          userId: 'u-bob',
          traits: { email: 'bob@old.example', name: 'Bob' },
        },
        { type: 'identify', messageId: 'm-cy', userId: 'u-cy', traits: { name: 'Cy' } },
      ],
    })
    const entries = await t.waitFor(async () => {
      const e = (await deliveryLog()).filter((x) => ['m-ann', 'm-bob', 'm-cy'].includes(x.messageId))
      return e.length === 3 ? e : null
    })
    const byMessage = new Map(entries.map((e) => [e.messageId, e]))
    expect(byMessage.get('m-ann')).toMatchObject({
      outcome: 'delivered',
      reason: `"ann@new.example" is now the primary email of Zendesk user ${ann}; "ann@old.example" stays as a secondary email`,
    })
    expect(byMessage.get('m-bob')).toMatchObject({ outcome: 'delivered', reason: null })
    expect(byMessage.get('m-cy')).toMatchObject({ outcome: 'delivered', reason: null })

    const state = await t.state()
    expect(state.users.filter((u: any) => u.external_id)).toHaveLength(3)
    expect(state.users.find((u: any) => u.id === ann)).toMatchObject({
      email: 'ann@new.example',
      name: 'ann',
    })
    expect(await emailsOf(ann)).toEqual([
      ['ann@new.example', true],
      ['ann@old.example', false],
    ])
    expect(await emailsOf(ids.get('u-bob')!)).toEqual([['bob@old.example', true]])

    // Created users cost nothing more; of the updated ones, one show_many, and identity calls for Ann only.
    const calls = await emulatorCalls()
    expect(calls.filter((c) => c === 'GET /api/v2/users/show_many')).toHaveLength(1)
    expect(calls.filter((c) => c.includes('/identities'))).toEqual([
      'GET /api/v2/users/{id}/identities',
      'PUT /api/v2/users/{id}/identities/{id}/make_primary',
    ])

    // The next identify with the new email changes nothing more: Ann is found, no identity call.
    await t.post('/v1/identify', {
      messageId: 'm-again',
      userId: 'u-ann',
      traits: { email: 'ann@new.example', name: 'Ann N' },
    })
    const [again] = await t.waitFor(async () => {
      const e = await deliveryLog('?message_id=m-again')
      return e.length > 0 ? e : null
    })
    expect(again).toMatchObject({ outcome: 'delivered', reason: null })
    expect((await t.state()).users.find((u: any) => u.id === ann)).toMatchObject({
      email: 'ann@new.example',
      name: 'Ann N',
    })
    expect((await emulatorCalls()).filter((c) => c.includes('/identities'))).toHaveLength(2)
  })

  test('on an account without bulk import, records go one by one and the primary email changes all the same', async () => {
    t = await startTestService({
      configYaml: config('updatePrimaryEmail: true'),
      emulator: { bulkUserImport: false },
    })
    await t.post('/v1/identify', {
      messageId: 'm-first',
      userId: 'u-ann',
      traits: { email: 'ann@old.example', name: 'Ann' },
    })
    const created = await t.waitFor(async () =>
      (await t!.state()).users.find((u: any) => u.external_id === 'u-ann'),
    )
    await t.post('/v1/identify', {
      messageId: 'm-ann',
      userId: 'u-ann',
      traits: { email: 'ann@new.example' },
    })
    const [entry] = await t.waitFor(async () => {
      const e = await deliveryLog('?message_id=m-ann')
      return e.length > 0 ? e : null
    })
    expect(entry).toMatchObject({
      outcome: 'delivered',
      reason: `"ann@new.example" is now the primary email of Zendesk user ${created.id}; "ann@old.example" stays as a secondary email`,
    })
    expect(await emailsOf(created.id)).toEqual([
      ['ann@new.example', true],
      ['ann@old.example', false],
    ])
    const calls = await emulatorCalls()
    expect(calls.filter((c) => c === 'POST /api/v2/users/create_or_update')).toHaveLength(2)
    // The user created first needed nothing more.
    expect(calls.filter((c) => c === 'GET /api/v2/users/show_many')).toHaveLength(1)
  })

  test('without it (the default), Zendesk adds the new email as a secondary and the primary stays', async () => {
    t = await startTestService()
    const ids = await threeUsers()
    const ann = ids.get('u-ann')!
    await t.post('/v1/identify', {
      messageId: 'm-ann',
      userId: 'u-ann',
      traits: { email: 'ann@new.example' },
    })
    const [entry] = await t.waitFor(async () => {
      const e = await deliveryLog('?message_id=m-ann')
      return e.length > 0 ? e : null
    })
    expect(entry).toMatchObject({ outcome: 'delivered', reason: null })
    expect(await emailsOf(ann)).toEqual([
      ['ann@old.example', true],
      ['ann@new.example', false],
    ])
    const calls = await emulatorCalls()
    expect(calls.filter((c) => c.includes('/identities') || c.includes('show_many'))).toEqual([])
  })
})
