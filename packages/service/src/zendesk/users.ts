/**
 * Request builders for the Users API [D-users] (facts §2). One function per endpoint; each
 * returns a ZendeskRequest value, never performs I/O.
 */
import type { ZendeskRequest } from './request.js'

/** What we send for one user in `create_or_update(_many)`. */
export interface ZendeskUserInput {
  email?: string
  name?: string
  external_id?: string
  phone?: string
  time_zone?: string
  organization_id?: number
  verified?: boolean
  skip_verify_email?: boolean
  user_fields?: Record<string, unknown>
}

/** Zendesk's bulk limit: 100 users per call [D-users]. */
export const USERS_BULK_MAX = 100

/** `POST /api/v2/users/create_or_update_many` (≤ 100; answers a job status; 403 unless bulk import is on). */
export function createOrUpdateMany(users: ZendeskUserInput[]): ZendeskRequest {
  if (users.length === 0 || users.length > USERS_BULK_MAX) {
    throw new RangeError(`create_or_update_many takes 1 to ${USERS_BULK_MAX} users, got ${users.length}`)
  }
  return {
    api: 'support',
    method: 'POST',
    path: 'users/create_or_update_many',
    body: { users },
    limitClass: 'account',
  }
}

/** `POST /api/v2/users/create_or_update`: 1 a second per account, 5 a minute per user (facts §2.4). */
export function createOrUpdate(user: ZendeskUserInput): ZendeskRequest {
  return {
    api: 'support',
    method: 'POST',
    path: 'users/create_or_update',
    body: { user },
    limitClass: 'single-user',
    limitKey: user.external_id ?? user.email ?? '',
  }
}

/** `GET /api/v2/user_fields` (custom fields only; offset pagination, 100 a page) [D-uf]. */
export function listUserFields(page = 1): ZendeskRequest {
  return {
    api: 'support',
    method: 'GET',
    path: 'user_fields',
    query: page > 1 ? { per_page: '100', page: String(page) } : { per_page: '100' },
    limitClass: 'account',
  }
}

/** `POST /api/v2/user_fields` (admins only). */
export function createUserField(field: { key: string; title: string; type: string }): ZendeskRequest {
  return {
    api: 'support',
    method: 'POST',
    path: 'user_fields',
    body: { user_field: field },
    limitClass: 'account',
  }
}

/**
 * `GET /api/v2/users/show_many?external_ids=a,b` (≤ 100): the users with those external ids, in no
 * guaranteed order (facts §2.2). External ids match case-insensitively (facts §2.1).
 */
export function showManyByExternalIds(externalIds: string[]): ZendeskRequest {
  if (externalIds.length === 0 || externalIds.length > USERS_BULK_MAX) {
    throw new RangeError(`show_many takes 1 to ${USERS_BULK_MAX} external ids, got ${externalIds.length}`)
  }
  return {
    api: 'support',
    method: 'GET',
    path: 'users/show_many',
    query: { external_ids: externalIds.join(',') },
    limitClass: 'account',
  }
}

/**
 * `GET /api/v2/users/show_many?ids=1,2` (≤ 100): the users with those ids, in no guaranteed order;
 * each with its primary `email` (facts §2.2).
 */
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
 * `PUT /api/v2/users/update_many` with `{"users":[{id, …}]}` (≤ 100): a different change per
 * user; answers a job status whose results follow the request's order (facts §2.2, §2.3).
 */
export function updateMany(users: ({ id: number } & Partial<ZendeskUserInput>)[]): ZendeskRequest {
  if (users.length === 0 || users.length > USERS_BULK_MAX) {
    throw new RangeError(`update_many takes 1 to ${USERS_BULK_MAX} users, got ${users.length}`)
  }
  return { api: 'support', method: 'PUT', path: 'users/update_many', body: { users }, limitClass: 'account' }
}

/**
 * `GET /api/v2/users/search?external_id=…`: the user with exactly that external id (no search
 * syntax; facts §2.2). For an external id that `show_many`'s comma-separated list cannot carry.
 */
export function searchByExternalId(externalId: string): ZendeskRequest {
  return {
    api: 'support',
    method: 'GET',
    path: 'users/search',
    query: { external_id: externalId },
    limitClass: 'account',
  }
}

/**
 * `GET /api/v2/users/search?query=email:"…"`: the users with that email among their identities
 * (facts §2.2). Reads the search index, which may lag new users by a few minutes [D-search].
 */
export function searchByEmail(email: string): ZendeskRequest {
  return {
    api: 'support',
    method: 'GET',
    path: 'users/search',
    query: { query: `email:"${email}"` },
    limitClass: 'account',
  }
}
