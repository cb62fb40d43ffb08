/**
 * How a Zendesk action is declared (conventions §4.6): fields with labels, descriptions and
 * default mappings; a trigger saying which events it takes by default; and a pure builder that
 * turns payloads into Zendesk requests as data. Delivery executes, limits, retries and settles.
 *
 * Bulk actions describe one record per payload (`item`), how records of the same person merge
 * inside a batching window (`key`, `merge`), the bulk request for up to `maxSize` records, and the
 * single-record request used when the account refuses bulk calls.
 */
import type { MappingValue } from '../mapping/mapping.js'
import type { EventType } from '../spec/events.js'
import type { ActionMemory } from '../lib/action-memory.js'
import type { FieldCatalog, FieldKind } from '../zendesk/custom-fields.js'
import type { JobResult } from '../zendesk/job-statuses.js'
import type { ZendeskRequest, ZendeskResponse } from '../zendesk/request.js'

export type FieldType = 'string' | 'integer' | 'boolean' | 'object' | 'array'

/** One input of an action. */
export interface Field {
  label: string
  description: string
  type: FieldType
  required?: boolean
  /** The mapping used when a subscription does not give one. */
  default?: MappingValue
}

export type Fields = Record<string, Field>

type ValueOf<T extends FieldType> = T extends 'string'
  ? string
  : T extends 'integer'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'array'
        ? unknown[]
        : Record<string, unknown>

/** The payload an action receives: one typed value per field, absent when not required. */
export type PayloadOf<F extends Fields> = {
  [K in keyof F as F[K]['required'] extends true ? K : never]: ValueOf<F[K]['type']>
} & {
  [K in keyof F as F[K]['required'] extends true ? never : K]?: ValueOf<F[K]['type']>
}

/** Which events an action takes: event types, and for track, optionally event names. */
export interface Trigger {
  types: EventType[]
  /** For tracks: only these event names (an allowlist, Segment's "Events" setting). */
  events?: string[]
  /** For tracks: never these event names (e.g. the ticket events, which other actions take). */
  exceptEvents?: string[]
  /** Only events where at least one of these paths (`$.traits.company.id`) has a value. */
  whenAny?: string[]
}

/** What an action may know of the destination besides the payload (pure data, no I/O). */
export interface ActionContext {
  /**
   * Keys of the custom user fields that exist in Zendesk (null: not known yet). Older form of
   * `fields.user`, kept while tests and actions still give it.
   */
  userFieldKeys: ReadonlySet<string> | null
  /**
   * The custom fields Zendesk has, per kind, as delivery last read them (zendesk/custom-fields.ts).
   * A kind is present when the round's payloads of an action declaring it (`customFields`) carry
   * custom-field values; absent or null: not known, and the action keeps its older behaviour.
   */
  fields?: Partial<Record<FieldKind, FieldCatalog | null>>
  settings: Readonly<Record<string, unknown>>
  /**
   * Says something about this record for the delivery log: the job is delivered with this note
   * (e.g. values left out because Zendesk has no such field). Delivery gives one per record.
   */
  note?: (reason: string) => void
}

/** Where an action's payload carries custom-field values, so that delivery can prepare the fields. */
export interface CustomFieldsSpec<P> {
  kind: FieldKind
  /** The values by the names the event gives them (`fieldCandidates`); empty when none. */
  candidates(payload: P): Record<string, unknown>
}

/** What every action says about its records, however they are sent. */
interface RecordSpec<P, I> {
  /** Records per batch: Zendesk's limit per bulk call, or how many a `perform` takes at once. */
  maxSize: number
  item(payload: P, ctx: ActionContext): I
  /** Records with the same key in one window are merged, later over earlier; null: never merged. */
  key(item: I): string | null
  merge(earlier: I, later: I): I
}

/** The common case: one bulk request per batch, answered by a job status. */
export interface BulkSpec<P, I> extends RecordSpec<P, I> {
  /** The bulk request; it answers a job status whose results follow the items' order. */
  request(items: I[]): ZendeskRequest
  /** The one-record request for accounts that refuse the bulk call (403). */
  single(item: I): ZendeskRequest
  /**
   * Optional lookups before the bulk call, for settings that need them (most records need none):
   * one entry per item, undefined to send it, else its outcome (as `perform`'s), settled without
   * sending it. Thrown errors settle every item (retried when transient).
   */
  prepare?(
    items: I[],
    zendesk: ActionZendesk,
    settings: Readonly<Record<string, unknown>>,
  ): Promise<unknown[]>
  /** Optional extra requests after the bulk call, only for the records whose results need them. */
  followUp?: FollowUpSpec<I>
}

/**
 * Extra requests after a bulk call, for the few records whose job result calls for them (a
 * lookup, an identity change, a clearer reason for a failure). The others settle from their results
 * at once, so the common case costs nothing more.
 */
export interface FollowUpSpec<I> {
  /** Whether a record needs the follow-up, given its job result (pure, no I/O). */
  needed(item: I, result: JobResult, settings: Readonly<Record<string, unknown>>): boolean
  /**
   * The job result a bulk call would have given, from the answer to the record's `single`
   * request (accounts that refuse bulk calls); without it, records sent singly get no follow-up.
   */
  singleResult?(item: I, response: ZendeskResponse): JobResult
  /**
   * The follow-up of the records that need it: one outcome per entry, as `perform`'s (null:
   * delivered; a DeliveryNote; an error). A thrown error settles them all. `error` is what a
   * failed record settles with unless the follow-up says better (sent singly: the client's error).
   */
  run(
    entries: { item: I; result: JobResult; error?: unknown }[],
    zendesk: ActionZendesk,
    settings: Readonly<Record<string, unknown>>,
  ): Promise<unknown[]>
}

/** Zendesk as a `perform` sees it: requests still go through delivery's limiter and client. */
export interface ActionZendesk {
  /** Sends one request; throws the client's typed error on a non-2xx answer. */
  send<T>(request: ZendeskRequest): Promise<ZendeskResponse<T>>
  /** Sends a bulk request and waits until its job status is finished; returns its results. */
  runJob(request: ZendeskRequest): Promise<JobResult[]>
}

/**
 * The escape hatch for flows that one request cannot do (conventions §4.6): several requests
 * in order, or one request per record (the Events API takes one event per call). Returns one
 * outcome per item, in order: null when delivered (or a DeliveryNote: delivered, with a reason for
 * the delivery log), else the error (classified by delivery).
 * Each action that uses it says why in a comment and has an emulator-backed test.
 */
export interface PerformSpec<P, I> extends RecordSpec<P, I> {
  perform(items: I[], zendesk: ActionZendesk, env?: PerformEnv): Promise<unknown[]>
}

/** What a `perform` may use besides Zendesk. */
export interface PerformEnv {
  /**
   * What this action remembers in this destination between deliveries (store/action-memory.ts);
   * null where delivery runs without one, and then the action must ask Zendesk instead.
   */
  memory: ActionMemory | null
  /** The time (epoch ms), from delivery's injected clock. */
  now: () => number
}

/**
 * A `perform` outcome meaning "delivered", with a reason the delivery log shows, e.g. that there
 * was nothing to change in Zendesk. It is not an error: the job is done.
 */
export class DeliveryNote {
  readonly reason: string

  constructor(reason: string) {
    this.reason = reason
  }
}

export type DeliverySpec<P, I> = BulkSpec<P, I> | PerformSpec<P, I>

export function isPerform<P, I>(spec: DeliverySpec<P, I>): spec is PerformSpec<P, I> {
  return 'perform' in spec
}

export interface ActionDefinition<
  F extends Fields = Fields,
  I = unknown,
  S extends DeliverySpec<PayloadOf<F>, I> = DeliverySpec<PayloadOf<F>, I>,
> {
  /** Kebab-case id = folder name = what subscriptions store. */
  id: string
  title: string
  description: string
  defaultTrigger: Trigger
  /**
   * False for optional actions: the presets leave them out, and a destination uses them only when
   * a subscription names them (its trigger defaults to `defaultTrigger`).
   */
  preset?: boolean
  fields: F
  /** How records are built, merged and sent (`bulk` for historical reasons: most actions are). */
  bulk: S
  /** The custom fields its payloads carry values for (users, organizations or tickets). */
  customFields?: CustomFieldsSpec<PayloadOf<F>>
}

/** Declares an action, keeping its field, payload and record types. */
export function defineAction<F extends Fields, I>(
  definition: ActionDefinition<F, I, BulkSpec<PayloadOf<F>, I>>,
): ActionDefinition<F, I, BulkSpec<PayloadOf<F>, I>>
export function defineAction<F extends Fields, I>(
  definition: ActionDefinition<F, I, PerformSpec<PayloadOf<F>, I>>,
): ActionDefinition<F, I, PerformSpec<PayloadOf<F>, I>>
export function defineAction<F extends Fields, I>(
  definition: ActionDefinition<F, I>,
): ActionDefinition<F, I> {
  return definition
}

/** An action whose types have been forgotten, as registries and delivery hold them. */
export type AnyAction = ActionDefinition<Fields, unknown>
