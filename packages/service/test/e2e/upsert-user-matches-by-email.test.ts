/**
 * `matchUsersBy: email` (Segment's and Customer.io's rule, seeds 003 and 004: the identify's
 * traits.email finds the Zendesk user) against the default, `external_id` (the userId finds the
 * user, else the email: Zendesk's own create_or_update rule, what RudderStack sends).
 */
import { afterEach, describe, expect, test } from 'vitest'

import { startTestService, type TestService } from '../harness.js'

let t: TestService | undefined

afterEach(async () => {
  await t?.stop()
  t = undefined
})

async function entryOf(messageId: string): Promise<any> {
  const [entry] = await t!.waitFor(async () => {
    const r = await fetch(`${t!.url}/admin/api/delivery-log?message_id=${messageId}`)
    const e = ((await r.json()) as { entries: any[] }).entries
    return e.length > 0 ? e : null
  })
  return entry
}

/** What happens outside the sync: an agent creates a user in Zendesk, with an email only. */
async function createInZendesk(user: Record<string, unknown>): Promise<number> {
  const { adminEmail, apiToken } = t!.emulator.seed
  const r = await fetch(`${t!.emulator.url}/api/v2/users`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${adminEmail}/token:${apiToken}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ user }),
  })
  expect(r.status).toBe(201)
  return ((await r.json()) as { user: { id: number } }).user.id
}

const config = (settings: string) => `
sources:
  - { id: web, writeKey: test-write-key, destinations: [default] }
destinations:
  - id: default
    zendesk: { url: "http://127.0.0.1:9", oauth: { clientId: x, clientSecret: y } }
    settings: { ${settings} }
`

const usersWithExternalId = async (x: string) =>
  (await t!.state()).users.filter((u: any) => u.external_id === x)

describe('matching users by email', () => {
  test('the email finds the user and gives it the userId; a new email for a known userId writes nothing; an identify without email fails', async () => {
    t = await startTestService({ configYaml: config('matchUsersBy: email') })
    const dee = await createInZendesk({ name: 'Dee', email: 'dee@example.com' })
    await t.post('/v1/identify', {
      messageId: 'm-dee',
      userId: 'u-dee',
      traits: { email: 'DEE@example.com', name: 'Dee Doe' },
    })
    expect(await entryOf('m-dee')).toMatchObject({ outcome: 'delivered', reason: null })
    expect(await usersWithExternalId('u-dee')).toEqual([
      expect.objectContaining({ id: dee, name: 'Dee Doe', email: 'dee@example.com' }),
    ])

    // Dee's userId with an email nobody has: under this rule a new email is a new person, but
    // Zendesk allows one user per external_id. Nothing is written; the log says what to do.
    await t.post('/v1/identify', {
      messageId: 'm-moved',
      userId: 'u-dee',
      traits: { email: 'dee@new.example' },
    })
    expect(await entryOf('m-moved')).toMatchObject({
      outcome: 'failed',
      reason: `USER_EXTERNAL_ID_TAKEN: email: Zendesk finds no user with email "dee@new.example", and external_id "u-dee" is user ${dee}'s (email "dee@example.com"). With matchUsersBy: email a new email is a new user, and Zendesk allows one user per external_id, so nothing was written. If this person changed email, match users by external_id (and set updatePrimaryEmail)`,
    })
    const state = await t.state()
    expect(state.identities.filter((i: any) => i.user_id === dee).map((i: any) => i.value)).toEqual([
      'dee@example.com',
    ])
    expect(state.users.some((u: any) => u.email === 'dee@new.example')).toBe(false)

    await t.post('/v1/identify', { messageId: 'm-no-email', userId: 'u-eve', traits: { name: 'Eve' } })
    expect(await entryOf('m-no-email')).toMatchObject({
      outcome: 'failed',
      reason:
        'MAPPING_USER_EMAIL_REQUIRED: email: the destination matches users by email (matchUsersBy: email) and this identify has no email (traits.email)',
    })
    expect(await usersWithExternalId('u-eve')).toEqual([])
  })

  test('by external_id (the default) the same identifies find Dee by userId and add the new email to her', async () => {
    t = await startTestService()
    const dee = await createInZendesk({ name: 'Dee', email: 'dee@example.com' })
    await t.post('/v1/identify', {
      messageId: 'm-dee',
      userId: 'u-dee',
      traits: { email: 'dee@example.com' },
    })
    expect(await entryOf('m-dee')).toMatchObject({ outcome: 'delivered' })
    await t.post('/v1/identify', {
      messageId: 'm-moved',
      userId: 'u-dee',
      traits: { email: 'dee@new.example' },
    })
    expect(await entryOf('m-moved')).toMatchObject({ outcome: 'delivered', reason: null })
    const state = await t.state()
    expect(state.users.find((u: any) => u.id === dee)).toMatchObject({
      external_id: 'u-dee',
      email: 'dee@example.com',
    })
    expect(
      state.identities
        .filter((i: any) => i.user_id === dee)
        .map((i: any) => i.value)
        .sort(),
    ).toEqual(['dee@example.com', 'dee@new.example'])

    // The userId alone is enough here; neither a userId nor an email is not.
    await t.post('/v1/identify', { messageId: 'm-id-only', userId: 'u-dee', traits: { name: 'Dee D' } })
    expect(await entryOf('m-id-only')).toMatchObject({ outcome: 'delivered' })
    await t.post('/v1/identify', { messageId: 'm-anon', anonymousId: 'a-1', traits: { name: 'Nobody' } })
    expect(await entryOf('m-anon')).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/^MAPPING_USER_NO_IDENTIFIER: externalId: this identify has neither/),
    })
    expect((await t.state()).users.some((u: any) => u.name === 'Nobody')).toBe(false)
  })
})
