/**
 * The work of the bulk user jobs (facts §2.2, §2.3, §7). Each function runs when its job
 * completes (see jobs.ts) and returns one result per input, in request order; an input that fails
 * becomes a failed result and never stops the others. Result shapes:
 *
 * - `create_many`: `{id, index}` [D-jobs]; failure `{id, index, error: "UserCreateError", details}`
 *   (the failure shape is unverified).
 * - `create_or_update_many`: `{id, status: "Created" | "Updated", email?, external_id?}`; failure
 *   `{id, index, error: "UserCreateError" | "UserUpdateError", details, status: "Failed"}`.
 *
 * In failures `id` is the item's position, not a user id: a real failure carried `id: 2` (facts
 * §2.3) and a client's smoke test against a real account saw the failed second item come back with
 * `id: 1` (cloudbees-oss/zendesk-java-client#325), both observed. `index` repeats it, as the docs
 * tell clients to use `index` where present [D-jobs].
 * - `update_many`: `{id, action: "update", status: "Updated", success: true}` [OAS]; failure
 *   `{id, action: "update", error, details, success: false}` [OAS `FailedResult`].
 * - `destroy_many`: `{id, action: "delete", status: "Deleted", success: true}` [OAS]; failure as
 *   for `update_many` with `action: "delete"`.
 *
 * `details` joins the descriptions of a 422, e.g. "Name:  is too short (minimum one character)".
 */
import type { Account, Json, JsonObject, UserRecord } from '../account.js'
import { ApiError, recordNotFound } from '../errors.js'
import {
  createOrUpdateUser,
  createUser,
  deleteUser,
  findUpsertTarget,
  findUser,
  findUserByExternalId,
  primaryEmail,
  updateUser,
} from './users.js'

/** How `update_many` and `destroy_many` name a user: by id or by external id. */
export type UserRef = { kind: 'id'; id: number | string } | { kind: 'external_id'; externalId: string }

/** The error code and the one-line details of a refused item; anything else is a bug and rethrown. */
function failure(err: unknown): { error: string; details: string } {
  if (!(err instanceof ApiError)) {
    throw err
  }
  const body = err.body as { error?: unknown; description?: unknown; details?: unknown }
  const error = typeof body.error === 'string' ? body.error : 'InvalidValue'
  if (body.details && typeof body.details === 'object') {
    const lines = Object.values(body.details as Record<string, { description: string }[]>).flatMap((list) =>
      list.map((d) => d.description),
    )
    return { error, details: lines.join(' ') }
  }
  return { error, details: typeof body.description === 'string' ? body.description : error }
}

export function createManyResults(account: Account, inputs: JsonObject[]): Json[] {
  return inputs.map((input, index) => {
    try {
      return { id: createUser(account, input).id, index }
    } catch (err) {
      return { id: index, index, error: 'UserCreateError', details: failure(err).details }
    }
  })
}

export function createOrUpdateManyResults(account: Account, inputs: JsonObject[]): Json[] {
  // Items run in order, so a later item can update a user an earlier item of the same call created.
  return inputs.map((input, index) => {
    const existing = findUpsertTarget(account, input)
    try {
      const { user, created } = createOrUpdateUser(account, input)
      const result: JsonObject = { id: user.id, status: created ? 'Created' : 'Updated' }
      const email = primaryEmail(account, user.id)
      if (email !== null) {
        result.email = email
      }
      if (user.external_id !== null) {
        result.external_id = user.external_id
      }
      return result
    } catch (err) {
      return {
        id: index,
        index,
        error: existing ? 'UserUpdateError' : 'UserCreateError',
        details: failure(err).details,
        status: 'Failed',
      }
    }
  })
}

function resolve(account: Account, ref: UserRef): UserRecord | null {
  if (ref.kind === 'external_id') {
    return findUserByExternalId(account, ref.externalId)
  }
  const id = typeof ref.id === 'number' ? ref.id : /^\d+$/.test(ref.id) ? Number(ref.id) : NaN
  return Number.isNaN(id) ? null : findUser(account, id)
}

function refId(ref: UserRef): Json {
  if (ref.kind === 'external_id') {
    return ref.externalId
  }
  return typeof ref.id === 'string' && /^\d+$/.test(ref.id) ? Number(ref.id) : ref.id
}

/** `update_many`: each item is a user reference and the change to apply to that user. */
export function updateManyResults(account: Account, items: { ref: UserRef; change: JsonObject }[]): Json[] {
  return items.map(({ ref, change }) => {
    try {
      const user = resolve(account, ref)
      if (!user) {
        throw recordNotFound()
      }
      updateUser(account, user, change)
      return { id: user.id, action: 'update', status: 'Updated', success: true }
    } catch (err) {
      return { id: refId(ref), action: 'update', ...failure(err), success: false }
    }
  })
}

export function destroyManyResults(account: Account, refs: UserRef[]): Json[] {
  return refs.map((ref) => {
    const user = resolve(account, ref)
    if (!user) {
      return { id: refId(ref), action: 'delete', ...failure(recordNotFound()), success: false }
    }
    deleteUser(account, user)
    return { id: user.id, action: 'delete', status: 'Deleted', success: true }
  })
}
