/**
 * User fields and organization fields [D-uf] [OAS] (facts §3): list, create, and show, update or
 * delete by id or key. The definitions and value rules are in model/custom-fields.ts.
 */
import { recordNotFound } from '../errors.js'
import { listEnvelope, send, wrapped, type RouteModule } from '../http.js'
import type { FastifyRequest } from 'fastify'

import type { CustomFieldRecord } from '../account.js'
import {
  createCustomField,
  deleteCustomField,
  findCustomField,
  listCustomFields,
  presentCustomField,
  updateCustomField,
  type FieldKind,
} from '../model/custom-fields.js'

export const customFieldRoutes: RouteModule = (app, { account }) => {
  for (const kind of ['user', 'organization'] as const satisfies readonly FieldKind[]) {
    const plural = `${kind}_fields`
    const singular = `${kind}_field`
    const param = `${kind}_field_id`

    app.get(`/api/v2/${plural}`, () =>
      listEnvelope(
        plural,
        listCustomFields(account, kind).map((f) => presentCustomField(account, kind, f)),
      ),
    )

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

    app.get(`/api/v2/${plural}/:${param}`, (request) => ({
      [singular]: presentCustomField(account, kind, requireField(request)),
    }))

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
