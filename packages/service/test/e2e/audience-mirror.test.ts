import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, WRITE_KEY, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

/** One source feeding a Support-users destination and a Sell destination, the same audience on both. */
const config = `
sources:
  - { id: aep, writeKey: ${WRITE_KEY}, destinations: [support, sell] }
destinations:
  - id: support
    zendesk: { sandbox: true }
    activations:
      - id: vip-tag
        target: support-users
        audiences: [{ id: seg-vip, tag: aud_vip }]
  - id: sell
    zendesk: { sandbox: true }
    activations:
      - id: vip-contacts
        target: sell-contacts
        audiences: [{ id: seg-vip, mappingId: aud_vip }]
`

const person = (name: string) => ({
  identityMap: { Email: [{ id: `${name}@example.com` }] },
  person: { name: { firstName: name, lastName: 'Lee' } },
  segmentMembership: { ups: { 'seg-vip': { status: 'existing' } } },
})

async function members(t: TestService, destination: string): Promise<number> {
  const r = await fetch(`${t.url}/admin/api/destinations/${destination}/activations`)
  const body = (await r.json()) as { audiences: { audienceId: string; members: number }[] }
  return body.audiences.find((a) => a.audienceId === 'seg-vip')?.members ?? 0
}

async function settledMembers(t: TestService, n: number): Promise<void> {
  await t.waitFor(async () => (await members(t, 'support')) === n && (await members(t, 'sell')) === n)
}

/** Who has the audience in Zendesk: the tag in Support, a non-exited status in Sell. */
async function holders(t: TestService): Promise<{ support: string[]; sell: string[] }> {
  const s = await t.state()
  return {
    support: s.users
      .filter((u: any) => u.tags.includes('aud_vip'))
      .map((u: any) => u.email)
      .sort(),
    sell: s.sell.contacts
      .filter((c: any) => c.custom_fields.aud_vip && c.custom_fields.aud_vip !== 'exited')
      .map((c: any) => c.email)
      .sort(),
  }
}

describe('mirror: a snapshot of the members moves everyone it lacks to exited', () => {
  test('in one request, and across several requests of one snapshot, for Support users and Sell contacts', async () => {
    t = await startTestService({ configYaml: config })
    const res = await fetch(`${t.emulator.url}/v2/contact/custom_fields`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${t.emulator.seed.sellToken}`,
        'content-type': 'application/json',
        'user-agent': 'test',
      },
      body: JSON.stringify({ data: { name: 'aud_vip', type: 'string' } }),
    })
    expect(res.status).toBe(200)

    const first = await t.post('/v1/audiences', {
      profiles: [person('ann'), person('bo'), person('cy')],
      mirror: { audiences: ['seg-vip'] },
    })
    expect(first.body).toMatchObject({ accepted: 3, mirror: { complete: true, exited: 0 } })
    await settledMembers(t, 3)
    const everyone = ['ann@example.com', 'bo@example.com', 'cy@example.com']
    expect(await holders(t)).toEqual({ support: everyone, sell: everyone })

    // Bo is not in the next snapshot: he exits on both destinations.
    const second = await t.post('/v1/audiences', {
      profiles: [person('ann'), person('cy')],
      mirror: { audiences: ['seg-vip'] },
    })
    expect(second.body).toMatchObject({ accepted: 2, mirror: { complete: true, exited: 2 } })
    await settledMembers(t, 2)
    expect(await holders(t)).toEqual({
      support: ['ann@example.com', 'cy@example.com'],
      sell: ['ann@example.com', 'cy@example.com'],
    })
    const state = await t.state()
    expect(state.sell.contacts.find((c: any) => c.email === 'bo@example.com').custom_fields.aud_vip).toBe(
      'exited',
    )

    // A snapshot in two requests: nothing exits until it is complete; then Cy, who was not in it, does.
    const part = await t.post('/v1/audiences', {
      profiles: [person('ann')],
      mirror: { audiences: ['seg-vip'], snapshot: 'nightly-2', complete: false },
    })
    expect(part.body).toMatchObject({ mirror: { snapshot: 'nightly-2', complete: false, exited: 0 } })
    const end = await t.post('/v1/audiences', {
      profiles: [],
      mirror: { audiences: ['seg-vip'], snapshot: 'nightly-2', complete: true },
    })
    expect(end.body).toMatchObject({ accepted: 0, mirror: { exited: 2 } })
    await settledMembers(t, 1)
    expect(await holders(t)).toEqual({ support: ['ann@example.com'], sell: ['ann@example.com'] })
  })

  test('members whose profiles are still queued when a snapshot completes are exited too, after their profile', async () => {
    t = await startTestService({ configYaml: config })
    const res = await fetch(`${t.emulator.url}/v2/contact/custom_fields`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${t.emulator.seed.sellToken}`,
        'content-type': 'application/json',
        'user-agent': 'test',
      },
      body: JSON.stringify({ data: { name: 'aud_vip', type: 'string' } }),
    })
    expect(res.status).toBe(200)
    // Realized profiles (one keyed by its userId), then at once, without waiting for their
    // delivery, a snapshot that has Ann only.
    const dee = { ...person('dee'), userId: 'crm-dee' }
    const realized = await t.post('/v1/audiences', [person('ann'), person('bo'), dee])
    expect(realized.body).toMatchObject({ accepted: 3 })
    const snapshot = await t.post('/v1/audiences', {
      profiles: [person('ann')],
      mirror: { audiences: ['seg-vip'] },
    })
    // Bo and Dee, on each of the two destinations.
    expect(snapshot.body).toMatchObject({ accepted: 1, mirror: { complete: true, exited: 4 } })
    await settledMembers(t, 1)
    // Their exits came after their profiles: the emulator ends with Ann only.
    await t.waitFor(async () => (await t!.state()).sell.contacts.length === 3)
    expect(await holders(t)).toEqual({ support: ['ann@example.com'], sell: ['ann@example.com'] })
    const state = await t.state()
    expect(
      state.sell.contacts
        .map((c: any) => [c.email, c.custom_fields.aud_vip])
        .sort((a: string[], b: string[]) => a[0]!.localeCompare(b[0]!)),
    ).toEqual([
      ['ann@example.com', 'existing'],
      ['bo@example.com', 'exited'],
      ['dee@example.com', 'exited'],
    ])
    expect(state.users.find((u: any) => u.email === 'dee@example.com')).toMatchObject({
      external_id: 'crm-dee',
      tags: [],
    })
  })

  test('a multi-request snapshot needs its id', async () => {
    t = await startTestService({ configYaml: config })
    const r = await t.post('/v1/audiences', {
      profiles: [],
      mirror: { audiences: ['seg-vip'], complete: false },
    })
    expect(r).toMatchObject({ status: 400, body: { code: 'INGEST_INVALID_MIRROR' } })
  })
})
