/**
 * Request builders for reading and writing users' tags in bulk (facts §2.1, §2.2), used by the
 * audience activation of Support users. `tags` on a user write replaces the whole list, so a tag
 * is added or removed without touching the others by reading the current tags (`show_many?ids=`)
 * and writing the merged list back (`update_many` with a different change per user).
 */
import type { ZendeskRequest } from './request.js'
import { USERS_BULK_MAX } from './users.js'

/** `GET /api/v2/users/show_many?ids=1,2` (≤ 100): the users with those ids, in no guaranteed order. */
export function showManyByIds(ids: number[]): ZendeskRequest {
  if (ids.length === 0 || ids.length > USERS_BULK_MAX) {
    throw new RangeError(`show_many takes 1 to ${USERS_BULK_MAX} ids, got ${ids.length}`)
  }
  return {
    api: 'support',
    method: 'GET',
    path: 'users/show_many',
    query: { ids: ids.join(',') },
    limitClass: 'account',
  }
}

/**
 * `PUT /api/v2/users/update_many` with `{"users":[{id, tags}]}` (≤ 100): sets each user's whole
 * tag list; answers a job status whose results follow the request's order.
 */
export function setTagsMany(users: { id: number; tags: string[] }[]): ZendeskRequest {
  if (users.length === 0 || users.length > USERS_BULK_MAX) {
    throw new RangeError(`update_many takes 1 to ${USERS_BULK_MAX} users, got ${users.length}`)
  }
  return { api: 'support', method: 'PUT', path: 'users/update_many', body: { users }, limitClass: 'account' }
}

/**
 * `PUT /api/v2/users/{id}` with `{"user": {"tags": [...]}}`: one user's whole tag list. Counted in
 * the single-user limits (1 a second per account, 5 a minute per user; facts §2.4) under `limitKey`,
 * the same key as the user's `create_or_update`. For accounts without bulk import.
 */
export function setUserTags(id: number, tags: string[], limitKey: string): ZendeskRequest {
  return {
    api: 'support',
    method: 'PUT',
    path: `users/${id}`,
    body: { user: { tags } },
    limitClass: 'single-user',
    limitKey,
  }
}
