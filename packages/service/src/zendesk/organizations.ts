/**
 * Request builders for the Organizations API [D-org] (facts §4) and organization fields (facts
 * §3). One function per endpoint; each returns a ZendeskRequest value, never performs I/O.
 *
 * Zendesk has no `create_or_update_many` for organizations (facts §4): a sync resolves external
 * ids with `show_many`, then creates the missing ones with `create_many` and updates the others
 * with `update_many`, each at most 100 a call and answered by a job status.
 */
import type { ZendeskRequest } from './request.js'

/** Zendesk's limit per bulk or `show_many` call on organizations (facts §4). */
export const ORGANIZATIONS_BULK_MAX = 100

/** What we send for one organization (create) or one change (update, with `id`). */
export interface ZendeskOrganizationInput {
  id?: number
  name?: string
  external_id?: string
  domain_names?: string[]
  tags?: string[]
  organization_fields?: Record<string, unknown>
}

/** An organization as Zendesk shows it (the keys we read). */
export interface ZendeskOrganization {
  id: number
  name: string
  external_id: string | null
  domain_names?: string[]
  tags?: string[]
  organization_fields?: Record<string, unknown>
}

/** A custom organization field (facts §3): its key, type and, for dropdowns, the option tags. */
export interface ZendeskOrganizationField {
  key: string
  type: string
  active?: boolean
  custom_field_options?: { value: string }[]
}

function checkSize(what: string, n: number): void {
  if (n === 0 || n > ORGANIZATIONS_BULK_MAX) {
    throw new RangeError(`${what} takes 1 to ${ORGANIZATIONS_BULK_MAX} organizations, got ${n}`)
  }
}

/**
 * `GET /api/v2/organizations/show_many?external_ids=a,b` (≤ 100; facts §4). Unknown ids are
 * left out; the answer's order is not guaranteed. Zendesk splits the list on commas, so an
 * external id holding a comma must be looked up with `searchByExternalId`.
 */
export function showManyByExternalIds(externalIds: string[]): ZendeskRequest {
  checkSize('show_many', externalIds.length)
  return {
    api: 'support',
    method: 'GET',
    path: 'organizations/show_many',
    query: { external_ids: externalIds.join(',') },
    limitClass: 'account',
  }
}

/** `GET /api/v2/organizations/show_many?ids=1,2` (≤ 100; facts §4). Unknown ids are left out. */
export function showManyByIds(ids: number[]): ZendeskRequest {
  checkSize('show_many', ids.length)
  return {
    api: 'support',
    method: 'GET',
    path: 'organizations/show_many',
    query: { ids: ids.join(',') },
    limitClass: 'account',
  }
}

/** `GET /api/v2/organizations/search?external_id=X`: exact, case-insensitive (facts §4). */
export function searchByExternalId(externalId: string): ZendeskRequest {
  return {
    api: 'support',
    method: 'GET',
    path: 'organizations/search',
    query: { external_id: externalId },
    limitClass: 'account',
  }
}

/**
 * `POST /api/v2/organizations/create_many` `{organizations}` (≤ 100; job "Bulk Create
 * Organization", facts §4, §7). `name` is required and unique; results are `{id, index}`.
 */
export function createMany(organizations: ZendeskOrganizationInput[]): ZendeskRequest {
  checkSize('create_many', organizations.length)
  return {
    api: 'support',
    method: 'POST',
    path: 'organizations/create_many',
    body: { organizations },
    limitClass: 'account',
  }
}

/**
 * `PUT /api/v2/organizations/update_many` `{organizations: [{id, …}]}` (≤ 100; job, facts §4):
 * each organization changes differently. Results are `{id, action: "update", status, success}`.
 */
export function updateMany(organizations: (ZendeskOrganizationInput & { id: number })[]): ZendeskRequest {
  checkSize('update_many', organizations.length)
  return {
    api: 'support',
    method: 'PUT',
    path: 'organizations/update_many',
    body: { organizations },
    limitClass: 'account',
  }
}

/** `GET /api/v2/organization_fields` (custom fields only; offset pages of 100; facts §3). */
export function listOrganizationFields(page = 1): ZendeskRequest {
  return {
    api: 'support',
    method: 'GET',
    path: 'organization_fields',
    query: page > 1 ? { per_page: '100', page: String(page) } : { per_page: '100' },
    limitClass: 'account',
  }
}
