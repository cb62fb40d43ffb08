/**
 * Organizations API [D-org] (facts §4). The rules live in `model/organizations.ts`.
 *
 * | Call                                   | Answer                                             |
 * | -------------------------------------- | -------------------------------------------------- |
 * | `GET organizations`                    | 200 `{organizations}`, cursor or offset pages      |
 * | `POST organizations`                   | 201 `{organization}` + `Location`                  |
 * | `GET / PUT / DELETE organizations/{id}`| 200 / 200 (5 a minute per organization) / 204      |
 * | `POST organizations/create_or_update`  | 201 created, 200 updated (id or external_id only)  |
 * | `POST organizations/create_many`       | job "Bulk Create Organization"                     |
 * | `PUT organizations/update_many`        | job, `?ids=` / `?external_ids=` or `{organizations}`|
 * | `DELETE organizations/destroy_many`    | job, `?ids=` / `?external_ids=`                    |
 * | `GET organizations/show_many`          | 200 `{organizations}` for `?ids=` / `?external_ids=`|
 * | `GET organizations/search`             | `?external_id=` or `?name=` (exact, any case)      |
 *
 * Bulk jobs answer 200 with the queued job [OAS], and write nothing until the job completes.
 */
import type { FastifyReply } from 'fastify'

import { ApiError, badRequest } from '../errors.js'
import {
  isObject,
  listParam,
  numericParam,
  paginate,
  query,
  send,
  wrapped,
  wrappedList,
  type RouteModule,
} from '../http.js'
import { presentJob, startJob } from '../model/jobs.js'
import {
  createManyOrganizations,
  createOrganization,
  createOrUpdateOrganization,
  deleteOrganization,
  destroyManyOrganizations,
  findOrganization,
  findOrganizationByExternalId,
  findOrganizationByName,
  listOrganizations,
  presentOrganization,
  requireOrganization,
  updateManyOrganizations,
  updateOrganization,
  updateTargetByExternalId,
  updateTargetById,
  type UpdateTarget,
} from '../model/organizations.js'
import { enforceBuckets, MINUTE } from '../rate-limit.js'
import type { Account, JsonObject } from '../account.js'

/** `PUT organizations/{id}`: 5 requests a minute per organization [D-rl] (facts §8.2). */
const UPDATE_PER_ORGANIZATION_PER_MINUTE = 5
/** The 429 body the document gives `UpdateOrganization` [OAS `Errors`]. */
const UPDATE_LIMITED_BODY = { errors: [{ code: 'TooManyRequests', title: 'Too many requests to update' }] }

/**
 * The organizations a bulk call names, from `?ids=` or `?external_ids=` (≤ 100); 400 when
 * neither is given. Each target is looked up when the job runs, not when the call arrives.
 */
function targetsOf(
  account: Account,
  request: Parameters<typeof query>[0],
  call: string,
): (() => UpdateTarget)[] {
  const ids = listParam(request, 'ids')
  if (ids !== null) {
    return ids.map((raw) => () => updateTargetById(account, /^\d+$/.test(raw) ? Number(raw) : -1))
  }
  const externalIds = listParam(request, 'external_ids')
  if (externalIds !== null) {
    return externalIds.map((ext) => () => updateTargetByExternalId(account, ext))
  }
  throw badRequest('InvalidParameter', `${call} needs ids or external_ids`)
}

function sendJob(reply: FastifyReply, account: Account, start: ReturnType<typeof startJob>): FastifyReply {
  return send(reply, 200, { job_status: presentJob(account, start.job) }, start.headers)
}

export const organizationRoutes: RouteModule = (app, { account, limiter }) => {
  const base = '/api/v2/organizations'

  app.get(base, (request) =>
    paginate(
      request,
      account,
      'organizations',
      'organizations',
      listOrganizations(account).map((o) => presentOrganization(account, o)),
    ),
  )

  app.post(base, (request, reply) => {
    const org = createOrganization(account, wrapped(request.body, 'organization'))
    return send(
      reply,
      201,
      { organization: presentOrganization(account, org) },
      {
        location: account.apiUrl(`organizations/${org.id}`),
      },
    )
  })

  app.post(`${base}/create_or_update`, (request, reply) => {
    const { organization, created } = createOrUpdateOrganization(
      account,
      wrapped(request.body, 'organization'),
    )
    const headers: Record<string, string> = created
      ? { location: account.apiUrl(`organizations/${organization.id}`) }
      : {}
    return send(
      reply,
      created ? 201 : 200,
      { organization: presentOrganization(account, organization) },
      headers,
    )
  })

  app.post(`${base}/create_many`, (request, reply) => {
    const items = wrappedList(request.body, 'organizations')
    const start = startJob(account, 'Bulk Create Organization', items.length, () =>
      createManyOrganizations(account, items),
    )
    return sendJob(reply, account, start)
  })

  app.put(`${base}/update_many`, (request, reply) => {
    const body = request.body
    let changes: { target: () => UpdateTarget; input: JsonObject }[]
    if (isObject(body) && body.organizations !== undefined) {
      // Batch update: each item names its organization by `id` [OAS].
      changes = wrappedList(body, 'organizations').map((input) => ({
        target: () => updateTargetById(account, typeof input.id === 'number' ? input.id : -1),
        input,
      }))
    } else {
      const input = wrapped(body, 'organization')
      changes = targetsOf(account, request, 'update_many').map((target) => ({ target, input }))
    }
    // Job type unverified; named like the observed "Bulk Create Organization".
    const start = startJob(account, 'Bulk Update Organization', changes.length, () =>
      updateManyOrganizations(account, changes),
    )
    return sendJob(reply, account, start)
  })

  app.delete(`${base}/destroy_many`, (request, reply) => {
    const targets = targetsOf(account, request, 'destroy_many')
    // Job type unverified; named like the observed "Bulk Create Organization".
    const start = startJob(account, 'Bulk Delete Organization', targets.length, () =>
      destroyManyOrganizations(account, targets),
    )
    return sendJob(reply, account, start)
  })

  app.get(`${base}/show_many`, (request) => {
    // Unknown keys are left out; the answer keeps the order asked for (unverified).
    const ids = listParam(request, 'ids')
    const externalIds = ids === null ? listParam(request, 'external_ids') : null
    if (ids === null && externalIds === null) {
      throw badRequest('InvalidParameter', 'show_many needs ids or external_ids')
    }
    const found = (ids ?? []).flatMap((raw) => {
      const org = /^\d+$/.test(raw) ? findOrganization(account, Number(raw)) : null
      return org ? [org] : []
    })
    for (const ext of externalIds ?? []) {
      const org = findOrganizationByExternalId(account, ext)
      if (org) {
        found.push(org)
      }
    }
    const unique = [...new Set(found)]
    return {
      organizations: unique.map((o) => presentOrganization(account, o)),
      next_page: null,
      previous_page: null,
      count: unique.length,
    }
  })

  app.get(`${base}/search`, (request) => {
    const q = query(request)
    const byExternalId = q.external_id
    const byName = q.name
    if ((byExternalId === undefined) === (byName === undefined)) {
      // "You may search by an organization's external_id or name, but not both" [OAS]; the
      // error body is unverified.
      throw badRequest('InvalidParameter', 'Search by external_id or by name, not both')
    }
    const org =
      byExternalId !== undefined
        ? findOrganizationByExternalId(account, byExternalId)
        : findOrganizationByName(account, byName ?? '')
    const found = org ? [presentOrganization(account, org)] : []
    return { organizations: found, next_page: null, previous_page: null, count: found.length }
  })

  app.get(`${base}/:organization_id`, (request) => {
    const org = requireOrganization(account, numericParam(request, 'organization_id'))
    return { organization: presentOrganization(account, org) }
  })

  app.put(`${base}/:organization_id`, (request, reply) => {
    const org = requireOrganization(account, numericParam(request, 'organization_id'))
    if (account.config.rateLimits) {
      try {
        enforceBuckets(
          limiter,
          [
            {
              key: `organization-update:${org.id}`,
              limit: UPDATE_PER_ORGANIZATION_PER_MINUTE,
              windowMs: MINUTE,
            },
          ],
          (name, value) => void reply.header(name, value),
        )
      } catch (err) {
        // Unlike most 429s (body unspecified, facts §8.3), the document gives this one a body.
        throw err instanceof ApiError ? new ApiError(429, UPDATE_LIMITED_BODY, err.headers) : err
      }
    }
    updateOrganization(account, org, wrapped(request.body, 'organization'))
    return { organization: presentOrganization(account, org) }
  })

  app.delete(`${base}/:organization_id`, (request, reply) => {
    deleteOrganization(account, requireOrganization(account, numericParam(request, 'organization_id')))
    return reply.code(204).send()
  })
}
