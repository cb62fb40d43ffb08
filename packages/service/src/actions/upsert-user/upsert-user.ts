import {
  createOrUpdate,
  createOrUpdateMany,
  USERS_BULK_MAX,
  type ZendeskUserInput,
} from '../../zendesk/users.js'
import { defineAction, type ActionContext, type PayloadOf } from '../define-action.js'

/**
 * Traits with a place of their own in the user record, or reserved (`role` is never sent): never
 * user fields. Delivery uses it too, to know which traits may need a user field created.
 */
export const STANDARD_TRAITS: ReadonlySet<string> = new Set([
  'email',
  'name',
  'first_name',
  'last_name',
  'firstName',
  'lastName',
  'phone',
  'timezone',
  'organizationId',
  'role',
  'company',
  'address',
  'id',
  'userId',
])

const fields = {
  externalId: {
    label: 'External ID',
    description: 'Matches the Zendesk user by external_id; the user is created when none matches.',
    type: 'string',
    default: { '@path': '$.userId' },
  },
  email: {
    label: 'Email',
    description: 'Primary email. Matches the Zendesk user when no external ID matches.',
    type: 'string',
    default: { '@path': '$.traits.email' },
  },
  name: {
    label: 'Name',
    description: 'Full name: traits.name, or first and last name joined. Zendesk needs it to create a user.',
    type: 'string',
    default: {
      '@jsonata':
        "traits.name ? traits.name : $join([traits.first_name ? traits.first_name : traits.firstName, traits.last_name ? traits.last_name : traits.lastName], ' ')",
    },
  },
  phone: {
    label: 'Phone',
    description: 'Phone number (E.164).',
    type: 'string',
    default: { '@path': '$.traits.phone' },
  },
  timeZone: {
    label: 'Time zone',
    description: 'Zendesk time zone name.',
    type: 'string',
    default: { '@path': '$.traits.timezone' },
  },
  organizationId: {
    label: 'Organization ID',
    description: 'Zendesk organization id of the default organization.',
    type: 'integer',
    default: { '@path': '$.traits.organizationId' },
  },
  traits: {
    label: 'Custom user fields',
    description:
      'Other traits, sent as user_fields with snake_case keys; only keys that exist as user fields in Zendesk are sent.',
    type: 'object',
    default: { '@path': '$.traits' },
  },
} as const

type Payload = PayloadOf<typeof fields>

/** `planType`, `plan-type` and `Plan Type` all become `plan_type`. */
export function snakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase()
}

function userFields(
  traits: Record<string, unknown> | undefined,
  ctx: ActionContext,
): Record<string, unknown> | undefined {
  if (!traits || !ctx.userFieldKeys) {
    return undefined
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(traits)) {
    const k = snakeCase(key)
    if (
      !STANDARD_TRAITS.has(key) &&
      ctx.userFieldKeys.has(k) &&
      value !== undefined &&
      (typeof value !== 'object' || value === null)
    ) {
      out[k] = value
    }
  }
  return Object.keys(out).length > 0 ? out : undefined
}

function toUser(p: Payload, ctx: ActionContext): ZendeskUserInput {
  const user: ZendeskUserInput = {}
  if (p.email !== undefined) {
    user.email = p.email.toLowerCase()
  }
  if (p.externalId !== undefined) {
    user.external_id = p.externalId
  }
  if (p.name !== undefined) {
    user.name = p.name
  }
  if (p.phone !== undefined) {
    user.phone = p.phone
  }
  if (p.timeZone !== undefined) {
    user.time_zone = p.timeZone
  }
  if (p.organizationId !== undefined) {
    user.organization_id = p.organizationId
  }
  if (ctx.settings.verified === true) {
    user.verified = true
  }
  if (ctx.settings.skipVerifyEmail === true) {
    user.skip_verify_email = true
  }
  const uf = userFields(p.traits, ctx)
  if (uf) {
    user.user_fields = uf
  }
  return user
}

export const upsertUser = defineAction({
  id: 'upsert-user',
  title: 'Create or update user',
  description: 'Creates a Zendesk user, or updates the one with the same external ID or email.',
  defaultTrigger: { types: ['identify'] },
  fields,
  bulk: {
    maxSize: USERS_BULK_MAX,
    item: toUser,
    key: (u) => (u.external_id ? `x:${u.external_id.toLowerCase()}` : `e:${u.email ?? ''}`),
    merge: (a, b) => ({
      ...a,
      ...b,
      ...(a.user_fields || b.user_fields ? { user_fields: { ...a.user_fields, ...b.user_fields } } : {}),
    }),
    request: createOrUpdateMany,
    single: createOrUpdate,
  },
})
