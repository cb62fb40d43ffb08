import { describe, expect, test } from 'vitest'

import {
  coerceFieldValue,
  createField,
  FieldCatalog,
  fieldCandidates,
  fieldTypeFor,
  fieldTypeOf,
  fieldValues,
  fieldValuesNote,
  isIsoDate,
  isValidFieldKey,
  listFields,
  snakeCase,
  type ZendeskCustomField,
} from './custom-fields.js'

const field = (type: string, extra: Partial<ZendeskCustomField> = {}): ZendeskCustomField => ({
  id: 1,
  key: 'k',
  title: 'K',
  type,
  ...extra,
})

const plans = field('dropdown', {
  custom_field_options: [
    { name: 'Gold plan', value: 'gold' },
    { name: 'Silver', value: 'silver_tier' },
    { name: 'Bronze', value: 'Bronze_Tag' },
  ],
})
const tagger = { ...plans, type: 'tagger' }
const multi = { ...plans, type: 'multiselect' }
const digits = field('regexp', { regexp_for_validation: '^\\d{3}$' })

/** [field, value given, value sent] — the value is sent, coerced. */
const takes: [ZendeskCustomField, unknown, unknown][] = [
  [field('checkbox'), true, true],
  [field('checkbox'), false, false],
  [field('checkbox'), 'true', true],
  [field('checkbox'), ' FALSE ', false],
  [field('checkbox'), 1, true],
  [field('checkbox'), 0, false],
  [field('checkbox'), '1', true],
  [field('checkbox'), '0', false],
  [field('date'), '2027-01-31', '2027-01-31'],
  [field('date'), '2027-01-31T09:30:00Z', '2027-01-31'],
  [field('date'), '2027-01-31T23:30:00-05:00', '2027-01-31'],
  [field('date'), '2027-01-31T09:30:00.123+02:00', '2027-01-31'],
  [field('date'), '2027-01-31 09:30', '2027-01-31'],
  [field('date'), 1800000000, '2027-01-15'],
  [field('date'), 1800000000000, '2027-01-15'],
  [field('date'), 0, '1970-01-01'],
  [field('integer'), 12, 12],
  [field('integer'), '12', 12],
  [field('integer'), ' -7 ', -7],
  [field('integer'), 12.0, 12],
  [field('decimal'), 2.5, 2.5],
  [field('decimal'), '2.5', 2.5],
  [field('decimal'), '-0.25', -0.25],
  [field('decimal'), '1e3', 1000],
  [field('decimal'), 3, 3],
  [plans, 'gold', 'gold'],
  [plans, 'GOLD', 'gold'],
  [plans, 'Gold plan', 'gold'],
  [plans, 'gold PLAN', 'gold'],
  [plans, 'silver', 'silver_tier'],
  [plans, 'Bronze_Tag', 'Bronze_Tag'],
  [plans, 'bronze_tag', 'Bronze_Tag'],
  [tagger, 'Silver', 'silver_tier'],
  [multi, ['gold', 'Silver'], ['gold', 'silver_tier']],
  [multi, 'gold', ['gold']],
  [multi, ['gold', 'GOLD'], ['gold']],
  [field('text'), 'pro', 'pro'],
  [field('text'), 42, '42'],
  [field('text'), true, 'true'],
  [field('text'), '', ''],
  [field('textarea'), 2.5, '2.5'],
  [field('partialcreditcard'), 'XXXX1234', 'XXXX1234'],
  [digits, '123', '123'],
  [digits, 123, '123'],
  [field('lookup'), 360001, 360001],
  [field('lookup'), '360001', 360001],
  // null clears any type; so does "" where text is not the type.
  [field('integer'), null, null],
  [plans, null, null],
  [field('text'), null, null],
  [field('date'), '', null],
  [field('checkbox'), '', null],
]

/** [field, value given, the reason it is not sent]. */
const refuses: [ZendeskCustomField, unknown, string][] = [
  [field('checkbox'), 'yes', '"yes" is not a checkbox value (true or false)'],
  [field('checkbox'), 2, '2 is not a checkbox value (true or false)'],
  [field('date'), 'tomorrow', '"tomorrow" is not a date (YYYY-MM-DD, an ISO timestamp or epoch seconds)'],
  [field('date'), '2027-02-31', '"2027-02-31" is not a date (YYYY-MM-DD, an ISO timestamp or epoch seconds)'],
  [field('date'), '31/01/2027', '"31/01/2027" is not a date (YYYY-MM-DD, an ISO timestamp or epoch seconds)'],
  [field('date'), true, 'true is not a date (YYYY-MM-DD, an ISO timestamp or epoch seconds)'],
  [field('integer'), 1.5, '1.5 is not a whole number'],
  [field('integer'), '12.5', '"12.5" is not a whole number'],
  [field('integer'), 'twelve', '"twelve" is not a whole number'],
  [field('integer'), true, 'true is not a whole number'],
  [field('integer'), 2 ** 60, '1152921504606847000 is not a whole number'],
  [field('decimal'), 'abc', '"abc" is not a number'],
  [field('decimal'), '0x10', '"0x10" is not a number'],
  [field('decimal'), false, 'false is not a number'],
  [plans, 'platinum', '"platinum" is not an option of this field (gold, silver_tier, Bronze_Tag)'],
  [plans, true, 'true is not an option of this field (gold, silver_tier, Bronze_Tag)'],
  [multi, ['gold', 'tin'], '"tin" is not an option of this field (gold, silver_tier, Bronze_Tag)'],
  [digits, '12a', '"12a" does not match ^\\d{3}$'],
  [field('lookup'), 'acme', '"acme" is not a record id'],
  [field('text'), ['a', 'b'], 'a list is not a text value'],
  [field('integer'), [1], 'a list is not a integer value'],
]

describe('a value is coerced to its field’s type', () => {
  test.each(takes)('%o takes %j as %j', (f, raw, sent) => {
    expect(coerceFieldValue(f, raw)).toEqual({ ok: true, value: sent })
  })

  test.each(refuses)('%o refuses %j: %s', (f, raw, reason) => {
    expect(coerceFieldValue(f, raw)).toEqual({ ok: false, reason })
  })

  test('coercing a coerced value changes nothing (what we send is what we would send again)', () => {
    // A property over every field type and a spread of values (no property-testing library here).
    const samples: unknown[] = [
      ...takes.map(([, raw]) => raw),
      ...refuses.map(([, raw]) => raw),
      -1,
      1e21,
      Number.MAX_SAFE_INTEGER,
      '  spaced  ',
      '007',
      'Gold plan',
      '2027-01-31T00:00:00Z',
      '1700000000',
      [],
    ]
    const fields = [...new Map([...takes, ...refuses].map(([f]) => [JSON.stringify(f), f])).values()]
    let checked = 0
    for (const f of fields) {
      for (const raw of samples) {
        const once = coerceFieldValue(f, raw)
        if (!once.ok) {
          continue
        }
        expect(coerceFieldValue(f, once.value)).toEqual(once)
        checked += 1
      }
    }
    expect(checked).toBeGreaterThan(100)
  })
})

describe('the type of a field created for a value', () => {
  test.each([
    [true, 'checkbox'],
    [false, 'checkbox'],
    [3, 'integer'],
    [-7, 'integer'],
    [0, 'integer'],
    [2.5, 'decimal'],
    [-0.1, 'decimal'],
    ['2027-01-31', 'date'],
    ['2027-01-31T09:30:00Z', 'date'],
    ['2027-01-31T09:30:00.123Z', 'date'],
    ['2027-01-31T09:30:00+02:00', 'date'],
    ['2027-01-31T09:30', 'date'],
    ['2027-02-31', 'text'],
    ['2027-13-01', 'text'],
    ['31/01/2027', 'text'],
    ['2027-01-31 and later', 'text'],
    ['2027', 'text'],
    ['pro', 'text'],
    ['', 'text'],
    ['42', 'text'],
    [null, null],
    [undefined, null],
    [{ a: 1 }, null],
    [[1, 2], null],
  ])('%j calls for %s', (value, type) => {
    expect(fieldTypeOf(value)).toBe(type)
  })

  test.each([
    [[3, 4], 'integer'],
    [[3, 2.5], 'decimal'],
    [['2027-01-31', '2027-02-01T00:00:00Z'], 'date'],
    [['2027-01-31', 'soon'], 'text'],
    [[true, 'yes'], 'text'],
    [[3, 'three'], 'text'],
    [[null, 3], 'integer'],
    [[], null],
  ])('values %j seen together call for %s', (values, type) => {
    expect(fieldTypeFor(values)).toBe(type)
  })

  test('a date is a real day, in ISO form', () => {
    expect(isIsoDate('2028-02-29')).toBe(true)
    expect(isIsoDate('2027-02-29')).toBe(false)
    expect(isIsoDate('20270131')).toBe(false)
  })

  test('whatever type is created from a value takes that value', () => {
    for (const value of [true, 3, 2.5, '2027-01-31', '2027-01-31T09:30:00Z', 'pro', '']) {
      const type = fieldTypeOf(value)
      expect(type).not.toBeNull()
      expect(coerceFieldValue(field(type ?? 'text'), value).ok).toBe(true)
    }
  })
})

describe('keys', () => {
  test.each([
    ['planType', 'plan_type'],
    ['plan-type', 'plan_type'],
    ['Plan Type', 'plan_type'],
    ['plan_type', 'plan_type'],
    ['signupSource2', 'signup_source2'],
    ['  --x--  ', 'x'],
  ])('%j → %j', (name, key) => {
    expect(snakeCase(name)).toBe(key)
  })

  test.each([
    ['plan', true],
    ['signup_source', true],
    ['2fa_enabled', true],
    ['123', false],
    ['', false],
    ['a-b', false],
    ['caf\u00e9', false],
  ])('%j is a valid key: %s', (key, valid) => {
    expect(isValidFieldKey(key)).toBe(valid)
  })
})

describe('the catalog of a kind’s fields', () => {
  const userFields = new FieldCatalog('user', [
    field('text', { id: 1, key: 'plan_type', title: 'Plan' }),
    field('integer', { id: 2, key: 'seats', title: 'Seats' }),
    field('text', { id: 3, key: 'old', title: 'Old', active: false }),
  ])

  test('user and organization fields are found by their key in snake_case', () => {
    expect(userFields.find('planType')).toMatchObject({ id: 1 })
    expect(userFields.find('plan-type')).toMatchObject({ id: 1 })
    expect(userFields.find('old')).toEqual({ key: 'old', reason: 'the user field is inactive' })
    expect(userFields.find('industry')).toEqual({ key: 'industry', reason: 'no such user field' })
    expect(userFields.hasKey('old')).toBe(true)
    expect([...userFields.activeKeys()]).toEqual(['plan_type', 'seats'])
  })

  test('ticket fields are found by id or by their title in snake_case; system fields are not custom fields', () => {
    const tickets = new FieldCatalog('ticket', [
      { id: 10, title: 'Subject', type: 'subject' },
      { id: 11, title: 'Order number', type: 'text' },
      { id: 12, title: 'Region', type: 'tagger', custom_field_options: [{ name: 'EU', value: 'eu' }] },
      { id: 13, title: 'Region', type: 'text' },
      { id: 14, title: 'Retired', type: 'text', active: false },
    ])
    expect(tickets.find('11')).toMatchObject({ id: 11 })
    expect(tickets.find(' 011 ')).toMatchObject({ id: 11 })
    expect(tickets.find('order_number')).toMatchObject({ id: 11 })
    expect(tickets.find('orderNumber')).toMatchObject({ id: 11 })
    expect(tickets.find('subject')).toEqual({ key: 'subject', reason: 'no such ticket field' })
    expect(tickets.find('10')).toEqual({ key: '10', reason: 'no such ticket field' })
    expect(tickets.find('region')).toEqual({
      key: 'region',
      reason: 'several ticket fields are titled like this; name it by its id',
    })
    expect(tickets.find('12')).toMatchObject({ id: 12 })
    expect(tickets.find('14')).toEqual({ key: '14', reason: 'the ticket field is inactive' })
  })

  test('values: the fields’ values coerced, the rest named with the reason, in a note for the delivery log', () => {
    const v = fieldValues(userFields, {
      planType: 42,
      seats: 'many',
      industry: 'rockets',
      old: 'x',
      skipped: undefined,
    })
    expect(v).toEqual({
      values: { plan_type: '42' },
      unknown: [
        { key: 'industry', reason: 'no such user field' },
        { key: 'old', reason: 'the user field is inactive' },
      ],
      invalid: [{ key: 'seats', reason: '"many" is not a whole number' }],
    })
    expect(fieldValuesNote('user', v)).toBe(
      'user_fields left out (Zendesk would drop them silently): industry (no such user field), old (the user field is inactive); ' +
        `user_fields values left out (the field's type cannot take them): seats ("many" is not a whole number)`,
    )
    expect(fieldValuesNote('user', { unknown: [], invalid: [] })).toBeNull()
  })

  test('a key given exactly as an admin wrote it is found; a name that cannot be a key is named', () => {
    const c = new FieldCatalog('user', [field('text', { id: 9, key: 'PlanType', title: 'Plan' })])
    expect(c.find('PlanType')).toMatchObject({ id: 9 })
    expect(fieldValues(c, { PlanType: 'pro', '\u65e5\u672c': 'x' })).toEqual({
      values: { PlanType: 'pro' },
      unknown: [{ key: '\u65e5\u672c', reason: 'not a possible field key (no letters or digits)' }],
      invalid: [],
    })
  })

  test('a hint says why a missing field was not created', () => {
    const c = new FieldCatalog('organization', [])
    c.explain('tier', 'not created: the cap')
    expect(c.find('tier')).toEqual({
      key: 'tier',
      reason: 'no such organization field; not created: the cap',
    })
  })
})

test('candidates: every value but nested objects and the standard attributes', () => {
  expect(
    fieldCandidates(
      {
        name: 'Acme',
        plan: 'pro',
        tags: ['a', 'b'],
        address: { city: 'X' },
        rows: [{ a: 1 }],
        cleared: null,
      },
      new Set(['name']),
    ),
  ).toEqual({ plan: 'pro', tags: ['a', 'b'], cleared: null })
  expect(fieldCandidates(undefined, new Set())).toEqual({})
})

test('requests: list and create, per kind', () => {
  expect(listFields('user', 2)).toEqual({
    api: 'support',
    method: 'GET',
    path: 'user_fields',
    query: { per_page: '100', page: '2' },
    limitClass: 'account',
  })
  expect(listFields('ticket')).toEqual({
    api: 'support',
    method: 'GET',
    path: 'ticket_fields',
    limitClass: 'account',
  })
  expect(createField('organization', { key: 'tier', title: 'tier', type: 'text' })).toMatchObject({
    method: 'POST',
    path: 'organization_fields',
    body: { organization_field: { key: 'tier', title: 'tier', type: 'text' } },
  })
})
