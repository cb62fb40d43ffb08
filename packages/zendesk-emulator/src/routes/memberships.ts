/**
 * Organization Memberships API [OAS] [node-zendesk] (facts §5). The rules live in
 * `model/memberships.ts`.
 *
 * | Call                                                           | Answer                               |
 * | -------------------------------------------------------------- | ------------------------------------ |
 * | `GET organization_memberships`                                 | 200, every membership                |
 * | `POST organization_memberships`                                | 201 `{organization_membership}`      |
 * | `POST organization_memberships/create_many`                    | job                                  |
 * | `DELETE organization_memberships/destroy_many?ids=`            | job                                  |
 * | `GET / DELETE organization_memberships/{id}`                   | 200 / 204                            |
 * | `GET / POST users/{uid}/organization_memberships`              | default first, then by name / 201    |
 * | `DELETE users/{uid}/organization_memberships/{id}`             | 204                                  |
 * | `PUT users/{uid}/organization_memberships/{id}/make_default`   | 200 `{organization_memberships}`     |
 * | `GET users/{uid}/organizations`                                | 200 `{organizations}`                |
 * | `DELETE users/{uid}/organizations/{oid}`                       | 204                                  |
 * | `PUT users/{uid}/organizations/{oid}/make_default`             | 200 `{organization_membership}`      |
 * | `GET organizations/{oid}/organization_memberships`             | 200                                  |
 *
 * The user-scoped paths `users/{uid}/organization_memberships[/{id}]`, `users/{uid}/organizations`
 * (GET) and `organizations/{oid}/organization_memberships` are in Zendesk's docs and client
 * libraries but missing from the OpenAPI document (specs/README.md).
 */
import { badRequest, recordNotFound } from '../errors.js'
import { listParam, numericParam, paginate, send, wrapped, wrappedList, type RouteModule } from '../http.js'
import { presentJob, startJob } from '../model/jobs.js'
import {
  createManyMemberships,
  createMembership,
  destroyManyMemberships,
  findMembership,
  listMemberships,
  makeDefault,
  membershipsOfOrganization,
  membershipsOfUser,
  presentMembership,
  removeMembership,
  requireMembership,
} from '../model/memberships.js'
import { presentOrganization, requireOrganization } from '../model/organizations.js'
import { requireUser } from '../model/users.js'

export const membershipRoutes: RouteModule = (app, { account }) => {
  const base = '/api/v2/organization_memberships'
  const ofUser = '/api/v2/users/:user_id/organization_memberships'

  app.get(base, (request) =>
    paginate(
      request,
      account,
      'organization_memberships',
      'organization_memberships',
      listMemberships(account).map((m) => presentMembership(account, m)),
    ),
  )

  app.post(base, (request, reply) => {
    const m = createMembership(account, wrapped(request.body, 'organization_membership'))
    return send(
      reply,
      201,
      { organization_membership: presentMembership(account, m) },
      {
        location: account.apiUrl(`organization_memberships/${m.id}`),
      },
    )
  })

  app.post(`${base}/create_many`, (request, reply) => {
    const items = wrappedList(request.body, 'organization_memberships')
    // Job type unverified.
    const start = startJob(account, 'Bulk Create Organization Membership', items.length, () =>
      createManyMemberships(account, items),
    )
    return send(reply, 200, { job_status: presentJob(account, start.job) }, start.headers)
  })

  app.delete(`${base}/destroy_many`, (request, reply) => {
    const ids = listParam(request, 'ids')
    if (ids === null) {
      throw badRequest('InvalidParameter', 'destroy_many needs ids')
    }
    const numeric = ids.map((raw) => (/^\d+$/.test(raw) ? Number(raw) : -1))
    // Job type unverified.
    const start = startJob(account, 'Bulk Delete Organization Membership', numeric.length, () =>
      destroyManyMemberships(account, numeric),
    )
    return send(reply, 200, { job_status: presentJob(account, start.job) }, start.headers)
  })

  app.get(`${base}/:organization_membership_id`, (request) => {
    const m = requireMembership(account, numericParam(request, 'organization_membership_id'))
    return { organization_membership: presentMembership(account, m) }
  })

  app.delete(`${base}/:organization_membership_id`, (request, reply) => {
    removeMembership(account, numericParam(request, 'organization_membership_id'))
    return reply.code(204).send()
  })

  // Per-user paths: an unknown (or deleted) user in the path is 404.

  app.get(ofUser, (request) => {
    const user = requireUser(account, numericParam(request, 'user_id'))
    return paginate(
      request,
      account,
      `users/${user.id}/organization_memberships`,
      'organization_memberships',
      membershipsOfUser(account, user.id).map((m) => presentMembership(account, m)),
    )
  })

  app.post(ofUser, (request, reply) => {
    const user = requireUser(account, numericParam(request, 'user_id'))
    const m = createMembership(account, wrapped(request.body, 'organization_membership'), user.id)
    return send(
      reply,
      201,
      { organization_membership: presentMembership(account, m) },
      {
        location: account.apiUrl(`organization_memberships/${m.id}`),
      },
    )
  })

  /** The membership `{id}` of user `{uid}`; 404 when either is unknown or they do not match. */
  const membershipOfUser = (request: Parameters<typeof numericParam>[0]) => {
    const user = requireUser(account, numericParam(request, 'user_id'))
    const m = requireMembership(account, numericParam(request, 'organization_membership_id'))
    if (m.user_id !== user.id) {
      throw recordNotFound()
    }
    return m
  }

  app.delete(`${ofUser}/:organization_membership_id`, (request, reply) => {
    removeMembership(account, membershipOfUser(request).id)
    return reply.code(204).send()
  })

  app.put(`${ofUser}/:organization_membership_id/make_default`, (request) => {
    const m = membershipOfUser(request)
    makeDefault(account, m)
    return {
      organization_memberships: membershipsOfUser(account, m.user_id).map((x) =>
        presentMembership(account, x),
      ),
    }
  })

  /** The membership of user `{uid}` in organization `{oid}`; 404 when there is none. */
  const membershipIn = (request: Parameters<typeof numericParam>[0]) => {
    const user = requireUser(account, numericParam(request, 'user_id'))
    const org = requireOrganization(account, numericParam(request, 'organization_id'))
    const m = findMembership(account, user.id, org.id)
    if (!m) {
      throw recordNotFound()
    }
    return m
  }

  app.get('/api/v2/users/:user_id/organizations', (request) => {
    const user = requireUser(account, numericParam(request, 'user_id'))
    // The user's organizations in membership order: the default first, then by name.
    const orgs = membershipsOfUser(account, user.id).flatMap((m) => {
      const org = account.data.organizations.get(m.organization_id)
      return org ? [presentOrganization(account, org)] : []
    })
    return paginate(request, account, `users/${user.id}/organizations`, 'organizations', orgs)
  })

  app.delete('/api/v2/users/:user_id/organizations/:organization_id', (request, reply) => {
    removeMembership(account, membershipIn(request).id)
    return reply.code(204).send()
  })

  app.put('/api/v2/users/:user_id/organizations/:organization_id/make_default', (request) => {
    const m = membershipIn(request)
    makeDefault(account, m)
    return { organization_membership: presentMembership(account, m) }
  })

  app.get('/api/v2/organizations/:organization_id/organization_memberships', (request) => {
    const org = requireOrganization(account, numericParam(request, 'organization_id'))
    return paginate(
      request,
      account,
      `organizations/${org.id}/organization_memberships`,
      'organization_memberships',
      membershipsOfOrganization(account, org.id)
        .sort((a, b) => a.id - b.id)
        .map((m) => presentMembership(account, m)),
    )
  })
}
