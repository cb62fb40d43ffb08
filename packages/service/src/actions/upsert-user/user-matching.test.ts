/**
 * upsert-user's steps around its bulk call (user-matching.ts) against the emulator, through the
 * real Zendesk client: Segment's several-users rule, matchUsersBy: email and updatePrimaryEmail.
 * The end-to-end tests (test/e2e/upsert-user-*.test.ts) drive the same through the service.
 */
import { setTimeout as delay } from 'node:timers/promises'

import { createEmulator, type Emulator } from '@zdd/zendesk-emulator'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'

import { AppError } from '../../errors.js'
import { systemClock } from '../../lib/clock.js'
import { createZendeskClient, type ZendeskClient } from '../../zendesk/client.js'
import { showMany, type JobResult, type JobStatus } from '../../zendesk/job-statuses.js'
import { ZendeskRateLimiter } from '../../zendesk/rate-limiter.js'
import type { ZendeskRequest } from '../../zendesk/request.js'
import { createOrUpdateMany, type ZendeskUserInput } from '../../zendesk/users.js'
import { DeliveryNote, type ActionZendesk } from '../define-action.js'
import { prepareMatchByEmail, userFollowUp } from './user-matching.js'

let emulator: Emulator
let client: ZendeskClient
/** The requests the steps sent, as `METHOD path`. */
let sent: string[]

const zendesk: ActionZendesk = {
  send(request) {
    sent.push(`${request.method} ${request.path}`)
    return client.send(request)
  },
  async runJob(request: ZendeskRequest): Promise<JobResult[]> {
    const r = await client.send<{ job_status: JobStatus }>(request)
    for (;;) {
      await delay(10)
      const s = await client.send<{ job_statuses: JobStatus[] }>(showMany([r.body.job_status.id]))
      const status = s.body.job_statuses[0]
      if (status?.status === 'completed') {
        return status.results ?? []
      }
    }
  },
}

beforeAll(async () => {
  emulator = await createEmulator({ jobDelayMs: 5, rateLimits: false })
  client = createZendeskClient({
    supportBaseUrl: emulator.url,
    credentials: {
      kind: 'oauth_client_credentials',
      clientId: emulator.seed.oauthClientId,
      clientSecret: emulator.seed.oauthClientSecret,
    },
    limiter: new ZendeskRateLimiter({ clock: systemClock }),
    clock: systemClock,
    timeoutMs: 10_000,
  })
})
beforeEach(() => {
  emulator.reset()
  emulator.configure({ rateLimits: false })
  sent = []
})
afterAll(async () => {
  await client.close()
  await emulator.close()
})

/** Creates a user (and extra email identities) in the emulator; returns its id. */
async function user(u: { name: string; email: string; external_id?: string }, ...emails: string[]) {
  const r = await client.send<{ user: { id: number } }>({
    api: 'support',
    method: 'POST',
    path: 'users',
    body: { user: u },
    limitClass: 'account',
  })
  for (const value of emails) {
    await client.send({
      api: 'support',
      method: 'POST',
      path: `users/${r.body.user.id}/identities`,
      body: { identity: { type: 'email', value } },
      limitClass: 'account',
    })
  }
  return r.body.user.id
}

/** The bulk upsert as delivery sends it; the entries a follow-up gets. */
async function upsert(items: ZendeskUserInput[]) {
  const results = await zendesk.runJob(createOrUpdateMany(items))
  sent = []
  return items.map((item, i) => ({ item, result: results[i] as JobResult }))
}

async function emailsOf(id: number): Promise<[string, boolean][]> {
  const r = await client.send<{ identities: { value: string; primary: boolean }[] }>({
    api: 'support',
    method: 'GET',
    path: `users/${id}/identities`,
    limitClass: 'account',
  })
  return r.body.identities.map((i) => [i.value, i.primary])
}

function codeOf(outcome: unknown): string | null {
  return outcome instanceof AppError ? outcome.code : null
}

describe('which results need a follow-up', () => {
  const item = { email: 'a@example.com', external_id: 'u-a' }
  const on = { updatePrimaryEmail: true }
  test.each([
    ['a created user', item, { id: 1, status: 'Created' }, on, false],
    ['an updated user, updatePrimaryEmail off', item, { id: 1, status: 'Updated' }, {}, false],
    ['an updated user, updatePrimaryEmail on', item, { id: 1, status: 'Updated' }, on, true],
    ['an updated user without email', { external_id: 'u-a' }, { id: 1, status: 'Updated' }, on, false],
    [
      'a failure with both identifiers',
      item,
      { id: 0, status: 'Failed', error: 'UserUpdateError' },
      {},
      true,
    ],
    ['a failure with the email only', { email: 'a@example.com' }, { id: 0, status: 'Failed' }, {}, false],
  ])('%s', (_name, i, result, settings, needed) => {
    expect(userFollowUp.needed(i, result, settings)).toBe(needed)
  })
})

describe('Segment’s rule: several users match', () => {
  test('the email on one user (a secondary identity) and the external_id on another: reported with both ids, nothing updated', async () => {
    const ann = await user({ name: 'Ann', email: 'ann@example.com' }, 'shared@example.com')
    const bob = await user({ name: 'Bob', email: 'bob@example.com', external_id: 'u-bob' })
    const entries = await upsert([{ email: 'shared@example.com', external_id: 'u-bob', name: 'Bob New' }])
    expect(entries[0]?.result.status).toBe('Failed')
    const [outcome] = await userFollowUp.run(entries, zendesk, {})
    expect(outcome).toBeInstanceOf(AppError)
    expect(outcome).toMatchObject({
      code: 'USER_MATCHES_SEVERAL',
      kind: 'rejected',
      field: 'email',
      message: `email: several Zendesk users match this identify: email "shared@example.com" is user ${ann}'s and external_id "u-bob" is user ${bob}'s; nothing was updated (Segment's rule). Merge the users in Zendesk or correct the event, then replay it`,
    })
    expect(sent).toEqual(['GET users/show_many', 'GET users/search'])
    expect(await emailsOf(bob)).toEqual([['bob@example.com', true]])
  })

  test('a failure that is not two users keeps Zendesk’s reason', async () => {
    await user({ name: 'Bob', email: 'bob@example.com', external_id: 'u-bob' })
    const entries = await upsert([{ email: 'not an email', external_id: 'u-bob' }])
    const [outcome] = await userFollowUp.run(entries, zendesk, {})
    expect(codeOf(outcome)).toBe('ZD_ITEM_USERUPDATEERROR')
    expect((outcome as Error).message).toMatch(/not properly formatted/)
  })
})

describe('updatePrimaryEmail', () => {
  test('a new email for a known external_id becomes primary; the old one stays as a secondary', async () => {
    const ann = await user({ name: 'Ann', email: 'ann@old.example', external_id: 'u-ann' })
    const entries = await upsert([{ email: 'ann@new.example', external_id: 'u-ann' }])
    expect(entries[0]?.result).toMatchObject({ id: ann, status: 'Updated' })
    expect(await emailsOf(ann)).toEqual([
      ['ann@old.example', true],
      ['ann@new.example', false],
    ])
    const [outcome] = await userFollowUp.run(entries, zendesk, { updatePrimaryEmail: true })
    expect(outcome).toEqual(
      new DeliveryNote(
        `"ann@new.example" is now the primary email of Zendesk user ${ann}; "ann@old.example" stays as a secondary email`,
      ),
    )
    expect(sent).toEqual([
      'GET users/show_many',
      `GET users/${ann}/identities`,
      `PUT users/${ann}/identities/${(await identityId(ann, 'ann@new.example')) ?? 0}/make_primary`,
    ])
    expect(await emailsOf(ann)).toEqual([
      ['ann@new.example', true],
      ['ann@old.example', false],
    ])
  })

  test('a user whose primary email is already the identify’s costs one show_many per call, nothing else', async () => {
    const ann = await user({ name: 'Ann', email: 'ann@example.com', external_id: 'u-ann' })
    const bob = await user({ name: 'Bob', email: 'bob@example.com', external_id: 'u-bob' })
    const entries = await upsert([
      { email: 'ann@example.com', external_id: 'u-ann', name: 'Ann B' },
      { email: 'bob@example.com', external_id: 'u-bob', name: 'Bob B' },
    ])
    expect(await userFollowUp.run(entries, zendesk, { updatePrimaryEmail: true })).toEqual([null, null])
    expect(sent).toEqual(['GET users/show_many'])
    expect(await emailsOf(ann)).toEqual([['ann@example.com', true]])
    expect(await emailsOf(bob)).toEqual([['bob@example.com', true]])
  })

  test('an email the upsert did not add is created, then made primary', async () => {
    const ann = await user({ name: 'Ann', email: 'ann@old.example', external_id: 'u-ann' })
    const [outcome] = await userFollowUp.run(
      [{ item: { email: 'ann@new.example', external_id: 'u-ann' }, result: { id: ann, status: 'Updated' } }],
      zendesk,
      { updatePrimaryEmail: true, skipVerifyEmail: true },
    )
    expect(outcome).toBeInstanceOf(DeliveryNote)
    expect(sent.filter((s) => s === `POST users/${ann}/identities`)).toHaveLength(1)
    expect(await emailsOf(ann)).toEqual([
      ['ann@new.example', true],
      ['ann@old.example', false],
    ])
  })
})

async function identityId(userId: number, value: string): Promise<number | undefined> {
  const r = await client.send<{ identities: { id: number; value: string }[] }>({
    api: 'support',
    method: 'GET',
    path: `users/${userId}/identities`,
    limitClass: 'account',
  })
  return r.body.identities.find((i) => i.value === value)?.id
}

describe('matchUsersBy: email, before the bulk call', () => {
  test('with the default (external_id) nothing is looked up', async () => {
    const outcomes = await prepareMatchByEmail([{ email: 'a@example.com', external_id: 'u-a' }], zendesk, {
      matchUsersBy: 'external_id',
    })
    expect(outcomes).toEqual([undefined])
    expect(sent).toEqual([])
  })

  test('sends what the email decides; stops what would update a user the email does not name', async () => {
    const ann = await user(
      { name: 'Ann', email: 'ann@example.com', external_id: 'u-ann' },
      'ann@home.example',
    )
    const bob = await user({ name: 'Bob', email: 'bob@example.com', external_id: 'u-bob' })
    await user({ name: 'Cy', email: 'cy@example.com' })
    await client.send({
      api: 'support',
      method: 'POST',
      path: 'users',
      body: { user: { name: 'Dee', external_id: 'u-dee' } },
      limitClass: 'account',
    })
    const items: ZendeskUserInput[] = [
      { email: 'ann@example.com', external_id: 'u-ann' }, // the holder's primary email
      { email: 'ann@home.example', external_id: 'U-ANN' }, // the holder's secondary email
      { email: 'cy@example.com', external_id: 'u-bob' }, // Cy's email, Bob's external id
      { email: 'bob@new.example', external_id: 'u-bob' }, // a new email, Bob's external id
      { email: 'new@example.com', external_id: 'u-new' }, // nobody's
      { email: 'cy@example.com', external_id: 'u-cy' }, // Cy, who gets this external id
      { email: 'dee@example.com', external_id: 'u-dee' }, // a first email for Dee, who has none
    ]
    const outcomes = await prepareMatchByEmail(items, zendesk, { matchUsersBy: 'email' })
    expect(outcomes.map((o) => (o === undefined ? 'send' : codeOf(o)))).toEqual([
      'send',
      'send',
      'USER_MATCHES_SEVERAL',
      'USER_EXTERNAL_ID_TAKEN',
      'send',
      'send',
      'send',
    ])
    expect((outcomes[3] as Error).message).toBe(
      `email: Zendesk finds no user with email "bob@new.example", and external_id "u-bob" is user ${bob}'s (email "bob@example.com"). With matchUsersBy: email a new email is a new user, and Zendesk allows one user per external_id, so nothing was written. If this person changed email, match users by external_id (and set updatePrimaryEmail)`,
    )
    // One show_many for the batch; a search only where the holder's primary email is another.
    expect(sent).toEqual([
      'GET users/show_many',
      'GET users/search',
      'GET users/search',
      'GET users/search',
      'GET users/search',
    ])
    expect(ann).toBeGreaterThan(0)
  })
})
