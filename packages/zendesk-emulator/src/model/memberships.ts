/**
 * Organization memberships and Zendesk's default-membership rules (facts §5):
 *
 * - a user's first membership is the default one (`default: true`) and sets `user.organization_id`;
 * - a membership that already exists for (user, organization) is a 422 DuplicateValue on `user_id`;
 * - deleting the default membership makes the oldest remaining one the default, or clears
 *   `user.organization_id` when none remains;
 * - `PUT users/{id}` with `organization_id` replaces every membership with that one;
 * - with `multipleOrganizations` off (Team plans) a second membership is a 422 (unverified);
 *   with it on, a user may belong to at most 300 organizations [KB-multiorg] (the 422 for the
 *   301st is unverified).
 *
 * `default` is shown as `true` or `null`, never `false` [OAS OrganizationMembershipObject].
 */
import type { Account, Json, JsonObject, MembershipRecord } from '../account.js'
import { bulkFailure, fieldInvalid, recordNotFound } from '../errors.js'

/** Most organizations one user may belong to when multiple organizations are allowed [KB-multiorg]. */
export const MAX_MEMBERSHIPS_PER_USER = 300

export function membershipsOfUser(account: Account, userId: number): MembershipRecord[] {
  const own = [...account.data.memberships.values()].filter((m) => m.user_id === userId)
  // Default first, then by organization name [OAS].
  return own.sort((a, b) => {
    if (a.default !== b.default) {
      return a.default ? -1 : 1
    }
    return orgName(account, a.organization_id).localeCompare(orgName(account, b.organization_id))
  })
}

export function membershipsOfOrganization(account: Account, organizationId: number): MembershipRecord[] {
  return [...account.data.memberships.values()].filter((m) => m.organization_id === organizationId)
}

export function findMembership(
  account: Account,
  userId: number,
  organizationId: number,
): MembershipRecord | null {
  for (const m of account.data.memberships.values()) {
    if (m.user_id === userId && m.organization_id === organizationId) {
      return m
    }
  }
  return null
}

/**
 * Adds a membership; throws 422 InvalidValue for an unknown user or organization (unverified:
 * the per-user routes answer 404 for an unknown user in the path before getting here), 422
 * DuplicateValue on `user_id` for a duplicate (observed, facts §5).
 */
export function addMembership(
  account: Account,
  userId: number,
  organizationId: number,
  opts: { makeDefault?: boolean; viewTickets?: boolean } = {},
): MembershipRecord {
  const user = account.data.users.get(userId)
  if (!user || !user.active) {
    throw fieldInvalid('user_id', 'InvalidValue', 'User: is invalid')
  }
  if (!account.data.organizations.has(organizationId)) {
    throw fieldInvalid('organization_id', 'InvalidValue', 'Organization: is invalid')
  }
  if (findMembership(account, userId, organizationId)) {
    throw fieldInvalid('user_id', 'DuplicateValue', ' This user is already a member of this organization.')
  }
  const existing = membershipsOfUser(account, userId)
  if (!account.config.multipleOrganizations && existing.length > 0) {
    throw fieldInvalid(
      'organization_id',
      'InvalidValue',
      'Organization: this account does not allow users to belong to multiple organizations',
    )
  }
  if (existing.length >= MAX_MEMBERSHIPS_PER_USER) {
    throw fieldInvalid(
      'organization_id',
      'InvalidValue',
      `Organization: a user can belong to at most ${MAX_MEMBERSHIPS_PER_USER} organizations`,
    )
  }
  const now = account.nowIso()
  const isDefault = existing.length === 0 || opts.makeDefault === true
  if (isDefault) {
    for (const m of existing) {
      m.default = false
    }
    user.organization_id = organizationId
  }
  const record: MembershipRecord = {
    id: account.nextId(),
    user_id: userId,
    organization_id: organizationId,
    default: isDefault,
    view_tickets: opts.viewTickets ?? true,
    created_at: now,
    updated_at: now,
  }
  account.data.memberships.set(record.id, record)
  return record
}

/** Removes a membership, promoting another to default if needed. */
export function removeMembership(account: Account, membershipId: number): void {
  const m = account.data.memberships.get(membershipId)
  if (!m) {
    throw recordNotFound()
  }
  account.data.memberships.delete(membershipId)
  const user = account.data.users.get(m.user_id)
  if (m.default && user) {
    const rest = [...account.data.memberships.values()]
      .filter((x) => x.user_id === m.user_id)
      .sort((a, b) => a.id - b.id)
    const next = rest[0]
    if (next) {
      next.default = true
      user.organization_id = next.organization_id
    } else {
      user.organization_id = null
    }
  }
}

/** Makes an existing membership the user's default. */
export function makeDefault(account: Account, membership: MembershipRecord): void {
  const now = account.nowIso()
  for (const m of membershipsOfUser(account, membership.user_id)) {
    const isDefault = m.id === membership.id
    if (m.default !== isDefault) {
      m.default = isDefault
      m.updated_at = now
    }
  }
  const user = account.data.users.get(membership.user_id)
  if (user) {
    user.organization_id = membership.organization_id
  }
}

/** `PUT users/{id}` with `organization_id`: that organization becomes the only membership. */
export function replaceMemberships(account: Account, userId: number, organizationId: number | null): void {
  if (organizationId !== null && !account.data.organizations.has(organizationId)) {
    throw fieldInvalid('organization_id', 'InvalidValue', 'Organization: is invalid')
  }
  for (const m of membershipsOfUser(account, userId)) {
    if (m.organization_id !== organizationId) {
      account.data.memberships.delete(m.id)
    }
  }
  const user = account.data.users.get(userId)
  if (user) {
    user.organization_id = null
  }
  if (organizationId !== null) {
    const kept = findMembership(account, userId, organizationId)
    if (kept) {
      makeDefault(account, kept)
    } else {
      addMembership(account, userId, organizationId)
    }
  }
}

/** Removes every membership of an organization (when it is deleted). */
export function removeOrganizationMemberships(account: Account, organizationId: number): void {
  for (const m of membershipsOfOrganization(account, organizationId)) {
    removeMembership(account, m.id)
  }
}

export function presentMembership(account: Account, m: MembershipRecord): JsonObject {
  return {
    url: account.apiUrl(`organization_memberships/${m.id}`),
    id: m.id,
    user_id: m.user_id,
    organization_id: m.organization_id,
    default: m.default ? true : null,
    organization_name: orgName(account, m.organization_id),
    view_tickets: m.view_tickets,
    created_at: m.created_at,
    updated_at: m.updated_at,
  }
}

export function requireMembership(account: Account, membershipId: number): MembershipRecord {
  const m = account.data.memberships.get(membershipId)
  if (!m) {
    throw recordNotFound()
  }
  return m
}

/** Every membership of the account, oldest first. */
export function listMemberships(account: Account): MembershipRecord[] {
  return [...account.data.memberships.values()].sort((a, b) => a.id - b.id)
}

/** An id given as a number or a numeric string; null otherwise. */
function idOf(v: Json | undefined): number | null {
  if (typeof v === 'number' && Number.isInteger(v)) {
    return v
  }
  return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null
}

/**
 * Creates a membership from an `{organization_membership: …}` body. `userId` comes from the path
 * on `POST users/{user_id}/organization_memberships` and wins over the body's `user_id`.
 */
export function createMembership(account: Account, input: JsonObject, userId?: number): MembershipRecord {
  const user = userId ?? idOf(input.user_id)
  const organization = idOf(input.organization_id)
  if (user === null) {
    throw fieldInvalid('user_id', 'InvalidValue', 'User: is invalid')
  }
  if (organization === null) {
    throw fieldInvalid('organization_id', 'InvalidValue', 'Organization: is invalid')
  }
  return addMembership(account, user, organization, {
    makeDefault: input.default === true,
    ...(typeof input.view_tickets === 'boolean' ? { viewTickets: input.view_tickets } : {}),
  })
}

/**
 * `organization_memberships/create_many`, run at the job's completion: one result per item in
 * request order, `{id, action: "create", status: "Created", success: true}` [OAS example] or
 * `{id, index, action: "create", status: "Failed", success: false, error, details}` (unverified;
 * `error` and `details` come from `bulkFailure`). A failed item has no membership, so its `id` is
 * its position, as in the failed items observed from real bulk user jobs (facts §2.3).
 */
export function createManyMemberships(account: Account, items: JsonObject[]): Json[] {
  return items.map((input, index) => {
    try {
      const m = createMembership(account, input)
      return { id: m.id, action: 'create', status: 'Created', success: true }
    } catch (err) {
      return { id: index, index, action: 'create', status: 'Failed', success: false, ...bulkFailure(err) }
    }
  })
}

/**
 * `organization_memberships/destroy_many`: `{id, action: "delete", status: "Deleted", success:
 * true}` per membership [OAS example]; an unknown id is a failed item (unverified).
 */
export function destroyManyMemberships(account: Account, ids: number[]): Json[] {
  return ids.map((id, index) => {
    if (!account.data.memberships.has(id)) {
      return {
        id,
        index,
        action: 'delete',
        status: 'Failed',
        success: false,
        ...bulkFailure(recordNotFound()),
      }
    }
    removeMembership(account, id)
    return { id, action: 'delete', status: 'Deleted', success: true }
  })
}

function orgName(account: Account, organizationId: number): string {
  return account.data.organizations.get(organizationId)?.name ?? ''
}
