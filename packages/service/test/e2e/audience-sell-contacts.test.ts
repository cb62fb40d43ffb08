import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, WRITE_KEY, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

/** Two activations to Sell: by email (AEP's behaviour), and matched by a custom field holding the userId. */
const config = `
sources:
  - { id: aep, writeKey: ${WRITE_KEY}, destinations: [sell] }
destinations:
  - id: sell
    zendesk: { sandbox: true }
    activations:
      - id: aep-contacts
        target: sell-contacts
        audiences:
          - { id: seg-vip, mappingId: aud_vip }
          - { id: seg-churn, mappingId: aud_churn }
        mappings:
          title: $.attributes.person.jobTitle
`

const matchConfig = `
sources:
  - { id: aep, writeKey: ${WRITE_KEY}, destinations: [sell] }
destinations:
  - id: sell
    zendesk: { sandbox: true }
    activations:
      - id: crm-contacts
        target: sell-contacts
        sellMatchField: crm_id
        audiences:
          - { id: seg-vip, mappingId: aud_vip }
`

async function sellField(t: TestService, name: string): Promise<void> {
  const res = await fetch(`${t.emulator.url}/v2/contact/custom_fields`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${t.emulator.seed.sellToken}`,
      'content-type': 'application/json',
      'user-agent': 'test',
    },
    body: JSON.stringify({ data: { name, type: 'string' } }),
  })
  expect(res.status).toBe(200)
}

function profile(email: string | null, lastName: string | null, ups: Record<string, string>, more = {}) {
  return {
    ...(email !== null ? { identityMap: { Email: [{ id: email }] } } : {}),
    person: { name: { firstName: 'Ann', ...(lastName !== null ? { lastName } : {}) }, jobTitle: 'CTO' },
    segmentMembership: {
      ups: Object.fromEntries(Object.entries(ups).map(([id, status]) => [id, { status }])),
    },
    ...more,
  }
}

async function activations(t: TestService): Promise<Record<string, any>> {
  const r = await fetch(`${t.url}/admin/api/destinations/sell/activations`)
  const body = (await r.json()) as { audiences: any[] }
  return Object.fromEntries(body.audiences.map((a) => [a.audienceId, a]))
}

/** Profiles whose delivery has ended (received counts them at acceptance already). */
const settled = (a: any): number => (a ? a.activated + a.excluded + a.failed : 0)

const contacts = async (t: TestService): Promise<any[]> => (await t.state()).sell.contacts

describe('audience activation to Sell contacts (the AEP destination)', () => {
  test('realized, existing, exited and several audiences land in the Mapping ID fields; profiles without the mandatory mappings are excluded with the reason', async () => {
    t = await startTestService({ configYaml: config })
    await sellField(t, 'aud_vip')
    await sellField(t, 'aud_churn')
    const r = await t.post('/v1/audiences', [
      profile('Ann@Example.com', 'Lee', { 'seg-vip': 'realized', 'seg-churn': 'existing' }),
      profile('bo@example.com', 'Ray', { 'seg-vip': 'existing' }),
      // Mandatory mappings missing: no last name; and (index 3) no email, only a userId.
      profile('cy@example.com', null, { 'seg-vip': 'realized' }),
      profile(null, 'Dee', { 'seg-vip': 'realized' }, { userId: 'crm-4' }),
    ])
    expect(r.body).toMatchObject({ accepted: 4, rejected: [] })
    // Received counts at acceptance, before delivery; the outcomes follow when the jobs settle.
    expect((await activations(t))['seg-vip']).toMatchObject({ received: 4 })
    const data = await t.waitFor(async () => {
      const a = await activations(t!)
      return settled(a['seg-vip']) === 4 ? a : null
    })
    let list = await contacts(t)
    expect(list).toHaveLength(2)
    const ann = list.find((c) => c.email === 'ann@example.com')
    expect(ann).toMatchObject({
      first_name: 'Ann',
      last_name: 'Lee',
      custom_fields: { aud_vip: 'realized', aud_churn: 'existing' },
      extra: { title: 'CTO' },
    })
    expect(list.find((c) => c.email === 'bo@example.com').custom_fields).toEqual({ aud_vip: 'existing' })
    expect(data['seg-vip']).toMatchObject({
      received: 4,
      activated: 2,
      excluded: 2,
      failed: 0,
      members: 2,
      excludedReasons: [
        { reason: expect.stringMatching(/^email: /), count: 1 },
        { reason: expect.stringMatching(/^last_name: /), count: 1 },
      ],
    })
    // The activation data agrees with Sell: the members are the contacts whose status is not exited.
    expect(list.filter((c) => c.custom_fields.aud_vip !== 'exited')).toHaveLength(data['seg-vip'].members)

    await t.post('/v1/audiences', [profile('ann@example.com', 'Lee', { 'seg-vip': 'exited' })])
    await t.waitFor(async () => (await contacts(t!)).find((c) => c.custom_fields.aud_vip === 'exited'))
    list = await contacts(t)
    expect(list).toHaveLength(2)
    expect(list.find((c) => c.email === 'ann@example.com').custom_fields).toEqual({
      aud_vip: 'exited',
      aud_churn: 'existing',
    })
    const after = await t.waitFor(async () => {
      const a = await activations(t!)
      return settled(a['seg-vip']) === 5 ? a : null
    })
    expect(after['seg-vip']).toMatchObject({
      received: 5,
      statuses: { realized: 1, existing: 1, exited: 1 },
      members: 1,
    })
  })

  test('a Mapping ID that is not a Sell custom field fails the profile with Sell’s error as the last error', async () => {
    t = await startTestService({ configYaml: config, deps: { maxAttempts: 1 } })
    await t.post('/v1/audiences', [profile('ann@example.com', 'Lee', { 'seg-vip': 'realized' })])
    const data = await t.waitFor(async () => {
      const a = await activations(t!)
      return a['seg-vip']?.failed === 1 ? a : null
    })
    expect(data['seg-vip'].lastError.message).toMatch(/^ZD_HTTP_422: .*unknown/)
    expect(await contacts(t)).toHaveLength(0)
    // The delivery log names the field and gives Sell's message, not only "422 unknown".
    const log = await fetch(`${t.url}/admin/api/delivery-log?destination=sell&outcome=failed`)
    const [failed] = ((await log.json()) as { entries: any[] }).entries
    expect(failed.reason).toContain(
      'custom_fields: is an unknown attribute ("aud_vip" is not a contact custom field of this account)',
    )
  })

  test('with sellMatchField, a profile whose email changes updates its contact instead of creating another', async () => {
    t = await startTestService({ configYaml: matchConfig })
    await sellField(t, 'aud_vip')
    await sellField(t, 'crm_id')
    await t.post('/v1/audiences', [
      profile('old@example.com', 'Lee', { 'seg-vip': 'realized' }, { userId: 'crm-1' }),
    ])
    await t.waitFor(async () => (await contacts(t!)).length === 1)
    await t.post('/v1/audiences', [
      profile('new@example.com', 'Lee', { 'seg-vip': 'existing' }, { userId: 'crm-1' }),
    ])
    const list = await t.waitFor(async () => {
      const l = await contacts(t!)
      return l[0]?.email === 'new@example.com' ? l : null
    })
    expect(list).toHaveLength(1)
    expect(list[0].custom_fields).toEqual({ aud_vip: 'existing', crm_id: 'crm-1' })
  })
})
