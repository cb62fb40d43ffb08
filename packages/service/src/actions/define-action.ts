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
  /** Keys of the custom user fields that exist in Zendesk (null: not known yet). */
  userFieldKeys: ReadonlySet<string> | null
  settings: Readonly<Record<string, unknown>>
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
  perform(items: I[], zendesk: ActionZendesk): Promise<unknown[]>
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
