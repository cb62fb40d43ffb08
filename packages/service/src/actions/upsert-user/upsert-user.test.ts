import { describe, expect, test } from 'vitest'

import { buildPayload, PayloadError } from '../build-payload.js'
import type { ActionContext } from '../define-action.js'
import { snakeCase, upsertUser } from './upsert-user.js'

const ctx: ActionContext = { userFieldKeys: new Set(['plan_type', 'seats']), settings: {} }

async function itemFor(event: unknown, c: ActionContext = ctx) {
  const payload = await buildPayload(upsertUser.fields, undefined, event)
  return upsertUser.bulk.item(payload, c)
}

describe('upsert-user', () => {
  test('maps the standard traits the peers share', async () => {
    const item = await itemFor({
      type: 'identify',
      userId: 'u1',
      traits: {
        email: 'Ann@Example.com',
        name: 'Ann Lee',
        phone: '+15551234567',
        timezone: 'Copenhagen',
        organizationId: '42',
        role: 'admin',
      },
    })
    expect(item).toEqual({
      external_id: 'u1',
      email: 'ann@example.com',
      name: 'Ann Lee',
      phone: '+15551234567',
      time_zone: 'Copenhagen',
      organization_id: 42,
    })
  })

  test.each([
    [{ first_name: 'Ann', last_name: 'Lee' }, 'Ann Lee'],
    [{ firstName: 'Ann', lastName: 'Lee' }, 'Ann Lee'],
    [{ firstName: 'Ann' }, 'Ann'],
    [{ lastName: 'Lee' }, 'Lee'],
    [{ first_name: 'Ann', lastName: 'Lee' }, 'Ann Lee'],
    [{ firstName: 'Ann', last_name: 'Lee' }, 'Ann Lee'],
    [{ first_name: 'Ann', firstName: 'Annie', last_name: 'Lee' }, 'Ann Lee'],
    [{ name: '  ', first_name: 'Ann', last_name: 'Lee' }, 'Ann Lee'],
    [{ name: 'Ann Lee-Smith', first_name: 'Ann', last_name: 'Lee' }, 'Ann Lee-Smith'],
    [{ name: '', first_name: '', last_name: 'Lee' }, 'Lee'],
  ])('joins first and last names: %j', async (traits, name) => {
    expect((await itemFor({ type: 'identify', userId: 'u', traits })).name).toBe(name)
  })

  test('no name at all leaves name out', async () => {
    expect(await itemFor({ type: 'identify', userId: 'u', traits: { email: 'a@b.c' } })).not.toHaveProperty(
      'name',
    )
  })

  test('other traits go to user_fields in snake_case, only when the field exists in Zendesk', async () => {
    const item = await itemFor({
      type: 'identify',
      userId: 'u',
      traits: { planType: 'pro', seats: 3, unknownThing: 'x', nested: { a: 1 } },
    })
    expect(item.user_fields).toEqual({ plan_type: 'pro', seats: 3 })
  })

  test('no user_fields while the field list is unknown', async () => {
    const item = await itemFor(
      { type: 'identify', userId: 'u', traits: { planType: 'pro' } },
      { userFieldKeys: null, settings: {} },
    )
    expect(item.user_fields).toBeUndefined()
  })

  test('settings mark users verified and skip the verification email', async () => {
    const item = await itemFor(
      { type: 'identify', userId: 'u' },
      { userFieldKeys: null, settings: { verified: true, skipVerifyEmail: true } },
    )
    expect(item).toMatchObject({ verified: true, skip_verify_email: true })
  })

  test('a non-numeric organizationId is reported on its field', () => {
    expect(() =>
      buildPayload(upsertUser.fields, undefined, {
        type: 'identify',
        userId: 'u',
        traits: { organizationId: 'acme' },
      }),
    ).toThrow(new PayloadError([{ field: 'organizationId', message: 'must be a whole number' }]))
  })

  test('updates of one person merge in order, later values winning', () => {
    const merged = upsertUser.bulk.merge(
      { external_id: 'u', name: 'Old', phone: '1', user_fields: { a: 1, b: 1 } },
      { external_id: 'u', name: 'New', user_fields: { b: 2 } },
    )
    expect(merged).toEqual({ external_id: 'u', name: 'New', phone: '1', user_fields: { a: 1, b: 2 } })
  })

  test('the bulk request is create_or_update_many and the fallback is create_or_update', () => {
    expect(upsertUser.bulk.request([{ external_id: 'u' }])).toMatchInlineSnapshot(`
      {
        "api": "support",
        "body": {
          "users": [
            {
              "external_id": "u",
            },
          ],
        },
        "limitClass": "account",
        "method": "POST",
        "path": "users/create_or_update_many",
      }
    `)
    expect(upsertUser.bulk.single({ external_id: 'u', email: 'a@b.c' })).toMatchObject({
      path: 'users/create_or_update',
      limitClass: 'single-user',
      limitKey: 'u',
    })
  })

  test.each([
    ['planType', 'plan_type'],
    ['plan-type', 'plan_type'],
    ['Plan Type', 'plan_type'],
    ['plan_type', 'plan_type'],
    ['HTMLColor', 'htmlcolor'],
  ])('snakeCase(%s) = %s', (input, output) => {
    expect(snakeCase(input)).toBe(output)
  })
})

describe('upsert-user: what finds the user', () => {
  test('with matchUsersBy: email, an identify without an email is an invalid event that names the field', async () => {
    const byEmail: ActionContext = { userFieldKeys: null, settings: { matchUsersBy: 'email' } }
    await expect(
      itemFor({ type: 'identify', userId: 'u1', traits: { name: 'Ann' } }, byEmail),
    ).rejects.toMatchObject({
      code: 'MAPPING_USER_EMAIL_REQUIRED',
      kind: 'invalid_event',
      field: 'email',
      message:
        'email: the destination matches users by email (matchUsersBy: email) and this identify has no email (traits.email)',
    })
    // By default the userId alone finds (or creates) the user.
    expect(await itemFor({ type: 'identify', userId: 'u1', traits: { name: 'Ann' } })).toMatchObject({
      external_id: 'u1',
    })
  })

  test('an identify with neither a userId nor an email is an invalid event: Zendesk could only create a stranger', async () => {
    await expect(
      itemFor({ type: 'identify', anonymousId: 'a1', traits: { name: 'Ann' } }),
    ).rejects.toMatchObject({
      code: 'MAPPING_USER_NO_IDENTIFIER',
      kind: 'invalid_event',
      field: 'externalId',
    })
    expect(
      await itemFor({ type: 'identify', anonymousId: 'a1', traits: { email: 'ann@example.com' } }),
    ).toEqual({
      email: 'ann@example.com',
    })
  })

  test('the steps around the bulk call are declared: lookups before it, a follow-up after it', () => {
    expect(typeof upsertUser.bulk.prepare).toBe('function')
    expect(upsertUser.bulk.followUp?.needed({ external_id: 'u' }, { id: 1, status: 'Created' }, {})).toBe(
      false,
    )
  })
})
