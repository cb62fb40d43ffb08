/**
 * Segment's rule (seed 004): "If there are multiple users matching the email, then no updates are
 * submitted." An identify whose email is one Zendesk user's (here a secondary email identity) and
 * whose userId is another user's external_id updates neither; the job fails, not retried, with a
 * reason naming both users; the identifies beside it are delivered.
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

async function jobs(state: string): Promise<any[]> {
  const r = await fetch(`${t!.url}/admin/api/destinations/default/jobs?state=${state}`)
  return ((await r.json()) as { jobs: any[] }).jobs
}

/** What a Zendesk agent does by hand: adds an email identity to a user. */
async function addEmailIdentity(userId: number, value: string): Promise<void> {
  const { adminEmail, apiToken } = t!.emulator.seed
  const r = await fetch(`${t!.emulator.url}/api/v2/users/${userId}/identities`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${adminEmail}/token:${apiToken}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ identity: { type: 'email', value } }),
  })
  expect(r.status).toBe(201)
}

async function emulatorRequests(path: string): Promise<{ seq: number; method: string; path: string }[]> {
  const r = await fetch(`${t!.emulator.url}/__emulator/requests?path=${encodeURIComponent(path)}`)
  return ((await r.json()) as { requests: any[] }).requests
}

const config = (settings: string) => `
sources:
  - { id: web, writeKey: test-write-key, destinations: [default] }
destinations:
  - id: default
    zendesk: { url: "http://127.0.0.1:9", oauth: { clientId: x, clientSecret: y } }
    settings: { ${settings} }
`

/** Ann and Bob exist; an agent gave Ann a second email, shared@example.com. */
async function annAndBob(): Promise<{ ann: any; bob: any }> {
  await t!.post('/v1/batch', {
    batch: [
      { type: 'identify', userId: 'u-ann', traits: { email: 'ann@example.com', name: 'Ann' } },
      { type: 'identify', userId: 'u-bob', traits: { email: 'bob@example.com', name: 'Bob' } },
    ],
  })
  const state = await t!.waitFor(async () => {
    const s = await t!.state()
    return s.users.filter((u: any) => u.external_id).length === 2 ? s : null
  })
  // And the service has settled their jobs (a poll saw the bulk job done): until then Bob's next
  // identify waits behind his first one, and would go out in a later call than Cy's.
  await t!.waitFor(async () => ((await jobs('done')).length === 2 ? true : null))
  const ann = state.users.find((u: any) => u.external_id === 'u-ann')
  const bob = state.users.find((u: any) => u.external_id === 'u-bob')
  await addEmailIdentity(ann.id, 'shared@example.com')
  return { ann, bob }
}

async function identitiesOf(userId: number): Promise<[string, boolean][]> {
  return (await t!.state()).identities
    .filter((i: any) => i.user_id === userId && i.type === 'email')
    .map((i: any) => [i.value, i.primary])
    .sort()
}

describe('several Zendesk users match one identify: nothing is updated and the case is reported', () => {
  test.each([
    ['matching by external_id (the default)', '', true],
    ['matching by email', 'matchUsersBy: email', true],
    ['on an account without bulk import (records go one by one)', '', false],
  ])('%s', async (_name, settings, bulkUserImport) => {
    t = await startTestService({ configYaml: config(settings), emulator: { bulkUserImport } })
    const { ann, bob } = await annAndBob()
    const before = Math.max(0, ...(await emulatorRequests('users/')).map((r) => r.seq))

    await t.post('/v1/batch', {
      batch: [
        {
          type: 'identify',
          messageId: 'm-conflict',
          userId: 'u-bob',
          traits: { email: 'shared@example.com', name: 'Bob Changed', phone: '+15550001111' },
        },
        {
          type: 'identify',
          messageId: 'm-cy',
          userId: 'u-cy',
          traits: { email: 'cy@example.com', name: 'Cy' },
        },
      ],
    })
    const entries = await t.waitFor(async () => {
      const e = (await deliveryLog()).filter((x) => x.messageId === 'm-conflict' || x.messageId === 'm-cy')
      return e.length === 2 ? e : null
    })
    const byMessage = new Map(entries.map((e) => [e.messageId, e]))
    expect(byMessage.get('m-conflict')).toMatchObject({
      actions: ['upsert-user'],
      outcome: 'failed',
      attempt: 1,
      reason: `USER_MATCHES_SEVERAL: email: several Zendesk users match this identify: email "shared@example.com" is user ${ann.id}'s and external_id "u-bob" is user ${bob.id}'s; nothing was updated (Segment's rule). Merge the users in Zendesk or correct the event, then replay it`,
    })
    expect(byMessage.get('m-cy')).toMatchObject({ outcome: 'delivered', reason: null })

    // Nothing changed on either user; the job is dead (kept for a replay), not retried.
    const state = await t.state()
    const bobNow = state.users.find((u: any) => u.id === bob.id)
    expect(bobNow).toMatchObject({ name: 'Bob', phone: null, email: 'bob@example.com' })
    expect(state.users.find((u: any) => u.id === ann.id)).toMatchObject({ name: 'Ann', external_id: 'u-ann' })
    expect(await identitiesOf(bob.id)).toEqual([['bob@example.com', true]])
    expect(await identitiesOf(ann.id)).toEqual([
      ['ann@example.com', true],
      ['shared@example.com', false],
    ])
    expect(state.users.find((u: any) => u.external_id === 'u-cy')).toMatchObject({ email: 'cy@example.com' })
    expect((await jobs('dead')).map((j) => j.dedupeKey)).toEqual(['m-conflict'])
    expect(await deliveryLog('?message_id=m-conflict')).toHaveLength(1)

    // The conflict's lookups (show_many by external id, a search by email) come after the upsert
    // by default (Zendesk refused the record itself, facts §2.5; they only name the users), before
    // it when matching by email (the record never goes out).
    const after = (await emulatorRequests('users/')).filter((r) => r.seq > before)
    const first = (path: string) =>
      Math.min(...after.filter((r) => r.path.startsWith(path)).map((r) => r.seq))
    const searchedAt = first('/api/v2/users/search')
    const sentAt = first('/api/v2/users/create_or_update')
    expect(Number.isFinite(searchedAt) && Number.isFinite(sentAt)).toBe(true)
    expect(settings === '' ? searchedAt > sentAt : searchedAt < sentAt).toBe(true)
  })
})
