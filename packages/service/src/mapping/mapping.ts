/**
 * Mappings: how an action's fields get their values from an event. A mapping value is
 *
 * - a literal (`"end-user"`, `42`, `true`, `null`);
 * - a path into the event: `{ "@path": "$.traits.email" }` (dot segments after `$`);
 * - a JSONata expression: `{ "@jsonata": "traits.first_name & ' ' & traits.last_name" }`
 *   (https://jsonata.org; evaluated against the event);
 * - an object whose values are mapping values (resolved key by key).
 *
 * A path or expression that finds nothing resolves to `undefined` (the field is absent).
 */
import jsonata from 'jsonata'

export type MappingValue =
  | string
  | number
  | boolean
  | null
  | { '@path': string }
  | { '@jsonata': string }
  | { [key: string]: MappingValue }

export class MappingError extends Error {
  readonly field: string

  constructor(field: string, message: string) {
    super(`${field}: ${message}`)
    this.field = field
  }
}

const compiled = new Map<string, ReturnType<typeof jsonata>>()

function expression(source: string, field: string): ReturnType<typeof jsonata> {
  let expr = compiled.get(source)
  if (!expr) {
    try {
      expr = jsonata(source)
    } catch (err) {
      throw new MappingError(field, `invalid JSONata expression: ${(err as Error).message}`)
    }
    compiled.set(source, expr)
  }
  return expr
}

/**
 * Each path's steps, split once: paths come from the configuration and the actions' defaults (a
 * few dozen), and a sync reads several per event (splitting each time was ~5% of the service's
 * CPU in `identify-sync`).
 */
const pathSteps = new Map<string, string[]>()

/** Reads `$.a.b.c` from a value; undefined when any step is missing. */
export function readPath(root: unknown, path: string): unknown {
  if (path === '$') {
    return root
  }
  let steps = pathSteps.get(path)
  if (steps === undefined) {
    if (!path.startsWith('$.')) {
      throw new MappingError(path, 'a path starts with "$." (for example $.traits.email)')
    }
    steps = path.slice(2).split('.')
    if (pathSteps.size >= 10_000) {
      // Never reached with configured paths; a bound all the same.
      pathSteps.clear()
    }
    pathSteps.set(path, steps)
  }
  let cur: unknown = root
  for (const key of steps) {
    if (typeof cur !== 'object' || cur === null) {
      return undefined
    }
    cur = (cur as Record<string, unknown>)[key]
  }
  return cur
}

function isDirective(v: object, key: '@path' | '@jsonata'): boolean {
  return Object.keys(v).length === 1 && key in v
}

/** Resolves a mapping value against an event. */
export async function resolveMapping(mapping: MappingValue, event: unknown, field = '$'): Promise<unknown> {
  if (mapping === null || typeof mapping !== 'object') {
    return mapping
  }
  if (isDirective(mapping, '@path')) {
    return readPath(event, (mapping as { '@path': string })['@path'])
  }
  if (isDirective(mapping, '@jsonata')) {
    const value: unknown = await expression((mapping as { '@jsonata': string })['@jsonata'], field).evaluate(
      event,
    )
    return value
  }
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(mapping)) {
    const value = await resolveMapping(inner, event, `${field}.${key}`)
    if (value !== undefined) {
      out[key] = value
    }
  }
  return out
}

/** Checks a mapping without an event (bad paths and expressions), for configuration loading. */
export function validateMapping(mapping: MappingValue, field: string): string[] {
  if (mapping === null || typeof mapping !== 'object') {
    return []
  }
  if (isDirective(mapping, '@path')) {
    const p = (mapping as { '@path': unknown })['@path']
    return typeof p === 'string' && (p === '$' || p.startsWith('$.'))
      ? []
      : [`${field}: @path must start with "$."`]
  }
  if (isDirective(mapping, '@jsonata')) {
    try {
      expression(String((mapping as { '@jsonata': unknown })['@jsonata']), field)
      return []
    } catch (err) {
      return [(err as Error).message]
    }
  }
  return Object.entries(mapping).flatMap(([k, v]) => validateMapping(v, `${field}.${k}`))
}
