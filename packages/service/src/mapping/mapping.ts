/**
 * Mappings: how an action's fields get their values from an event. A mapping value is
 *
 * - a literal (`"end-user"`, `42`, `true`, `null`);
 * - a path into the event: `{ "@path": "$.traits.email" }` (dot segments after `$`);
 * - a JSONata expression: `{ "@jsonata": "traits.first_name & ' ' & traits.last_name" }`
 *   (https://jsonata.org; evaluated against the event);
 * - a condition, as in Segment's mapping kit: `{ "@if": { "exists" | "blank": <mapping>,
 *   "then": <mapping>, "else": <mapping> } }`: `exists` holds when the value is neither undefined
 *   nor null, `blank` when it is undefined, null or an empty (or all-blank) string; a branch left
 *   out resolves to undefined;
 * - a template, as in Segment's mapping kit: `{ "@template": "{{traits.first_name}} {{traits.last_name}}" }`:
 *   each `{{path}}` (dot steps from the event's root) is replaced by its value, missing ones by "";
 * - an object whose values are mapping values (resolved key by key).
 *
 * A path or expression that finds nothing resolves to `undefined` (the field is absent).
 *
 * Only JSONata is asynchronous (jsonata 2 evaluates with promises, ~5 µs an event even for a
 * simple expression); a mapping without it resolves synchronously (`isSyncMapping`,
 * `resolveMappingSync`), which is how the actions' defaults are written where speed matters.
 */
import jsonata from 'jsonata'

import { boundedMemo } from '../lib/bounded-memo.js'

export type MappingValue =
  | string
  | number
  | boolean
  | null
  | { '@path': string }
  | { '@jsonata': string }
  | { '@if': IfDirective }
  | { '@template': string }
  | { [key: string]: MappingValue }

/** Segment's `@if`: one of `exists` or `blank` as the condition. */
export interface IfDirective {
  exists?: MappingValue
  blank?: MappingValue
  then?: MappingValue
  else?: MappingValue
}

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
const stepsOf = boundedMemo((path: string): string[] => {
  if (!path.startsWith('$.')) {
    throw new MappingError(path, 'a path starts with "$." (for example $.traits.email)')
  }
  return path.slice(2).split('.')
})

/** Reads `$.a.b.c` from a value; undefined when any step is missing. */
export function readPath(root: unknown, path: string): unknown {
  if (path === '$') {
    return root
  }
  const steps = stepsOf(path)
  let cur: unknown = root
  for (const key of steps) {
    if (typeof cur !== 'object' || cur === null) {
      return undefined
    }
    cur = (cur as Record<string, unknown>)[key]
  }
  return cur
}

type DirectiveName = '@path' | '@jsonata' | '@if' | '@template'

function isDirective(v: object, key: DirectiveName): boolean {
  return Object.keys(v).length === 1 && key in v
}

function isBlank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '')
}

/** The branch an `@if` takes, given its condition's value. */
function branchOf(d: IfDirective, condition: unknown): MappingValue | undefined {
  const holds = 'exists' in d ? condition !== undefined && condition !== null : isBlank(condition)
  return holds ? d.then : d.else
}

/**
 * A template split once into its text and its `{{path}}` placeholders: odd positions are the paths
 * (dot steps from the event's root, made `$.` paths), even ones the text around them.
 */
const partsOf = boundedMemo((source: string): string[] =>
  source.split(/\{\{([^{}]*)\}\}/).map((part, i) => {
    if (i % 2 === 0) {
      return part
    }
    const p = part.trim()
    return p === '' || p === '$' ? '$' : p.startsWith('$.') ? p : `$.${p}`
  }),
)

function renderTemplate(source: string, event: unknown): string {
  let out = ''
  partsOf(source).forEach((part, i) => {
    if (i % 2 === 0) {
      out += part
      return
    }
    const v = readPath(event, part)
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      out += String(v)
    } else if (typeof v === 'object' && v !== null) {
      out += JSON.stringify(v)
    }
  })
  return out
}

/** Mappings known to hold no JSONata, by identity (mappings are configuration: few, long-lived). */
const syncMappings = new WeakMap<object, boolean>()

/** Whether the mapping resolves without JSONata, so `resolveMappingSync` can take it. */
export function isSyncMapping(mapping: MappingValue): boolean {
  if (mapping === null || typeof mapping !== 'object') {
    return true
  }
  let known = syncMappings.get(mapping)
  if (known === undefined) {
    if (isDirective(mapping, '@jsonata')) {
      known = false
    } else if (isDirective(mapping, '@path') || isDirective(mapping, '@template')) {
      known = true
    } else {
      known = Object.values(mapping as Record<string, MappingValue>).every(isSyncMapping)
    }
    syncMappings.set(mapping, known)
  }
  return known
}

/** Resolves a mapping value against an event. */
export async function resolveMapping(mapping: MappingValue, event: unknown, field = '$'): Promise<unknown> {
  if (isSyncMapping(mapping)) {
    return resolveMappingSync(mapping, event)
  }
  const m = mapping as object
  if (isDirective(m, '@jsonata')) {
    const value: unknown = await expression((m as { '@jsonata': string })['@jsonata'], field).evaluate(event)
    return value
  }
  if (isDirective(m, '@if')) {
    const d = (m as { '@if': IfDirective })['@if']
    const branch = branchOf(d, await resolveMapping(d.exists ?? d.blank ?? null, event, `${field}.@if`))
    return branch === undefined ? undefined : resolveMapping(branch, event, field)
  }
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(m as Record<string, MappingValue>)) {
    const value = await resolveMapping(inner, event, `${field}.${key}`)
    if (value !== undefined) {
      out[key] = value
    }
  }
  return out
}

/** `resolveMapping` for a mapping without JSONata (`isSyncMapping`). */
export function resolveMappingSync(mapping: MappingValue, event: unknown): unknown {
  if (mapping === null || typeof mapping !== 'object') {
    return mapping
  }
  if (isDirective(mapping, '@path')) {
    return readPath(event, (mapping as { '@path': string })['@path'])
  }
  if (isDirective(mapping, '@template')) {
    return renderTemplate((mapping as { '@template': string })['@template'], event)
  }
  if (isDirective(mapping, '@if')) {
    const d = (mapping as { '@if': IfDirective })['@if']
    const branch = branchOf(d, resolveMappingSync(d.exists ?? d.blank ?? null, event))
    return branch === undefined ? undefined : resolveMappingSync(branch, event)
  }
  if (isDirective(mapping, '@jsonata')) {
    throw new MappingError('$', 'a JSONata expression resolves asynchronously (resolveMapping)')
  }
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(mapping as Record<string, MappingValue>)) {
    const value = resolveMappingSync(inner, event)
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
  if (isDirective(mapping, '@template')) {
    return typeof (mapping as { '@template': unknown })['@template'] === 'string'
      ? []
      : [`${field}: @template must be a string`]
  }
  if (isDirective(mapping, '@if')) {
    return validateIf((mapping as { '@if': unknown })['@if'], `${field}.@if`)
  }
  return Object.entries(mapping as Record<string, MappingValue>).flatMap(([k, v]) =>
    validateMapping(v, `${field}.${k}`),
  )
}

function validateIf(d: unknown, field: string): string[] {
  if (typeof d !== 'object' || d === null || Array.isArray(d)) {
    return [`${field}: must be an object with "exists" or "blank", and "then" and/or "else"`]
  }
  const keys = Object.keys(d)
  const unknownKeys = keys.filter((k) => !['exists', 'blank', 'then', 'else'].includes(k))
  if (unknownKeys.length > 0) {
    return [
      `${field}: unknown key ${unknownKeys.map((k) => `"${k}"`).join(', ')} (exists, blank, then, else)`,
    ]
  }
  if ('exists' in d === 'blank' in d) {
    return [`${field}: needs exactly one condition, "exists" or "blank"`]
  }
  const r = d as Record<string, MappingValue>
  return ['exists', 'blank', 'then', 'else'].flatMap((k) =>
    k in r ? validateMapping(r[k] ?? null, `${field}.${k}`) : [],
  )
}
