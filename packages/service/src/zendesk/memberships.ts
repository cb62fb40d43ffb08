/**
 * Request builders for organization memberships [OAS] [node-zendesk] (facts §5). One function
 * per endpoint; each returns a ZendeskRequest value, never performs I/O.
 *
 * Memberships are added, never set through `user.organization_id`: writing that attribute
 * replaces every other membership of the user (facts §2.2, §5).
 */
import type { ZendeskRequest } from './request.js'

/** Memberships per `create_many` call (facts §5). */
export const MEMBERSHIPS_BULK_MAX = 100

export interface ZendeskMembershipInput {
  user_id: number
  organization_id: number
}

export interface ZendeskMembership {
  id: number
  user_id: number
  organization_id: number
}

/**
 * `POST /api/v2/organization_memberships/create_many` `{organization_memberships}` (≤ 100; a
 * job whose results are `{id, action: "create", status: "Created", success: true}` in request
 * order). An existing membership is a failed item: 422 `DuplicateValue` "already a member".
 */
export function createMany(memberships: ZendeskMembershipInput[]): ZendeskRequest {
  if (memberships.length === 0 || memberships.length > MEMBERSHIPS_BULK_MAX) {
    throw new RangeError(
      `organization_memberships/create_many takes 1 to ${MEMBERSHIPS_BULK_MAX} memberships, got ${memberships.length}`,
    )
  }
  return {
    api: 'support',
    method: 'POST',
    path: 'organization_memberships/create_many',
    body: { organization_memberships: memberships },
    limitClass: 'account',
  }
}

/**
 * `GET /api/v2/users/{user_id}/organization_memberships` (cursor pages of up to 100; the
 * default membership first, then by organization name; facts §5). `after` is the cursor of
 * the previous page's `meta.after_cursor`.
 */
export function listOfUser(userId: number, after?: string): ZendeskRequest {
  return {
    api: 'support',
    method: 'GET',
    path: `users/${userId}/organization_memberships`,
    query: after === undefined ? { 'page[size]': '100' } : { 'page[size]': '100', 'page[after]': after },
    limitClass: 'account',
  }
}

/**
 * `DELETE /api/v2/users/{user_id}/organizations/{organization_id}` → 204 (facts §5): removes
 * that one membership; the user's other memberships stay. 404 when there is none. Zendesk then
 * schedules a job that unassigns the user's working tickets of that organization.
 */
export function removeUserFromOrganization(userId: number, organizationId: number): ZendeskRequest {
  return {
    api: 'support',
    method: 'DELETE',
    path: `users/${userId}/organizations/${organizationId}`,
    limitClass: 'account',
  }
}
