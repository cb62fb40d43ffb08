/**
 * What the two audience actions (`sync-audience-to-support-users`, `sync-audience-to-sell-contacts`)
 * do alike whatever the target: which records are sent and the outcome of those that are not,
 * the split of the mapped attributes into the target's custom fields and its other attributes,
 * and the shape of the action (no default trigger, not a preset, the audience fields).
 */
import {
  defineAction,
  DeliveryNote,
  type ActionDefinition,
  type PayloadOf,
  type PerformSpec,
} from '../define-action.js'
import { audienceFields, ExcludedProfile } from './activation.js'

/** An audience action's payload: the audience event and its mapped attributes. */
export type AudiencePayload = PayloadOf<typeof audienceFields>

/** What every audience record says about whether it is sent. */
export interface ActivationRecord {
  activationId: string
  /** Why the profile is not sent (counted excluded); null when it is. */
  excluded: string | null
  /** Nothing to write for this activation (the event names none of its audiences). */
  nothing: boolean
}

const NOTHING = 'the event names none of the activation’s audiences: nothing to write'

/** Whether the record goes to Zendesk: not excluded, and naming some of the activation's audiences. */
export function isSent(r: ActivationRecord): boolean {
  return r.excluded === null && !r.nothing
}

/** The outcome of a record that is not sent (a note, or the exclusion and why); null when it is sent. */
export function unsentOutcome(r: ActivationRecord): DeliveryNote | null {
  if (r.nothing) {
    return new DeliveryNote(NOTHING)
  }
  if (r.excluded !== null) {
    return new ExcludedProfile(r.excluded, r.activationId)
  }
  return null
}

/**
 * The mapped attributes that have a value, those targeting `<prefix><name>` (the target's custom
 * fields, by name) apart from the others (target attribute → value), in the mappings' order.
 */
export function splitMapped(
  attrs: Record<string, unknown>,
  prefix: string,
): { fields: Record<string, unknown>; others: [string, unknown][] } {
  const fields: Record<string, unknown> = {}
  const others: [string, unknown][] = []
  for (const [target, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) {
      continue
    }
    if (target.startsWith(prefix)) {
      fields[target.slice(prefix.length)] = value
    } else {
      others.push([target, value])
    }
  }
  return { fields, others }
}

/**
 * An audience action: for one activation, or the registered one (metadata). Activations route
 * audience events to it, so it has no default trigger and is no preset.
 */
export function defineActivationAction<I>(definition: {
  id: string
  title: string
  description: string
  bulk: PerformSpec<AudiencePayload, I>
}): ActionDefinition<typeof audienceFields, I, PerformSpec<AudiencePayload, I>> {
  return defineAction({
    ...definition,
    defaultTrigger: { types: [] },
    preset: false,
    fields: audienceFields,
  })
}
