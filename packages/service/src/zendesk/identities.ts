/**
 * Request builders for user identities [OAS "User Identities"] (facts §2.2, §2.5). A user's email
 * addresses are email identities; exactly one is primary (the user's `email`). An upsert with a new
 * email adds it as a secondary identity; `make_primary` is the documented way to change the
 * primary one (facts §2.5). One function per endpoint; each returns a ZendeskRequest value.
 */
import type { ZendeskRequest } from './request.js'

/** An identity as Zendesk answers it (the keys we read). */
export interface ZendeskIdentity {
  id: number
  user_id: number
  type: string
  value: string
  primary: boolean
  verified?: boolean
}

/**
 * `GET /api/v2/users/{id}/identities?type[]=email`: the user's email identities (a user has a
 * handful; the first page of 100 holds them).
 */
export function listEmailIdentities(userId: number): ZendeskRequest {
  return {
    api: 'support',
    method: 'GET',
    path: `users/${userId}/identities`,
    query: { 'type[]': 'email', per_page: '100' },
    limitClass: 'account',
  }
}

/**
 * `POST /api/v2/users/{id}/identities` with an email identity; `skip_verify_email` sends no
 * verification email [OAS `CreateUserIdentity`].
 */
export function createEmailIdentity(
  userId: number,
  identity: { value: string; verified?: boolean; skip_verify_email?: boolean },
): ZendeskRequest {
  return {
    api: 'support',
    method: 'POST',
    path: `users/${userId}/identities`,
    body: { identity: { type: 'email', ...identity } },
    limitClass: 'account',
  }
}

/**
 * `PUT /api/v2/users/{id}/identities/{identity_id}/make_primary`: the identity becomes the primary
 * one of its type; the former primary stays as a secondary [OAS `MakeUserIdentityPrimary`].
 */
export function makeIdentityPrimary(userId: number, identityId: number): ZendeskRequest {
  return {
    api: 'support',
    method: 'PUT',
    path: `users/${userId}/identities/${identityId}/make_primary`,
    limitClass: 'account',
  }
}
