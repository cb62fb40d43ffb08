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
import type { ZendeskRequest } from '../zendesk/request.js'

export type FieldType = 'string' | 'integer' | 'boolean' | 'object'

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
  events?: string[]
}

/** What an action may know of the destination besides the payload (pure data, no I/O). */
export interface ActionContext {
  /** Keys of the custom user fields that exist in Zendesk (null: not known yet). */
  userFieldKeys: ReadonlySet<string> | null
  settings: Readonly<Record<string, unknown>>
}

export interface BulkSpec<P, I> {
  /** Zendesk's limit per bulk call. */
  maxSize: number
  item(payload: P, ctx: ActionContext): I
  /** Records with the same key in one window are merged, later over earlier. */
  key(item: I): string
  merge(earlier: I, later: I): I
  /** The bulk request; it answers a job status whose results follow the items' order. */
  request(items: I[]): ZendeskRequest
  /** The one-record request for accounts that refuse the bulk call (403). */
  single(item: I): ZendeskRequest
}

export interface ActionDefinition<F extends Fields = Fields, I = unknown> {
  /** Kebab-case id = folder name = what subscriptions store. */
  id: string
  title: string
  description: string
  defaultTrigger: Trigger
  fields: F
  bulk: BulkSpec<PayloadOf<F>, I>
}

/** Declares an action, keeping its field and payload types. */
export function defineAction<F extends Fields, I>(
  definition: ActionDefinition<F, I>,
): ActionDefinition<F, I> {
  return definition
}

/** An action whose types have been forgotten, as registries and delivery hold them. */
export type AnyAction = ActionDefinition<Fields, unknown>
