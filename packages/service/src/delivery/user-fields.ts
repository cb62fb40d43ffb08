/**
 * The custom user fields of one destination's Zendesk (facts §3): the cached list of their keys,
 * which `upsert-user` needs to know which traits it may send, and, when the destination enables
 * `createMissingUserFields`, the creation of the fields that traits need and Zendesk lacks.
 *
 * - The list (`GET user_fields`, every page) is trusted for `ttlMs`, then fetched again. A failed
 *   fetch keeps the previous list; with none known yet, `keys()` throws.
 * - Which traits need a field follows upsert-user exactly: its `STANDARD_TRAITS` are not user
 *   fields, keys are its `snakeCase`, and only scalar values count (nested objects and arrays are
 *   never sent, hence never created; `null` says nothing of a type).
 * - A field is created once (`POST user_fields`), titled with the trait's key, typed from the
 *   values of the round (`userFieldTypeFor`). A key Zendesk cannot take (letters, digits and
 *   underscores, not only digits) is skipped and logged once. A 422 `DuplicateValue` on `key`
 *   (created meanwhile, or an inactive field) counts as existing. Other failures are logged and
 *   tried again after `retryFailedAfterMs`; the records go out meanwhile without that field.
 * - After creating, the list is fetched again, so the new fields are used in the same round.
 *
 * A failed creation is logged with the key, the status and Zendesk's error code; never with trait
 * values or the answer's body.
 */
import type { AnyAction } from '../actions/define-action.js'
import { snakeCase, STANDARD_TRAITS, upsertUser } from '../actions/upsert-user/upsert-user.js'
import { AppError } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import { ZendeskError } from '../zendesk/errors.js'
import { createUserField, listUserFields } from '../zendesk/users.js'
import type { Logger, ZendeskSender } from './worker.js'

/** The field types we create; the others (dropdown, regexp, …) need settings a value cannot give. */
export type CreatedFieldType = 'checkbox' | 'integer' | 'decimal' | 'date' | 'text'

/** Actions whose payload `traits` become user fields. */
const USER_FIELD_ACTIONS: ReadonlySet<string> = new Set([upsertUser.id])

/** Pages of `GET user_fields` read at most (100 fields a page). */
const MAX_LIST_PAGES = 50

const ISO_DATE = /^(\d{4}-\d{2}-\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/

/** `2027-01-31`, or a full ISO timestamp such as `2027-01-31T09:30:00.000Z`, of a real day. */
export function isIsoDate(value: string): boolean {
  const m = ISO_DATE.exec(value)
  const day = m?.[1]
  if (!day) {
    return false
  }
  const parsed = new Date(`${day}T00:00:00Z`)
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === day
}

/** The field type a trait value calls for; null when it calls for none (null, objects, arrays). */
export function userFieldTypeOf(value: unknown): CreatedFieldType | null {
  switch (typeof value) {
    case 'boolean':
      return 'checkbox'
    case 'number':
      return Number.isSafeInteger(value) ? 'integer' : Number.isFinite(value) ? 'decimal' : null
    case 'string':
      return isIsoDate(value) ? 'date' : 'text'
    default:
      return null
  }
}

/**
 * The type of a field that must take all these values: their common type, `decimal` for whole
 * and fractional numbers together, else `text` (which takes any scalar).
 */
export function userFieldTypeFor(values: readonly unknown[]): CreatedFieldType | null {
  const types = new Set(values.map(userFieldTypeOf).filter((t) => t !== null))
  if (types.size <= 1) {
    return [...types][0] ?? null
  }
  if ([...types].every((t) => t === 'integer' || t === 'decimal')) {
    return 'decimal'
  }
  return 'text'
}

/** Zendesk's rule for a field key: letters, digits and underscores, not only digits [D-uf]. */
export function isValidFieldKey(key: string): boolean {
  return /^[A-Za-z0-9_]+$/.test(key) && !/^\d+$/.test(key)
}

/** A user field a round's traits need: its key, the first trait that gave it, and the values. */
interface Wanted {
  key: string
  title: string
  values: unknown[]
}

/** What the cache needs of one of the round's payloads. */
export interface BuiltPayload {
  action: AnyAction
  payload: unknown
}

export interface UserFieldsOptions {
  destinationId: string
  zendesk: Pick<ZendeskSender, 'send'>
  clock: Clock
  log: Logger
  /** How long the list of user fields is trusted. */
  ttlMs: number
  /** How long after a failed creation the key may be tried again. */
  retryFailedAfterMs?: number
  /** Cancels requests under way (the worker's shutdown). */
  signal: AbortSignal
}

interface FieldList {
  /** Keys of active fields: the ones whose values Zendesk keeps. */
  active: Set<string>
  /** Keys of every field, active or not: the ones that must not be created. */
  all: Set<string>
  fetchedAt: number
}

function isDuplicateKey(err: unknown): boolean {
  if (!(err instanceof ZendeskError) || err.status !== 422) {
    return false
  }
  const details = (err.body as { details?: { key?: unknown } } | null)?.details
  return (
    Array.isArray(details?.key) &&
    details.key.some((d) => (d as { error?: unknown } | null)?.error === 'DuplicateValue')
  )
}

export class UserFields {
  private readonly o: Required<UserFieldsOptions>
  private list: FieldList | null = null
  /** Keys whose creation failed, and when. */
  private readonly failedAt = new Map<string, number>()
  /** Trait keys that cannot become field keys, already logged. */
  private readonly unusable = new Set<string>()

  constructor(options: UserFieldsOptions) {
    this.o = { retryFailedAfterMs: Math.min(60_000, options.ttlMs), ...options }
  }

  /** Keys of the active user fields; fetched when stale. Throws when no list was ever known. */
  async keys(): Promise<ReadonlySet<string>> {
    return (await this.current()).active
  }

  /** The list, fetched when stale; the previous one when that fails; throws when none is known. */
  private async current(): Promise<FieldList> {
    const list = this.list
    if (list && this.o.clock.now() - list.fetchedAt <= this.o.ttlMs) {
      return list
    }
    try {
      return await this.refresh()
    } catch (err) {
      if (!list) {
        throw err
      }
      this.o.log.warn(
        { err, destination: this.o.destinationId },
        'could not refresh the list of user fields; using the previous one',
      )
      return list
    }
  }

  /**
   * Creates the user fields that the traits of these payloads need and Zendesk lacks, then
   * returns the keys of the active fields, new ones included. Failures to create are logged, not
   * thrown: the records go out without those fields.
   */
  async createMissing(payloads: readonly BuiltPayload[]): Promise<ReadonlySet<string>> {
    let list = await this.current()
    const wanted = this.wanted(payloads, list)
    if (wanted.length === 0) {
      return list.active
    }
    const created: string[] = []
    let changed = false
    for (const w of wanted) {
      if (this.o.signal.aborted) {
        break
      }
      const result = await this.create(w, list)
      if (result === 'created') {
        created.push(w.key)
      }
      changed = changed || result !== 'failed'
    }
    if (changed && !this.o.signal.aborted) {
      try {
        list = await this.refresh()
        // Created just now, hence active, even if the list does not show them yet.
        for (const key of created) {
          list.all.add(key)
          list.active.add(key)
        }
      } catch (err) {
        // The created keys are in the list already; a duplicate's state is learnt at the next refresh.
        this.o.log.warn(
          { err, destination: this.o.destinationId },
          'could not refresh the list of user fields after creating some; using the known ones',
        )
      }
    }
    return list.active
  }

  /** The fields the payloads' traits need that do not exist, by key, in order of appearance. */
  private wanted(payloads: readonly BuiltPayload[], list: FieldList): Wanted[] {
    const now = this.o.clock.now()
    const wanted = new Map<string, Wanted>()
    for (const { action, payload } of payloads) {
      const traits = USER_FIELD_ACTIONS.has(action.id)
        ? (payload as { traits?: Record<string, unknown> } | null)?.traits
        : undefined
      for (const [trait, value] of Object.entries(traits ?? {})) {
        if (STANDARD_TRAITS.has(trait) || userFieldTypeOf(value) === null) {
          continue
        }
        const key = snakeCase(trait)
        if (list.all.has(key)) {
          continue
        }
        if (!isValidFieldKey(key)) {
          if (!this.unusable.has(trait)) {
            this.unusable.add(trait)
            this.o.log.warn(
              { destination: this.o.destinationId, trait, key },
              'trait cannot become a user field: a key needs letters, digits or underscores, and not only digits',
            )
          }
          continue
        }
        const failed = this.failedAt.get(key)
        if (failed !== undefined && now - failed < this.o.retryFailedAfterMs) {
          continue
        }
        const w = wanted.get(key)
        if (w) {
          w.values.push(value)
        } else {
          wanted.set(key, { key, title: trait, values: [value] })
        }
      }
    }
    return [...wanted.values()]
  }

  /** Creates one field: `exists` when Zendesk has that key already (422 DuplicateValue). */
  private async create(w: Wanted, list: FieldList): Promise<'created' | 'exists' | 'failed'> {
    const type = userFieldTypeFor(w.values) ?? 'text'
    try {
      await this.o.zendesk.send(createUserField({ key: w.key, title: w.title, type }), {
        signal: this.o.signal,
      })
      list.all.add(w.key)
      list.active.add(w.key)
      this.failedAt.delete(w.key)
      this.o.log.info({ destination: this.o.destinationId, key: w.key, type }, 'created a user field')
      return 'created'
    } catch (err) {
      if (this.o.signal.aborted) {
        return 'failed'
      }
      if (isDuplicateKey(err)) {
        list.all.add(w.key)
        this.failedAt.delete(w.key)
        return 'exists'
      }
      this.failedAt.set(w.key, this.o.clock.now())
      this.o.log.warn(
        {
          destination: this.o.destinationId,
          key: w.key,
          type,
          status: err instanceof ZendeskError ? err.status : null,
          code: err instanceof AppError ? err.code : err instanceof Error ? err.name : null,
          zendeskCode: err instanceof ZendeskError ? err.zendeskCode : null,
        },
        'could not create a user field; records go out without it until it exists',
      )
      return 'failed'
    }
  }

  /** Reads every page of the list of user fields. */
  private async refresh(): Promise<FieldList> {
    const fetchedAt = this.o.clock.now()
    const active = new Set<string>()
    const all = new Set<string>()
    for (let page = 1; page <= MAX_LIST_PAGES; page += 1) {
      const r = await this.o.zendesk.send<{
        user_fields?: { key: string; active?: boolean }[]
        next_page?: string | null
      }>(listUserFields(page), { signal: this.o.signal })
      for (const f of r.body.user_fields ?? []) {
        all.add(f.key)
        if (f.active !== false) {
          active.add(f.key)
        }
      }
      if (!r.body.next_page) {
        break
      }
    }
    this.list = { active, all, fetchedAt }
    return this.list
  }
}
