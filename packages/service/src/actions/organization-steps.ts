/**
 * The Zendesk steps the two organization actions (`upsert-organization`, `update-organization-
 * membership`) share inside their `perform`: finding organizations and users by the keys events
 * carry, and adding memberships in bulk. Every function takes the `zendesk` that perform is given
 * (rate-limited and classified by delivery); none keeps state between calls.
 *
 * - Organizations and users are found by external id with `show_many` (100 at once); an external
 *   id holding a comma cannot travel in that comma-separated list and is searched alone.
 * - Users are found by email with `users/search?query=email:"…"` (facts §2.2), one call per
 *   email and only when the external id found no one. The search index may lag new users by a
 *   few minutes; callers that create users afterwards use `create_or_update`, which matches the
 *   email itself, so a lagging index never makes a duplicate.
 * - Memberships go out with `organization_memberships/create_many` (100 a job). An existing
 *   membership counts as added: Zendesk refuses it as `DuplicateValue` "already a member" (facts
 *   §5); any other refusal is checked against the user's memberships before it is reported, so
 *   a localised message cannot turn an existing membership into a failure.
 */
import { mapLimit } from '../lib/map-limit.js'
import { AppError, ERROR_KINDS } from '../errors.js'
import { resultAt, isFailedResult, type JobResult } from '../zendesk/job-statuses.js'
import {
  createMany as createManyMemberships,
  listOfUser,
  MEMBERSHIPS_BULK_MAX,
  type ZendeskMembership,
  type ZendeskMembershipInput,
} from '../zendesk/memberships.js'
import {
  ORGANIZATIONS_BULK_MAX,
  searchByExternalId as searchOrganizationByExternalId,
  showManyByExternalIds as showManyOrganizationsByExternalIds,
  showManyByIds as showManyOrganizationsByIds,
  type ZendeskOrganization,
} from '../zendesk/organizations.js'
import {
  searchByEmail as searchUsersByEmail,
  searchByExternalId as searchUserByExternalId,
  showManyByExternalIds as showManyUsersByExternalIds,
  USERS_BULK_MAX,
} from '../zendesk/users.js'
import type { ActionZendesk } from './define-action.js'

/** Calls made at once where Zendesk has no bulk form (email searches, removals). */
export const PER_RECORD_CONCURRENCY = 8

/** Pages of a user's memberships read at most when checking a refusal (Zendesk allows 300). */
const MAX_MEMBERSHIP_PAGES = 3

export function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += size) {
    out.push(list.slice(i, i + size))
  }
  return out
}

/** A failed item of a bulk job as the error its record settles with (Zendesk refused it). */
export function itemError(result: JobResult | undefined, what: string): AppError {
  if (!result) {
    return new AppError(ERROR_KINDS.transient, 'ZD_JOB_RESULT_MISSING', `${what}: the job gave no result`)
  }
  const code = (result.error ?? 'FAILED').replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()
  return new AppError(ERROR_KINDS.rejected, `ZD_ITEM_${code}`, `${what}: ${result.details ?? result.error}`)
}

const unique = <T>(list: Iterable<T>): T[] => [...new Set(list)]

/**
 * Organizations by external id, keyed by the lower-cased external id (Zendesk matches external
 * ids case-insensitively, facts §4). Unknown ids are absent from the map.
 */
export async function organizationsByExternalId(
  zendesk: ActionZendesk,
  externalIds: readonly string[],
): Promise<Map<string, ZendeskOrganization>> {
  const wanted = unique(externalIds.map((e) => e.toLowerCase()))
  const listable = wanted.filter((e) => !e.includes(','))
  const found = new Map<string, ZendeskOrganization>()
  const keep = (orgs: ZendeskOrganization[] | undefined): void => {
    for (const org of orgs ?? []) {
      if (org.external_id !== null) {
        found.set(org.external_id.toLowerCase(), org)
      }
    }
  }
  await Promise.all(
    chunks(listable, ORGANIZATIONS_BULK_MAX).map(async (part) => {
      const r = await zendesk.send<{ organizations?: ZendeskOrganization[] }>(
        showManyOrganizationsByExternalIds(part),
      )
      keep(r.body.organizations)
    }),
  )
  await mapLimit(
    wanted.filter((e) => e.includes(',')),
    PER_RECORD_CONCURRENCY,
    async (ext) => {
      const r = await zendesk.send<{ organizations?: ZendeskOrganization[] }>(
        searchOrganizationByExternalId(ext),
      )
      keep(r.body.organizations)
    },
  )
  return found
}

/** Organizations by Zendesk id. Unknown ids are absent from the map. */
export async function organizationsById(
  zendesk: ActionZendesk,
  ids: readonly number[],
): Promise<Map<number, ZendeskOrganization>> {
  const found = new Map<number, ZendeskOrganization>()
  await Promise.all(
    chunks(unique(ids), ORGANIZATIONS_BULK_MAX).map(async (part) => {
      const r = await zendesk.send<{ organizations?: ZendeskOrganization[] }>(
        showManyOrganizationsByIds(part),
      )
      for (const org of r.body.organizations ?? []) {
        found.set(org.id, org)
      }
    }),
  )
  return found
}

interface ZendeskUserRef {
  id: number
  external_id?: string | null
  email?: string | null
  active?: boolean
}

/** User ids by external id, keyed by the lower-cased external id. Unknown ids are absent. */
export async function userIdsByExternalId(
  zendesk: ActionZendesk,
  externalIds: readonly string[],
): Promise<Map<string, number>> {
  const wanted = unique(externalIds.map((e) => e.toLowerCase()))
  const found = new Map<string, number>()
  const keep = (users: ZendeskUserRef[] | undefined): void => {
    for (const u of users ?? []) {
      if (typeof u.external_id === 'string' && u.active !== false) {
        found.set(u.external_id.toLowerCase(), u.id)
      }
    }
  }
  await Promise.all(
    chunks(
      wanted.filter((e) => !e.includes(',')),
      USERS_BULK_MAX,
    ).map(async (part) => {
      const r = await zendesk.send<{ users?: ZendeskUserRef[] }>(showManyUsersByExternalIds(part))
      keep(r.body.users)
    }),
  )
  await mapLimit(
    wanted.filter((e) => e.includes(',')),
    PER_RECORD_CONCURRENCY,
    async (ext) => {
      const r = await zendesk.send<{ users?: ZendeskUserRef[] }>(searchUserByExternalId(ext))
      keep(r.body.users)
    },
  )
  return found
}

/** What an email search found: one user's id, nobody, or several users (Segment: no update). */
export type EmailMatch = { id: number } | 'none' | 'several'

/** Users by email, one search per distinct email; keyed by the lower-cased email. */
export async function usersByEmail(
  zendesk: ActionZendesk,
  emails: readonly string[],
): Promise<Map<string, EmailMatch>> {
  const wanted = unique(emails.map((e) => e.toLowerCase()))
  const found = new Map<string, EmailMatch>()
  await mapLimit(wanted, PER_RECORD_CONCURRENCY, async (email) => {
    const r = await zendesk.send<{ users?: ZendeskUserRef[] }>(searchUsersByEmail(email))
    const users = (r.body.users ?? []).filter((u) => u.active !== false)
    const [first] = users
    found.set(email, users.length > 1 ? 'several' : first ? { id: first.id } : 'none')
  })
  return found
}

/** Whether a user belongs to an organization, from the user's memberships (a few pages at most). */
async function isMember(zendesk: ActionZendesk, userId: number, organizationId: number): Promise<boolean> {
  let after: string | undefined
  for (let page = 0; page < MAX_MEMBERSHIP_PAGES; page += 1) {
    const r = await zendesk.send<{
      organization_memberships?: ZendeskMembership[]
      meta?: { has_more?: boolean; after_cursor?: string | null }
    }>(listOfUser(userId, after))
    if ((r.body.organization_memberships ?? []).some((m) => m.organization_id === organizationId)) {
      return true
    }
    if (!r.body.meta?.has_more || !r.body.meta.after_cursor) {
      return false
    }
    after = r.body.meta.after_cursor
  }
  return false
}

/** Zendesk's refusal of an existing membership (facts §5; the text is English only). */
function saysAlreadyMember(result: JobResult): boolean {
  return result.error === 'DuplicateValue' || /already a member/i.test(result.details ?? '')
}

const pairKey = (p: ZendeskMembershipInput): string => `${p.user_id}:${p.organization_id}`

/**
 * Adds memberships with `create_many` jobs (100 a job, run together). Returns one outcome per
 * pair, in order: null when the user is now a member (added, or was one already), else the error.
 * A pair given twice goes out once. A job that fails as a whole throws (its pairs are retried).
 */
export async function addMemberships(
  zendesk: ActionZendesk,
  pairs: readonly ZendeskMembershipInput[],
): Promise<(AppError | null)[]> {
  const distinct = [...new Map(pairs.map((p) => [pairKey(p), p])).values()]
  const outcome = new Map<string, AppError | null>()
  const refused: { pair: ZendeskMembershipInput; result: JobResult | undefined }[] = []
  await Promise.all(
    chunks(distinct, MEMBERSHIPS_BULK_MAX).map(async (part) => {
      const results = await zendesk.runJob(createManyMemberships(part))
      part.forEach((pair, i) => {
        const r = resultAt(results, i)
        if (r && !isFailedResult(r)) {
          outcome.set(pairKey(pair), null)
        } else if (r && saysAlreadyMember(r)) {
          outcome.set(pairKey(pair), null)
        } else {
          refused.push({ pair, result: r })
        }
      })
    }),
  )
  await mapLimit(refused, PER_RECORD_CONCURRENCY, async ({ pair, result }) => {
    const member = result ? await isMember(zendesk, pair.user_id, pair.organization_id) : false
    outcome.set(
      pairKey(pair),
      member
        ? null
        : itemError(result, `membership of user ${pair.user_id} in organization ${pair.organization_id}`),
    )
  })
  return pairs.map((p) => outcome.get(pairKey(p)) ?? null)
}
