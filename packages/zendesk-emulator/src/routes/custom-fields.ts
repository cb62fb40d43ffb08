/**
 * User, organization and ticket fields [D-uf] [OAS] (facts §3): list, create, and show, update or
 * delete by id (or, for user and organization fields, key). The definitions and value rules are in
 * model/custom-fields.ts.
 *
 * Lists: user and organization fields page like other lists (offset by default, cursor on
 * request; facts §11). Ticket fields come all at once, system fields first, unless cursor
 * parameters are given [OAS `ListTicketFields`: cursor pagination or none].
 */
import { recordNotFound } from '../errors.js'
import { listEnvelope, paginate, query, send, wrapped, type RouteModule } from '../http.js'
import type { FastifyRequest } from 'fastify'

import type { CustomFieldRecord } from '../account.js'
import {
  createCustomField,
  deleteCustomField,
  findCustomField,
  listCustomFields,
  presentCustomField,
  systemTicketFields,
  updateCustomField,
  type FieldKind,
} from '../model/custom-fields.js'

export const customFieldRoutes: RouteModule = (app, { account }) => {
  for (const kind of ['user', 'organization', 'ticket'] as const satisfies readonly FieldKind[]) {
    const plural = `${kind}_fields`
    const singular = `${kind}_field`
    const param = `${kind}_field_id`

    app.get(`/api/v2/${plural}`, (request) => {
      const fields = listCustomFields(account, kind).map((f) => presentCustomField(account, kind, f))
      if (kind !== 'ticket') {
        return paginate(request, account, plural, plural, fields)
      }
      const all = [...systemTicketFields(account), ...fields]
      const q = query(request)
      const cursor = ['page[size]', 'page[after]', 'page[before]'].some((k) => q[k] !== undefined)
      return cursor ? paginate(request, account, plural, plural, all) : listEnvelope(plural, all)
    })

    app.post(`/api/v2/${plural}`, (request, reply) => {
      const field = createCustomField(account, kind, wrapped(request.body, singular))
      return send(
        reply,
        201,
        { [singular]: presentCustomField(account, kind, field) },
        { location: account.apiUrl(`${plural}/${field.id}`) },
      )
    })

    const requireField = (request: FastifyRequest): CustomFieldRecord => {
      const idOrKey = (request.params as Record<string, string | undefined>)[param] ?? ''
      const field = findCustomField(account, kind, idOrKey)
      if (!field) {
        throw recordNotFound()
      }
      return field
    }

    app.get(`/api/v2/${plural}/:${param}`, (request) => {
      const id = (request.params as Record<string, string | undefined>)[param] ?? ''
      const system =
        kind === 'ticket' ? systemTicketFields(account).find((f) => f.id === Number(id)) : undefined
      return { [singular]: system ?? presentCustomField(account, kind, requireField(request)) }
    })

    app.put(`/api/v2/${plural}/:${param}`, (request) => {
      const field = requireField(request)
      updateCustomField(account, kind, field, wrapped(request.body, singular))
      return { [singular]: presentCustomField(account, kind, field) }
    })

    app.delete(`/api/v2/${plural}/:${param}`, (request, reply) => {
      deleteCustomField(account, kind, requireField(request))
      return reply.code(204).send()
    })
  }
}
