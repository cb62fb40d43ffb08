/**
 * `upsert-organization`: a group call creates or updates the Zendesk organization whose
 * external_id is the groupId, then makes the calling user (userId as external_id, or email) a
 * member of it (Segment's and RudderStack's group, seeds 002 and 004).
 *
 * Traits (the organization's; the user's own traits are in `context.traits`, as RudderStack sends
 * them):
 * - `name` → `name`. Zendesk needs a name to create an organization (and it must be unique): a
 *   group for an unknown groupId without a name fails with `MAPPING_ORGANIZATION_NAME_MISSING`
 *   before anything is created; for a known groupId the name may be left out.
 * - `domainNames` → `domain_names`, `tags` → `tags`: a string or a list, split on spaces and
 *   commas; they replace the organization's list (Zendesk overwrites it).
 * - Every other trait with a scalar value → `organization_fields` under its snake_case key, and
 *   only when that organization field exists, its value coerced to the field's type (delivery
 *   gives the cached list in the context, zendesk/custom-fields.ts; unknown keys and values the
 *   type cannot take are left out and noted for the delivery log, because Zendesk drops unknown
 *   keys silently). Records built without the list (unit tests) have it read in perform. `url` and `deleted` go this way too: the peers send
 *   them as organization attributes, but Zendesk's `url` is the read-only API address of the
 *   record and it has no `deleted` attribute, so both are silently lost there. Here they land in
 *   organization fields named `url` and `deleted` when an admin created them; a `deleted: true`
 *   never deletes the organization (its memberships and tickets would go with it).
 *
 * The user: without a userId the group fails (`MAPPING_GROUP_WITHOUT_USER_ID`) unless the
 * destination setting `sendGroupCallsWithoutUserId` is on, which upserts only the organization.
 * With a userId, RudderStack's three cases: the user is found (by external_id, else by
 * `context.traits.email`) → membership; not found but the group has an email and a name → the
 * user is created (`create_or_update`, which matches the email itself) and becomes a member;
 * otherwise the organization is still upserted and the record fails with the reason. An existing
 * membership counts as success.
 */
import { AppError, ERROR_KINDS } from '../../errors.js'
import { isFailedResult, resultAt, type JobResult } from '../../zendesk/job-statuses.js'
import {
  createMany,
  listOrganizationFields,
  ORGANIZATIONS_BULK_MAX,
  updateMany,
  type ZendeskOrganization,
  type ZendeskOrganizationField,
  type ZendeskOrganizationInput,
} from '../../zendesk/organizations.js'
import {
  createOrUpdate,
  createOrUpdateMany,
  USERS_BULK_MAX,
  type ZendeskUserInput,
} from '../../zendesk/users.js'
import { ZendeskError } from '../../zendesk/errors.js'
import type { ActionMemory } from '../../lib/action-memory.js'
import {
  defineAction,
  DeliveryNote,
  type ActionContext,
  type ActionZendesk,
  type PayloadOf,
} from '../define-action.js'
import {
  addMemberships,
  chunks,
  itemError,
  organizationsByExternalId,
  userIdsByExternalId,
  usersByEmail,
} from '../organization-steps.js'
import { snakeCase } from '../upsert-user/upsert-user.js'
import { coerceFieldValue, fieldCandidates } from '../../zendesk/custom-fields.js'
import { recordFieldValues } from '../custom-field-values.js'

/** Traits with a place of their own in the organization: never organization fields. */
export const STANDARD_ORGANIZATION_TRAITS: ReadonlySet<string> = new Set([
  'name',
  'domainNames',
  'domain_names',
  'tags',
  'id',
  'groupId',
])

/** Pages of `GET organization_fields` read at most (100 fields a page). */
const MAX_FIELD_PAGES = 50

const fields = {
  externalId: {
    label: 'External ID',
    description: 'The organization’s external_id: the groupId. Matches the Zendesk organization.',
    type: 'string',
    required: true,
    default: { '@path': '$.groupId' },
  },
  name: {
    label: 'Name',
    description: 'The organization’s name; Zendesk needs it (unique) to create the organization.',
    type: 'string',
    default: { '@path': '$.traits.name' },
  },
  domainNames: {
    label: 'Domain names',
    description: 'A domain or a list of domains; replaces the organization’s domain_names.',
    type: 'array',
    default: { '@path': '$.traits.domainNames' },
  },
  tags: {
    label: 'Tags',
    description: 'A tag or a list of tags; replaces the organization’s tags.',
    type: 'array',
    default: { '@path': '$.traits.tags' },
  },
  traits: {
    label: 'Custom organization fields',
    description:
      'Other traits, sent as organization_fields with snake_case keys and values coerced to the field’s type; traits that are no organization field, and values the type cannot take, are left out and named in the delivery log.',
    type: 'object',
    default: { '@path': '$.traits' },
  },
  userId: {
    label: 'User external ID',
    description: 'The member: the Zendesk user with this external_id (the userId).',
    type: 'string',
    default: { '@path': '$.userId' },
  },
  userEmail: {
    label: 'User email',
    description: 'Finds the member when no user has the external ID, and creates it with the name.',
    type: 'string',
    default: { '@path': '$.context.traits.email' },
  },
  userName: {
    label: 'User name',
    description: 'The member’s name, used when the user must be created.',
    type: 'string',
    default: {
      '@jsonata':
        "context.traits.name ? context.traits.name : $join([context.traits.first_name ? context.traits.first_name : context.traits.firstName, context.traits.last_name ? context.traits.last_name : context.traits.lastName], ' ')",
    },
  },
} as const

type Payload = PayloadOf<typeof fields>

/** The user a group call links to the organization. */
export interface GroupUser {
  externalId: string
  email?: string
  name?: string
  /** The destination's verification settings, for a user the group must create. */
  verified?: true
  skipVerifyEmail?: true
}

/** One group call on its way to Zendesk. */
export interface OrganizationRecord {
  externalId: string
  name?: string
  domainNames?: string[]
  tags?: string[]
  /** Custom field candidates by snake_case key; perform keeps those that exist. */
  fields: Record<string, unknown>
  /**
   * `fields` are already the values of existing fields, coerced to their types (the context had
   * the list of organization fields, and what was left out is noted): perform sends them as they are.
   */
  fieldsChecked?: true
  /** Null: only the organization (no userId, and `sendGroupCallsWithoutUserId` is on). */
  user: GroupUser | null
}

/** `"a.com b.com"`, `"a.com,b.com"` or `["a.com", …]` → a list without blanks or repeats. */
export function wordList(values: readonly unknown[] | undefined): string[] | undefined {
  if (values === undefined) {
    return undefined
  }
  const out: string[] = []
  for (const v of values) {
    if (typeof v !== 'string' && typeof v !== 'number') {
      continue
    }
    for (const word of String(v)
      .toLowerCase()
      .split(/[\s,]+/)) {
      if (word !== '' && !out.includes(word)) {
        out.push(word)
      }
    }
  }
  return out
}

function toRecord(p: Payload, ctx: ActionContext): OrganizationRecord {
  const checked = recordFieldValues(
    'organization',
    fieldCandidates(p.traits, STANDARD_ORGANIZATION_TRAITS),
    ctx,
  )
  const custom: Record<string, unknown> = {}
  for (const [trait, value] of Object.entries(p.traits ?? {})) {
    if (STANDARD_ORGANIZATION_TRAITS.has(trait) || value === undefined) {
      continue
    }
    if (typeof value === 'object' && value !== null) {
      // Nested objects and lists never become fields.
      continue
    }
    const key = snakeCase(trait)
    if (key !== '') {
      custom[key] = value
    }
  }
  let user: GroupUser | null = null
  if (p.userId !== undefined) {
    user = {
      externalId: p.userId,
      ...(p.userEmail !== undefined ? { email: p.userEmail.toLowerCase() } : {}),
      ...(p.userName !== undefined ? { name: p.userName } : {}),
      ...(ctx.settings.verified === true ? { verified: true as const } : {}),
      ...(ctx.settings.skipVerifyEmail === true ? { skipVerifyEmail: true as const } : {}),
    }
  } else if (ctx.settings.sendGroupCallsWithoutUserId !== true) {
    throw new AppError(
      ERROR_KINDS.invalidEvent,
      'MAPPING_GROUP_WITHOUT_USER_ID',
      'userId: a group call needs a userId to link a user to the organization; turn on the destination setting sendGroupCallsWithoutUserId to upsert only the organization',
      { field: 'userId' },
    )
  }
  const domainNames = wordList(p.domainNames)
  const tags = wordList(p.tags)
  return {
    externalId: p.externalId,
    ...(p.name !== undefined ? { name: p.name } : {}),
    ...(domainNames !== undefined ? { domainNames } : {}),
    ...(tags !== undefined ? { tags } : {}),
    fields: checked ?? custom,
    ...(checked ? { fieldsChecked: true as const } : {}),
    user,
  }
}

/**
 * A trait value as the organization field's type takes it (zendesk/custom-fields.ts), or undefined
 * when that type cannot take it (Zendesk would refuse the whole organization with a 422). `null` clears.
 */
export function fieldValue(field: ZendeskOrganizationField, value: unknown): unknown {
  const c = coerceFieldValue({ id: 0, title: field.key, ...field }, value)
  return c.ok ? c.value : undefined
}

/**
 * The organization fields of these candidates that Zendesk has (active), with values its types
 * take; the others are named in `dropped` with the reason.
 */
export function organizationFieldValues(
  candidates: Readonly<Record<string, unknown>>,
  defs: ReadonlyMap<string, ZendeskOrganizationField>,
): { values: Record<string, unknown>; dropped: string[] } {
  const values: Record<string, unknown> = {}
  const dropped: string[] = []
  for (const [key, raw] of Object.entries(candidates)) {
    const def = defs.get(key)
    if (!def) {
      dropped.push(`${key} (no such organization field)`)
      continue
    }
    const c = coerceFieldValue({ id: 0, title: def.key, ...def }, raw)
    if (c.ok) {
      values[key] = c.value
    } else {
      dropped.push(`${key} (${c.reason})`)
    }
  }
  return { values, dropped }
}

/** The organization as we want it: what a create sends, and what an update compares. */
export interface WantedOrganization {
  external_id: string
  name?: string
  domain_names?: string[]
  tags?: string[]
  organization_fields: Record<string, unknown>
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  const x = new Set(a.map((s) => s.toLowerCase()))
  const y = new Set(b.map((s) => s.toLowerCase()))
  return x.size === y.size && [...x].every((s) => y.has(s))
}

/** A scalar as text (`12` and `"12"` are the same field value); objects never equal anything. */
const scalarText = (v: unknown): string | null =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : null

function sameFieldValue(current: unknown, wanted: unknown): boolean {
  if (current === null || current === undefined || wanted === null) {
    return (current ?? null) === wanted
  }
  if (Array.isArray(wanted)) {
    return Array.isArray(current) && sameSet(current.map(String), wanted.map(String))
  }
  if (typeof wanted === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(wanted) && typeof current === 'string') {
    // Zendesk answers date fields as `2027-01-31T00:00:00Z`.
    return current.slice(0, 10) === wanted
  }
  return scalarText(current) === scalarText(wanted)
}

/**
 * What an update must change on the current organization; null when it already is as wanted
 * (a repeated group call then costs no update job).
 */
export function changesFor(
  current: ZendeskOrganization,
  wanted: WantedOrganization,
): Omit<ZendeskOrganizationInput, 'id' | 'external_id'> | null {
  const changes: Omit<ZendeskOrganizationInput, 'id' | 'external_id'> = {}
  if (wanted.name !== undefined && wanted.name !== current.name) {
    changes.name = wanted.name
  }
  if (wanted.domain_names !== undefined && !sameSet(current.domain_names ?? [], wanted.domain_names)) {
    changes.domain_names = wanted.domain_names
  }
  if (wanted.tags !== undefined && !sameSet(current.tags ?? [], wanted.tags)) {
    changes.tags = wanted.tags
  }
  const fieldChanges: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(wanted.organization_fields)) {
    if (!sameFieldValue(current.organization_fields?.[key], value)) {
      fieldChanges[key] = value
    }
  }
  if (Object.keys(fieldChanges).length > 0) {
    changes.organization_fields = fieldChanges
  }
  return Object.keys(changes).length > 0 ? changes : null
}

/** The records of one organization merged in order (later values win; fields merge by key). */
export function mergeRecords(records: readonly OrganizationRecord[]): OrganizationRecord {
  return records.reduce((a, b) => ({
    ...a,
    ...b,
    externalId: a.externalId,
    fields: { ...a.fields, ...b.fields },
  }))
}

/** Every active organization field, by key (every page). */
async function organizationFields(zendesk: ActionZendesk): Promise<Map<string, ZendeskOrganizationField>> {
  const defs = new Map<string, ZendeskOrganizationField>()
  for (let page = 1; page <= MAX_FIELD_PAGES; page += 1) {
    const r = await zendesk.send<{
      organization_fields?: ZendeskOrganizationField[]
      next_page?: string | null
    }>(listOrganizationFields(page))
    for (const f of r.body.organization_fields ?? []) {
      if (f.active !== false) {
        defs.set(f.key, f)
      }
    }
    if (!r.body.next_page) {
      break
    }
  }
  return defs
}

/** One organization of the batch: what we want, and how it ended. */
interface OrgState {
  wanted: WantedOrganization
  dropped: string[]
  id: number | null
  error: unknown
}

const nameMissing = (externalId: string): AppError =>
  new AppError(
    ERROR_KINDS.invalidEvent,
    'MAPPING_ORGANIZATION_NAME_MISSING',
    `name: no Zendesk organization has external_id "${externalId}", and Zendesk needs a name (traits.name) to create one`,
    { field: 'name' },
  )

/**
 * Creates the missing organizations and updates the changed ones (100 a job, all jobs at once).
 *
 * Which are looked up first (`show_many`): without a memory, all of them. With one (the action's
 * memory of the external ids it created or found, and their organization ids), only those it
 * knows (they exist: an update needs their current values) and those without a name (they can
 * only be updated); the others are created at once, without a lookup. Zendesk keeps external ids
 * unique (OAS `external_id`: "A unique external id"), so a create for an organization that
 * exists after all (made elsewhere, or before the memory) is refused, and that refusal is
 * looked up: if the organization exists now (created meanwhile, or by a job that ran before a
 * crash), it is updated instead; else Zendesk's reason is kept. A new organization thus costs one
 * create_many job per 100, and one the memory does not know costs one refused create more, once.
 */
async function upsertOrganizations(
  zendesk: ActionZendesk,
  orgs: Map<string, OrgState>,
  memory: ActionMemory | null,
): Promise<void> {
  const keys = [...orgs.keys()]
  // The memory only saves lookups: when it cannot be read, every organization is looked up.
  const known = memory ? await memory.recall(keys).catch(() => null) : null
  const lookFirst = new Set(
    known === null ? keys : keys.filter((k) => known.has(k) || orgs.get(k)?.wanted.name === undefined),
  )
  const found = await organizationsByExternalId(zendesk, [...lookFirst])
  const toCreate: OrgState[] = []
  const toUpdate: { state: OrgState; change: ZendeskOrganizationInput & { id: number } }[] = []
  const plan = (state: OrgState, current: ZendeskOrganization | undefined): void => {
    if (current) {
      state.id = current.id
      const change = changesFor(current, state.wanted)
      if (change) {
        toUpdate.push({ state, change: { id: current.id, ...change } })
      }
    } else if (state.wanted.name === undefined) {
      state.error = nameMissing(state.wanted.external_id)
    } else {
      toCreate.push(state)
    }
  }
  for (const [key, state] of orgs) {
    if (lookFirst.has(key)) {
      plan(state, found.get(key))
    } else {
      toCreate.push(state)
    }
  }
  const refused: { state: OrgState; result: JobResult | undefined }[] = []
  const createInput = (w: WantedOrganization): ZendeskOrganizationInput => ({
    external_id: w.external_id,
    ...(w.name !== undefined ? { name: w.name } : {}),
    ...(w.domain_names !== undefined ? { domain_names: w.domain_names } : {}),
    ...(w.tags !== undefined ? { tags: w.tags } : {}),
    ...(Object.keys(w.organization_fields).length > 0 ? { organization_fields: w.organization_fields } : {}),
  })
  const runUpdates = (list: typeof toUpdate): Promise<void>[] =>
    chunks(list, ORGANIZATIONS_BULK_MAX).map(async (part) => {
      try {
        const results = await zendesk.runJob(updateMany(part.map((u) => u.change)))
        part.forEach(({ state }, i) => {
          const r = resultAt(results, i)
          if (!r || isFailedResult(r)) {
            state.error = itemError(r, `organization "${state.wanted.external_id}"`)
          }
        })
      } catch (err) {
        part.forEach(({ state }) => (state.error = err))
      }
    })
  await Promise.all([
    ...chunks(toCreate, ORGANIZATIONS_BULK_MAX).map(async (part) => {
      try {
        const results = await zendesk.runJob(createMany(part.map((s) => createInput(s.wanted))))
        part.forEach((state, i) => {
          const r = resultAt(results, i)
          if (r && !isFailedResult(r) && typeof r.id === 'number') {
            state.id = r.id
          } else {
            refused.push({ state, result: r })
          }
        })
      } catch (err) {
        part.forEach((state) => (state.error = err))
      }
    }),
    ...runUpdates(toUpdate),
  ])
  if (refused.length === 0) {
    return
  }
  const again = await organizationsByExternalId(
    zendesk,
    refused.map((r) => r.state.wanted.external_id),
  )
  toUpdate.length = 0
  for (const { state, result } of refused) {
    const current = again.get(state.wanted.external_id.toLowerCase())
    if (current) {
      plan(state, current)
    } else {
      state.error = itemError(result, `organization "${state.wanted.external_id}"`)
    }
  }
  await Promise.all(runUpdates(toUpdate))
}

/** A user a group creates: `create_or_update` matches the email (or external_id) itself. */
function newUser(u: GroupUser & { email: string; name: string }): ZendeskUserInput {
  return {
    external_id: u.externalId,
    email: u.email,
    name: u.name,
    ...(u.verified ? { verified: true } : {}),
    ...(u.skipVerifyEmail ? { skip_verify_email: true } : {}),
  }
}

/**
 * Creates (or finds by email) users with `create_or_update_many`; where the account has no bulk
 * import (403), one `create_or_update` at a time. Returns the user id or the error per user.
 */
async function createUsers(zendesk: ActionZendesk, users: ZendeskUserInput[]): Promise<unknown[]> {
  const out: unknown[] = []
  for (const part of chunks(users, USERS_BULK_MAX)) {
    let results: JobResult[] | null = null
    try {
      results = await zendesk.runJob(createOrUpdateMany(part))
    } catch (err) {
      if (!(err instanceof ZendeskError && err.status === 403)) {
        throw err
      }
    }
    if (results !== null) {
      const r = results
      part.forEach((u, i) => {
        const res = resultAt(r, i)
        out.push(
          res && !isFailedResult(res) && typeof res.id === 'number'
            ? res.id
            : itemError(res, `user "${u.external_id ?? ''}"`),
        )
      })
      continue
    }
    for (const u of part) {
      try {
        const r = await zendesk.send<{ user: { id: number } }>(createOrUpdate(u))
        out.push(r.body.user.id)
      } catch (err) {
        if (err instanceof ZendeskError && err.status === 403) {
          // The single call refused the credentials too: not bulk import, an auth problem.
          throw err
        }
        out.push(err)
      }
    }
  }
  return out
}

/**
 * The Zendesk user of each record that needs one (RudderStack's three cases): an id, or why
 * there is none (the organization was upserted regardless).
 */
async function resolveUsers(
  zendesk: ActionZendesk,
  records: readonly { index: number; user: GroupUser; org: string }[],
): Promise<Map<number, unknown>> {
  /** Per record: the user's id, or why there is none. */
  const out = new Map<number, unknown>()
  if (records.length === 0) {
    return out
  }
  const byExternalId = await userIdsByExternalId(
    zendesk,
    records.map((r) => r.user.externalId),
  )
  const missing = records.filter((r) => !byExternalId.has(r.user.externalId.toLowerCase()))
  const byEmail = await usersByEmail(
    zendesk,
    missing.flatMap((r) => (r.user.email !== undefined ? [r.user.email] : [])),
  )
  const toCreate = new Map<string, ZendeskUserInput>()
  const notFound = (r: (typeof records)[number], why: string): AppError =>
    new AppError(
      ERROR_KINDS.rejected,
      'ORG_MEMBER_USER_NOT_FOUND',
      `organization "${r.org}" upserted, but no user joined it: no Zendesk user has external_id "${r.user.externalId}"${why}`,
    )
  for (const r of records) {
    const id = byExternalId.get(r.user.externalId.toLowerCase())
    if (id !== undefined) {
      out.set(r.index, id)
      continue
    }
    const { email, name } = r.user
    if (email === undefined) {
      out.set(r.index, notFound(r, ', and the group has no context.traits.email to find or create one'))
      continue
    }
    const match = byEmail.get(email)
    if (match === 'several') {
      out.set(
        r.index,
        new AppError(
          ERROR_KINDS.rejected,
          'ORG_MEMBER_EMAIL_AMBIGUOUS',
          `organization "${r.org}" upserted, but no user joined it: several Zendesk users have the email ${email}`,
        ),
      )
    } else if (match !== undefined && match !== 'none') {
      out.set(r.index, match.id)
    } else if (name === undefined) {
      out.set(
        r.index,
        notFound(r, ` or email ${email}, and the group has no context.traits.name to create one`),
      )
    } else {
      toCreate.set(r.user.externalId.toLowerCase(), newUser({ ...r.user, email, name }))
    }
  }
  const inputs = [...toCreate.values()]
  if (inputs.length > 0) {
    const created = await createUsers(zendesk, inputs)
    const idOf = new Map(inputs.map((u, i) => [(u.external_id ?? '').toLowerCase(), created[i]]))
    for (const r of records) {
      if (out.has(r.index)) {
        continue
      }
      const result = idOf.get(r.user.externalId.toLowerCase())
      out.set(
        r.index,
        result instanceof AppError && result.kind === ERROR_KINDS.rejected
          ? new AppError(
              result.kind,
              result.code,
              `organization "${r.org}" upserted, but no user joined it: creating the user failed: ${result.message}`,
            )
          : result,
      )
    }
  }
  return out
}

export const upsertOrganization = defineAction({
  id: 'upsert-organization',
  title: 'Create or update organization',
  description:
    'Creates or updates the Zendesk organization whose external ID is the groupId, and makes the user a member.',
  defaultTrigger: { types: ['group'] },
  fields,
  customFields: {
    kind: 'organization',
    candidates: (p) => fieldCandidates(p.traits, STANDARD_ORGANIZATION_TRAITS),
  },
  bulk: {
    maxSize: ORGANIZATIONS_BULK_MAX,
    item: toRecord,
    // Records are never merged by delivery: each keeps its own outcome (two users joining one
    // organization in one window are two memberships); perform merges an organization's records.
    key: () => null,
    merge: (_earlier, later) => later,
    // perform: Zendesk has no create_or_update_many for organizations. An upsert is a lookup
    // (show_many) of the organizations the action's memory knows, create_many for the others and
    // update_many jobs (upsertOrganizations), then the members: a lookup, perhaps a
    // create_or_update_many job, and an organization_memberships/create_many job. Delivery polls
    // the jobs of every batch together.
    async perform(records, zendesk, env) {
      // The fields are listed here only for records built without the list (delivery gives it).
      const defs = records.some((r) => !r.fieldsChecked && Object.keys(r.fields).length > 0)
        ? await organizationFields(zendesk)
        : new Map<string, ZendeskOrganizationField>()
      const grouped = new Map<string, OrganizationRecord[]>()
      for (const r of records) {
        const key = r.externalId.toLowerCase()
        grouped.set(key, [...(grouped.get(key) ?? []), r])
      }
      const orgs = new Map<string, OrgState>()
      for (const [key, list] of grouped) {
        const merged = mergeRecords(list)
        const { values, dropped } = list.every((r) => r.fieldsChecked)
          ? { values: merged.fields, dropped: [] }
          : organizationFieldValues(merged.fields, defs)
        orgs.set(key, {
          wanted: {
            external_id: merged.externalId,
            ...(merged.name !== undefined ? { name: merged.name } : {}),
            ...(merged.domainNames !== undefined ? { domain_names: merged.domainNames } : {}),
            ...(merged.tags !== undefined ? { tags: merged.tags } : {}),
            organization_fields: values,
          },
          dropped,
          id: null,
          error: null,
        })
      }
      const memory = env?.memory ?? null
      await upsertOrganizations(zendesk, orgs, memory)
      // Remember where each organization is, so that its next group looks it up instead of trying
      // to create it (best effort: a lost entry costs one refused create).
      await memory
        ?.remember(
          [...orgs].flatMap(([key, s]) =>
            s.id !== null && s.error === null ? [[key, String(s.id)] as const] : [],
          ),
        )
        .catch(() => undefined)

      // The members, once their organizations exist (a concurrent identify has had the time of
      // the organization jobs to create its user, so fewer members are missing).
      const stateOf = (r: OrganizationRecord): OrgState | undefined => orgs.get(r.externalId.toLowerCase())
      const needing = records.flatMap((r, index) => {
        const s = stateOf(r)
        return r.user !== null && s?.id !== null && s?.error === null
          ? [{ index, user: r.user, org: r.externalId, orgId: s.id }]
          : []
      })
      const users = await resolveUsers(zendesk, needing)
      const pairs = needing.flatMap((n) => {
        const userId = users.get(n.index)
        return typeof userId === 'number'
          ? [{ index: n.index, user_id: userId, organization_id: n.orgId }]
          : []
      })
      const added = await addMemberships(
        zendesk,
        pairs.map(({ user_id, organization_id }) => ({ user_id, organization_id })),
      )
      const memberError = new Map<number, unknown>(pairs.map((p, i) => [p.index, added[i] ?? null]))

      return records.map((r, i) => {
        const s = stateOf(r)
        if (!s) {
          return null
        }
        if (s.error !== null) {
          return s.error
        }
        const user = users.get(i)
        if (r.user !== null && typeof user !== 'number') {
          return (
            user ??
            new AppError(
              ERROR_KINDS.internal,
              'ORG_MEMBER_UNRESOLVED',
              `no outcome for user "${r.user.externalId}"`,
            )
          )
        }
        const member = memberError.get(i) ?? null
        if (member !== null) {
          return member
        }
        return s.dropped.length > 0
          ? new DeliveryNote(
              `organization_fields left out (Zendesk would drop them silently): ${s.dropped.join(', ')}`,
            )
          : null
      })
    },
  },
})
