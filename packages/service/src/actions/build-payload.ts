/**
 * Turns an event and a subscription's mapping into an action's payload: resolves each field's
 * mapping (the subscription's, else the field's default), coerces it to the field's type, and
 * checks required fields. Problems are reported per field, e.g. `email: must be a string`.
 */
import { isSyncMapping, resolveMapping, resolveMappingSync, type MappingValue } from '../mapping/mapping.js'
import type { Field, Fields, PayloadOf } from './define-action.js'

export class PayloadError extends Error {
  readonly problems: { field: string; message: string }[]

  constructor(problems: { field: string; message: string }[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '))
    this.problems = problems
  }
}

function coerce(field: Field, value: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  if (value === undefined || value === null || value === '') {
    return { ok: true, value: undefined }
  }
  switch (field.type) {
    case 'string':
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        const s = String(value).trim()
        return { ok: true, value: s === '' ? undefined : s }
      }
      return { ok: false, message: 'must be a string' }
    case 'integer': {
      const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value
      return typeof n === 'number' && Number.isSafeInteger(n)
        ? { ok: true, value: n }
        : { ok: false, message: 'must be a whole number' }
    }
    case 'boolean':
      if (typeof value === 'boolean') {
        return { ok: true, value }
      }
      if (value === 'true' || value === 'false') {
        return { ok: true, value: value === 'true' }
      }
      return { ok: false, message: 'must be true or false' }
    case 'object':
      return typeof value === 'object' && !Array.isArray(value)
        ? { ok: true, value }
        : { ok: false, message: 'must be an object' }
    case 'array':
      // A single value is a list of one (`tags: "vip"`); missing entries are dropped.
      if (Array.isArray(value)) {
        return { ok: true, value: value.filter((v) => v !== null && v !== undefined) }
      }
      return typeof value === 'object'
        ? { ok: false, message: 'must be a list' }
        : { ok: true, value: [value] }
  }
}

/**
 * The action's payload from the event: synchronously when no field's mapping holds JSONata (the
 * actions' defaults; most subscriptions), else as a promise. Either way, a refused payload
 * throws (or rejects with) a PayloadError naming every field at fault.
 */
export function buildPayload<F extends Fields>(
  fields: F,
  mapping: Record<string, MappingValue> | undefined,
  event: unknown,
): PayloadOf<F> | Promise<PayloadOf<F>> {
  const entries = Object.entries(fields)
  const mappings = entries.map(([name, field]) => mapping?.[name] ?? field.default)
  if (mappings.every((m) => m === undefined || isSyncMapping(m))) {
    return assemble<F>(
      entries,
      mappings.map((m) => (m === undefined ? undefined : resolveMappingSync(m, event))),
      mappings,
    )
  }
  return Promise.all(
    mappings.map(async (m, i) => (m === undefined ? undefined : resolveMapping(m, event, entries[i]?.[0]))),
  ).then((values) => assemble<F>(entries, values, mappings))
}

/** Coerces each field's resolved value to its type and checks the required ones. */
function assemble<F extends Fields>(
  entries: [string, Field][],
  values: unknown[],
  mappings: (MappingValue | undefined)[],
): PayloadOf<F> {
  const payload: Record<string, unknown> = {}
  const problems: { field: string; message: string }[] = []
  entries.forEach(([name, field], i) => {
    if (mappings[i] === undefined) {
      if (field.required) {
        problems.push({ field: name, message: 'is required and has no mapping' })
      }
      return
    }
    const c = coerce(field, values[i])
    if (!c.ok) {
      problems.push({ field: name, message: c.message })
    } else if (c.value === undefined) {
      if (field.required) {
        problems.push({ field: name, message: 'is required but the event has no value for it' })
      }
    } else {
      payload[name] = c.value
    }
  })
  if (problems.length > 0) {
    throw new PayloadError(problems)
  }
  // Every field was coerced to its declared type above.
  return payload as PayloadOf<F>
}
