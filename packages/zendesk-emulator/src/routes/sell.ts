/**
 * The Sell API under `/v2` (facts §10; rules in model/sell.ts). Authentication and the
 * 36,000-an-hour limit run in server.ts before these routes.
 *
 * | Call                                          | Answer                                        |
 * | --------------------------------------------- | --------------------------------------------- |
 * | `GET /v2/contacts`                            | one page of contacts (filters, sort, paging)  |
 * | `POST /v2/contacts`                           | 200 with the created contact                  |
 * | `POST /v2/contacts/upsert?<filters>`          | 200, created or updated                       |
 * | `GET / PUT / DELETE /v2/contacts/{id}`        | the contact / updated / 204                   |
 * | `GET /v2/{resource_type}/custom_fields`       | custom-field definitions (contact, lead, deal, prospect_and_customer) |
 * | `GET /v2/custom_fields?resource_type=contact` | the same                                      |
 * | `GET /v2/users/self`                          | the user the token belongs to (a connection test) |
 * | `POST` on either custom-fields path           | emulator convenience: defines a custom field (Sell does this in its admin UI only) |
 *
 * Every error under `/v2`, including the ones raised before routing (bad JSON, 429, injected
 * faults), answers in Sell's error envelope with `meta.logref` equal to `X-Request-Id`.
 * A request without a `User-Agent` is 400 `invalid_header`, as Sell's docs say (facts §10,
 * secondary source).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

import type { Json } from '../account.js'
import { ApiError } from '../errors.js'
import { isObject, query, type RouteModule } from '../http.js'
import {
  collection,
  createContact,
  createSellCustomField,
  deleteContact,
  findContact,
  invalidParam,
  isSellResourceType,
  listContacts,
  parsePage,
  presentContact,
  presentSellCustomField,
  requestData,
  SELL_USER_ID,
  type SellErrorItem,
  SellError,
  sellCustomFields,
  sellNotFound,
  type SellResourceType,
  single,
  toApiError,
  updateContact,
  upsertContact,
} from '../model/sell.js'

/** The Sell user's creation time (fixed: the account is seeded). */
const SELL_USER_CREATED_AT = '2026-01-01T00:00:00Z'

export const sellRoutes: RouteModule = (app, { account }) => {
  void app.register(
    (v2: FastifyInstance, _opts, done) => {
      v2.addHook('onRequest', (request, _reply, next) => {
        if (!request.headers['user-agent']) {
          next(
            new SellError(400, [
              {
                code: 'invalid_header',
                message: 'Invalid header',
                details: 'invalid_user_agent: every request must send a User-Agent header',
              },
            ]),
          )
          return
        }
        next()
      })

      v2.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
        const e = asApiError(error, logref(reply))
        for (const [k, v] of Object.entries(e.headers)) {
          void reply.header(k, v)
        }
        if (e.status >= 500 && !(error instanceof ApiError)) {
          request.log.error(error)
        }
        return reply.code(e.status).send(e.body)
      })

      v2.setNotFoundHandler((request, reply) => {
        const e = toApiError(sellNotFound('Requested path was not found.'), logref(reply))
        return reply.code(e.status).headers(e.headers).send(e.body)
      })

      v2.get('/contacts', (request) => listContacts(account, query(request)))

      // "Retrieve an authenticating user" (developer.zendesk.com/api-reference/sales-crm/resources/
      // users; not in the facts file): the token's user, here the seeded admin. Fields from that
      // page's JSON format, unverified against a real account.
      v2.get('/users/self', () =>
        single('user', {
          id: SELL_USER_ID,
          name: account.seed.adminName,
          email: account.seed.adminEmail,
          status: 'active',
          invited: true,
          confirmed: true,
          role: 'admin',
          timezone: 'UTC',
          created_at: SELL_USER_CREATED_AT,
          updated_at: SELL_USER_CREATED_AT,
        }),
      )

      v2.post('/contacts', (request) =>
        single('contact', presentContact(createContact(account, requestData(request.body)))),
      )

      v2.post('/contacts/upsert', (request) => {
        const data = requestData(request.body)
        return single('contact', presentContact(upsertContact(account, query(request), data)))
      })

      v2.get('/contacts/:id', (request) =>
        single('contact', presentContact(findContact(account, contactId(request)))),
      )

      v2.put('/contacts/:id', (request) => {
        const contact = findContact(account, contactId(request))
        return single('contact', presentContact(updateContact(account, contact, requestData(request.body))))
      })

      v2.delete('/contacts/:id', (request, reply) => {
        deleteContact(account, findContact(account, contactId(request)))
        return reply.code(204).send()
      })

      v2.get('/:resource_type/custom_fields', (request) => {
        const type = pathResourceType(request)
        return customFieldList(request, `/v2/${type}/custom_fields`, type)
      })

      v2.post('/:resource_type/custom_fields', (request) => {
        const type = pathResourceType(request)
        return single(
          'custom_field',
          presentSellCustomField(createSellCustomField(account, type, requestData(request.body))),
        )
      })

      v2.get('/custom_fields', (request) => {
        const type = queryResourceType(query(request).resource_type)
        return customFieldList(request, '/v2/custom_fields', type)
      })

      v2.post('/custom_fields', (request) => {
        const data = requestData(request.body)
        const type = queryResourceType(
          query(request).resource_type ??
            (typeof data.resource_type === 'string' ? data.resource_type : undefined),
        )
        const { resource_type: _ignored, ...rest } = data
        return single('custom_field', presentSellCustomField(createSellCustomField(account, type, rest)))
      })

      done()
    },
    { prefix: '/v2' },
  )

  function customFieldList(request: FastifyRequest, path: string, type: SellResourceType): Json {
    const q = query(request)
    const fields = sellCustomFields(account, type).map(presentSellCustomField)
    return collection(account, path, q, 'custom_field', fields, parsePage({ per_page: '100', ...q }))
  }
}

function contactId(request: FastifyRequest): number {
  const raw = (request.params as Record<string, string | undefined>).id ?? ''
  if (!/^\d+$/.test(raw)) {
    throw sellNotFound(`contact ${raw} was not found`)
  }
  return Number(raw)
}

function pathResourceType(request: FastifyRequest): SellResourceType {
  const raw = (request.params as Record<string, string | undefined>).resource_type
  if (!isSellResourceType(raw)) {
    throw sellNotFound('Requested path was not found.')
  }
  return raw
}

function queryResourceType(raw: string | undefined): SellResourceType {
  if (!isSellResourceType(raw)) {
    throw invalidParam('resource_type must be one of contact, lead, deal, prospect_and_customer')
  }
  return raw
}

/** The request id server.ts set; Sell's `meta.logref` is that id [Sell-err]. */
function logref(reply: FastifyReply): string {
  const id = reply.getHeader('x-request-id')
  return typeof id === 'string' ? id : ''
}

/** Sell error codes for statuses raised outside these routes [Sell-err] [AE-sell]. */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'invalid_payload',
  401: 'unauthorized',
  403: 'insufficient_scope',
  404: 'not_found',
  413: 'invalid_payload',
  415: 'invalid_header',
  429: 'rate_limit_exceeded',
  500: 'server_error',
  502: 'temporarily_unavailable',
  503: 'temporarily_unavailable',
  504: 'temporarily_unavailable',
}

/**
 * Any error under `/v2` in Sell's envelope. A body already in Sell's shape (server.ts's 401)
 * keeps its errors and gets this request's logref; other Zendesk-shaped bodies (429, injected
 * faults, bad JSON) are re-worded with the matching Sell code; headers such as `Retry-After`
 * are kept.
 */
function asApiError(error: unknown, ref: string): ApiError {
  if (error instanceof SellError) {
    return toApiError(error, ref)
  }
  let status = 500
  let headers: Record<string, string> = {}
  let errors: SellErrorItem[] | null = null
  let details = 'The server failed to process the request.'
  if (error instanceof ApiError) {
    status = error.status
    headers = error.headers
    const body = error.body
    if (isObject(body) && Array.isArray(body.errors)) {
      errors = body.errors.flatMap((item) =>
        isObject(item) && isObject(item.error) ? [toItem(item.error)] : [],
      )
    } else if (isObject(body) && typeof body.description === 'string') {
      details = body.description
    } else if (typeof body === 'string') {
      details = body
    }
  } else {
    const e = error as Partial<FastifyError>
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      status = e.statusCode
      details = e.message ?? details
    }
  }
  const code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'server_error' : 'invalid_param')
  const items = errors ?? [{ code, message: messageFor(status), details }]
  return toApiError(new SellError(status, items, headers), ref)
}

function toItem(raw: Record<string, Json>): SellErrorItem {
  const text = (v: Json | undefined): string => (typeof v === 'string' ? v : '')
  const message = text(raw.message)
  const item: SellErrorItem = { code: text(raw.code), message, details: text(raw.details) || message }
  if (typeof raw.resource === 'string') {
    item.resource = raw.resource
    item.field = typeof raw.field === 'string' ? raw.field : null
  }
  return item
}

function messageFor(status: number): string {
  switch (status) {
    case 429:
      return 'Rate limit exceeded'
    case 401:
      return 'Unauthorized'
    default:
      return status >= 500 ? 'Server error' : 'Bad request'
  }
}
