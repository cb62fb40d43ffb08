/**
 * Organizations (facts §4). Rules kept here:
 *
 * - `name` is required and unique, compared case-insensitively (422 DuplicateValue on `name`;
 *   a blank one is 422 BlankValue). Zendesk documents that two racing POSTs can both win; the
 *   emulator is single-threaded, so it never does.
 * - `external_id` is unique, case-insensitively (422 DuplicateValue on `external_id`).
 * - `create_or_update` matches only on `id` or `external_id`, never on the name; with no match
 *   the create runs, so an existing name gives the duplicate-name 422 [OAS].
 * - Deleting an organization deletes its memberships, and users whose default it was get another
 *   default (facts §5).
 * - Unknown attributes are ignored (facts §1.4); `organization_fields` values go through the
 *   organization field definitions (unknown keys dropped, bad values 422 on `organization_fields`,
 *   reported together with the other problems).
 *
 * The bulk functions (`*Many`) run inside a job's completion and return one result per item, in
 * request order (facts §7); failed items carry `error` and `details` from `bulkFailure`.
 */
import { str, type Account, type Json, type JsonObject, type OrganizationRecord } from '../account.js'
import { bulkFailure, detailsCollector, recordInvalid, recordNotFound, type ErrorDetails } from '../errors.js'
import { checkCustomFieldValues, presentCustomFieldValues } from './custom-fields.js'
import { removeOrganizationMemberships } from './memberships.js'
import { normalizeTags } from './users.js'

export function findOrganization(account: Account, id: number): OrganizationRecord | null {
  return account.data.organizations.get(id) ?? null
}

export function requireOrganization(account: Account, id: number): OrganizationRecord {
  const org = findOrganization(account, id)
  if (!org) {
    throw recordNotFound()
  }
  return org
}

/** Exact, case-insensitive match [OAS]. */
export function findOrganizationByExternalId(
  account: Account,
  externalId: string,
): OrganizationRecord | null {
  const wanted = externalId.toLowerCase()
  for (const org of account.data.organizations.values()) {
    if (org.external_id !== null && org.external_id.toLowerCase() === wanted) {
      return org
    }
  }
  return null
}

/** Exact, case-insensitive match [OAS]. */
export function findOrganizationByName(account: Account, name: string): OrganizationRecord | null {
  const wanted = name.trim().toLowerCase()
  for (const org of account.data.organizations.values()) {
    if (org.name.toLowerCase() === wanted) {
      return org
    }
  }
  return null
}

/** Every organization, oldest first. */
export function listOrganizations(account: Account): OrganizationRecord[] {
  return [...account.data.organizations.values()].sort((a, b) => a.id - b.id)
}

/** Checks the attributes with uniqueness rules; collects every problem. */
function validate(account: Account, input: JsonObject, self: OrganizationRecord | null): ErrorDetails {
  const { details, add } = detailsCollector()
  if (self === null || input.name !== undefined) {
    const name = str(input.name)?.trim() ?? ''
    if (name === '') {
      // Text unverified; the code and field follow the other blank-value answers (facts §1.4).
      add('name', 'BlankValue', 'Name: cannot be blank')
    } else {
      const owner = findOrganizationByName(account, name)
      if (owner && owner.id !== self?.id) {
        // Observed on a real account (facts §4); the description text is localised there.
        add('name', 'DuplicateValue', `Name: ${name} has already been taken`)
      }
    }
  }
  if (input.external_id !== undefined && input.external_id !== null) {
    const ext = str(input.external_id)
    if (ext === null) {
      add('external_id', 'InvalidValue', 'External ID: is invalid')
    } else if (ext !== '') {
      const owner = findOrganizationByExternalId(account, ext)
      if (owner && owner.id !== self?.id) {
        // Text unverified (facts §14.5); written like the duplicate-name answer.
        add('external_id', 'DuplicateValue', `External ID: ${ext} has already been taken`)
      }
    }
  }
  return details
}

/** `domain_names` as an array; a string is split on spaces and commas (unverified). Duplicates dropped. */
function domainNames(v: Json): string[] | null {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split(/[\s,]+/) : null
  if (list === null) {
    return null
  }
  const out: string[] = []
  for (const d of list) {
    const name = typeof d === 'string' ? d.trim() : ''
    if (name !== '' && !out.includes(name)) {
      out.push(name)
    }
  }
  return out
}

/**
 * Validates then writes the writable attributes. Nothing is written when any check fails, so a
 * 422 leaves the record as it was.
 */
function apply(account: Account, org: OrganizationRecord, input: JsonObject, isNew: boolean): void {
  const details = validate(account, input, isNew ? null : org)
  const fields = checkCustomFieldValues(
    account,
    'organization',
    org.organization_fields,
    input.organization_fields,
  )
  if (fields.errors.length > 0) {
    details.organization_fields = fields.errors
  }
  if (Object.keys(details).length > 0) {
    throw recordInvalid(details)
  }
  const name = str(input.name)?.trim()
  if (name) {
    org.name = name
  }
  if (input.external_id !== undefined) {
    const ext = str(input.external_id)
    org.external_id = ext === '' ? null : ext
  }
  for (const key of ['details', 'notes'] as const) {
    const v = input[key]
    if (typeof v === 'string' || v === null) {
      org[key] = v
    }
  }
  if (input.domain_names !== undefined) {
    // Updating `domain_names` overwrites the whole list [OAS].
    org.domain_names = domainNames(input.domain_names) ?? org.domain_names
  }
  if (typeof input.group_id === 'number' || input.group_id === null) {
    org.group_id = input.group_id
  }
  for (const key of ['shared_tickets', 'shared_comments'] as const) {
    const v = input[key]
    if (typeof v === 'boolean') {
      org[key] = v
    }
  }
  if (Array.isArray(input.tags)) {
    org.tags = normalizeTags(input.tags)
  }
  org.organization_fields = fields.values
}

/** Creates an organization from an `{organization: …}` body; 422 RecordInvalid on any problem. */
export function createOrganization(account: Account, input: JsonObject): OrganizationRecord {
  const now = account.nowIso()
  const org: OrganizationRecord = {
    id: 0,
    name: '',
    external_id: null,
    details: null,
    notes: null,
    domain_names: [],
    group_id: null,
    shared_tickets: false,
    shared_comments: false,
    tags: [],
    organization_fields: {},
    created_at: now,
    updated_at: now,
  }
  apply(account, org, input, true)
  org.id = account.nextId()
  account.data.organizations.set(org.id, org)
  return org
}

export function updateOrganization(
  account: Account,
  org: OrganizationRecord,
  input: JsonObject,
): OrganizationRecord {
  apply(account, org, input, false)
  org.updated_at = account.nowIso()
  return org
}

/** Deletes an organization and its memberships (promoting the users' next default). */
export function deleteOrganization(account: Account, org: OrganizationRecord): void {
  removeOrganizationMemberships(account, org.id)
  account.data.organizations.delete(org.id)
}

/**
 * `POST organizations/create_or_update`: the organization with the given `id`, else the one with
 * the given `external_id`, is updated; otherwise one is created. The name is never used to
 * match [OAS]. An `id` that matches nothing falls through to `external_id` (unverified).
 */
export function createOrUpdateOrganization(
  account: Account,
  input: JsonObject,
): { organization: OrganizationRecord; created: boolean } {
  const id = typeof input.id === 'number' ? input.id : typeof input.id === 'string' ? Number(input.id) : NaN
  const ext = str(input.external_id)
  const match =
    (Number.isInteger(id) ? findOrganization(account, id) : null) ??
    (ext !== null && ext !== '' ? findOrganizationByExternalId(account, ext) : null)
  if (match) {
    return { organization: updateOrganization(account, match, input), created: false }
  }
  return { organization: createOrganization(account, input), created: true }
}

/**
 * `create_many`: `{id, index}` per created organization [OAS CreateResourceResult], `{id, index,
 * error, details}` per failure. A failed item has no organization, so its `id` is its position,
 * as in the failed items observed from real bulk user jobs (facts §2.3); clients should read
 * `index` (unverified for organizations).
 */
export function createManyOrganizations(account: Account, items: JsonObject[]): Json[] {
  return items.map((input, index) => {
    try {
      return { id: createOrganization(account, input).id, index }
    } catch (err) {
      return { id: index, index, ...bulkFailure(err) }
    }
  })
}

/** One target of `update_many` / `destroy_many`: an organization, or the key that found none. */
export type UpdateTarget = { org: OrganizationRecord } | { missing: { id: number } | { external_id: string } }

export function updateTargetById(account: Account, id: number): UpdateTarget {
  const org = findOrganization(account, id)
  return org ? { org } : { missing: { id } }
}

export function updateTargetByExternalId(account: Account, externalId: string): UpdateTarget {
  const org = findOrganizationByExternalId(account, externalId)
  return org ? { org } : { missing: { external_id: externalId } }
}

/**
 * A failed `update` / `delete` item [OAS FailedResult] plus `index` and `status: "Failed"` (facts
 * §7). `id` is the organization's, the id asked for, or, for an external id that matched
 * nothing, the item's position (as in real failed items, facts §2.3; unverified here).
 */
function failedItem(index: number, target: UpdateTarget, action: string, err: unknown): JsonObject {
  const key = 'org' in target ? { id: target.org.id } : { id: index, ...target.missing }
  return { ...key, index, action, status: 'Failed', success: false, ...bulkFailure(err) }
}

/**
 * `update_many`: one result per target in request order, `{id, action: "update", status:
 * "Updated", success: true}` [OAS UpdateResourceResult] or a failed item.
 */
export function updateManyOrganizations(
  account: Account,
  changes: { target: () => UpdateTarget; input: JsonObject }[],
): Json[] {
  return changes.map(({ target, input }, index) => {
    const t = target()
    if ('missing' in t) {
      return failedItem(index, t, 'update', recordNotFound())
    }
    try {
      updateOrganization(account, t.org, input)
      return { id: t.org.id, action: 'update', status: 'Updated', success: true }
    } catch (err) {
      return failedItem(index, t, 'update', err)
    }
  })
}

/**
 * `destroy_many`: `{id, action: "delete", status: "Deleted", success: true}` per deleted
 * organization [OAS example]; a key that matches nothing is a failed item (unverified).
 */
export function destroyManyOrganizations(account: Account, targets: (() => UpdateTarget)[]): Json[] {
  return targets.map((target, index) => {
    const t = target()
    if ('missing' in t) {
      return failedItem(index, t, 'delete', recordNotFound())
    }
    deleteOrganization(account, t.org)
    return { id: t.org.id, action: 'delete', status: 'Deleted', success: true }
  })
}

/** The organization as the API shows it (OAS `OrganizationObject`, the observed create answer). */
export function presentOrganization(account: Account, org: OrganizationRecord): JsonObject {
  return {
    url: account.apiUrl(`organizations/${org.id}`),
    id: org.id,
    name: org.name,
    shared_tickets: org.shared_tickets,
    shared_comments: org.shared_comments,
    external_id: org.external_id,
    created_at: org.created_at,
    updated_at: org.updated_at,
    domain_names: org.domain_names,
    details: org.details,
    notes: org.notes,
    group_id: org.group_id,
    tags: org.tags,
    organization_fields: presentCustomFieldValues(account, 'organization', org.organization_fields),
  }
}
