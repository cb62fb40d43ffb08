/**
 * Zendesk's own OpenAPI document (`shared/specs/zendesk-support-oas.yaml`, facts §0.1) as the
 * contract for the emulator's Support API:
 *
 * - `loadOas()` finds, parses (YAML 1.2, once per test file: about a second) and wraps the document;
 * - `oas.hasOperation(method, path)` says whether the document lists an endpoint;
 * - `oas.validateResponse(method, path, status, body)` checks an answer against the document.
 *
 * Every change we make to the document's schemas is in one table, `RELAXATIONS`, each with its
 * reason. Endpoints the emulator serves that the document lacks are in `MISSING_FROM_DOCUMENT`.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { parse } from 'yaml'

export type Schema = Record<string, unknown>

interface MediaType {
  schema?: Schema
}

interface OasResponse {
  content?: Record<string, MediaType>
}

interface Operation {
  operationId?: string
  requestBody?: { content?: Record<string, MediaType> }
  responses?: Record<string, OasResponse>
}

interface OasDocument {
  paths: Record<string, Record<string, unknown>>
  components: { schemas: Record<string, Schema> }
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const

/**
 * Endpoints the emulator serves on purpose that the June 2025 document does not list
 * (`specs/README.md`: "the user-scoped membership paths … still exist and appear in the human docs
 * and in node-zendesk"). Keys use `{param}` segments, compared positionally (names do not matter).
 * `responses` names the documented schema of the sibling endpoint that answers the same resource,
 * so these answers are still checked.
 */
export const MISSING_FROM_DOCUMENT: Record<
  string,
  { reason: string; responses: Record<number, string | null> }
> = {
  'GET /api/v2/users/{user_id}/organization_memberships': {
    reason:
      "A user's memberships, default first (facts §5; node-zendesk). Same answer as GET organization_memberships.",
    responses: { 200: 'OrganizationMembershipsResponse' },
  },
  'POST /api/v2/users/{user_id}/organization_memberships': {
    reason: 'Membership create in the user-scoped form used by node-zendesk (facts §5).',
    responses: { 201: 'OrganizationMembershipResponse' },
  },
  'DELETE /api/v2/users/{user_id}/organization_memberships/{organization_membership_id}': {
    reason: 'Membership delete in the user-scoped form used by client libraries (facts §5); 204.',
    responses: { 204: null },
  },
  'GET /api/v2/users/{user_id}/organizations': {
    reason: "A user's organizations (facts §4 table, last row). Same answer as GET organizations.",
    responses: { 200: 'OrganizationsResponse' },
  },
  'GET /api/v2/organizations/{organization_id}/organization_memberships': {
    reason: "An organization's memberships (facts §5, List). Same answer as GET organization_memberships.",
    responses: { 200: 'OrganizationMembershipsResponse' },
  },
}

// ---------------------------------------------------------------------------------------------
// Relaxations: the only places where we deviate from the document. Each entry says why.
// ---------------------------------------------------------------------------------------------

interface Relaxation {
  schema: string
  why: string
  apply: (schemas: Record<string, Schema>) => Schema
}

/** Marks properties of an object schema nullable (OAS 3.0 `nullable`, which ajv understands next to `type`). */
function nullable(schema: Schema, names: string[]): Schema {
  const properties = { ...(schema.properties as Record<string, Schema>) }
  for (const name of names) {
    const p = properties[name]
    if (!p) {
      throw new Error(`relaxation: no property ${name}`)
    }
    properties[name] = p.type === undefined ? { anyOf: [p, { type: 'null' }] } : { ...p, nullable: true }
  }
  return { ...schema, properties }
}

/**
 * A permissive merge of object schemas: every property of every branch (types of a property that
 * several branches declare differently are joined with anyOf), required only what all branches
 * require, extra properties allowed.
 */
function merge(schemas: Record<string, Schema>, branches: string[]): Schema {
  const properties: Record<string, Schema> = {}
  let required: string[] | null = null
  for (const name of branches) {
    const branch = schemas[name]
    if (!branch) {
      throw new Error(`relaxation: no schema ${name}`)
    }
    for (const [key, prop] of Object.entries((branch.properties ?? {}) as Record<string, Schema>)) {
      const before = properties[key]
      properties[key] =
        before === undefined ? prop : sameType(before, prop) ? before : { anyOf: [before, prop] }
    }
    const req = (branch.required ?? []) as string[]
    required = required === null ? [...req] : required.filter((r) => req.includes(r))
  }
  return { type: 'object', properties, required: required ?? [], additionalProperties: true }
}

/** Whether two property schemas accept the same values (descriptions and examples aside). */
function sameType(a: Schema, b: Schema): boolean {
  const bare = (x: Schema): string =>
    JSON.stringify(x, (k, v: unknown) => (k === 'description' || k === 'example' ? undefined : v))
  return bare(a) === bare(b)
}

export const RELAXATIONS: Relaxation[] = [
  // Over-strict types (the document against real Zendesk). Applied first: the merges below copy
  // the relaxed branches.
  {
    schema: 'UserForAdmin',
    why:
      'A real 201 user-create answer [Elixir-test] (and a real export of govuk.zendesk.com users) sends ' +
      '`alias`, `details`, `notes`, `signature`, `default_group_id` and `last_login_at` as null for a ' +
      'new end user; the document types them as non-nullable.',
    apply: (s) =>
      nullable(s.UserForAdmin!, [
        'alias',
        'details',
        'notes',
        'signature',
        'default_group_id',
        'last_login_at',
      ]),
  },
  {
    schema: 'TicketObject',
    why:
      'Unset ticket attributes are null in real answers. Observed in tickets captured from real accounts ' +
      'in public code (a 2018 ticket export; nock fixtures of GET /api/v2/tickets/1 and sample tickets, ' +
      '2017-2022): external_id, type, priority, assignee_id, organization_id, group_id, recipient ' +
      '(null on API, web and sample tickets), forum_topic_id, problem_id, satisfaction_rating and ' +
      'custom_fields[].value. The document types them as non-nullable. Not yet in zendesk-api-facts.md. ' +
      '(brand_id and ticket_form_id were integers in every captured ticket, so they stay strict.)',
    apply: (s) => {
      const t = nullable(s.TicketObject!, [
        'external_id',
        'type',
        'priority',
        'assignee_id',
        'organization_id',
        'group_id',
        'recipient',
        'forum_topic_id',
        'problem_id',
        'satisfaction_rating',
      ])
      const props = t.properties as Record<string, Schema>
      // The enum lists must admit null too (ajv checks `enum` separately from `nullable`).
      for (const key of ['type', 'priority']) {
        const p = props[key]!
        props[key] = { ...p, enum: [...(p.enum as unknown[]), null] }
      }
      props.custom_fields = {
        type: 'array',
        items: {
          type: 'object',
          properties: { id: { type: 'integer' }, value: { type: 'string', nullable: true } },
        },
      }
      return t
    },
  },
  {
    schema: 'OrganizationObject',
    why:
      'The document types organization_fields values as string or number, but organization fields are ' +
      'the same model and types as user fields (facts §3: checkbox → boolean) and the document types ' +
      'user_fields values as anything (UserForAdmin.user_fields: additionalProperties true). Unset ' +
      'fields come back as null (unverified for organizations; the captured real ticket above shows ' +
      'every unset custom field value as null). Values are relaxed to any JSON value, as for users.',
    apply: (s) => {
      const o = s.OrganizationObject!
      const props = { ...(o.properties as Record<string, Schema>) }
      props.organization_fields = { type: 'object', additionalProperties: true, nullable: true }
      return { ...o, properties: props }
    },
  },
  // The unions named in specs/README.md ("Validators and code generators need these relaxed or
  // flattened").
  {
    schema: 'UserObject',
    why:
      'anyOf(UserForAdmin, UserForEndUser) without a discriminator: on a mismatch ajv reports both ' +
      "branches' errors, which reads as noise. The emulator answers as an admin sees users, so we " +
      'validate against one merged object (UserForAdmin is a superset of the end-user view; the ' +
      'looser type wins where they differ, required is only `name`).',
    apply: (s) => merge(s, ['UserForAdmin', 'UserForEndUser']),
  },
  {
    schema: 'UserInput',
    why:
      'anyOf(UserCreateInput, UserMergePropertiesInput, UserMergeByIdInput): the last branch accepts any ' +
      'object, so the union checks nothing. The merge keeps the union as permissive (nothing required: ' +
      'create_or_update_many identifies users by email or external_id, facts §2.2) but types the ' +
      'known properties.',
    apply: (s) => merge(s, ['UserCreateInput', 'UserMergePropertiesInput', 'UserMergeByIdInput']),
  },
  {
    schema: 'JobStatusResultObject',
    why:
      'oneOf(CreateResourceResult {id, index}, UpdateResourceResult {id, action, success, status}, ' +
      'FailedResult {id, action, error, success, details}) matches neither the real users ' +
      'create_or_update_many results {id, status, email} / {id, error, details, status: "Failed"} ' +
      '(facts §2.3, observed) nor exclusively (an item with both shapes fails oneOf). Merged: every ' +
      'documented key with its type, `id` required, and at least one of index/status/success so a ' +
      'result always says what happened (facts §7: "key off status/success").',
    apply: (s) => ({
      ...merge(s, ['CreateResourceResult', 'UpdateResourceResult', 'FailedResult']),
      anyOf: [{ required: ['index'] }, { required: ['status'] }, { required: ['success'] }],
    }),
  },
]

/**
 * Error bodies for statuses the document does not define for an operation (it defines almost no
 * 4xx for users, organizations, memberships, fields, tickets or jobs). These shapes are Zendesk's
 * classic error bodies from zendesk-api-facts.md §1.3 and §1.4, not from the document.
 */
const FACTS_ERROR_SCHEMAS: Record<number, { why: string; schema: Schema }> = {
  400: {
    why: 'facts §1.4: `{error, description}` (the exact codes of a malformed request are unverified)',
    schema: {
      type: 'object',
      required: ['error', 'description'],
      properties: { error: { type: 'string' }, description: { type: 'string' } },
    },
  },
  401: {
    why: 'facts §1.3: `{"error":"Couldn\'t authenticate you"}` (observed)',
    schema: {
      type: 'object',
      required: ['error'],
      properties: { error: { const: "Couldn't authenticate you" } },
    },
  },
  403: {
    why: 'facts §1.3/§1.4: `{"error":{"title":…,"message":…}}` (observed)',
    schema: {
      type: 'object',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['title', 'message'],
          properties: { title: { type: 'string' }, message: { type: 'string' } },
        },
      },
    },
  },
  404: {
    why: 'facts §1.4: `{"error":"RecordNotFound","description":"Not found"}`, or InvalidEndpoint (observed)',
    schema: {
      type: 'object',
      required: ['error', 'description'],
      properties: { error: { enum: ['RecordNotFound', 'InvalidEndpoint'] }, description: { type: 'string' } },
    },
  },
  422: {
    why: 'facts §1.4: RecordInvalid with `details` keyed by field, each `[{description, error}]` (observed)',
    schema: {
      type: 'object',
      required: ['error', 'description', 'details'],
      properties: {
        error: { const: 'RecordInvalid' },
        description: { type: 'string' },
        details: {
          type: 'object',
          minProperties: 1,
          additionalProperties: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              required: ['description', 'error'],
              properties: { description: { type: 'string' }, error: { type: 'string' } },
            },
          },
        },
      },
    },
  },
}

// ---------------------------------------------------------------------------------------------

/** Where the document is: next to the repository (`<root>/../shared/specs/…`, here and in CI). */
export function oasPath(): string {
  const override = process.env.ZENDESK_OAS_PATH
  if (override) {
    return resolve(override)
  }
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg) && 'workspaces' in (JSON.parse(readFileSync(pkg, 'utf8')) as object)) {
      return join(dir, '..', 'shared', 'specs', 'zendesk-support-oas.yaml')
    }
    const up = dirname(dir)
    if (up === dir) {
      throw new Error('contract tests: repository root (package.json with workspaces) not found')
    }
    dir = up
  }
}

/** `/api/v2/users/{user_id}.json`, `/api/v2/users/:user_id` → `/api/v2/users/{}`. */
export function normalizePath(path: string): string {
  const bare = path.split('?')[0]!.replace(/\.json$/, '')
  return bare
    .split('/')
    .map((seg) => (/^\{.+\}$/.test(seg) || seg.startsWith(':') ? '{}' : seg))
    .join('/')
}

/** A fastify route url (`/api/v2/users/:user_id`) in the document's spelling (`{user_id}`). */
export function toTemplate(fastifyUrl: string): string {
  return fastifyUrl
    .split('/')
    .map((seg) => (seg.startsWith(':') ? `{${seg.slice(1).replace(/\(.*$/, '')}}` : seg))
    .join('/')
}

/** Whether a concrete path (`/api/v2/users/12.json?x=1`) fits a template (`/api/v2/users/{id}`). */
export function pathMatches(template: string, path: string): boolean {
  const t = template.split('/')
  const p = path
    .split('?')[0]!
    .replace(/\.json$/, '')
    .split('/')
  return (
    t.length === p.length &&
    t.every((seg, i) => seg === p[i] || ((/^\{.+\}$/.test(seg) || seg.startsWith(':')) && p[i] !== ''))
  )
}

/** Among templates fitting a path, the one with the most literal segments (`show_many` beats `{id}`). */
export function bestTemplate(templates: string[], path: string): string | null {
  let best: string | null = null
  let bestLiterals = -1
  for (const t of templates) {
    if (pathMatches(t, path)) {
      const literals = t.split('/').filter((s) => !/^\{.+\}$/.test(s) && !s.startsWith(':')).length
      if (literals > bestLiterals) {
        best = t
        bestLiterals = literals
      }
    }
  }
  return best
}

/**
 * The Support API routes of an emulator (`emulator.routes`, fastify syntax) as document-style
 * templates, without duplicates: `/api/v2/…` minus the Events API (`/api/v2/user_profiles…`,
 * `/api/v2/users/{id}/events`), which the document does not cover (facts §0.1).
 */
export function supportRoutes(
  routes: { method: string; url: string }[],
): { method: string; template: string }[] {
  const seen = new Set<string>()
  const out: { method: string; template: string }[] = []
  for (const { method, url } of routes) {
    const template = toTemplate(url)
    const key = `${method} ${template}`
    if (
      !template.startsWith('/api/v2/') ||
      template.startsWith('/api/v2/user_profiles') ||
      /^\/api\/v2\/users\/\{[^}]+\}\/events/.test(template) ||
      seen.has(key)
    ) {
      continue
    }
    seen.add(key)
    out.push({ method, template })
  }
  return out.sort((a, b) => a.template.localeCompare(b.template) || a.method.localeCompare(b.method))
}

export interface ValidationResult {
  /** Which contract was applied. */
  source: 'document' | 'document (sibling endpoint)' | 'facts' | 'none'
  /** e.g. `ShowUser 200 → #/components/schemas/UserResponse`. */
  contract: string
  /** Empty when the answer conforms; otherwise one line per problem (instance path, schema path, message). */
  errors: string[]
}

function isOperation(v: unknown): v is Operation {
  return typeof v === 'object' && v !== null
}

export class Oas {
  readonly doc: OasDocument
  private readonly ajv: Ajv
  private readonly compiled = new Map<string, ValidateFunction>()
  /** `GET /api/v2/users/{}` → the operation and its template. */
  private readonly byKey = new Map<string, { template: string; op: Operation }>()
  private readonly templates: string[]

  constructor(doc: OasDocument) {
    this.doc = doc
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const method of HTTP_METHODS) {
        const op = item[method]
        if (isOperation(op)) {
          this.byKey.set(`${method.toUpperCase()} ${normalizePath(template)}`, { template, op })
        }
      }
    }
    this.templates = Object.keys(doc.paths)

    const schemas = structuredClone(doc.components.schemas)
    for (const r of RELAXATIONS) {
      if (!schemas[r.schema]) {
        throw new Error(`relaxation for unknown schema ${r.schema}`)
      }
      schemas[r.schema] = r.apply(schemas)
    }
    this.ajv = new Ajv({
      // OAS 3.0 is not JSON Schema: unknown keywords (example, readOnly, discriminator …) are ignored.
      strict: false,
      allErrors: true,
      logger: false,
      // `parentSchema` on errors, mapped back to a document pointer by `where` (ajv's own
      // schemaPath is relative to whichever $ref it is in, so it does not name the component).
      verbose: true,
      formats: {
        // The document spells RFC 3339 timestamps both `date-time` and `datetime`.
        'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
        datetime: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
        date: /^\d{4}-\d{2}-\d{2}$/,
        email: /^[^\s@]+@[^\s@]+$/,
        // Descriptive only in this document (`format: string`, `int64`, `url`, …): not checked.
        url: true,
        uri: true,
        int32: true,
        int64: true,
        integer: true,
        string: true,
        text: true,
      },
    })
    this.ajv.addSchema({ components: { schemas } }, 'oas')
    indexPointers(schemas, '#/components/schemas', this.where)
  }

  /** Schema object → its pointer in the (relaxed) components, for error messages. */
  private readonly where = new WeakMap<object, string>()

  /** Whether the document lists this method and path (parameters compared by position only). */
  hasOperation(method: string, path: string): boolean {
    return this.byKey.has(`${method.toUpperCase()} ${normalizePath(path)}`)
  }

  /** The document's operation for a concrete request path, if any. */
  findOperation(method: string, path: string): { template: string; op: Operation } | null {
    const template = bestTemplate(this.templates, path)
    return template === null
      ? null
      : (this.byKey.get(`${method.toUpperCase()} ${normalizePath(template)}`) ?? null)
  }

  /** Validates any schema of the document (`UserResponse`, …) against a value. */
  validateSchema(name: string, value: unknown): string[] {
    return this.run(`schema:${name}`, () => ({ $ref: `oas#/components/schemas/${name}` }), value)
  }

  /**
   * Checks an answer: the operation's response for `status` (or `default`); for an error status
   * the document does not define, the classic Zendesk error shape from the facts; for endpoints on
   * `MISSING_FROM_DOCUMENT`, the documented sibling schema.
   */
  validateResponse(method: string, path: string, status: number, body: unknown): ValidationResult {
    const found = this.findOperation(method, path)
    if (!found) {
      const key = Object.keys(MISSING_FROM_DOCUMENT).find((k) => {
        const [m, t] = k.split(' ') as [string, string]
        return m === method.toUpperCase() && pathMatches(t, path)
      })
      const sibling = key === undefined ? undefined : MISSING_FROM_DOCUMENT[key]!.responses[status]
      if (sibling !== undefined) {
        return {
          source: 'document (sibling endpoint)',
          contract: `${key} ${status} → ${sibling ?? 'no body'}`,
          errors: sibling === null ? emptyBody(body) : this.validateSchema(sibling, body),
        }
      }
      if (key === undefined || status < 400) {
        return {
          source: 'none',
          contract: `${method} ${path} ${status}`,
          errors: [`the document defines no operation (or sibling schema) for ${method} ${path} ${status}`],
        }
      }
      return this.factsError(status, body, `${key} ${status}`)
    }
    const { op, template } = found
    const name = `${op.operationId ?? `${method} ${template}`} ${status}`
    const response = op.responses?.[String(status)] ?? op.responses?.default
    if (!response) {
      if (status >= 400) {
        return this.factsError(status, body, name)
      }
      const defined = Object.keys(op.responses ?? {}).join(', ')
      return {
        source: 'none',
        contract: name,
        errors: [`the document defines no ${status} answer for ${op.operationId} (only ${defined})`],
      }
    }
    const schema = response.content?.['application/json']?.schema
    if (!schema) {
      return { source: 'document', contract: `${name} → no body`, errors: emptyBody(body) }
    }
    const ref = typeof schema.$ref === 'string' ? schema.$ref : 'inline schema'
    return {
      source: 'document',
      contract: `${name} → ${ref}`,
      errors: this.run(`res:${method} ${template} ${status}`, () => rebase(schema), body),
    }
  }

  /** Checks a request body against the operation's documented request schema (none → no check). */
  validateRequest(method: string, path: string, body: unknown): string[] {
    const found = this.findOperation(method, path)
    const schema = found?.op.requestBody?.content?.['application/json']?.schema
    if (!found || !schema) {
      return []
    }
    return this.run(`req:${method} ${found.template}`, () => rebase(schema), body)
  }

  private factsError(status: number, body: unknown, name: string): ValidationResult {
    const facts = FACTS_ERROR_SCHEMAS[status]
    if (!facts) {
      return {
        source: 'none',
        contract: name,
        errors: [`neither the document nor the facts define a ${status} answer for ${name}`],
      }
    }
    return {
      source: 'facts',
      contract: `${name} → ${facts.why}`,
      errors: this.run(`facts:${status}`, () => facts.schema, body),
    }
  }

  private run(key: string, schema: () => Schema, value: unknown): string[] {
    let validate = this.compiled.get(key)
    if (!validate) {
      validate = this.ajv.compile(schema())
      this.compiled.set(key, validate)
    }
    return validate(value) ? [] : (validate.errors ?? []).map((e) => describeError(e, this.where))
  }
}

/** Document-relative `$ref`s (`#/components/…`) → refs into the schema registered as `oas`. */
function rebase(schema: Schema): Schema {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"oas#/components/')) as Schema
}

function emptyBody(body: unknown): string[] {
  return body === '' || body === undefined || body === null
    ? []
    : [`expected no body, got ${JSON.stringify(body)}`]
}

function indexPointers(node: unknown, pointer: string, into: WeakMap<object, string>): void {
  if (typeof node !== 'object' || node === null || into.has(node)) {
    return
  }
  into.set(node, pointer)
  for (const [k, v] of Object.entries(node)) {
    indexPointers(v, `${pointer}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`, into)
  }
}

/** `/user/email must be string [#/components/schemas/UserObject/properties/email/type]`. */
function describeError(e: ErrorObject, where: WeakMap<object, string>): string {
  const params = e.keyword === 'additionalProperties' ? ` (${JSON.stringify(e.params)})` : ''
  const parent = typeof e.parentSchema === 'object' ? where.get(e.parentSchema) : undefined
  const at = parent !== undefined ? `${parent}/${e.keyword}` : e.schemaPath
  return `${e.instancePath || '/'} ${e.message ?? e.keyword}${params} [${at}]`
}

/** Reads and parses the document; call once per test file (in `beforeAll`). */
export function loadOas(path = oasPath()): Oas {
  if (!existsSync(path)) {
    throw new Error(`Zendesk OpenAPI document not found at ${path} (set ZENDESK_OAS_PATH to override)`)
  }
  // YAML 1.2 (the `yaml` package's default): the two bare `=` example values (specs/README.md)
  // are plain strings here, where a YAML 1.1 loader rejects them.
  const doc = parse(readFileSync(path, 'utf8')) as OasDocument
  return new Oas(doc)
}
