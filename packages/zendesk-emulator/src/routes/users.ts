/**
 * Users and user identities [D-users] [OAS] (facts §2). The rules live in model/users.ts,
 * model/user-bulk.ts and model/user-search.ts; this module reads requests and shapes answers.
 *
 * Endpoint limits (facts §2.4, §8.2): `POST users/create_or_update` and `PUT users/{id}` share
 * one bucket of 1 request a second per account and one of 5 a minute per user, reported in
 * `Zendesk-RateLimit-create-update-user`. The per-user header is the one a successful answer
 * carries; a refusal carries the bucket that refused.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'

import type { Account, Json, JsonObject, UserRecord } from '../account.js'
import { badRequest, forbidden, recordNotFound } from '../errors.js'
import {
  listEnvelope,
  listParam,
  numericParam,
  query,
  send,
  wrapped,
  wrappedList,
  type RouteContext,
  type RouteModule,
} from '../http.js'
import { presentJob, startJob } from '../model/jobs.js'
import {
  createManyResults,
  createOrUpdateManyResults,
  destroyManyResults,
  updateManyResults,
  type UserRef,
} from '../model/user-bulk.js'
import { searchUsers } from '../model/user-search.js'
import {
  activeUsers,
  createIdentity,
  createOrUpdateUser,
  createUser,
  deleteIdentity,
  deleteUser,
  findUpsertTarget,
  findUser,
  findUserByExternalId,
  findUserIncludingDeleted,
  identitiesOf,
  makePrimaryIdentity,
  presentIdentity,
  presentUser,
  requireUser,
  updateIdentity,
  updateUser,
} from '../model/users.js'
import { enforceBuckets, MINUTE, SECOND } from '../rate-limit.js'

/** Offset pagination stops at 10,000 records (facts §8.4, observed). */
const MAX_OFFSET = 10_000

export const userRoutes: RouteModule = (app, ctx) => {
  const { account } = ctx
  const present = (u: UserRecord): JsonObject => presentUser(account, u)

  app.get('/api/v2/users', (request) => {
    const q = query(request)
    const roles = roleFilter(request)
    let users = activeUsers(account)
    if (q.external_id !== undefined) {
      const wanted = q.external_id.toLowerCase()
      users = users.filter((u) => u.external_id?.toLowerCase() === wanted)
    }
    if (roles) {
      users = users.filter((u) => roles.includes(u.role))
    }
    return paginate(account, request, '/api/v2/users', 'users', users.map(present))
  })

  app.post('/api/v2/users', (request, reply) => {
    const user = createUser(account, wrapped(request.body, 'user'))
    return send(reply, 201, { user: present(user) }, { location: account.apiUrl(`users/${user.id}`) })
  })

  app.get('/api/v2/users/me', (request) => {
    const user = request.auth.userId !== null ? findUser(account, request.auth.userId) : null
    if (!user) {
      throw recordNotFound()
    }
    return { user: { ...present(user), authenticity_token: account.randomHex(44) } }
  })

  app.post('/api/v2/users/create_or_update', (request, reply) => {
    const input = wrapped(request.body, 'user')
    const target = findUpsertTarget(account, input)
    limitCreateUpdateUser(ctx, reply, target ? `user:${target.id}` : `new:${newUserKey(input)}`)
    const { user, created } = createOrUpdateUser(account, input)
    return send(
      reply,
      created ? 201 : 200,
      { user: present(user) },
      { location: account.apiUrl(`users/${user.id}`) },
    )
  })

  app.post('/api/v2/users/create_many', (request, reply) => {
    requireBulkImport(account)
    const inputs = wrappedList(request.body, 'users')
    return queue(reply, 'Bulk Create User', inputs.length, () => createManyResults(account, inputs))
  })

  app.post('/api/v2/users/create_or_update_many', (request, reply) => {
    requireBulkImport(account)
    const inputs = wrappedList(request.body, 'users')
    return queue(reply, 'Bulk Create User', inputs.length, () => createOrUpdateManyResults(account, inputs))
  })

  app.put('/api/v2/users/update_many', (request, reply) => {
    const refs = refsFromQuery(request)
    let items: { ref: UserRef; change: JsonObject }[]
    if (refs) {
      const change = wrapped(request.body, 'user')
      items = refs.map((ref) => ({ ref, change }))
    } else {
      items = wrappedList(request.body, 'users').map((item) => {
        const { id, ...change } = item
        const ref: UserRef =
          typeof id === 'number' || typeof id === 'string'
            ? { kind: 'id', id }
            : {
                kind: 'external_id',
                externalId: typeof item.external_id === 'string' ? item.external_id : '',
              }
        return { ref, change }
      })
    }
    return queue(reply, 'Bulk Update User', items.length, () => updateManyResults(account, items))
  })

  app.delete('/api/v2/users/destroy_many', (request, reply) => {
    const refs = refsFromQuery(request)
    if (!refs) {
      throw badRequest('InvalidParameter', 'Parameter ids or external_ids is required')
    }
    return queue(reply, 'Bulk Delete User', refs.length, () => destroyManyResults(account, refs))
  })

  app.get('/api/v2/users/show_many', (request) => {
    const ids = listParam(request, 'ids')
    const externalIds = listParam(request, 'external_ids')
    if (ids === null && externalIds === null) {
      throw badRequest('InvalidParameter', 'Parameter ids or external_ids is required')
    }
    const found =
      ids !== null
        ? ids.map((id) => (/^\d+$/.test(id) ? findUser(account, Number(id)) : null))
        : (externalIds ?? []).map((ext) => findUserByExternalId(account, ext))
    const seen = new Set<number>()
    const users = found.flatMap((u) => {
      if (!u || seen.has(u.id)) {
        return []
      }
      seen.add(u.id)
      return [present(u)]
    })
    return { users }
  })

  app.get('/api/v2/users/search', (request) => {
    const q = query(request)
    let users: UserRecord[]
    if (q.external_id !== undefined) {
      const user = findUserByExternalId(account, q.external_id)
      users = user ? [user] : []
    } else if (q.query !== undefined) {
      users = searchUsers(account, q.query)
    } else {
      // What Zendesk answers without either parameter is unverified.
      throw badRequest('InvalidParameter', 'Parameter query or external_id is required')
    }
    return paginate(account, request, '/api/v2/users/search', 'users', users.map(present))
  })

  app.get('/api/v2/users/:user_id', (request) => {
    // A soft-deleted user is still shown, with `active: false` (unverified).
    const user = findUserIncludingDeleted(account, numericParam(request, 'user_id'))
    if (!user) {
      throw recordNotFound()
    }
    return { user: present(user) }
  })

  app.put('/api/v2/users/:user_id', (request, reply) => {
    const id = numericParam(request, 'user_id')
    limitCreateUpdateUser(ctx, reply, `user:${id}`)
    const user = updateUser(account, requireUser(account, id), wrapped(request.body, 'user'))
    return { user: present(user) }
  })

  app.delete('/api/v2/users/:user_id', (request) => {
    const user = requireUser(account, numericParam(request, 'user_id'))
    deleteUser(account, user)
    return { user: present(user) }
  })

  app.get('/api/v2/users/:user_id/identities', (request) => {
    const user = requireUser(account, numericParam(request, 'user_id'))
    const types = typeFilter(request)
    const identities = identitiesOf(account, user.id).filter((i) => !types || types.includes(i.type))
    return listEnvelope(
      'identities',
      identities.map((i) => presentIdentity(account, i)),
    )
  })

  app.post('/api/v2/users/:user_id/identities', (request, reply) => {
    const user = requireUser(account, numericParam(request, 'user_id'))
    const identity = createIdentity(account, user, wrapped(request.body, 'identity'))
    return send(
      reply,
      201,
      { identity: presentIdentity(account, identity) },
      { location: account.apiUrl(`users/${user.id}/identities/${identity.id}`) },
    )
  })

  app.get('/api/v2/users/:user_id/identities/:user_identity_id', (request) => {
    const identity = requireIdentity(request)
    return { identity: presentIdentity(account, identity) }
  })

  app.put('/api/v2/users/:user_id/identities/:user_identity_id', (request) => {
    const identity = updateIdentity(account, requireIdentity(request), wrapped(request.body, 'identity'))
    return { identity: presentIdentity(account, identity) }
  })

  app.delete('/api/v2/users/:user_id/identities/:user_identity_id', (request, reply) => {
    deleteIdentity(account, requireIdentity(request))
    return reply.code(204).send()
  })

  app.put('/api/v2/users/:user_id/identities/:user_identity_id/make_primary', (request) => {
    const identity = requireIdentity(request)
    makePrimaryIdentity(account, identity)
    return { identities: identitiesOf(account, identity.user_id).map((i) => presentIdentity(account, i)) }
  })

  function requireIdentity(request: FastifyRequest): ReturnType<typeof identitiesOf>[number] {
    const user = requireUser(account, numericParam(request, 'user_id'))
    const id = numericParam(request, 'user_identity_id')
    const identity = account.data.identities.get(id)
    if (!identity || identity.user_id !== user.id) {
      throw recordNotFound()
    }
    return identity
  }

  function queue(reply: FastifyReply, jobType: string, total: number, work: () => Json[]): FastifyReply {
    const { job, headers } = startJob(account, jobType, total, work)
    return send(reply, 200, { job_status: presentJob(account, job) }, headers)
  }
}

/** Bulk user imports are off until Zendesk enables them; the answer is 403 [D-users] (facts §0.3). */
function requireBulkImport(account: Account): void {
  if (!account.config.bulkUserImport) {
    throw forbidden()
  }
}

/** Takes from the create-update-user buckets (facts §2.4) unless rate limits are switched off. */
function limitCreateUpdateUser(ctx: RouteContext, reply: FastifyReply, userKey: string): void {
  if (!ctx.account.config.rateLimits) {
    return
  }
  enforceBuckets(
    ctx.limiter,
    [
      { key: 'create-update-user:account', limit: 1, windowMs: SECOND, header: 'create-update-user' },
      { key: `create-update-user:${userKey}`, limit: 5, windowMs: MINUTE, header: 'create-update-user' },
    ],
    (name, value) => void reply.header(name, value),
  )
}

/** The per-user bucket of a user that does not exist yet: its external id, else its email. */
function newUserKey(input: JsonObject): string {
  const ext = input.external_id
  if (typeof ext === 'string' || typeof ext === 'number') {
    return `external_id:${String(ext).toLowerCase()}`
  }
  return typeof input.email === 'string' ? `email:${input.email.trim().toLowerCase()}` : 'anonymous'
}

/** `?ids=` or `?external_ids=` (≤ 100) as user references; null when neither is given. */
function refsFromQuery(request: FastifyRequest): UserRef[] | null {
  const ids = listParam(request, 'ids')
  if (ids !== null) {
    return ids.map((id) => ({ kind: 'id', id }))
  }
  const externalIds = listParam(request, 'external_ids')
  return externalIds?.map((externalId) => ({ kind: 'external_id', externalId })) ?? null
}

/** Repeated query values (`role[]=a&role[]=b`) as a list. */
function multiQuery(request: FastifyRequest, key: string): string[] {
  const v = (request.query as Record<string, string | string[] | undefined>)[key]
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}

/** `?role=` or `?role[]=…` [OAS `UserRoleFilter`, `UserRolesFilter`]. */
function roleFilter(request: FastifyRequest): string[] | null {
  const roles = [...multiQuery(request, 'role'), ...multiQuery(request, 'role[]')]
  return roles.length > 0 ? roles : null
}

/** `?type[]=email&type[]=phone_number` on the identities list [OAS]. */
function typeFilter(request: FastifyRequest): string[] | null {
  const types = [...multiQuery(request, 'type[]'), ...multiQuery(request, 'type')]
  return types.length > 0 ? types : null
}

/**
 * Offset pagination (`page`, `per_page` ≤ 100) or, when `page[size]` is given, cursor pagination
 * (`page[after]`, `page[before]`; `meta` and `links`) [D-pagination]. Cursors here are opaque
 * positions, not Zendesk's format.
 */
function paginate(
  account: Account,
  request: FastifyRequest,
  path: string,
  key: string,
  items: JsonObject[],
): JsonObject {
  const q = query(request)
  const cursorSize = q['page[size]']
  if (cursorSize !== undefined) {
    const size = clamp(toInt(cursorSize) ?? 100, 1, 100)
    const after = decodeCursor(q['page[after]'])
    const before = decodeCursor(q['page[before]'])
    let start = after !== null ? after : 0
    if (before !== null) {
      start = Math.max(0, before - size)
    }
    const end = before !== null ? before : start + size
    const slice = items.slice(start, end)
    const hasMore = end < items.length
    const afterCursor = slice.length > 0 ? encodeCursor(start + slice.length) : null
    const beforeCursor = slice.length > 0 ? encodeCursor(start) : null
    const link = (param: string, cursor: string | null): Json =>
      cursor === null ? null : pageUrl(account, path, q, { 'page[size]': String(size), [param]: cursor })
    return {
      [key]: slice,
      meta: { has_more: hasMore, after_cursor: afterCursor, before_cursor: beforeCursor },
      links: {
        next: hasMore ? link('page[after]', afterCursor) : null,
        prev: start > 0 ? link('page[before]', beforeCursor) : null,
      },
    }
  }
  const perPage = clamp(toInt(q.per_page) ?? 100, 1, 100)
  const page = Math.max(1, toInt(q.page) ?? 1)
  const offset = (page - 1) * perPage
  if (offset >= MAX_OFFSET) {
    // Body text unverified; the status and code were observed (facts §8.4).
    throw badRequest(
      'InvalidPaginationDepth',
      'Offset pagination is limited to the first 10,000 records. Use cursor pagination instead.',
    )
  }
  const link = (n: number): string =>
    pageUrl(account, path, q, { page: String(n), per_page: String(perPage) })
  return {
    [key]: items.slice(offset, offset + perPage),
    next_page: offset + perPage < items.length ? link(page + 1) : null,
    previous_page: page > 1 ? link(page - 1) : null,
    count: items.length,
  }
}

function pageUrl(
  account: Account,
  path: string,
  q: Record<string, string>,
  set: Record<string, string>,
): string {
  const params = new URLSearchParams({ ...q, ...set })
  for (const k of ['page[after]', 'page[before]']) {
    if (!(k in set)) {
      params.delete(k)
    }
  }
  return `${account.baseUrl}${path}.json?${params.toString()}`
}

function toInt(v: string | undefined): number | null {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : null
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n))
}

function encodeCursor(position: number): string {
  return Buffer.from(`p:${position}`).toString('base64url')
}

function decodeCursor(cursor: string | undefined): number | null {
  if (cursor === undefined) {
    return null
  }
  const m = /^p:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (!m) {
    throw badRequest('InvalidPaginationParameter', 'page[after] or page[before] is not a valid cursor')
  }
  return Number(m[1])
}
