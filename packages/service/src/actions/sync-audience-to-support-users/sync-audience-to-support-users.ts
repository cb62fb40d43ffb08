/**
 * Audience activation to Zendesk Support users (docs/audiences.md). Each audience event becomes
 * one user record: the identity (external_id, email), the mapped attributes, and the memberships
 * of the activation's audiences as the activation represents them:
 *
 * - `checkbox`: user field `<field>` true while a member (realized, existing), false once exited;
 * - `text`: user field `<field>` holding the status (realized, existing, exited);
 * - `tag`: tag `<tag>` added on realized and existing, removed on exited; other tags are kept.
 *
 * perform, because tags take a second step: Zendesk's user `tags` attribute replaces the whole
 * list (Census documents it for Zendesk users, shared/peers/feature-survey.md §5.2; Zendesk's
 * OpenAPI says the same of ticket tags), so one bulk write cannot add a tag without removing the
 * others. Zendesk's tag-preserving calls are one request per user (Tags API: `PUT`/`DELETE
 * users/{id}/tags`, not in the OpenAPI copy) or for tickets only (`additional_tags` on
 * `tickets/update_many`, facts §6). The steps per batch of ≤ 100 records:
 *
 * 1. `users/create_or_update_many` with identities, attributes and user fields (one job); its
 *    results give each user's id, in request order;
 * 2. for records with tag changes: `users/show_many?ids=` reads the current tags (of the users
 *    step 1 updated: those it created have none), and `users/update_many` writes each changed
 *    user's merged list (one job; none when nothing changes).
 *
 * A tag set by someone else between steps 2's read and write (about one job's duration) can be
 * lost; docs/audiences.md says so. Users are matched by external_id when the profile has a userId,
 * else by email. A profile with neither is excluded, with the reason. When a profile's email
 * changes (same userId), the upsert adds the new email as a secondary identity (facts §2.5); the
 * read of step 2 also covers the updated users whose record has an email, and a user whose primary
 * email differs gets the new one made primary (`identities`, then `make_primary`), the old one
 * staying as a secondary email.
 */
import { AppError, ERROR_KINDS } from '../../errors.js'
import {
  createEmailIdentity,
  listEmailIdentities,
  makeIdentityPrimary,
  type ZendeskIdentity,
} from '../../zendesk/identities.js'
import { isFailedResult, resultAt, type JobResult } from '../../zendesk/job-statuses.js'
import { setTagsMany, setUserTags, showManyByIds } from '../../zendesk/user-tags.js'
import {
  createOrUpdate,
  createOrUpdateMany,
  USERS_BULK_MAX,
  type ZendeskUserInput,
} from '../../zendesk/users.js'
import { DeliveryNote, type ActionZendesk, type AnyAction } from '../define-action.js'
import type { AudienceEvent } from '../../spec/audiences.js'
import {
  defineActivationAction,
  isSent,
  splitMapped,
  unsentOutcome,
  type ActivationRecord,
  type AudiencePayload,
} from '../sync-audience-common/activation-action.js'
import {
  asAudienceEvent,
  firstOf,
  membershipsOf,
  text,
  UNCONFIGURED,
  type ActivationConfig,
} from '../sync-audience-common/activation.js'

export const SUPPORT_USERS_ACTION_ID = 'sync-audience-to-support-users'

/** User attributes a mapping may target, besides `user_fields.<key>`. */
export const SUPPORT_USER_TARGETS = new Set([
  'name',
  'email',
  'external_id',
  'phone',
  'time_zone',
  'locale',
  'notes',
  'details',
  'alias',
  'organization_id',
])

/** Default mappings (the activation's own mappings override them key by key). */
export const SUPPORT_USER_DEFAULT_MAPPINGS = {
  email: '$.email',
  external_id: '$.userId',
  phone: firstOf('attributes.mobilePhone.number', 'attributes.phone'),
} as const

/** The person's name from the usual attributes: the full name, else first and last name. */
function nameOf(event: AudienceEvent): string | null {
  const a = event.attributes
  const n = (a.person as { name?: Record<string, unknown> } | undefined)?.name ?? {}
  const full = text(n.fullName) ?? text(a.name)
  if (full !== null) {
    return full
  }
  const parts = [
    text(n.firstName) ?? text(a.first_name) ?? text(a.firstName),
    text(n.lastName) ?? text(a.last_name) ?? text(a.lastName),
  ].filter((x): x is string => x !== null)
  return parts.length > 0 ? parts.join(' ') : null
}

export interface SupportUserRecord extends ActivationRecord {
  user: ZendeskUserInput
  /** Tag → whether the user should have it after this record. */
  tags: Record<string, boolean>
  /**
   * The name for creating the user when the profile has none (its email or external id): used
   * only when Zendesk refused to create the user for lack of a name, so an existing user's name
   * is never overwritten with it.
   */
  fallbackName: string | null
  /** Memberships written, for the delivery log: `audience=status`. */
  memberships: string[]
}

function toRecord(
  p: AudiencePayload,
  config: ActivationConfig,
  settings: Readonly<Record<string, unknown>>,
): SupportUserRecord {
  const event = asAudienceEvent(p.profile)
  const attrs = p.attributes ?? {}
  const user: ZendeskUserInput = {}
  const { fields: userFields, others } = splitMapped(attrs, 'user_fields.')
  for (const [target, value] of others) {
    const s = text(value)
    if (s === null) {
      continue
    }
    switch (target) {
      case 'email':
        user.email = s.toLowerCase()
        break
      case 'organization_id':
        if (/^\d+$/.test(s)) {
          user.organization_id = Number(s)
        }
        break
      default:
        ;(user as Record<string, unknown>)[target] = s
    }
  }
  const tags: Record<string, boolean> = {}
  const memberships: string[] = []
  for (const { audience, status } of membershipsOf(event, config)) {
    const member = status !== 'exited'
    memberships.push(`${audience.id}=${status}`)
    if (audience.representation === 'tag') {
      tags[audience.tag] = member
    } else {
      userFields[audience.field] = audience.representation === 'checkbox' ? member : status
    }
  }
  if (Object.keys(userFields).length > 0) {
    user.user_fields = userFields
  }
  if (user.name === undefined) {
    const name = nameOf(event)
    if (name !== null) {
      user.name = name
    }
  }
  if (settings.skipVerifyEmail !== false) {
    user.skip_verify_email = true
  }
  const excluded =
    user.email === undefined && user.external_id === undefined
      ? 'no email or external_id: the profile cannot be matched to a Zendesk user'
      : null
  return {
    activationId: config.id,
    excluded,
    nothing: memberships.length === 0,
    user,
    tags,
    fallbackName: user.name === undefined ? (user.email ?? user.external_id ?? null) : null,
    memberships,
  }
}

function keyOf(r: SupportUserRecord): string | null {
  if (!isSent(r)) {
    return null
  }
  return r.user.external_id !== undefined
    ? `x:${r.user.external_id.toLowerCase()}`
    : `e:${r.user.email ?? ''}`
}

/** A later record of the same person wins attribute by attribute; tags and user fields merge. */
function merge(a: SupportUserRecord, b: SupportUserRecord): SupportUserRecord {
  const userFields = { ...a.user.user_fields, ...b.user.user_fields }
  return {
    activationId: b.activationId,
    excluded: b.excluded,
    nothing: a.nothing && b.nothing,
    user: {
      ...a.user,
      ...b.user,
      ...(Object.keys(userFields).length > 0 ? { user_fields: userFields } : {}),
    },
    tags: { ...a.tags, ...b.tags },
    fallbackName: b.user.name !== undefined || a.user.name !== undefined ? null : b.fallbackName,
    memberships: [...a.memberships, ...b.memberships],
  }
}

function rejected(r: JobResult): AppError {
  return new AppError(
    ERROR_KINDS.rejected,
    `ZD_ITEM_${(r.error ?? 'FAILED').toUpperCase()}`,
    r.details ?? r.error ?? 'failed',
  )
}

function missing(what: string): AppError {
  return new AppError(
    ERROR_KINDS.transient,
    'ZD_JOB_RESULT_MISSING',
    `${what}: the job status has no result for this user`,
  )
}

/** The user's tags with ours added and removed, the others kept in place; null when nothing changes. */
function mergedTags(before: string[], change: Record<string, boolean>): string[] | null {
  const after = before.filter((tag) => change[tag] !== false)
  for (const [tag, on] of Object.entries(change)) {
    if (on && !after.includes(tag)) {
      after.push(tag)
    }
  }
  return after.length !== before.length || after.some((tag, i) => tag !== before[i]) ? after : null
}

/**
 * A user step 2 looks at, by its record's position: its tag changes, and `email`, the record's
 * email when step 1 updated the user (it may be a changed email to make primary). `created`: step 1
 * created it (no tags yet, and its email is its primary one).
 */
interface TagTarget {
  index: number
  id: number
  tags: Record<string, boolean>
  created: boolean
  email: string | null
  /** Whether a created email identity skips the verification email (`skip_verify_email`). */
  skipVerify: boolean
}

const sameEmail = (a: string, b: string): boolean => a.trim().toLowerCase() === b.trim().toLowerCase()

/**
 * Makes `email` the user's primary email: the upsert added it as a secondary identity (facts
 * §2.5), so `GET identities` finds it (created if missing) and `make_primary` promotes it; the
 * former primary stays a secondary email. Same steps as upsert-user's `updatePrimaryEmail`.
 */
async function makePrimaryEmail(
  userId: number,
  email: string,
  skipVerify: boolean,
  zendesk: ActionZendesk,
): Promise<void> {
  const r = await zendesk.send<{ identities: ZendeskIdentity[] }>(listEmailIdentities(userId))
  let identity = r.body.identities.find((i) => i.type === 'email' && sameEmail(i.value, email))
  if (!identity) {
    const created = await zendesk.send<{ identity: ZendeskIdentity }>(
      createEmailIdentity(userId, { value: email, ...(skipVerify ? { skip_verify_email: true } : {}) }),
    )
    identity = created.body.identity
  }
  if (!identity.primary) {
    await zendesk.send(makeIdentityPrimary(userId, identity.id))
  }
}

/**
 * Step 2: reads the users step 1 updated (their tags and primary email), makes a changed email
 * primary, and writes the merged tag lists of those that change. Users step 1 created have no
 * tags but ours and their email as primary, so only the others are read.
 */
async function writeTags(targets: TagTarget[], zendesk: ActionZendesk, out: unknown[]): Promise<void> {
  const current = new Map<number, string[]>(targets.filter((t) => t.created).map((t) => [t.id, []]))
  const toRead = targets.filter((t) => !t.created)
  if (toRead.length > 0) {
    try {
      const r = await zendesk.send<{ users: { id: number; tags?: string[]; email?: string | null }[] }>(
        showManyByIds(toRead.map((t) => t.id)),
      )
      const primary = new Map<number, string | null>()
      for (const u of r.body.users) {
        current.set(u.id, u.tags ?? [])
        primary.set(u.id, u.email ?? null)
      }
      for (const t of toRead) {
        // A user with no email has the record's as primary after the upsert (nothing to change).
        const was = primary.get(t.id) ?? null
        if (t.email === null || was === null || sameEmail(was, t.email)) {
          continue
        }
        try {
          await makePrimaryEmail(t.id, t.email, t.skipVerify, zendesk)
          out[t.index] ??= new DeliveryNote(
            `"${t.email}" is now the primary email of Zendesk user ${t.id}; "${was}" stays as a secondary email`,
          )
        } catch (err) {
          out[t.index] = err
        }
      }
    } catch (err) {
      for (const t of toRead) {
        out[t.index] = err
      }
      if (toRead.length === targets.length) {
        return
      }
    }
  }
  const changes: { index: number; id: number; tags: string[] }[] = []
  for (const t of targets) {
    const before = current.get(t.id)
    if (before === undefined) {
      // Not read (the read failed: its error is the outcome), or Zendesk did not return the user.
      out[t.index] ??= missing(`user ${t.id}`)
      continue
    }
    const after = mergedTags(before, t.tags)
    if (after !== null) {
      changes.push({ index: t.index, id: t.id, tags: after })
    }
  }
  if (changes.length === 0) {
    return
  }
  let results: JobResult[]
  try {
    results = await zendesk.runJob(setTagsMany(changes.map(({ id, tags }) => ({ id, tags }))))
  } catch (err) {
    for (const c of changes) {
      out[c.index] = err
    }
    return
  }
  for (const [position, c] of changes.entries()) {
    const r = resultAt(results, position)
    if (!r) {
      out[c.index] = missing(`user ${c.id}`)
    } else if (isFailedResult(r)) {
      out[c.index] = rejected(r)
    }
  }
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { status?: unknown } | null)?.status
  return typeof s === 'number' ? s : undefined
}

/**
 * For accounts that refuse the bulk endpoint (403 until Zendesk enables bulk import): each user
 * through `users/create_or_update` (its answer carries the user's tags), then `PUT users/{id}` with
 * the merged tags when they change (and a changed email made primary, as in step 2). The client keeps Zendesk's 1 a second per account. A 403 here
 * too means the credentials may not write users: that error is each record's outcome.
 */
async function performSingly(
  batch: { r: SupportUserRecord; index: number; user: ZendeskUserInput }[],
  zendesk: ActionZendesk,
  out: unknown[],
): Promise<void> {
  for (const { r, index, user } of batch) {
    const key = user.external_id ?? user.email ?? ''
    try {
      let answer: { user: { id: number; tags?: string[]; email?: string | null } }
      try {
        answer = (await zendesk.send<typeof answer>(createOrUpdate(user))).body
      } catch (err) {
        // A 422 whose details name the `name` field: the user is new and has no name (facts §2.5).
        const e = err as { status?: unknown; body?: { details?: unknown } | null }
        const details = e.body?.details
        if (
          r.fallbackName === null ||
          e.status !== 422 ||
          typeof details !== 'object' ||
          details === null ||
          !('name' in details)
        ) {
          throw err
        }
        answer = (await zendesk.send<typeof answer>(createOrUpdate({ ...user, name: r.fallbackName }))).body
      }
      const was = answer.user.email ?? null
      if (
        user.external_id !== undefined &&
        user.email !== undefined &&
        was !== null &&
        !sameEmail(was, user.email)
      ) {
        // Matched by external_id with another primary email: the new one becomes primary.
        await makePrimaryEmail(answer.user.id, user.email, user.skip_verify_email === true, zendesk)
      }
      const after = Object.keys(r.tags).length > 0 ? mergedTags(answer.user.tags ?? [], r.tags) : null
      if (after !== null) {
        await zendesk.send(setUserTags(answer.user.id, after, key))
      }
    } catch (err) {
      out[index] = err
    }
  }
}

async function perform(records: SupportUserRecord[], zendesk: ActionZendesk): Promise<unknown[]> {
  const out: unknown[] = records.map(unsentOutcome)
  const sendable = records.flatMap((r, index) => (isSent(r) ? [{ r, index }] : []))
  if (sendable.length === 0) {
    return out
  }
  const tagTargets: TagTarget[] = []
  let batch = sendable.map(({ r, index }) => ({ r, index, user: r.user }))
  // At most twice: the second time for new users refused for lack of a name, with their fallback.
  for (let round = 0; round < 2 && batch.length > 0; round += 1) {
    let results: JobResult[]
    try {
      results = await zendesk.runJob(createOrUpdateMany(batch.map((b) => b.user)))
    } catch (err) {
      if (round === 0 && statusOf(err) === 403) {
        // Bulk import not enabled (facts §0.3): one user at a time, within the single-user limits.
        await performSingly(batch, zendesk, out)
        return out
      }
      for (const { index } of batch) {
        out[index] = err
      }
      return out
    }
    const nameless: typeof batch = []
    for (const [position, { r, index }] of batch.entries()) {
      const result = resultAt(results, position)
      if (!result) {
        out[index] = missing(r.user.external_id ?? r.user.email ?? '')
      } else if (isFailedResult(result)) {
        if (round === 0 && r.fallbackName !== null && NAME_MISSING.test(result.details ?? '')) {
          nameless.push({ r, index, user: { ...r.user, name: r.fallbackName } })
        } else {
          out[index] = rejected(result)
        }
      } else if (typeof result.id === 'number') {
        const created = result.status === 'Created'
        // An updated user matched by external_id may have had another email: step 2 checks it.
        const email = !created && r.user.external_id !== undefined ? (r.user.email ?? null) : null
        if (Object.keys(r.tags).length > 0 || email !== null) {
          tagTargets.push({
            index,
            id: result.id,
            tags: r.tags,
            created,
            email,
            skipVerify: r.user.skip_verify_email === true,
          })
        }
      }
    }
    batch = nameless
  }
  if (tagTargets.length > 0) {
    await writeTags(tagTargets, zendesk, out)
  }
  return out
}

/** The action for one activation: its records carry that activation's audiences and mappings. */
export function createSupportUsersActivation(config: ActivationConfig): AnyAction {
  const action = defineActivationAction({
    id: `${SUPPORT_USERS_ACTION_ID}:${config.id}`,
    title: 'Sync audience to Support users',
    description: `Writes the memberships of activation "${config.id}" to Zendesk Support users.`,
    bulk: {
      maxSize: USERS_BULK_MAX,
      item: (p, ctx) => toRecord(p, config, ctx.settings),
      key: keyOf,
      merge,
      perform,
    },
  })
  return action
}

/** Zendesk's refusal of a user without a name (facts §2.3: "Name:  is too short"). */
const NAME_MISSING = /^Name:/i

/**
 * The registered action (metadata; `preset: false`). A destination uses it through an
 * `activations` entry of its configuration, which gives the audiences and mappings.
 */
export const syncAudienceToSupportUsers = defineActivationAction({
  id: SUPPORT_USERS_ACTION_ID,
  title: 'Sync audience to Support users',
  description:
    'Writes audience memberships to Zendesk Support users as tags or user fields (configured as an activation).',
  bulk: {
    maxSize: USERS_BULK_MAX,
    item: (p, ctx) => toRecord(p, { ...UNCONFIGURED, target: 'support-users' }, ctx.settings),
    key: keyOf,
    merge,
    perform,
  },
})
