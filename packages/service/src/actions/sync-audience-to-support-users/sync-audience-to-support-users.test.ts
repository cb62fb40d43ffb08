import { describe, expect, test } from 'vitest'

import { AppError, ERROR_KINDS } from '../../errors.js'
import type { ZendeskRequest } from '../../zendesk/request.js'
import { buildPayload } from '../build-payload.js'
import { DeliveryNote, isPerform, type ActionZendesk, type AnyAction } from '../define-action.js'
import {
  attributesMapping,
  ExcludedProfile,
  type ActivationConfig,
} from '../sync-audience-common/activation.js'
import {
  createSupportUsersActivation,
  SUPPORT_USER_DEFAULT_MAPPINGS,
  type SupportUserRecord,
} from './sync-audience-to-support-users.js'

const config: ActivationConfig = {
  id: 'vip',
  target: 'support-users',
  audiences: [
    { id: 's-tag', key: 'vip', representation: 'tag', tag: 'aud_vip', field: 'vip', mappingId: '' },
    { id: 's-box', key: 'box', representation: 'checkbox', field: 'aud_box', tag: 'box', mappingId: '' },
    { id: 's-txt', key: 'txt', representation: 'text', field: 'aud_txt', tag: 'txt', mappingId: '' },
  ],
  mappings: { ...SUPPORT_USER_DEFAULT_MAPPINGS, 'user_fields.plan': '$.attributes.plan' },
  stream: { enteredEvent: '', exitedEvent: '', keyProperty: '', identifyTraits: false },
  sellMatchField: null,
}
const action: AnyAction = createSupportUsersActivation(config)
const ctx = { userFieldKeys: null, settings: {} }

function event(audiences: Record<string, string>, more: Record<string, unknown> = {}) {
  return {
    type: 'audience',
    messageId: 'm',
    receivedAt: '',
    timestamp: '',
    userId: 'u1',
    email: 'ann@example.com',
    attributes: { person: { name: { firstName: 'Ann', lastName: 'Lee' } }, plan: 'pro' },
    audiences: Object.fromEntries(Object.entries(audiences).map(([k, status]) => [k, { status }])),
    origin: 'profile',
    ...more,
  }
}

async function recordOf(e: unknown): Promise<SupportUserRecord> {
  const payload = await buildPayload(action.fields, { attributes: attributesMapping(config.mappings) }, e)
  return action.bulk.item(payload, ctx) as SupportUserRecord
}

/** A Zendesk that answers from a script and keeps the requests. */
function fakeZendesk(answer: (r: ZendeskRequest) => unknown): {
  zendesk: ActionZendesk
  sent: ZendeskRequest[]
} {
  const sent: ZendeskRequest[] = []
  return {
    sent,
    zendesk: {
      send: <T>(r: ZendeskRequest) => {
        sent.push(r)
        return Promise.resolve({ status: 200, headers: {}, body: answer(r) as T })
      },
      runJob: (r) => {
        sent.push(r)
        return Promise.resolve(answer(r) as never)
      },
    },
  }
}

const perform = (records: SupportUserRecord[], z: ActionZendesk) =>
  isPerform(action.bulk) ? action.bulk.perform(records, z) : Promise.reject(new Error('not perform'))

describe('sync-audience-to-support-users', () => {
  test('one user record: identity, name, mapped user fields, and each audience as its representation', async () => {
    const r = await recordOf(
      event({ 's-tag': 'realized', 's-box': 'existing', 's-txt': 'exited', other: 'realized' }),
    )
    expect(r).toMatchObject({
      excluded: null,
      nothing: false,
      user: {
        external_id: 'u1',
        email: 'ann@example.com',
        name: 'Ann Lee',
        skip_verify_email: true,
        user_fields: { plan: 'pro', aud_box: true, aud_txt: 'exited' },
      },
      tags: { aud_vip: true },
      fallbackName: null,
    })
    expect((await recordOf(event({ 's-tag': 'exited', 's-box': 'exited' }))).tags).toEqual({ aud_vip: false })
  })

  test('a profile without email or userId is excluded; one naming none of the audiences has nothing to do', async () => {
    expect((await recordOf(event({ 's-tag': 'realized' }, { userId: null, email: null }))).excluded).toMatch(
      /no email or external_id/,
    )
    expect((await recordOf(event({ other: 'realized' }))).nothing).toBe(true)
  })

  test('records of one person merge: later values win, tags and user fields combine', async () => {
    const a = await recordOf(event({ 's-tag': 'realized', 's-box': 'realized' }))
    const b = await recordOf(event({ 's-tag': 'exited' }))
    expect(action.bulk.key(a)).toBe('x:u1')
    const merged = action.bulk.merge(a, b) as SupportUserRecord
    expect(merged.tags).toEqual({ aud_vip: false })
    expect(merged.user.user_fields).toMatchObject({ aud_box: true })
  })

  test('perform: one create_or_update_many, then tags read and written back merged with the user’s others', async () => {
    const ann = await recordOf(event({ 's-tag': 'realized' }))
    const bo = await recordOf(event({ 's-tag': 'exited' }, { userId: 'u2', email: 'bo@example.com' }))
    const same = await recordOf(event({ 's-tag': 'realized' }, { userId: 'u3', email: 'cy@example.com' }))
    const fresh = await recordOf(event({ 's-tag': 'realized' }, { userId: 'u4', email: 'dee@example.com' }))
    const { zendesk, sent } = fakeZendesk((r) => {
      if (r.path === 'users/create_or_update_many') {
        return [
          { id: 1, status: 'Updated' },
          { id: 2, status: 'Updated' },
          { id: 3, status: 'Updated' },
          { id: 4, status: 'Created' },
        ]
      }
      if (r.path === 'users/show_many') {
        return {
          users: [
            { id: 1, tags: ['premium'] },
            { id: 2, tags: ['aud_vip', 'premium'] },
            { id: 3, tags: ['aud_vip'] },
          ],
        }
      }
      return [
        { id: 1, status: 'Updated', success: true },
        { id: 2, status: 'Updated', success: true },
        { id: 4, status: 'Updated', success: true },
      ]
    })
    expect(await perform([ann, bo, same, fresh], zendesk)).toEqual([null, null, null, null])
    expect(sent.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST users/create_or_update_many',
      'GET users/show_many',
      'PUT users/update_many',
    ])
    // User 4 was just created: it has no tags to read.
    expect(sent[1]?.query).toEqual({ ids: '1,2,3' })
    // User 3 already has the tag: nothing to write for it.
    expect(sent[2]?.body).toEqual({
      users: [
        { id: 1, tags: ['premium', 'aud_vip'] },
        { id: 2, tags: ['premium'] },
        { id: 4, tags: ['aud_vip'] },
      ],
    })
  })

  test('perform: a user matched by external_id whose primary email is another gets the new one made primary', async () => {
    // Checkbox only: no tag change, the user is read for its primary email alone.
    const moved = await recordOf(event({ 's-box': 'realized' }, { userId: 'u1', email: 'new@example.com' }))
    const kept = await recordOf(event({ 's-box': 'realized' }, { userId: 'u2', email: 'bo@example.com' }))
    const { zendesk, sent } = fakeZendesk((r) => {
      if (r.path === 'users/create_or_update_many') {
        return [
          { id: 1, status: 'Updated' },
          { id: 2, status: 'Updated' },
        ]
      }
      if (r.path === 'users/show_many') {
        return {
          users: [
            { id: 1, email: 'old@example.com', tags: [] },
            { id: 2, email: 'Bo@Example.com', tags: [] },
          ],
        }
      }
      if (r.path === 'users/1/identities') {
        return {
          identities: [
            { id: 10, user_id: 1, type: 'email', value: 'old@example.com', primary: true },
            { id: 11, user_id: 1, type: 'email', value: 'new@example.com', primary: false },
          ],
        }
      }
      return {}
    })
    const out = await perform([moved, kept], zendesk)
    expect(out[0]).toBeInstanceOf(DeliveryNote)
    expect((out[0] as DeliveryNote).reason).toContain('"old@example.com" stays as a secondary email')
    expect(out[1]).toBeNull()
    expect(sent.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST users/create_or_update_many',
      'GET users/show_many',
      'GET users/1/identities',
      'PUT users/1/identities/11/make_primary',
    ])
  })

  test('perform: when the tag read fails, its users get the error; users just created still get their tags', async () => {
    const old = await recordOf(event({ 's-tag': 'realized' }))
    const fresh = await recordOf(event({ 's-tag': 'realized' }, { userId: 'u4', email: 'dee@example.com' }))
    const down = new AppError(ERROR_KINDS.transient, 'ZD_HTTP_503', 'down')
    const sent: ZendeskRequest[] = []
    const zendesk: ActionZendesk = {
      send: (r) => {
        sent.push(r)
        return Promise.reject(down)
      },
      runJob: (r) => {
        sent.push(r)
        return Promise.resolve(
          r.path === 'users/create_or_update_many'
            ? [
                { id: 1, status: 'Updated' },
                { id: 4, status: 'Created' },
              ]
            : [{ id: 4, status: 'Updated', success: true }],
        )
      },
    }
    expect(await perform([old, fresh], zendesk)).toEqual([down, null])
    expect(sent[2]?.body).toEqual({ users: [{ id: 4, tags: ['aud_vip'] }] })
  })

  test('perform: a new user without a name is created with its email as the name, in a second call', async () => {
    const nameless = await recordOf(event({ 's-box': 'realized' }, { attributes: {} }))
    expect(nameless.user.name).toBeUndefined()
    let calls = 0
    const { zendesk, sent } = fakeZendesk(() => {
      calls += 1
      return calls === 1
        ? [
            {
              id: 0,
              index: 0,
              status: 'Failed',
              error: 'UserCreateError',
              details: 'Name:  is too short (minimum one character)',
            },
          ]
        : [{ id: 9, status: 'Created' }]
    })
    expect(await perform([nameless], zendesk)).toEqual([null])
    expect((sent[1]?.body as { users: { name: string }[] }).users[0]?.name).toBe('ann@example.com')
  })

  test('perform: excluded and empty records send nothing; a refused user fails alone', async () => {
    const excluded = await recordOf(event({ 's-tag': 'realized' }, { userId: null, email: null }))
    const empty = await recordOf(event({ other: 'realized' }))
    const bad = await recordOf(event({ 's-box': 'realized' }))
    const { zendesk } = fakeZendesk(() => [
      { id: 0, index: 0, status: 'Failed', error: 'UserUpdateError', details: 'Email: bad' },
    ])
    const out = await perform([excluded, empty, bad], zendesk)
    expect(out[0]).toBeInstanceOf(ExcludedProfile)
    expect(out[1]).toBeInstanceOf(DeliveryNote)
    expect(out[2]).toEqual(new AppError(ERROR_KINDS.rejected, 'ZD_ITEM_USERUPDATEERROR', 'Email: bad'))
  })
})
