/**
 * `alias-external-id` (optional; issue 4 item 7): an alias call moves the Zendesk user's
 * `external_id` from `previousId` to `userId`, e.g. when an anonymous or old id becomes the
 * person's id in your systems. Not in the presets: a destination uses it only when a subscription
 * names it, because rewriting a user's external_id changes how later identifies find the user.
 *
 * - No user has `previousId`: delivered, nothing to do (the delivery log says so).
 * - Another user already has `userId`: failed with that reason, before any write; Zendesk would
 *   refuse the duplicate (external_id is unique, facts §2.1).
 * - Aliases of one batch apply in order: `a → b` then `b → c` moves the user to `c`.
 */
import { AppError, ERROR_KINDS } from '../../errors.js'
import { resultAt, isFailedResult } from '../../zendesk/job-statuses.js'
import { searchByExternalId, showManyByExternalIds, updateMany, USERS_BULK_MAX } from '../../zendesk/users.js'
import { defineAction, DeliveryNote, type ActionZendesk, type PayloadOf } from '../define-action.js'

const fields = {
  previousId: {
    label: 'Previous ID',
    description: 'The external_id the Zendesk user has now.',
    type: 'string',
    required: true,
    default: { '@path': '$.previousId' },
  },
  userId: {
    label: 'User ID',
    description: 'The external_id the user gets.',
    type: 'string',
    required: true,
    default: { '@path': '$.userId' },
  },
} as const

type Payload = PayloadOf<typeof fields>

export interface AliasRecord {
  previousId: string
  userId: string
}

/** External ids match case-insensitively in Zendesk (facts §2.1). */
const norm = (externalId: string): string => externalId.toLowerCase()

interface ZendeskUserRef {
  id: number
  external_id: string | null
}

/** Who holds each of these external ids now (lower-cased keys → user id). */
async function holdersOf(externalIds: string[], zendesk: ActionZendesk): Promise<Map<string, number>> {
  const holders = new Map<string, number>()
  const note = (users: ZendeskUserRef[]): void => {
    for (const u of users) {
      if (typeof u.external_id === 'string') {
        holders.set(norm(u.external_id), u.id)
      }
    }
  }
  // show_many takes a comma-separated list: an id with a comma is looked up on its own.
  const listable = externalIds.filter((x) => !x.includes(','))
  for (let i = 0; i < listable.length; i += USERS_BULK_MAX) {
    const r = await zendesk.send<{ users: ZendeskUserRef[] }>(
      showManyByExternalIds(listable.slice(i, i + USERS_BULK_MAX)),
    )
    note(r.body.users)
  }
  for (const x of externalIds.filter((id) => id.includes(','))) {
    const r = await zendesk.send<{ users: ZendeskUserRef[] }>(searchByExternalId(x))
    note(r.body.users)
  }
  return holders
}

async function moveExternalIds(records: AliasRecord[], zendesk: ActionZendesk): Promise<unknown[]> {
  const wanted = new Map<string, string>()
  for (const r of records) {
    wanted.set(norm(r.previousId), r.previousId)
    wanted.set(norm(r.userId), r.userId)
  }
  const holders = await holdersOf([...wanted.values()], zendesk)
  const outcomes: unknown[] = new Array<unknown>(records.length).fill(null)
  // One update per move, in the records' order: update_many applies its items in order, so a
  // user may move twice, and an id one user leaves may go to another later in the same call.
  const updates: { record: number; id: number; externalId: string }[] = []
  for (const [i, r] of records.entries()) {
    if (r.previousId === r.userId) {
      outcomes[i] = new DeliveryNote(`previousId and userId are both "${r.userId}"; nothing to move`)
      continue
    }
    const owner = holders.get(norm(r.previousId))
    const holder = holders.get(norm(r.userId))
    if (owner === undefined) {
      outcomes[i] = new DeliveryNote(
        holder === undefined
          ? `no Zendesk user has external_id "${r.previousId}"; nothing to move`
          : `no Zendesk user has external_id "${r.previousId}" (user ${holder} has "${r.userId}" already); nothing to move`,
      )
      continue
    }
    if (holder !== undefined && holder !== owner) {
      outcomes[i] = new AppError(
        ERROR_KINDS.rejected,
        'ALIAS_EXTERNAL_ID_TAKEN',
        `userId: Zendesk user ${holder} already has external_id "${r.userId}", so user ${owner} keeps "${r.previousId}" (Zendesk refuses a duplicate external_id; merge the two users in Zendesk first)`,
        { field: 'userId' },
      )
      continue
    }
    // Later aliases of the batch see this one done.
    holders.delete(norm(r.previousId))
    holders.set(norm(r.userId), owner)
    updates.push({ record: i, id: owner, externalId: r.userId })
  }
  if (updates.length === 0) {
    return outcomes
  }
  const results = await zendesk.runJob(
    updateMany(updates.map((u) => ({ id: u.id, external_id: u.externalId }))),
  )
  for (const [position, u] of updates.entries()) {
    const result = resultAt(results, position)
    outcomes[u.record] = !result
      ? new AppError(ERROR_KINDS.transient, 'ZD_JOB_RESULT_MISSING', `no result for update ${position + 1}`)
      : isFailedResult(result)
        ? new AppError(
            ERROR_KINDS.rejected,
            `ZD_ITEM_${(result.error ?? 'FAILED').toUpperCase()}`,
            result.details ?? result.error ?? 'failed',
          )
        : null
  }
  return outcomes
}

export const aliasExternalId = defineAction({
  id: 'alias-external-id',
  title: 'Move external ID (alias)',
  description:
    'An alias call moves the Zendesk user’s external_id from previousId to userId. Optional: not in the presets.',
  defaultTrigger: { types: ['alias'] },
  preset: false,
  fields,
  bulk: {
    maxSize: USERS_BULK_MAX,
    item: (p: Payload): AliasRecord => ({ previousId: p.previousId, userId: p.userId }),
    // Never merged: aliases apply in order, each seeing the ones before it (a → b, then b → c).
    key: () => null,
    merge: (_earlier, later) => later,
    // perform: who holds an external id must be read first (show_many) before the update_many
    // by user id; and a move Zendesk would refuse fails alone, with its reason, before any write.
    perform: moveExternalIds,
  },
})
