import { describe, expect, test } from 'vitest'

import { AppError } from '../../errors.js'
import type { JobResult } from '../../zendesk/job-statuses.js'
import type { ZendeskRequest, ZendeskResponse } from '../../zendesk/request.js'
import { buildPayload, PayloadError } from '../build-payload.js'
import { DeliveryNote, type ActionZendesk } from '../define-action.js'
import { defaultSubscriptions } from '../presets.js'
import { findAction } from '../registry.js'
import { aliasExternalId, type AliasRecord } from './alias-external-id.js'

const ctx = { userFieldKeys: null, settings: {} }

async function recordFor(event: unknown): Promise<AliasRecord> {
  return aliasExternalId.bulk.item(await buildPayload(aliasExternalId.fields, undefined, event), ctx)
}

/**
 * Zendesk's users as `show_many`, `search` and `update_many` see them (a stand-in for the two
 * endpoints, answering as facts §2.2 says; the e2e test runs against the emulator).
 */
function zendeskWith(users: { id: number; external_id: string | null }[]) {
  const requests: ZendeskRequest[] = []
  const byExt = (x: string) => users.find((u) => u.external_id?.toLowerCase() === x.toLowerCase())
  const zendesk: ActionZendesk = {
    send<T>(request: ZendeskRequest): Promise<ZendeskResponse<T>> {
      requests.push(request)
      const ids =
        request.path === 'users/show_many'
          ? (request.query?.external_ids ?? '').split(',')
          : [request.query?.external_id ?? '']
      const found = ids.flatMap((x) => {
        const u = byExt(x)
        return u ? [u] : []
      })
      // show_many's order is not guaranteed: answer in reverse.
      return Promise.resolve({ status: 200, headers: {}, body: { users: found.reverse() } as T })
    },
    runJob(request: ZendeskRequest): Promise<JobResult[]> {
      requests.push(request)
      const items = (request.body as { users: { id: number; external_id: string }[] }).users
      return Promise.resolve(
        items.map((item, index): JobResult => {
          const taken = byExt(item.external_id)
          if (taken && taken.id !== item.id) {
            return {
              id: item.id,
              index,
              action: 'update',
              error: 'RecordInvalid',
              details: `External ID: ${item.external_id} has already been taken`,
              success: false,
            }
          }
          users.find((u) => u.id === item.id)!.external_id = item.external_id
          return { id: item.id, index, action: 'update', status: 'Updated', success: true }
        }),
      )
    },
  }
  return { zendesk, requests, users }
}

function perform(records: AliasRecord[], zendesk: ActionZendesk): Promise<unknown[]> {
  const spec = aliasExternalId.bulk
  return spec.perform(records, zendesk)
}

describe('alias-external-id', () => {
  test('an alias call becomes a move from previousId to userId', async () => {
    expect(await recordFor({ type: 'alias', previousId: 'anon-1', userId: 'u-1' })).toEqual({
      previousId: 'anon-1',
      userId: 'u-1',
    })
  })

  test('an alias without previousId is the sender’s error, before any call', async () => {
    await expect(recordFor({ type: 'alias', userId: 'u-1' })).rejects.toThrow(PayloadError)
    await expect(recordFor({ type: 'alias', userId: 'u-1' })).rejects.toThrow(/previousId/)
  })

  test('it is optional: the presets do not subscribe it, though its default trigger is alias', () => {
    expect(aliasExternalId.defaultTrigger).toEqual({ types: ['alias'] })
    expect(aliasExternalId.preset).toBe(false)
    expect(findAction('alias-external-id')).toBe(aliasExternalId)
    expect(defaultSubscriptions().map((s) => s.actionId)).not.toContain('alias-external-id')
  })

  test('the user with previousId gets userId, found by show_many and changed by update_many', async () => {
    const z = zendeskWith([{ id: 7, external_id: 'anon-1' }])
    expect(await perform([{ previousId: 'anon-1', userId: 'u-1' }], z.zendesk)).toEqual([null])
    expect(z.users).toEqual([{ id: 7, external_id: 'u-1' }])
    expect(z.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET users/show_many',
      'PUT users/update_many',
    ])
    expect(z.requests[0]?.query).toEqual({ external_ids: 'anon-1,u-1' })
    expect(z.requests[1]?.body).toEqual({ users: [{ id: 7, external_id: 'u-1' }] })
  })

  test('no user with previousId: delivered with nothing to do, and a reason; nothing is written', async () => {
    const z = zendeskWith([])
    const [outcome] = await perform([{ previousId: 'ghost', userId: 'u-2' }], z.zendesk)
    expect(outcome).toBeInstanceOf(DeliveryNote)
    expect((outcome as DeliveryNote).reason).toBe('no Zendesk user has external_id "ghost"; nothing to move')
    expect(z.requests.map((r) => r.path)).toEqual(['users/show_many'])
  })

  test('userId already belongs to another user: that record fails with the reason, the others go', async () => {
    const z = zendeskWith([
      { id: 1, external_id: 'old-a' },
      { id: 2, external_id: 'taken' },
      { id: 3, external_id: 'old-b' },
    ])
    const outcomes = await perform(
      [
        { previousId: 'old-a', userId: 'taken' },
        { previousId: 'old-b', userId: 'new-b' },
      ],
      z.zendesk,
    )
    expect(outcomes[0]).toBeInstanceOf(AppError)
    expect(outcomes[0]).toMatchObject({
      kind: 'rejected',
      code: 'ALIAS_EXTERNAL_ID_TAKEN',
      message: expect.stringMatching(/^userId: Zendesk user 2 already has external_id "taken"/),
    })
    expect(outcomes[1]).toBeNull()
    expect(z.users.map((u) => u.external_id)).toEqual(['old-a', 'taken', 'new-b'])
    expect(z.requests[1]?.body).toEqual({ users: [{ id: 3, external_id: 'new-b' }] })
  })

  test('aliases of one batch apply in order: a → b then b → c moves the user to c', async () => {
    const z = zendeskWith([{ id: 9, external_id: 'a' }])
    const outcomes = await perform(
      [
        { previousId: 'a', userId: 'b' },
        { previousId: 'b', userId: 'c' },
      ],
      z.zendesk,
    )
    expect(outcomes).toEqual([null, null])
    expect(z.users).toEqual([{ id: 9, external_id: 'c' }])
  })

  test('an id one user leaves may go to another in the same batch', async () => {
    const z = zendeskWith([
      { id: 1, external_id: 'x' },
      { id: 2, external_id: 'y' },
    ])
    const outcomes = await perform(
      [
        { previousId: 'x', userId: 'x2' },
        { previousId: 'y', userId: 'x' },
      ],
      z.zendesk,
    )
    expect(outcomes).toEqual([null, null])
    expect(z.users.map((u) => u.external_id)).toEqual(['x2', 'x'])
  })

  test('external ids match case-insensitively, and one with a comma is looked up on its own', async () => {
    const z = zendeskWith([{ id: 4, external_id: 'Team,A' }])
    expect(await perform([{ previousId: 'team,a', userId: 'team-a' }], z.zendesk)).toEqual([null])
    expect(z.users).toEqual([{ id: 4, external_id: 'team-a' }])
    expect(z.requests.find((r) => r.path === 'users/search')?.query).toEqual({ external_id: 'team,a' })
  })

  test('Zendesk refusing an update fails that record with Zendesk’s details', async () => {
    const z = zendeskWith([{ id: 1, external_id: 'p' }])
    const refusing: ActionZendesk = {
      ...z.zendesk,
      runJob: () =>
        Promise.resolve([
          {
            id: 1,
            index: 0,
            action: 'update',
            error: 'PermissionDenied',
            details: 'not allowed',
            success: false,
          },
        ]),
    }
    const [outcome] = await perform([{ previousId: 'p', userId: 'q' }], refusing)
    expect(outcome).toMatchObject({
      kind: 'rejected',
      code: 'ZD_ITEM_PERMISSIONDENIED',
      message: 'not allowed',
    })
  })
})
