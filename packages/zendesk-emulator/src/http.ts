/**
 * Request helpers shared by the route modules: reading Zendesk's wrapped bodies (`{"user": {…}}`,
 * `{"users": […]}`), id parameters and id lists, and the context every route module receives.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

import type { Account, Json, JsonObject } from './account.js'
import type { AuthResult } from './auth.js'
import { ApiError, badRequest, BULK_LIMIT, recordNotFound, tooManyItems } from './errors.js'
import type { RateLimiter } from './rate-limit.js'

/** What each route module gets besides the fastify instance. */
export interface RouteContext {
  account: Account
  limiter: RateLimiter
}

export type RouteModule = (app: FastifyInstance, ctx: RouteContext) => void

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook for Support and Sell paths. */
    auth: AuthResult
  }
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** `{ key: {…} }` → the inner object; 400 when missing or not an object. */
export function wrapped(body: unknown, key: string): JsonObject {
  const inner = isObject(body) ? body[key] : undefined
  if (!isObject(inner)) {
    throw badRequest('InvalidParameter', `Parameter ${key} is required and must be an object`)
  }
  return inner
}

/** `{ key: [{…}, …] }` → the list (≤ 100 items); 400 when missing, not objects, or too long. */
export function wrappedList(body: unknown, key: string): JsonObject[] {
  const list = isObject(body) ? body[key] : undefined
  if (!Array.isArray(list)) {
    throw badRequest('InvalidParameter', `Parameter ${key} is required and must be an array`)
  }
  if (list.length > BULK_LIMIT) {
    throw tooManyItems(key, list.length)
  }
  if (!list.every(isObject)) {
    throw badRequest('InvalidParameter', `Every item of ${key} must be an object`)
  }
  return list
}

/** A numeric path parameter; 404 when it is not a number, as Zendesk answers for unknown ids. */
export function numericParam(request: FastifyRequest, name: string): number {
  const raw = (request.params as Record<string, string | undefined>)[name] ?? ''
  if (!/^\d+$/.test(raw)) {
    throw recordNotFound()
  }
  return Number(raw)
}

/** The query string as a flat record of strings (first value wins). */
export function query(request: FastifyRequest): Record<string, string> {
  const q = request.query as Record<string, string | string[] | undefined>
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(q)) {
    const first = Array.isArray(v) ? v[0] : v
    if (first !== undefined) {
      out[k] = first
    }
  }
  return out
}

/** `?ids=1,2,3` (or another key) split and checked (≤ 100); null when absent. */
export function listParam(request: FastifyRequest, key: string): string[] | null {
  const raw = query(request)[key]
  if (raw === undefined) {
    return null
  }
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if (items.length > BULK_LIMIT) {
    throw tooManyItems(key, items.length)
  }
  return items
}

/** Sends a Zendesk answer with extra headers. */
export function send(
  reply: FastifyReply,
  status: number,
  body: Json,
  headers: Record<string, string> = {},
): FastifyReply {
  for (const [k, v] of Object.entries(headers)) {
    void reply.header(k, v)
  }
  return reply.code(status).send(body)
}

/** Offset pagination envelope fields for a full (unpaginated) list. */
export function listEnvelope(key: string, items: Json[]): JsonObject {
  return { [key]: items, next_page: null, previous_page: null, count: items.length }
}

export { ApiError }

/** Offset pagination stops after the first 10,000 records (facts §11, observed 400). */
const OFFSET_DEPTH_LIMIT = 10_000

function encodeCursor(position: number): string {
  return Buffer.from(`p${position}`).toString('base64url')
}

function decodeCursor(cursor: string): number {
  const m = /^p(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (!m) {
    throw badRequest('InvalidPaginationParameter', 'page[after] / page[before] is not a valid cursor')
  }
  return Number(m[1])
}

/**
 * One page of a list, paged as Zendesk pages it (facts §11):
 * - cursor pagination when `page[size]`, `page[after]` or `page[before]` is given: `meta:
 *   {has_more, after_cursor, before_cursor}` and `links: {next, prev}`;
 * - offset pagination otherwise: `page` and `per_page` (≤ 100, default 100), `next_page`,
 *   `previous_page` and `count`; past the first 10,000 records a 400.
 * `path` is the list's API path (e.g. `organizations`), used in the links. Cursors are opaque.
 */
export function paginate(
  request: FastifyRequest,
  account: Account,
  path: string,
  key: string,
  items: Json[],
): JsonObject {
  const q = query(request)
  const base = account.apiUrl(path)
  const size = (raw: string | undefined): number =>
    Math.min(BULK_LIMIT, Math.max(1, Number.parseInt(raw ?? '', 10) || BULK_LIMIT))
  if (q['page[size]'] !== undefined || q['page[after]'] !== undefined || q['page[before]'] !== undefined) {
    const n = size(q['page[size]'])
    let start: number
    if (q['page[before]'] !== undefined) {
      const end = Math.min(decodeCursor(q['page[before]']), items.length)
      start = Math.max(0, end - n)
    } else {
      start = q['page[after]'] !== undefined ? decodeCursor(q['page[after]']) : 0
    }
    const page = items.slice(start, start + n)
    const end = start + page.length
    const hasMore = end < items.length
    const after = page.length > 0 ? encodeCursor(end) : null
    const before = page.length > 0 ? encodeCursor(start) : null
    const link = (dir: string, cursor: string | null): string | null =>
      cursor === null ? null : `${base}?page[${dir}]=${cursor}&page[size]=${n}`
    return {
      [key]: page,
      meta: { has_more: hasMore, after_cursor: after, before_cursor: before },
      links: { next: hasMore ? link('after', after) : null, prev: start > 0 ? link('before', before) : null },
    }
  }
  const perPage = size(q.per_page)
  const pageNo = Math.max(1, Number.parseInt(q.page ?? '', 10) || 1)
  const offset = (pageNo - 1) * perPage
  if (offset >= OFFSET_DEPTH_LIMIT) {
    throw badRequest(
      'InvalidPaginationDepth',
      `Offset pagination is limited to the first ${OFFSET_DEPTH_LIMIT} records; use cursor pagination`,
    )
  }
  const link = (n: number): string => `${base}?page=${n}&per_page=${perPage}`
  return {
    [key]: items.slice(offset, offset + perPage),
    next_page: offset + perPage < items.length ? link(pageNo + 1) : null,
    previous_page: pageNo > 1 ? link(pageNo - 1) : null,
    count: items.length,
  }
}
