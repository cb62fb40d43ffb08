/**
 * The custom fields of one destination's Zendesk, for users, organizations and tickets (facts §3):
 * the cached lists that actions read through their context (`ActionContext.fields`), and, where
 * the destination enables it, the creation of the user and organization fields that events need
 * and Zendesk lacks. Replaces the older user-fields.ts, which did this for users only.
 *
 * Lists. A kind's list (`GET {kind}_fields`, every page) is read when a round first has payloads
 * carrying values of that kind (an action's `customFields` spec), and trusted for `ttlMs`.
 * A failed read keeps the previous list; with none known yet, the payloads that need it settle
 * with that error (retried) and the others go on.
 *
 * Unknown keys. A name that no field has may mean a field created since the last read, so it
 * makes the list be read again at once, but never sooner than `refreshGapMs` after the last
 * read, and never twice for the same name: a name that a read has found unknown is not asked
 * about again until a later read shows it (Zendesk drops unknown keys silently, so the actions
 * leave them out and say so in the delivery log; a trait that no field will ever have costs no
 * request).
 *
 * Creation (opt-in per kind, `create`): a missing user or organization field is created once
 * (`POST {kind}_fields`), keyed by the name in snake_case, titled with the name, typed from the
 * values of the round (`fieldTypeFor`: checkbox, integer, decimal, date or text), its description
 * saying which destination created it. Ticket fields are never created: they are agent-facing
 * (every ticket form shows them to agents) and have no key that an event could name.
 * - At most `maxCreatedFields` fields per destination, counted from the lists (fields whose
 *   description says this destination created them, so a restart does not reset the count);
 *   beyond it, nothing is created, a warning is logged once, and the delivery log says why.
 * - A name Zendesk cannot take as a key (letters, digits and underscores, not only digits) is
 *   skipped and logged once. A 422 `DuplicateValue` on `key` (created meanwhile, or an inactive
 *   field) counts as existing, and the list is read again to learn its state. Other failures are
 *   logged and tried again after `retryFailedAfterMs`; the records go out without that field.
 *
 * A failed creation is logged with the key, the status and Zendesk's error code; never with the
 * values or the answer's body.
 */
import type { AnyAction, Fields, PayloadOf } from '../actions/define-action.js'
import { AppError } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import {
  createField,
  FieldCatalog,
  fieldTypeFor,
  isValidFieldKey,
  listFields,
  snakeCase,
  type FieldKind,
  type ZendeskCustomField,
} from '../zendesk/custom-fields.js'
import { ZendeskError } from '../zendesk/errors.js'
import type { Logger, ZendeskSender } from './worker.js'

/** Pages of `GET {kind}_fields` read at most (100 fields a page). */
const MAX_LIST_PAGES = 50

/** Names remembered as unknown, at most (events could name any number). */
const MAX_CHECKED_UNKNOWN = 10_000

export const DEFAULT_MAX_CREATED_FIELDS = 50

/** Why a field whose creation failed is missing (the delivery log shows it). */
const RETRY_HINT = 'creating it failed; tried again in a minute'

/** What the cache needs of one of the round's payloads. */
export interface BuiltPayload {
  action: AnyAction
  payload: unknown
}

export interface CustomFieldsOptions {
  destinationId: string
  zendesk: Pick<ZendeskSender, 'send'>
  clock: Clock
  log: Logger
  /** How long a list of fields is trusted. */
  ttlMs: number
  /** Shortest time between two reads of a list that unknown names cause. */
  refreshGapMs?: number
  /** How long after a failed creation the key may be tried again. */
  retryFailedAfterMs?: number
  /** The kinds whose missing fields are created (destination settings). */
  create?: { user?: boolean; organization?: boolean }
  /** Fields this destination may create, all kinds together. */
  maxCreatedFields?: number
  /** Cancels requests under way (the worker's shutdown). */
  signal: AbortSignal
}

/** The lists a round's actions get, and the kinds whose list could not be read. */
export interface PreparedFields {
  catalogs: Partial<Record<FieldKind, FieldCatalog>>
  /** Kinds with no list known, and why (the payloads that need them settle with it). */
  failed: Map<FieldKind, unknown>
}

interface KindState {
  catalog: FieldCatalog | null
  fetchedAt: number
  /** Keys that the last read showed no field has. */
  checkedUnknown: Set<string>
  /** A read under way (rounds running at once share it). */
  reading: Promise<FieldCatalog> | null
}

/** A field the round's names need: its key, the first name that gave it, and the values. */
interface Wanted {
  key: string
  title: string
  values: unknown[]
}

type Creatable = Exclude<FieldKind, 'ticket'>

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

export class CustomFields {
  private readonly o: Required<CustomFieldsOptions>
  private readonly kinds = new Map<FieldKind, KindState>()
  /** Keys whose creation failed, and when, per kind. */
  private readonly failedAt = new Map<string, number>()
  /** Names that cannot become field keys, already logged. */
  private readonly unusable = new Set<string>()
  private capLogged = false

  constructor(options: CustomFieldsOptions) {
    this.o = {
      refreshGapMs: Math.min(30_000, options.ttlMs),
      retryFailedAfterMs: Math.min(60_000, options.ttlMs),
      create: {},
      maxCreatedFields: DEFAULT_MAX_CREATED_FIELDS,
      ...options,
    }
  }

  /** The description of a field this destination creates; the cap counts fields that carry it. */
  private marker(): string {
    return `Created by zendesk-destination for destination "${this.o.destinationId}"`
  }

  private state(kind: FieldKind): KindState {
    let s = this.kinds.get(kind)
    if (!s) {
      s = { catalog: null, fetchedAt: -Infinity, checkedUnknown: new Set(), reading: null }
      this.kinds.set(kind, s)
    }
    return s
  }

  /** The list of a kind, read when stale; the previous one when that fails; throws when none. */
  async catalog(kind: FieldKind): Promise<FieldCatalog> {
    const s = this.state(kind)
    if (s.catalog && this.o.clock.now() - s.fetchedAt <= this.o.ttlMs) {
      return s.catalog
    }
    try {
      return await this.read(kind)
    } catch (err) {
      if (!s.catalog) {
        throw err
      }
      this.o.log.warn(
        { err, destination: this.o.destinationId, kind },
        `could not read the list of ${kind} fields again; using the previous one`,
      )
      return s.catalog
    }
  }

  /**
   * The lists the round's payloads need: read when stale, read again when they name unknown
   * fields (see the header), with the missing user and organization fields created where the
   * destination allows it.
   */
  async prepare(payloads: readonly BuiltPayload[]): Promise<PreparedFields> {
    const names = candidateNames(payloads)
    const out: PreparedFields = { catalogs: {}, failed: new Map() }
    for (const [kind, byName] of names) {
      if (this.o.signal.aborted) {
        break
      }
      try {
        let catalog = await this.withUnknownChecked(kind, [...byName.keys()])
        if (kind !== 'ticket' && this.o.create[kind] === true) {
          catalog = await this.createMissing(kind, catalog, byName)
        }
        out.catalogs[kind] = catalog
      } catch (err) {
        out.failed.set(kind, err)
      }
    }
    return out
  }

  /** The kind's list, read again first when a name is unknown and has not been asked about. */
  private async withUnknownChecked(kind: FieldKind, names: readonly string[]): Promise<FieldCatalog> {
    const s = this.state(kind)
    const before = s.fetchedAt
    let catalog = await this.catalog(kind)
    const unknownKeys = (c: FieldCatalog): string[] =>
      names.flatMap((n) => {
        const found = c.find(n)
        return 'id' in found || found.key === '' ? [] : [found.key]
      })
    let unknown = unknownKeys(catalog)
    const readNow = s.fetchedAt !== before
    const unasked = unknown.filter((k) => !s.checkedUnknown.has(k))
    if (!readNow && unasked.length > 0 && this.o.clock.now() - s.fetchedAt >= this.o.refreshGapMs) {
      try {
        catalog = await this.read(kind)
        unknown = unknownKeys(catalog)
      } catch (err) {
        this.o.log.warn(
          { err, destination: this.o.destinationId, kind },
          `could not read the list of ${kind} fields for unknown keys; using the previous one`,
        )
        return catalog
      }
    } else if (!readNow) {
      return catalog
    }
    // A read made now has answered for these names.
    for (const k of unknown) {
      s.checkedUnknown.add(k)
    }
    return catalog
  }

  /** Reads every page of a kind's list; rounds that need it meanwhile wait for the same read. */
  private read(kind: FieldKind): Promise<FieldCatalog> {
    const s = this.state(kind)
    if (s.reading) {
      return s.reading
    }
    const reading = (async () => {
      const fetchedAt = this.o.clock.now()
      const fields: ZendeskCustomField[] = []
      const attr = `${kind}_fields`
      for (let page = 1; page <= MAX_LIST_PAGES; page += 1) {
        const r = await this.o.zendesk.send<Record<string, unknown> & { next_page?: string | null }>(
          listFields(kind, page),
          { signal: this.o.signal },
        )
        const list = r.body[attr]
        if (Array.isArray(list)) {
          fields.push(...(list as ZendeskCustomField[]))
        }
        if (!r.body.next_page) {
          break
        }
      }
      const catalog = new FieldCatalog(kind, fields)
      s.catalog = catalog
      s.fetchedAt = fetchedAt
      // Names unknown before stay "asked about" only while this list still lacks them.
      s.checkedUnknown = new Set(
        s.checkedUnknown.size > MAX_CHECKED_UNKNOWN
          ? []
          : [...s.checkedUnknown].filter((k) => !('id' in catalog.find(k))),
      )
      return catalog
    })()
    s.reading = reading
    return reading.finally(() => {
      s.reading = null
    })
  }

  /** Fields this destination has created, counted from the lists of the kinds it creates. */
  private async createdSoFar(): Promise<number> {
    let n = 0
    for (const kind of ['user', 'organization'] as const) {
      if (this.o.create[kind] !== true) {
        continue
      }
      const catalog = await this.catalog(kind)
      n += catalog.fields.filter((f) => f.description?.startsWith(this.marker()) === true).length
    }
    return n
  }

  /**
   * Creates the fields the names need and Zendesk lacks; returns the list with them (read again
   * when a key turned out to exist), saying why the missing ones were not created. Failures are
   * logged, not thrown.
   */
  private async createMissing(
    kind: Creatable,
    catalog: FieldCatalog,
    byName: ReadonlyMap<string, unknown[]>,
  ): Promise<FieldCatalog> {
    const hints = new Map<string, string>()
    const wanted = this.wanted(kind, catalog, byName, hints)
    const result = wanted.length > 0 ? await this.createAll(kind, catalog, wanted, hints) : catalog
    for (const [key, why] of hints) {
      result.explain(key, why)
    }
    return result
  }

  private async createAll(
    kind: Creatable,
    catalog: FieldCatalog,
    wanted: readonly Wanted[],
    hints: Map<string, string>,
  ): Promise<FieldCatalog> {
    let room: number
    try {
      room = this.o.maxCreatedFields - (await this.createdSoFar())
    } catch (err) {
      this.o.log.warn(
        { err, destination: this.o.destinationId, kind },
        'could not count the fields this destination created; creating none this time',
      )
      return catalog
    }
    const created: ZendeskCustomField[] = []
    let duplicates = false
    for (const w of wanted) {
      if (this.o.signal.aborted) {
        break
      }
      if (room <= 0) {
        hints.set(
          w.key,
          `not created: this destination has created ${this.o.maxCreatedFields} fields, its maxCreatedFields`,
        )
        if (!this.capLogged) {
          this.capLogged = true
          this.o.log.warn(
            {
              destination: this.o.destinationId,
              kind,
              key: w.key,
              maxCreatedFields: this.o.maxCreatedFields,
            },
            'this destination has created as many fields as maxCreatedFields allows; no more are created',
          )
        }
        continue
      }
      const result = await this.create(kind, w)
      if (result === 'exists') {
        duplicates = true
      } else if (result === 'failed') {
        hints.set(w.key, RETRY_HINT)
      } else {
        created.push(result)
        room -= 1
      }
    }
    if (created.length === 0 && !duplicates) {
      return catalog
    }
    const s = this.state(kind)
    if (duplicates && !this.o.signal.aborted) {
      try {
        const fresh = await this.read(kind)
        // Created just now: in the list even if the read does not show them yet.
        const missing = created.filter((f) => !fresh.fields.some((g) => g.id === f.id))
        return missing.length === 0
          ? fresh
          : this.keep(s, new FieldCatalog(kind, [...fresh.fields, ...missing]))
      } catch (err) {
        this.o.log.warn(
          { err, destination: this.o.destinationId, kind },
          `could not read the list of ${kind} fields after creating some; using the known ones`,
        )
      }
    }
    return this.keep(s, new FieldCatalog(kind, [...catalog.fields, ...created]))
  }

  private keep(s: KindState, catalog: FieldCatalog): FieldCatalog {
    s.catalog = catalog
    return catalog
  }

  /** The fields the names need that do not exist, by key, in order of appearance. */
  private wanted(
    kind: Creatable,
    catalog: FieldCatalog,
    byName: ReadonlyMap<string, unknown[]>,
    hints: Map<string, string>,
  ): Wanted[] {
    const now = this.o.clock.now()
    const wanted = new Map<string, Wanted>()
    for (const [name, values] of byName) {
      // Only values that call for a type (not null, not lists) make a field.
      const typed = values.filter((v) => fieldTypeFor([v]) !== null)
      if (typed.length === 0) {
        continue
      }
      const key = snakeCase(name)
      if (catalog.hasKey(key)) {
        continue
      }
      if (!isValidFieldKey(key)) {
        if (!this.unusable.has(`${kind}:${name}`)) {
          this.unusable.add(`${kind}:${name}`)
          this.o.log.warn(
            { destination: this.o.destinationId, kind, trait: name, key },
            `trait cannot become a ${kind} field: a key needs letters, digits or underscores, and not only digits`,
          )
        }
        continue
      }
      const failed = this.failedAt.get(`${kind}:${key}`)
      if (failed !== undefined && now - failed < this.o.retryFailedAfterMs) {
        hints.set(key, RETRY_HINT)
        continue
      }
      const w = wanted.get(key)
      if (w) {
        w.values.push(...typed)
      } else {
        wanted.set(key, { key, title: name, values: typed })
      }
    }
    return [...wanted.values()]
  }

  /** Creates one field: the field, or `exists` when Zendesk has that key (422 DuplicateValue). */
  private async create(kind: Creatable, w: Wanted): Promise<ZendeskCustomField | 'exists' | 'failed'> {
    const type = fieldTypeFor(w.values) ?? 'text'
    const id = `${kind}:${w.key}`
    try {
      const r = await this.o.zendesk.send<Record<string, ZendeskCustomField | undefined>>(
        createField(kind, {
          key: w.key,
          title: w.title,
          type,
          description: `${this.marker()} from "${w.title}".`,
        }),
        { signal: this.o.signal },
      )
      this.failedAt.delete(id)
      this.o.log.info(
        { destination: this.o.destinationId, kind, key: w.key, type },
        `created a ${kind} field`,
      )
      return (
        r.body[`${kind}_field`] ?? {
          id: 0,
          key: w.key,
          title: w.title,
          type,
          active: true,
          description: this.marker(),
        }
      )
    } catch (err) {
      if (this.o.signal.aborted) {
        return 'failed'
      }
      if (isDuplicateKey(err)) {
        this.failedAt.delete(id)
        return 'exists'
      }
      this.failedAt.set(id, this.o.clock.now())
      this.o.log.warn(
        {
          destination: this.o.destinationId,
          kind,
          key: w.key,
          type,
          status: err instanceof ZendeskError ? err.status : null,
          code: err instanceof AppError ? err.code : err instanceof Error ? err.name : null,
          zendeskCode: err instanceof ZendeskError ? err.zendeskCode : null,
        },
        `could not create a ${kind} field; records go out without it until it exists`,
      )
      return 'failed'
    }
  }
}

/**
 * The names the payloads give each kind of field, with their values. A plain function (the round's
 * hot loop), not part of the async `prepare`: V8 optimises it on its own, a smaller compile.
 */
function candidateNames(payloads: readonly BuiltPayload[]): Map<FieldKind, Map<string, unknown[]>> {
  const names = new Map<FieldKind, Map<string, unknown[]>>()
  for (const { action, payload } of payloads) {
    const spec = action.customFields
    if (!spec) {
      continue
    }
    const candidates = spec.candidates(payload as PayloadOf<Fields>)
    let byName: Map<string, unknown[]> | undefined
    for (const name of Object.keys(candidates)) {
      const value = candidates[name]
      if (value === undefined) {
        continue
      }
      if (byName === undefined) {
        byName = names.get(spec.kind) ?? new Map<string, unknown[]>()
        names.set(spec.kind, byName)
      }
      const values = byName.get(name)
      if (values) {
        values.push(value)
      } else {
        byName.set(name, [value])
      }
    }
  }
  return names
}
