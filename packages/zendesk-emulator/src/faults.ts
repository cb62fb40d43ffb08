/**
 * Scripted faults. A fault rule says what to do to matching requests:
 *
 * | kind      | effect                                                                   |
 * | --------- | ------------------------------------------------------------------------ |
 * | `status`  | answer `status` (500, 502, 503 or 429), with `Retry-After` if given      |
 * | `hang`    | never answer (the socket is held for `hangMs`, then destroyed)           |
 * | `reset`   | destroy the connection without an answer                                 |
 * | `latency` | answer normally after `latencyMs`                                        |
 *
 * Which requests: `count` (the next N matching requests; unlimited when absent), `share` (a
 * fraction in [0, 1] of matching requests, drawn from the seeded generator), `path` (a substring,
 * or a regular expression written `/…/`, matched against the request path) and `method`.
 * Rules apply in the order they were added; the first rule that fires wins, except that latency
 * adds to whatever comes next. The inspection API (`/__emulator/*`) is never faulted.
 */
import type { Account } from './account.js'

export const FAULT_KINDS = ['status', 'hang', 'reset', 'latency'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export interface FaultRule {
  id: number
  kind: FaultKind
  status: number
  retryAfterS: number | null
  latencyMs: number
  hangMs: number
  count: number | null
  share: number
  path: string | null
  method: string | null
  /** How many times the rule fired. */
  fired: number
}

export type FaultAction =
  | { kind: 'status'; status: number; retryAfterS: number | null; latencyMs: number }
  | { kind: 'hang'; hangMs: number; latencyMs: number }
  | { kind: 'reset'; latencyMs: number }
  | { kind: 'none'; latencyMs: number }

export class FaultInputError extends Error {}

const ALLOWED_STATUSES = new Set([429, 500, 502, 503, 504])

export class Faults {
  private rules: FaultRule[] = []
  private nextId = 1
  private readonly account: Account

  constructor(account: Account) {
    this.account = account
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }))
  }

  clear(): void {
    this.rules = []
  }

  /** Validates and adds rules; throws `FaultInputError` naming the field and the reason. */
  add(inputs: unknown[]): FaultRule[] {
    const parsed = inputs.map((input, i) => parseRule(input, i, this.nextId + i))
    this.nextId += parsed.length
    this.rules.push(...parsed)
    return parsed.map((r) => ({ ...r }))
  }

  /** Decides what happens to a request, consuming rule counts. */
  decide(method: string, path: string): FaultAction {
    let latencyMs = 0
    for (const rule of this.rules) {
      if (!matches(rule, method, path)) {
        continue
      }
      if (rule.share < 1 && this.account.nextRandom() >= rule.share) {
        continue
      }
      rule.fired += 1
      if (rule.count !== null) {
        rule.count -= 1
      }
      if (rule.kind === 'latency') {
        latencyMs += rule.latencyMs
        continue
      }
      this.prune()
      switch (rule.kind) {
        case 'status':
          return { kind: 'status', status: rule.status, retryAfterS: rule.retryAfterS, latencyMs }
        case 'hang':
          return { kind: 'hang', hangMs: rule.hangMs, latencyMs }
        case 'reset':
          return { kind: 'reset', latencyMs }
      }
    }
    this.prune()
    return { kind: 'none', latencyMs }
  }

  private prune(): void {
    this.rules = this.rules.filter((r) => r.count === null || r.count > 0)
  }
}

function matches(rule: FaultRule, method: string, path: string): boolean {
  if (rule.count !== null && rule.count <= 0) {
    return false
  }
  if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) {
    return false
  }
  if (rule.path) {
    const re = /^\/(.*)\/$/.exec(rule.path)
    if (re) {
      return new RegExp(re[1] ?? '').test(path)
    }
    return path.includes(rule.path)
  }
  return true
}

function parseRule(input: unknown, index: number, id: number): FaultRule {
  const fail = (field: string, reason: string): never => {
    throw new FaultInputError(`faults[${index}].${field}: ${reason}`)
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return fail('', 'must be an object')
  }
  const o = input as Record<string, unknown>
  const kind = o.kind
  if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind)) {
    return fail('kind', `must be one of ${FAULT_KINDS.join(', ')}`)
  }
  const num = (field: string, fallback: number | null, min: number, max: number): number | null => {
    const v = o[field]
    if (v === undefined || v === null) {
      return fallback
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      return fail(field, `must be a number from ${min} to ${max}`)
    }
    return v
  }
  const status = num('status', kind === 'status' ? null : 503, 100, 599)
  if (kind === 'status' && (status === null || !ALLOWED_STATUSES.has(status))) {
    fail('status', `must be one of ${[...ALLOWED_STATUSES].join(', ')}`)
  }
  const count = num('count', null, 1, 1_000_000)
  const share = num('share', 1, 0, 1) ?? 1
  const path = o.path
  if (path !== undefined && path !== null && typeof path !== 'string') {
    fail('path', 'must be a string (a substring, or /regex/)')
  }
  if (typeof path === 'string' && /^\/.*\/$/.test(path)) {
    try {
      new RegExp(path.slice(1, -1))
    } catch {
      fail('path', 'is not a valid regular expression')
    }
  }
  const method = o.method
  if (method !== undefined && method !== null && typeof method !== 'string') {
    fail('method', 'must be a string')
  }
  const latencyMs = num('latencyMs', kind === 'latency' ? null : 0, 0, 600_000)
  if (kind === 'latency' && latencyMs === null) {
    fail('latencyMs', 'is required for a latency fault')
  }
  return {
    id,
    kind: kind as FaultKind,
    status: status ?? 503,
    retryAfterS: num('retryAfterS', null, 0, 86_400),
    latencyMs: latencyMs ?? 0,
    hangMs: num('hangMs', 300_000, 0, 3_600_000) ?? 300_000,
    count,
    share,
    path: typeof path === 'string' ? path : null,
    method: typeof method === 'string' ? method : null,
    fired: 0,
  }
}
