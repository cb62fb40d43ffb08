import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, WRITE_KEY, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

/** One activation to Support users: a tag, a checkbox field and a text field. */
const config = `
sources:
  - { id: aep, writeKey: ${WRITE_KEY}, destinations: [support] }
destinations:
  - id: support
    zendesk: { sandbox: true }
    activations:
      - id: vip-users
        target: support-users
        audiences:
          - { id: seg-vip, key: vip, tag: aud_vip }
          - { id: seg-churn, key: churn_risk, representation: checkbox, field: aud_churn }
          - { id: seg-tier, key: tier, representation: text, field: aud_tier }
`

async function zendesk(t: TestService, method: string, path: string, body?: unknown): Promise<any> {
  const { adminEmail, apiToken } = t.emulator.seed
  const res = await fetch(`${t.emulator.url}/api/v2/${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${adminEmail}/token:${apiToken}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  expect(res.status).toBeLessThan(300)
  return res.json()
}

async function setUpFields(t: TestService): Promise<void> {
  await zendesk(t, 'POST', 'user_fields', {
    user_field: { key: 'aud_churn', title: 'Churn', type: 'checkbox' },
  })
  await zendesk(t, 'POST', 'user_fields', { user_field: { key: 'aud_tier', title: 'Tier', type: 'text' } })
}

function profile(email: string, ups: Record<string, string>, extra: Record<string, unknown> = {}) {
  return {
    identityMap: { Email: [{ id: email }] },
    segmentMembership: {
      ups: Object.fromEntries(
        Object.entries(ups).map(([id, status]) => [
          id,
          { status, lastQualificationTime: '2026-11-20T10:00:00Z' },
        ]),
      ),
    },
    ...extra,
  }
}

async function activations(t: TestService): Promise<Record<string, any>> {
  const r = await fetch(`${t.url}/admin/api/destinations/support/activations`)
  const body = (await r.json()) as { audiences: any[] }
  return Object.fromEntries(body.audiences.map((a) => [a.audienceId, a]))
}

/** Profiles whose delivery has ended (received counts them at acceptance already). */
const settled = (a: any): number => (a ? a.activated + a.excluded + a.failed : 0)

const userBy = (state: any, email: string) => state.users.find((u: any) => u.email === email)

describe('audience activation to Support users', () => {
  test('realized, existing and exited, several audiences on one profile, tags preserved, counts match the users', async () => {
    t = await startTestService({ configYaml: config })
    await setUpFields(t)
    // Someone else's tag on an existing user must survive.
    await zendesk(t, 'POST', 'users', { user: { name: 'Bo', email: 'bo@example.com', tags: ['premium'] } })

    const first = await t.post('/v1/audiences', [
      profile(
        'ann@example.com',
        { 'seg-vip': 'realized', 'seg-churn': 'realized', 'seg-tier': 'realized' },
        { person: { name: { firstName: 'Ann', lastName: 'Lee' } } },
      ),
      // No name: Bo keeps his.
      profile('bo@example.com', { 'seg-vip': 'existing', 'seg-tier': 'existing' }),
    ])
    expect(first).toMatchObject({ status: 200, body: { success: true, accepted: 2, rejected: [] } })
    let state = await t.waitFor(async () => {
      const s = await t!.state()
      return userBy(s, 'ann@example.com')?.tags.includes('aud_vip') &&
        userBy(s, 'bo@example.com')?.tags.length === 2
        ? s
        : null
    })
    expect(userBy(state, 'ann@example.com')).toMatchObject({
      name: 'Ann Lee',
      tags: ['aud_vip'],
      user_fields: { aud_churn: true, aud_tier: 'realized' },
    })
    expect(userBy(state, 'bo@example.com')).toMatchObject({
      name: 'Bo',
      tags: ['premium', 'aud_vip'],
      user_fields: { aud_tier: 'existing' },
    })

    // Exits: the tag goes, the others stay; the checkbox clears; the text holds "exited".
    await t.post('/v1/audiences', [
      profile('ann@example.com', { 'seg-vip': 'exited', 'seg-churn': 'exited', 'seg-tier': 'exited' }),
      profile('bo@example.com', { 'seg-vip': 'exited' }),
    ])
    state = await t.waitFor(async () => {
      const s = await t!.state()
      return userBy(s, 'ann@example.com')?.tags.length === 0 && userBy(s, 'bo@example.com')?.tags.length === 1
        ? s
        : null
    })
    expect(userBy(state, 'ann@example.com')).toMatchObject({
      tags: [],
      user_fields: { aud_churn: false, aud_tier: 'exited' },
    })
    expect(userBy(state, 'bo@example.com').tags).toEqual(['premium'])
    expect(state.users.filter((u: any) => u.role === 'end-user')).toHaveLength(2)

    const data = await t.waitFor(async () => {
      const a = await activations(t!)
      return settled(a['seg-vip']) === 4 ? a : null
    })
    expect(data['seg-vip']).toMatchObject({
      activationId: 'vip-users',
      received: 4,
      activated: 4,
      excluded: 0,
      failed: 0,
      statuses: { realized: 1, existing: 1, exited: 2 },
      members: 0,
    })
    expect(data['seg-tier']).toMatchObject({
      activated: 3,
      statuses: { realized: 1, existing: 1, exited: 1 },
    })
    // The members now, as the emulator holds them: nobody has the tag.
    expect(state.users.filter((u: any) => u.tags.includes('aud_vip'))).toHaveLength(data['seg-vip'].members)
  })

  test('a profile without an identity is rejected at ingest with its index; the valid ones beside it are kept', async () => {
    t = await startTestService({ configYaml: config })
    const r = await t.post('/v1/audiences', {
      profiles: [
        {
          person: { name: { lastName: 'Nobody' } },
          segmentMembership: { ups: { 'seg-vip': { status: 'realized' } } },
        },
        profile('cy@example.com', { 'seg-vip': 'realized' }),
        {
          identityMap: { Email: [{ id: 'dee@example.com' }] },
          segmentMembership: { ups: { 'seg-vip': { status: 'gone' } } },
        },
      ],
    })
    expect(r.status).toBe(200)
    expect(r.body.accepted).toBe(1)
    expect(r.body.rejected).toEqual([
      {
        index: 0,
        reasons: [{ path: 'identityMap', message: expect.stringMatching(/needs an Email identity/) }],
      },
      {
        index: 2,
        reasons: [
          { path: 'segmentMembership.ups.seg-vip.status', message: 'must be realized, existing, exited' },
        ],
      },
    ])
    await t.waitFor(async () => userBy(await t!.state(), 'cy@example.com')?.tags.includes('aud_vip'))
    // One profile as the whole body, the write key in it: accepted, and the key is not kept.
    const single = await fetch(`${t.url}/v1/audiences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...profile('dee@example.com', { 'seg-vip': 'existing' }), writeKey: WRITE_KEY }),
    })
    expect(single.status).toBe(200)
    await t.waitFor(async () => userBy(await t!.state(), 'dee@example.com'))
    const jobs: any = await t.waitFor(async () => {
      const r: any = await (await fetch(`${t!.url}/admin/api/destinations/support/jobs?state=done`)).json()
      return r.jobs.some((j: any) => j.payload.email === 'dee@example.com') ? r : null
    })
    expect(JSON.stringify(jobs)).not.toContain(WRITE_KEY)
    const none = await t.post('/v1/audiences', [{ segmentMembership: {} }])
    expect(none).toMatchObject({ status: 400, body: { code: 'INGEST_NO_VALID_EVENTS' } })
    const unauthorized = await fetch(`${t.url}/v1/audiences`, { method: 'POST', body: '[]' })
    expect(unauthorized.status).toBe(401)
  })

  test('a profile whose email changes is matched by its userId and updated, not duplicated', async () => {
    t = await startTestService({ configYaml: config })
    await t.post('/v1/audiences', [
      profile('old@example.com', { 'seg-vip': 'realized' }, { userId: 'crm-1' }),
    ])
    await t.waitFor(async () => userBy(await t!.state(), 'old@example.com')?.tags.includes('aud_vip'))
    await t.post('/v1/audiences', [
      {
        identityMap: { Email: [{ id: 'new@example.com' }], CRMID: [{ id: 'crm-1' }] },
        segmentMembership: { ups: { 'seg-vip': { status: 'exited' } } },
      },
    ])
    const state = await t.waitFor(async () => {
      const s = await t!.state()
      const u = s.users.find((x: any) => x.external_id === 'crm-1')
      return u && u.tags.length === 0 ? s : null
    })
    const people = state.users.filter((u: any) => u.role === 'end-user')
    expect(people).toHaveLength(1)
    // The new email is the user's primary one; the old one stays as a secondary identity.
    expect(people[0]).toMatchObject({ external_id: 'crm-1', email: 'new@example.com', tags: [] })
    const emails = state.identities
      .filter((i: any) => i.user_id === people[0].id && i.type === 'email')
      .map((i: any) => ({ value: i.value, primary: i.primary }))
    expect(emails.sort((a: any, b: any) => a.value.localeCompare(b.value))).toEqual([
      { value: 'new@example.com', primary: true },
      { value: 'old@example.com', primary: false },
    ])
  })

  test('stream events: Audience Entered / Exited tracks and identify traits become memberships', async () => {
    t = await startTestService({ configYaml: config })
    await setUpFields(t)
    await t.post('/v1/batch', {
      batch: [
        {
          type: 'track',
          userId: 'u7',
          event: 'Audience Entered',
          properties: { audience_key: 'vip' },
          context: { traits: { email: 'eve@example.com', name: 'Eve' } },
        },
        { type: 'identify', userId: 'u7', traits: { email: 'eve@example.com', churn_risk: true } },
      ],
    })
    let eve = await t.waitFor(async () => {
      const u = userBy(await t!.state(), 'eve@example.com')
      return u?.tags.includes('aud_vip') && u.user_fields.aud_churn === true ? u : null
    })
    expect(eve).toMatchObject({ external_id: 'u7', name: 'Eve' })
    await t.post('/v1/track', {
      userId: 'u7',
      event: 'Audience Exited',
      properties: { audience_key: 'vip' },
      context: { traits: { email: 'eve@example.com' } },
    })
    eve = await t.waitFor(async () => {
      const u = userBy(await t!.state(), 'eve@example.com')
      return u && !u.tags.includes('aud_vip') ? u : null
    })
    expect(eve.user_fields.aud_churn).toBe(true)
    const data = await t.waitFor(async () => {
      const a = await activations(t!)
      return a['seg-vip']?.activated === 2 ? a : null
    })
    expect(data['seg-vip'].statuses).toEqual({ realized: 1, existing: 0, exited: 1 })
    expect(data['seg-churn']).toMatchObject({ activated: 1, members: 1 })
  })

  test('stream names configured per activation: a custom-named track and identify trait become memberships, the default names do not', async () => {
    t = await startTestService({
      configYaml: `
sources:
  - { id: web, writeKey: ${WRITE_KEY}, destinations: [support] }
destinations:
  - id: support
    zendesk: { sandbox: true }
    activations:
      - id: custom-names
        target: support-users
        audiences:
          - { id: seg-vip, key: vip_customers, tag: aud_vip }
          - { id: seg-churn, key: churn_risk, representation: checkbox, field: aud_churn }
        stream: { enteredEvent: Segment Joined, exitedEvent: Segment Left, keyProperty: segment_key }
`,
    })
    await setUpFields(t)
    const accepted = await t.post('/v1/batch', {
      batch: [
        // Engage's default names: not this activation's.
        {
          type: 'track',
          userId: 'u8',
          event: 'Audience Entered',
          properties: { audience_key: 'vip_customers', segment_key: 'vip_customers' },
          context: { traits: { email: 'max@example.com' } },
        },
        {
          type: 'track',
          userId: 'u7',
          event: 'Segment Joined',
          properties: { segment_key: 'vip_customers' },
          context: { traits: { email: 'eve@example.com', name: 'Eve' } },
        },
        { type: 'identify', userId: 'u7', traits: { email: 'eve@example.com', churn_risk: true } },
      ],
    })
    expect(accepted.body).toMatchObject({ accepted: 3 })
    const eve = await t.waitFor(async () => {
      const u = userBy(await t!.state(), 'eve@example.com')
      return u?.tags.includes('aud_vip') && u.user_fields.aud_churn === true ? u : null
    })
    expect(eve).toMatchObject({ external_id: 'u7', name: 'Eve' })
    await t.post('/v1/batch', {
      batch: [
        {
          type: 'track',
          userId: 'u7',
          event: 'Segment Left',
          properties: { segment_key: 'vip_customers' },
          context: { traits: { email: 'eve@example.com' } },
        },
        { type: 'identify', userId: 'u7', traits: { churn_risk: false } },
      ],
    })
    // Both leave: the tag goes and the checkbox clears.
    await t.waitFor(async () => {
      const u = userBy(await t!.state(), 'eve@example.com')
      return u && !u.tags.includes('aud_vip') && u.user_fields.aud_churn === false ? u : null
    })
    const data = await t.waitFor(async () => {
      const a = await activations(t!)
      return settled(a['seg-vip']) === 2 && settled(a['seg-churn']) === 2 ? a : null
    })
    // The default-named track counted for no audience, and gave no one the tag.
    expect(data['seg-vip']).toMatchObject({
      activationId: 'custom-names',
      received: 2,
      activated: 2,
      statuses: { realized: 1, existing: 0, exited: 1 },
      members: 0,
    })
    expect(data['seg-churn']).toMatchObject({ received: 2, activated: 2, members: 0 })
    const state = await t.state()
    expect(state.users.filter((u: any) => u.tags.includes('aud_vip'))).toHaveLength(0)
    expect(userBy(state, 'max@example.com')?.tags ?? []).not.toContain('aud_vip')
  })

  test('an account without bulk import gets one user at a time, tags still merged with the others', async () => {
    t = await startTestService({ configYaml: config })
    const off = await fetch(`${t.emulator.url}/__emulator/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ bulkUserImport: false }),
    })
    expect(off.status).toBe(200)
    await zendesk(t, 'POST', 'users', { user: { name: 'Bo', email: 'bo@example.com', tags: ['premium'] } })
    await t.post('/v1/audiences', [
      profile('bo@example.com', { 'seg-vip': 'existing' }),
      // No name: created with the email as its name.
      profile('fay@example.com', { 'seg-vip': 'realized' }),
    ])
    const state = await t.waitFor(async () => {
      const s = await t!.state()
      return userBy(s, 'fay@example.com')?.tags.includes('aud_vip') &&
        userBy(s, 'bo@example.com')?.tags.length === 2
        ? s
        : null
    }, 20_000)
    expect(userBy(state, 'bo@example.com')).toMatchObject({ name: 'Bo', tags: ['premium', 'aud_vip'] })
    expect(userBy(state, 'fay@example.com')).toMatchObject({ name: 'fay@example.com', tags: ['aud_vip'] })
    const data = await t.waitFor(async () => {
      const a = await activations(t!)
      return a['seg-vip']?.activated === 2 ? a : null
    })
    expect(data['seg-vip']).toMatchObject({ failed: 0, members: 2 })
  })
})
