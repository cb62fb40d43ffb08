/**
 * What upsert-user does around its bulk call, for the few records that need more than
 * `users/create_or_update_many` (issue 4, action 1). Zendesk's call finds the user by external_id
 * or by email (any email identity, primary or secondary) and refuses a record whose external_id
 * and email belong to two different users (facts §2.2, §2.5); everything else is extra requests:
 *
 * - Segment's rule, "when several users match, nothing is updated" (seed 004): Zendesk already
 *   refuses such a record, with a 422 DuplicateValue on whichever identifier it did not match on.
 *   A failed record that has both identifiers is looked up afterwards (`users/show_many` by
 *   external id, then a search by email when the holder's primary email is another) so that the
 *   delivery log says which users match, instead of Zendesk's localised text.
 * - `matchUsersBy: email` (Segment's and Customer.io's rule): before the bulk call, the batch's
 *   external ids are looked up (one `show_many` per 100); a record whose external_id belongs to a
 *   user whose primary email is another is checked with a search by email. That email on another
 *   user: several users match (Segment's rule). That email on nobody: a new email is a new person
 *   under this rule, and Zendesk allows one user per external_id, so nothing is written and the log
 *   says why. On the same user (a secondary email): sent as usual.
 * - `updatePrimaryEmail` (RudderStack's "Update user's primary email", opt-in as there): after the
 *   bulk call, the users it updated are read (one `show_many` per 100) and those whose primary
 *   email is not the identify's get it made primary: the upsert has added it as a secondary
 *   identity (facts §2.5), so `GET identities` finds it and `make_primary` promotes it (created
 *   first if it is missing). The former primary stays as a secondary email; RudderStack overwrites
 *   it instead, and loses it.
 *
 * Created users cost nothing more: their email is their primary one and no one else had it.
 */
import { AppError, ERROR_KINDS } from '../../errors.js'
import {
  createEmailIdentity,
  listEmailIdentities,
  makeIdentityPrimary,
  type ZendeskIdentity,
} from '../../zendesk/identities.js'
import { failedResultError, isFailedResult, type JobResult } from '../../zendesk/job-statuses.js'
import {
  searchByEmail,
  searchByExternalId,
  showManyByExternalIds,
  showManyByIds,
  USERS_BULK_MAX,
  type ZendeskUserInput,
} from '../../zendesk/users.js'
import { DeliveryNote, type ActionZendesk, type FollowUpSpec } from '../define-action.js'

type Settings = Readonly<Record<string, unknown>>

/** A user as `show_many` and search answer it (the keys read here). */
interface ZendeskUserRef {
  id: number
  email: string | null
  external_id: string | null
}

/** External ids and emails match case-insensitively in Zendesk (facts §2.1). */
const norm = (s: string): string => s.toLowerCase()

export function matchesByEmail(settings: Settings): boolean {
  return settings.matchUsersBy === 'email'
}

/** The users holding these external ids, by lower-cased external id. */
async function holdersOf(
  externalIds: string[],
  zendesk: ActionZendesk,
): Promise<Map<string, ZendeskUserRef>> {
  const wanted = [...new Map(externalIds.map((x) => [norm(x), x])).values()]
  const holders = new Map<string, ZendeskUserRef>()
  const note = (users: ZendeskUserRef[]): void => {
    for (const u of users) {
      if (typeof u.external_id === 'string') {
        holders.set(norm(u.external_id), u)
      }
    }
  }
  // show_many takes a comma-separated list: an external id with a comma is looked up on its own.
  const listable = wanted.filter((x) => !x.includes(','))
  for (let i = 0; i < listable.length; i += USERS_BULK_MAX) {
    const r = await zendesk.send<{ users: ZendeskUserRef[] }>(
      showManyByExternalIds(listable.slice(i, i + USERS_BULK_MAX)),
    )
    note(r.body.users)
  }
  for (const x of wanted.filter((id) => id.includes(','))) {
    note((await zendesk.send<{ users: ZendeskUserRef[] }>(searchByExternalId(x))).body.users)
  }
  return holders
}

/** The users with this email among their identities, one search per email of the batch. */
function emailLookup(zendesk: ActionZendesk): (email: string) => Promise<ZendeskUserRef[]> {
  const found = new Map<string, Promise<ZendeskUserRef[]>>()
  return (email) => {
    const key = norm(email)
    let users = found.get(key)
    if (!users) {
      users = zendesk.send<{ users: ZendeskUserRef[] }>(searchByEmail(key)).then((r) => r.body.users)
      found.set(key, users)
    }
    return users
  }
}

function severalUsers(email: string, emailUsers: number[], externalId: string, holder: number): AppError {
  const owners = emailUsers.length === 1 ? `user ${emailUsers[0]}'s` : `users ${emailUsers.join(', ')}'`
  return new AppError(
    ERROR_KINDS.rejected,
    'USER_MATCHES_SEVERAL',
    `email: several Zendesk users match this identify: email "${email}" is ${owners} and external_id "${externalId}" is user ${holder}'s; nothing was updated (Segment's rule). Merge the users in Zendesk or correct the event, then replay it`,
    { field: 'email' },
  )
}

/**
 * `matchUsersBy: email`, before the bulk call: one outcome per record, undefined for the records
 * that go out (see the module's head).
 */
export async function prepareMatchByEmail(
  items: ZendeskUserInput[],
  zendesk: ActionZendesk,
  settings: Settings,
): Promise<unknown[]> {
  const outcomes: unknown[] = new Array<unknown>(items.length).fill(undefined)
  const checked = items.filter((u) => u.email !== undefined && u.external_id !== undefined)
  if (!matchesByEmail(settings) || checked.length === 0) {
    return outcomes
  }
  const holders = await holdersOf(
    checked.map((u) => u.external_id ?? ''),
    zendesk,
  )
  const usersWithEmail = emailLookup(zendesk)
  for (const [i, u] of items.entries()) {
    const { email, external_id: externalId } = u
    const holder = externalId !== undefined ? holders.get(norm(externalId)) : undefined
    if (email === undefined || externalId === undefined || !holder) {
      continue
    }
    if (holder.email !== null && norm(holder.email) === norm(email)) {
      continue
    }
    const withEmail = await usersWithEmail(email)
    // The holder's secondary email, or a first email for a holder that has none: the same person.
    if (withEmail.some((w) => w.id === holder.id) || (withEmail.length === 0 && holder.email === null)) {
      continue
    }
    outcomes[i] =
      withEmail.length > 0
        ? severalUsers(
            email,
            withEmail.map((w) => w.id),
            externalId,
            holder.id,
          )
        : new AppError(
            ERROR_KINDS.rejected,
            'USER_EXTERNAL_ID_TAKEN',
            `email: Zendesk finds no user with email "${email}", and external_id "${externalId}" is user ${holder.id}'s (email "${holder.email}"). With matchUsersBy: email a new email is a new user, and Zendesk allows one user per external_id, so nothing was written. If this person changed email, match users by external_id (and set updatePrimaryEmail)`,
            { field: 'email' },
          )
  }
  return outcomes
}

/** Whether a failed record may be two users matching: it had both identifiers. */
function mayMatchSeveral(item: ZendeskUserInput, result: JobResult): boolean {
  return isFailedResult(result) && item.email !== undefined && item.external_id !== undefined
}

/** Whether an updated user may need the identify's email made primary. */
function mayChangePrimary(item: ZendeskUserInput, result: JobResult, settings: Settings): boolean {
  return (
    settings.updatePrimaryEmail === true &&
    item.email !== undefined &&
    !isFailedResult(result) &&
    result.status !== 'Created' &&
    typeof result.id === 'number'
  )
}

/** A failed record: several users matching, or Zendesk's own reason. */
async function explainFailures(
  entries: { item: ZendeskUserInput; result: JobResult; error?: unknown }[],
  zendesk: ActionZendesk,
): Promise<unknown[]> {
  // The records failed whatever the lookups say: a lookup that fails leaves Zendesk's reason.
  const holders = await holdersOf(
    entries.map((e) => e.item.external_id ?? ''),
    zendesk,
  ).catch(() => new Map<string, ZendeskUserRef>())
  const usersWithEmail = emailLookup(zendesk)
  const outcomes: unknown[] = []
  for (const { item, result, error } of entries) {
    const email = item.email ?? ''
    const externalId = item.external_id ?? ''
    const holder = holders.get(norm(externalId))
    const zendeskReason = error ?? failedResultError(result)
    if (!holder || (holder.email !== null && norm(holder.email) === norm(email))) {
      outcomes.push(zendeskReason)
      continue
    }
    const withEmail = await usersWithEmail(email).catch(() => [])
    const others = withEmail.filter((u) => u.id !== holder.id)
    outcomes.push(
      others.length > 0
        ? severalUsers(
            email,
            others.map((u) => u.id),
            externalId,
            holder.id,
          )
        : zendeskReason,
    )
  }
  return outcomes
}

/** The outcome of making one user's identify email primary (an error concerns that record only). */
async function makePrimary(
  userId: number,
  email: string,
  current: string | null,
  zendesk: ActionZendesk,
  settings: Settings,
): Promise<unknown> {
  try {
    const r = await zendesk.send<{ identities: ZendeskIdentity[] }>(listEmailIdentities(userId))
    let identity = r.body.identities.find((i) => i.type === 'email' && norm(i.value) === norm(email))
    if (!identity) {
      const created = await zendesk.send<{ identity: ZendeskIdentity }>(
        createEmailIdentity(userId, {
          value: email,
          ...(settings.verified === true ? { verified: true } : {}),
          ...(settings.skipVerifyEmail === true ? { skip_verify_email: true } : {}),
        }),
      )
      identity = created.body.identity
    }
    if (!identity.primary) {
      await zendesk.send(makeIdentityPrimary(userId, identity.id))
    }
    return new DeliveryNote(
      current === null
        ? `"${email}" is now the primary email of Zendesk user ${userId}`
        : `"${email}" is now the primary email of Zendesk user ${userId}; "${current}" stays as a secondary email`,
    )
  } catch (err) {
    return err
  }
}

/** `updatePrimaryEmail`: makes each updated user's identify email primary where it is not. */
async function updatePrimaryEmails(
  entries: { item: ZendeskUserInput; result: JobResult }[],
  zendesk: ActionZendesk,
  settings: Settings,
): Promise<unknown[]> {
  const ids = [...new Set(entries.map((e) => e.result.id as number))]
  const users = new Map<number, ZendeskUserRef>()
  for (let i = 0; i < ids.length; i += USERS_BULK_MAX) {
    const r = await zendesk.send<{ users: ZendeskUserRef[] }>(showManyByIds(ids.slice(i, i + USERS_BULK_MAX)))
    for (const u of r.body.users) {
      users.set(u.id, u)
    }
  }
  const outcomes: unknown[] = []
  for (const { item, result } of entries) {
    const id = result.id as number
    const email = item.email ?? ''
    const user = users.get(id)
    if (!user) {
      outcomes.push(
        new DeliveryNote(
          `Zendesk user ${id} was not found after the upsert; its primary email was left as it is`,
        ),
      )
    } else if (user.email !== null && norm(user.email) === norm(email)) {
      outcomes.push(null)
    } else {
      outcomes.push(await makePrimary(id, email, user.email, zendesk, settings))
    }
  }
  return outcomes
}

/** The follow-up of upsert-user's bulk calls: failures explained, primary emails changed. */
export const userFollowUp: FollowUpSpec<ZendeskUserInput> = {
  needed: (item, result, settings) =>
    mayMatchSeveral(item, result) || mayChangePrimary(item, result, settings),
  // `users/create_or_update` answers 201 with the user it created, 200 with the one it updated.
  singleResult(_item, response) {
    const user = (response.body as { user?: { id?: unknown; email?: unknown } } | null)?.user
    return {
      ...(typeof user?.id === 'number' ? { id: user.id } : {}),
      status: response.status === 201 ? 'Created' : 'Updated',
      ...(typeof user?.email === 'string' ? { email: user.email } : {}),
    }
  },
  async run(entries, zendesk, settings) {
    const failed = entries.filter((e) => isFailedResult(e.result))
    const updated = entries.filter((e) => !isFailedResult(e.result))
    const explained = failed.length > 0 ? await explainFailures(failed, zendesk) : []
    const changed = updated.length > 0 ? await updatePrimaryEmails(updated, zendesk, settings) : []
    const outcomeOf = new Map<object, unknown>()
    failed.forEach((e, i) => outcomeOf.set(e, explained[i] ?? null))
    updated.forEach((e, i) => outcomeOf.set(e, changed[i] ?? null))
    return entries.map((e) => outcomeOf.get(e) ?? null)
  },
}
