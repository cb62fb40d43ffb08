/**
 * How an action turns an event's custom-field values into the values its record sends: through
 * the catalog delivery gives in the context (zendesk/custom-fields.ts), with what is left out
 * said in the delivery log. Shared by upsert-user, upsert-organization and the ticket actions.
 */
import { fieldValues, fieldValuesNote, type FieldKind } from '../zendesk/custom-fields.js'
import type { ActionContext } from './define-action.js'

/**
 * The values the kind's fields take, keyed by field key (tickets: id), with a note to the
 * delivery log naming each name that is no field and each value its field's type cannot take.
 * Undefined when the context has no catalog of the kind (the action's older behaviour applies).
 */
export function recordFieldValues(
  kind: FieldKind,
  candidates: Readonly<Record<string, unknown>>,
  ctx: ActionContext,
): Record<string, unknown> | undefined {
  const catalog = ctx.fields?.[kind]
  if (!catalog) {
    return undefined
  }
  const v = fieldValues(catalog, candidates)
  const note = fieldValuesNote(kind, v)
  if (note !== null) {
    ctx.note?.(note)
  }
  return v.values
}
