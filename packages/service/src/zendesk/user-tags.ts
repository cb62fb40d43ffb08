/**
 * Request builders for reading and writing users' tags in bulk (facts §2.1, §2.2), used by the
 * audience activation of Support users. `tags` on a user write replaces the whole list, so a tag
 * is added or removed without touching the others by reading the current tags (`show_many?ids=`)
 * and writing the merged list back (`update_many` with a different change per user).
 */
import type { ZendeskRequest } from './request.js'
import { showManyByIds, updateMany } from './users.js'

/** Reads the current tags: `GET /api/v2/users/show_many?ids=1,2` (≤ 100; zendesk/users.ts). */
export { showManyByIds }

/**
 * `PUT /api/v2/users/update_many` with `{"users":[{id, tags}]}` (≤ 100): sets each user's whole
 * tag list; answers a job status whose results follow the request's order.
 */
export function setTagsMany(users: { id: number; tags: string[] }[]): ZendeskRequest {
  return updateMany(users)
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
