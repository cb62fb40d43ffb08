import { describe, expect, test } from 'vitest'

import { buildPayload } from '../build-payload.js'
import type { ActionContext } from '../define-action.js'
import {
  changesFor,
  fieldValue,
  mergeRecords,
  organizationFieldValues,
  upsertOrganization,
  wordList,
  type OrganizationRecord,
} from './upsert-organization.js'

const ctx: ActionContext = { userFieldKeys: null, settings: {} }

async function recordFor(event: unknown, c: ActionContext = ctx) {
  return upsertOrganization.bulk.item(await buildPayload(upsertOrganization.fields, undefined, event), c)
}

const group = {
  type: 'group',
  groupId: 'acme-1',
  userId: 'u1',
  traits: {
    name: 'Acme',
    domainNames: 'acme.com, Acme.io',
    tags: ['Enterprise', 'vip beta'],
    url: 'https://acme.com',
    deleted: false,
    planType: 'pro',
    'total-billed': 830,
    address: { city: 'Oslo' },
  },
  context: { traits: { email: 'Ann@Example.com', firstName: 'Ann', lastName: 'Lee' } },
}

describe('upsert-organization records', () => {
  test('a group call maps groupId, name, domains, tags and snake_case custom fields; url and deleted are fields too', async () => {
    expect(await recordFor(group)).toEqual({
      externalId: 'acme-1',
      name: 'Acme',
      domainNames: ['acme.com', 'acme.io'],
      tags: ['enterprise', 'vip', 'beta'],
      fields: { url: 'https://acme.com', deleted: false, plan_type: 'pro', total_billed: 830 },
      user: { externalId: 'u1', email: 'ann@example.com', name: 'Ann Lee' },
    })
  })

  test('a group without userId fails before any call unless sendGroupCallsWithoutUserId is on', async () => {
    const anonymous = { type: 'group', groupId: 'g', anonymousId: 'a1', traits: { name: 'G' } }
    await expect(recordFor(anonymous)).rejects.toMatchObject({
      kind: 'invalid_event',
      code: 'MAPPING_GROUP_WITHOUT_USER_ID',
      message: expect.stringContaining('sendGroupCallsWithoutUserId'),
    })
    const r = await recordFor(anonymous, {
      userFieldKeys: null,
      settings: { sendGroupCallsWithoutUserId: true },
    })
    expect(r).toMatchObject({ externalId: 'g', name: 'G', user: null })
  })

  test('a numeric groupId is a string external id; a group without traits carries only it', async () => {
    expect(await recordFor({ type: 'group', groupId: 908172409, userId: 'u1' })).toEqual({
      externalId: '908172409',
      fields: {},
      user: { externalId: 'u1' },
    })
  })

  test('the verification settings go with a user the group may create', async () => {
    const r = await recordFor(group, {
      userFieldKeys: null,
      settings: { verified: true, skipVerifyEmail: true },
    })
    expect(r.user).toMatchObject({ verified: true, skipVerifyEmail: true })
  })

  test('word lists split strings on spaces and commas, lower-case them and drop repeats', () => {
    expect(wordList(['a.com b.com', 'A.com,c.com', 7, null, { x: 1 }])).toEqual([
      'a.com',
      'b.com',
      'c.com',
      '7',
    ])
    expect(wordList([])).toEqual([])
    expect(wordList(undefined)).toBeUndefined()
  })

  test('records of one organization merge in order, fields key by key', () => {
    const a: OrganizationRecord = { externalId: 'G', name: 'Old', fields: { a: 1, b: 1 }, user: null }
    const b: OrganizationRecord = {
      externalId: 'g',
      tags: ['x'],
      fields: { b: 2 },
      user: { externalId: 'u' },
    }
    expect(mergeRecords([a, b])).toEqual({
      externalId: 'G',
      name: 'Old',
      tags: ['x'],
      fields: { a: 1, b: 2 },
      user: { externalId: 'u' },
    })
  })
})

describe('organization fields', () => {
  const defs = new Map([
    ['plan_type', { key: 'plan_type', type: 'text' }],
    ['seats', { key: 'seats', type: 'integer' }],
    ['vip', { key: 'vip', type: 'checkbox' }],
    ['renewal', { key: 'renewal', type: 'date' }],
    ['tier', { key: 'tier', type: 'dropdown', custom_field_options: [{ value: 'gold' }] }],
  ])

  test('only existing fields are sent, with values their types take; the rest is named with the reason', () => {
    expect(
      organizationFieldValues(
        {
          plan_type: 42,
          seats: '12',
          vip: 'true',
          renewal: '2027-01-31T10:00:00Z',
          tier: 'tin',
          industry: 'x',
        },
        defs,
      ),
    ).toEqual({
      values: { plan_type: '42', seats: 12, vip: true, renewal: '2027-01-31' },
      dropped: [
        'tier ("tin" is not an option of this field (gold))',
        'industry (no such organization field)',
      ],
    })
  })

  test.each([
    [{ key: 'k', type: 'integer' }, 1.5, undefined],
    [{ key: 'k', type: 'decimal' }, '2.5', 2.5],
    [{ key: 'k', type: 'checkbox' }, 'yes', undefined],
    [{ key: 'k', type: 'date' }, 'tomorrow', undefined],
    [{ key: 'k', type: 'text' }, null, null],
  ])('%o takes %o as %o', (field, value, expected) => {
    expect(fieldValue(field, value)).toEqual(expected)
  })
})

describe('what an update changes', () => {
  const current = {
    id: 7,
    name: 'Acme',
    external_id: 'acme-1',
    domain_names: ['acme.com'],
    tags: ['vip'],
    organization_fields: { plan_type: 'pro', renewal: '2027-01-31T00:00:00Z', seats: 3 },
  }

  test('nothing when the organization already is as wanted (order and date forms aside)', () => {
    expect(
      changesFor(current, {
        external_id: 'acme-1',
        name: 'Acme',
        domain_names: ['ACME.com'],
        tags: ['vip'],
        organization_fields: { plan_type: 'pro', renewal: '2027-01-31', seats: 3 },
      }),
    ).toBeNull()
  })

  test('only what differs', () => {
    expect(
      changesFor(current, {
        external_id: 'acme-1',
        name: 'Acme Inc',
        tags: ['vip', 'beta'],
        organization_fields: { plan_type: 'pro', seats: 4 },
      }),
    ).toEqual({ name: 'Acme Inc', tags: ['vip', 'beta'], organization_fields: { seats: 4 } })
  })
})
