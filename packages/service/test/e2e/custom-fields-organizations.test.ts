/**
 * Custom organization fields end to end (issue 4, "Custom fields"): group → queue → delivery →
 * the emulator's organizations, with the delivery log saying what was left out and why.
 */
import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, WRITE_KEY, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

const organizationFields = [
  {
    key: 'tier',
    title: 'Tier',
    type: 'dropdown',
    custom_field_options: [
      { name: 'Gold plan', value: 'gold' },
      { name: 'Silver plan', value: 'silver' },
    ],
  },
  { key: 'employees', title: 'Employees', type: 'integer' },
  { key: 'active_customer', title: 'Active customer', type: 'checkbox' },
  { key: 'founded', title: 'Founded', type: 'date' },
  { key: 'revenue', title: 'Revenue', type: 'decimal' },
  { key: 'note', title: 'Note', type: 'text' },
]

/** Groups without a userId upsert only the organization: these tests are about its fields. */
const config = (settings = ''): string => `
sources:
  - { id: web, writeKey: ${WRITE_KEY}, destinations: [default] }
destinations:
  - id: default
    zendesk: { sandbox: true }
    settings: { sendGroupCallsWithoutUserId: true${settings} }
`

const orgBy = (state: any, externalId: string) =>
  state.organizations.find((o: any) => o.external_id === externalId)

async function logged(messageId: string): Promise<any> {
  const r = await fetch(`${t!.url}/admin/api/delivery-log?message_id=${messageId}`)
  return ((await r.json()) as { entries: any[] }).entries[0]
}

const settled = (messageId: string) => t!.waitFor(() => logged(messageId))

async function fieldRequests(method: string): Promise<number> {
  const r = await fetch(`${t!.emulator.url}/__emulator/requests?path=/api/v2/organization_fields`)
  return ((await r.json()) as { requests: any[] }).requests.filter((q) => q.method === method).length
}

const group = (groupId: string, messageId: string, traits: Record<string, unknown>) => ({
  anonymousId: 'anon-1',
  groupId,
  messageId,
  traits,
})

describe('group traits become typed organization fields', () => {
  test('values are coerced to each field’s type; a trait that is no field is named in the delivery log; the list is read once', async () => {
    t = await startTestService({
      configYaml: config(),
      emulator: { fields: { organization: organizationFields } },
    })
    await t.post(
      '/v1/group',
      group('acme', 'g1', {
        name: 'Acme',
        tier: 'gold PLAN',
        employees: '250',
        activeCustomer: 'false',
        founded: 1_700_000_000,
        revenue: '1234.5',
        note: true,
        industry: 'rockets',
      }),
    )
    expect(await settled('g1')).toMatchObject({
      outcome: 'delivered',
      reason:
        'organization_fields left out (Zendesk would drop them silently): industry (no such organization field)',
    })
    expect(orgBy(await t.state(), 'acme').organization_fields).toEqual({
      tier: 'gold',
      employees: 250,
      active_customer: false,
      founded: '2023-11-14T00:00:00Z',
      revenue: 1234.5,
      note: 'true',
    })

    // A second organization later: the cached list serves it.
    await t.post('/v1/group', group('globex', 'g2', { name: 'Globex', tier: 'silver' }))
    expect(await settled('g2')).toMatchObject({ outcome: 'delivered', reason: null })
    expect(orgBy(await t.state(), 'globex').organization_fields).toMatchObject({ tier: 'silver' })
    expect(await fieldRequests('GET')).toBe(1)
  })

  test('a value its field cannot take is left out and named with the reason; the organization is still upserted', async () => {
    t = await startTestService({
      configYaml: config(),
      emulator: { fields: { organization: organizationFields } },
    })
    await t.post(
      '/v1/group',
      group('acme', 'g1', { name: 'Acme', employees: 'lots', founded: 'next spring', note: 'keep' }),
    )
    const entry = await settled('g1')
    expect(entry.outcome).toBe('delivered')
    expect(entry.reason).toBe(
      "organization_fields values left out (the field's type cannot take them): " +
        'employees ("lots" is not a whole number), founded ("next spring" is not a date (YYYY-MM-DD, an ISO timestamp or epoch seconds))',
    )
    const acme = orgBy(await t.state(), 'acme')
    expect(acme.name).toBe('Acme')
    expect(acme.organization_fields).toEqual({ note: 'keep' })
  })

  test('with createMissingOrganizationFields, missing fields are created typed from the values and filled at once', async () => {
    t = await startTestService({ configYaml: config(', createMissingOrganizationFields: true') })
    await t.post(
      '/v1/group',
      group('acme', 'g1', {
        name: 'Acme',
        planType: 'enterprise',
        employees: 250,
        revenue: 1234.5,
        isPartner: true,
        renewal: '2027-01-31',
      }),
    )
    expect(await settled('g1')).toMatchObject({ outcome: 'delivered', reason: null })
    const state = await t.state()
    expect(state.organization_fields.map((f: any) => [f.key, f.type, f.title])).toEqual([
      ['plan_type', 'text', 'planType'],
      ['employees', 'integer', 'employees'],
      ['revenue', 'decimal', 'revenue'],
      ['is_partner', 'checkbox', 'isPartner'],
      ['renewal', 'date', 'renewal'],
    ])
    expect(orgBy(state, 'acme').organization_fields).toEqual({
      plan_type: 'enterprise',
      employees: 250,
      revenue: 1234.5,
      is_partner: true,
      renewal: '2027-01-31T00:00:00Z',
    })
    // Users' fields are another setting: none was created.
    expect(state.user_fields).toEqual([])
  })

  test('without the setting no organization field is created, and the delivery log names the traits left out', async () => {
    t = await startTestService({ configYaml: config(', createMissingUserFields: true') })
    await t.post('/v1/group', group('acme', 'g1', { name: 'Acme', planType: 'enterprise' }))
    expect(await settled('g1')).toMatchObject({
      outcome: 'delivered',
      reason:
        'organization_fields left out (Zendesk would drop them silently): plan_type (no such organization field)',
    })
    expect((await t.state()).organization_fields).toEqual([])
    expect(await fieldRequests('POST')).toBe(0)
  })
})
