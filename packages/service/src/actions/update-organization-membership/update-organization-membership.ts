/**
 * `update-organization-membership`: an identify with `traits.company.id` (Segment, Customer.io)
 * makes the user a member of that organization; with `traits.company.remove: true` and the
 * destination setting `removeUsersFromOrganizations` on, it removes that one membership instead
 * (Segment's and RudderStack's "Enable Removing Users from Organizations", seeds 002 and 004).
 * The user's other memberships are kept either way.
 *
 * - An identify without `company.id` is not for this action: its record is skipped, with no
 *   call (the identify still goes to upsert-user).
 * - `company.id` is a Zendesk organization id or an external id (a groupId), as a string or a
 *   number. A number, or a string of digits, is tried as a Zendesk id first, then as an external
 *   id; anything else is an external id. RudderStack takes only a numeric Zendesk id (and
 *   compares it strictly, so Segment's documented `"6789"` never matches). A `company.id` that
 *   matches no organization fails that record with the reason (`MEMBERSHIP_ORGANIZATION_NOT_FOUND`).
 * - `remove: true` with the setting off changes nothing (the membership the sender asked to
 *   remove is never added); the delivery log says why.
 * - The user is found by external_id (the userId), else by email. upsert-user, triggered by the
 *   same identify, runs beside this action (delivery sends a job's records of different actions
 *   concurrently), so a new user may not exist yet when the membership goes out. Then, if the
 *   identify has a name (upsert-user can create the user), the record fails as transient
 *   (`MEMBERSHIP_USER_PENDING`): the job, which settles with the worst outcome of its records, is
 *   retried after a short backoff, upsert-user sends the same values again (idempotent), and the
 *   membership finds the user. Creating the user here instead would race upsert-user's own
 *   create in Zendesk. Without a name nobody can create the user: the record fails at once
 *   (`MEMBERSHIP_USER_NOT_FOUND`). A removal for a user Zendesk does not have is done: there is
 *   nothing to remove.
 */
import { mapLimit } from '../../lib/map-limit.js'
import { AppError, ERROR_KINDS } from '../../errors.js'
import { removeUserFromOrganization } from '../../zendesk/memberships.js'
import { ZendeskError } from '../../zendesk/errors.js'
import type { ZendeskOrganization } from '../../zendesk/organizations.js'
import { defineAction, DeliveryNote, type ActionContext, type PayloadOf } from '../define-action.js'
import {
  addMemberships,
  organizationsByExternalId,
  organizationsById,
  PER_RECORD_CONCURRENCY,
  userIdsByExternalId,
  usersByEmail,
  type EmailMatch,
} from '../organization-steps.js'

const fields = {
  companyId: {
    label: 'Organization',
    description:
      'The organization’s Zendesk id or external id (a groupId): traits.company.id, or context.traits.company.id.',
    type: 'string',
    default: {
      '@jsonata': '$exists(traits.company.id) ? traits.company.id : context.traits.company.id',
    },
  },
  remove: {
    label: 'Remove',
    description:
      'True removes the membership instead of adding it, when the destination enables removeUsersFromOrganizations.',
    type: 'boolean',
    default: {
      '@jsonata': '$exists(traits.company.remove) ? traits.company.remove : context.traits.company.remove',
    },
  },
  externalId: {
    label: 'User external ID',
    description: 'The member: the Zendesk user with this external_id (the userId).',
    type: 'string',
    default: { '@path': '$.userId' },
  },
  email: {
    label: 'User email',
    description: 'Finds the member when no user has the external ID.',
    type: 'string',
    default: { '@jsonata': 'traits.email ? traits.email : context.traits.email' },
  },
  name: {
    label: 'User name',
    description:
      'Whether upsert-user can create a missing user (Zendesk needs a name); the same as its name.',
    type: 'string',
    default: {
      '@jsonata':
        "traits.name ? traits.name : $join([traits.first_name ? traits.first_name : traits.firstName, traits.last_name ? traits.last_name : traits.lastName], ' ')",
    },
  },
} as const

type Payload = PayloadOf<typeof fields>

/** One membership change, or a record with nothing to do. */
export type MembershipRecord =
  | { op: 'skip' }
  | { op: 'ignore'; reason: string }
  | {
      op: 'add' | 'remove'
      companyId: string
      externalId?: string
      email?: string
      /** Whether the identify carries a name, so upsert-user can create a missing user. */
      creatable: boolean
    }

type Change = Extract<MembershipRecord, { op: 'add' | 'remove' }>

function toRecord(p: Payload, ctx: ActionContext): MembershipRecord {
  if (p.companyId === undefined) {
    return { op: 'skip' }
  }
  const remove = p.remove === true
  if (remove && ctx.settings.removeUsersFromOrganizations !== true) {
    return {
      op: 'ignore',
      reason: `company.remove is true but the destination setting removeUsersFromOrganizations is off: the membership in "${p.companyId}" was left as it is`,
    }
  }
  if (p.externalId === undefined && p.email === undefined) {
    throw new AppError(
      ERROR_KINDS.invalidEvent,
      'MAPPING_MEMBER_WITHOUT_IDENTIFIER',
      'userId: a membership change needs a userId or traits.email to find the user',
      { field: 'externalId' },
    )
  }
  return {
    op: remove ? 'remove' : 'add',
    companyId: p.companyId,
    ...(p.externalId !== undefined ? { externalId: p.externalId } : {}),
    ...(p.email !== undefined ? { email: p.email.toLowerCase() } : {}),
    creatable: p.name !== undefined,
  }
}

/** Digits only: may be a Zendesk id (tried first) as well as an external id. */
export function asZendeskId(companyId: string): number | null {
  if (!/^\d{1,16}$/.test(companyId)) {
    return null
  }
  const n = Number(companyId)
  return Number.isSafeInteger(n) && n > 0 ? n : null
}

/** The organization id of each company id (Zendesk id first, then external id); absent: none. */
async function resolveOrganizations(
  zendesk: Parameters<typeof organizationsById>[0],
  companyIds: readonly string[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  const numeric = companyIds.flatMap((c) => {
    const id = asZendeskId(c)
    return id === null ? [] : [id]
  })
  const byId =
    numeric.length > 0 ? await organizationsById(zendesk, numeric) : new Map<number, ZendeskOrganization>()
  const rest: string[] = []
  for (const c of companyIds) {
    const id = asZendeskId(c)
    const org = id === null ? undefined : byId.get(id)
    if (org) {
      out.set(c, org.id)
    } else {
      rest.push(c)
    }
  }
  if (rest.length > 0) {
    const byExternalId = await organizationsByExternalId(zendesk, rest)
    for (const c of rest) {
      const org = byExternalId.get(c.toLowerCase())
      if (org) {
        out.set(c, org.id)
      }
    }
  }
  return out
}

const who = (r: Change): string =>
  r.externalId !== undefined
    ? `external_id "${r.externalId}"${r.email !== undefined ? ` or email ${r.email}` : ''}`
    : `email ${r.email ?? ''}`

export const updateOrganizationMembership = defineAction({
  id: 'update-organization-membership',
  title: 'Add or remove organization membership',
  description:
    'Makes the user a member of the organization named by traits.company.id, or removes that membership when company.remove is true and the destination allows it.',
  // Only identifies that name a company: the others cost nothing (no record, no slot).
  defaultTrigger: { types: ['identify'], whenAny: ['$.traits.company.id', '$.context.traits.company.id'] },
  fields,
  bulk: {
    maxSize: 100,
    item: toRecord,
    // One record per person and organization: later values win (a removal after an addition).
    key: (r) =>
      r.op === 'add' || r.op === 'remove'
        ? `${r.companyId.toLowerCase()}|${(r.externalId ?? `@${r.email ?? ''}`).toLowerCase()}`
        : null,
    merge: (_earlier, later) => later,
    // perform: a membership names the organization and the user by keys Zendesk must resolve to
    // ids first (show_many, search), then goes out as a create_many job, or one DELETE per removal
    // (Zendesk has no bulk removal by user and organization).
    async perform(records, zendesk) {
      const outcomes: unknown[] = records.map((r) => (r.op === 'ignore' ? new DeliveryNote(r.reason) : null))
      const changes = records.flatMap((r, index) =>
        r.op === 'add' || r.op === 'remove' ? [{ index, r }] : [],
      )
      if (changes.length === 0) {
        return outcomes
      }
      const orgIds = await resolveOrganizations(
        zendesk,
        changes.map((c) => c.r.companyId),
      )
      const withOrg = changes.filter(({ index, r }) => {
        if (orgIds.has(r.companyId)) {
          return true
        }
        outcomes[index] = new AppError(
          ERROR_KINDS.rejected,
          'MEMBERSHIP_ORGANIZATION_NOT_FOUND',
          `company.id: no Zendesk organization has the id or external_id "${r.companyId}"`,
        )
        return false
      })
      const byExternalId = await userIdsByExternalId(
        zendesk,
        withOrg.flatMap(({ r }) => (r.externalId !== undefined ? [r.externalId] : [])),
      )
      const userOf = (r: Change): number | undefined =>
        r.externalId !== undefined ? byExternalId.get(r.externalId.toLowerCase()) : undefined
      const byEmail: Map<string, EmailMatch> = await usersByEmail(
        zendesk,
        withOrg.flatMap(({ r }) => (userOf(r) === undefined && r.email !== undefined ? [r.email] : [])),
      )
      const adds: { index: number; user_id: number; organization_id: number }[] = []
      const removals: { index: number; userId: number; orgId: number; companyId: string }[] = []
      for (const { index, r } of withOrg) {
        const orgId = orgIds.get(r.companyId) as number
        const match = userOf(r) ?? (r.email !== undefined ? byEmail.get(r.email) : undefined)
        let userId: number | undefined
        if (typeof match === 'number') {
          userId = match
        } else if (match === 'several') {
          outcomes[index] = new AppError(
            ERROR_KINDS.rejected,
            'MEMBERSHIP_EMAIL_AMBIGUOUS',
            `several Zendesk users have the email ${r.email ?? ''}; no membership changed`,
          )
          continue
        } else if (match !== undefined && match !== 'none') {
          userId = match.id
        }
        if (userId === undefined) {
          if (r.op === 'remove') {
            outcomes[index] = new DeliveryNote(`no Zendesk user has ${who(r)}: no membership to remove`)
          } else if (r.creatable) {
            outcomes[index] = new AppError(
              ERROR_KINDS.transient,
              'MEMBERSHIP_USER_PENDING',
              `no Zendesk user has ${who(r)} yet; the membership is retried once upsert-user has created the user`,
            )
          } else {
            outcomes[index] = new AppError(
              ERROR_KINDS.rejected,
              'MEMBERSHIP_USER_NOT_FOUND',
              `no Zendesk user has ${who(r)}, and the identify has no name to create one`,
            )
          }
          continue
        }
        if (r.op === 'add') {
          adds.push({ index, user_id: userId, organization_id: orgId })
        } else {
          removals.push({ index, userId, orgId, companyId: r.companyId })
        }
      }
      const [added] = await Promise.all([
        addMemberships(
          zendesk,
          adds.map(({ user_id, organization_id }) => ({ user_id, organization_id })),
        ),
        mapLimit(removals, PER_RECORD_CONCURRENCY, async ({ index, userId, orgId, companyId }) => {
          try {
            await zendesk.send(removeUserFromOrganization(userId, orgId))
          } catch (err) {
            // 404: the user is not a member (any more); the removal is done.
            outcomes[index] =
              err instanceof ZendeskError && err.status === 404
                ? new DeliveryNote(`the user was not a member of "${companyId}": nothing to remove`)
                : err
          }
        }),
      ])
      adds.forEach((a, i) => {
        outcomes[a.index] = added[i] ?? null
      })
      return outcomes
    },
  },
})
