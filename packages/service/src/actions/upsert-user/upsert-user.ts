/**
 * `upsert-user` (issue 4, action 1): an identify creates or updates the Zendesk user, in bulk
 * (`users/create_or_update_many`, 100 a call). Zendesk finds the user by external_id (the userId)
 * or by email; `matchUsersBy: email` makes the email decide, and `updatePrimaryEmail` makes the
 * identify's email the primary one. Several users matching one identify update none of them
 * (Segment's rule). The extra requests these need, for the few records that need them, are in
 * user-matching.ts.
 */
import { AppError, ERROR_KINDS } from '../../errors.js'
import {
  createOrUpdate,
  createOrUpdateMany,
  USERS_BULK_MAX,
  type ZendeskUserInput,
} from '../../zendesk/users.js'
import { fieldCandidates, snakeCase } from '../../zendesk/custom-fields.js'
import { recordFieldValues } from '../custom-field-values.js'
import type { MappingValue } from '../../mapping/mapping.js'
import { defineAction, type ActionContext, type PayloadOf } from '../define-action.js'
import { matchesByEmail, prepareMatchByEmail, userFollowUp } from './user-matching.js'

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

/**
 * The default of `name` when `traits.name` is blank: first and last name joined by a space, each
 * from its snake_case trait or else its camelCase one (SDKs send either); a missing part leaves
 * the other alone (the string is trimmed as a field value). Segment's `@if` and `@template`
 * (mapping/mapping.ts), not JSONata: it resolves synchronously, ~10× cheaper per identify.
 */
function joinedName(): MappingValue {
  const either = (snake: string, camel: string, pick: (trait: string) => MappingValue): MappingValue => ({
    '@if': { blank: { '@path': `$.traits.${snake}` }, then: pick(camel), else: pick(snake) },
  })
  return either('first_name', 'firstName', (first) =>
    either('last_name', 'lastName', (last) => ({ '@template': `{{traits.${first}}} {{traits.${last}}}` })),
  )
}

const fields = {
  externalId: {
    label: 'External ID',
    description:
      'Matches the Zendesk user by external_id (unless the destination matches users by email); the user is created when nothing matches.',
    type: 'string',
    default: { '@path': '$.userId' },
  },
  email: {
    label: 'Email',
    description:
      'Email. Matches the Zendesk user when no external ID matches, or always with matchUsersBy: email (then it is required). A new email is added to a known user as a secondary email, or made primary with updatePrimaryEmail.',
    type: 'string',
    default: { '@path': '$.traits.email' },
  },
  name: {
    label: 'Name',
    description: 'Full name: traits.name, or first and last name joined. Zendesk needs it to create a user.',
    type: 'string',
    default: {
      '@if': { blank: { '@path': '$.traits.name' }, then: joinedName(), else: { '@path': '$.traits.name' } },
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
      'Other traits, sent as user_fields with snake_case keys and values coerced to the field’s type; traits that are no user field, and values the type cannot take, are left out and named in the delivery log.',
    type: 'object',
    default: { '@path': '$.traits' },
  },
} as const

type Payload = PayloadOf<typeof fields>

/** `planType`, `plan-type` and `Plan Type` all become `plan_type` (the rule of every kind of field). */
export { snakeCase }

/** The traits that may be user fields: all but the standard ones and nested objects. */
const userFieldCandidates = (p: Payload): Record<string, unknown> =>
  fieldCandidates(p.traits, STANDARD_TRAITS)

/**
 * The user_fields of a record: with the field list in the context, each trait goes to its field,
 * its value coerced to the field's type, and what is left out is noted for the delivery log
 * (zendesk/custom-fields.ts); with only the older list of keys, existing keys get their values.
 */
function userFields(p: Payload, ctx: ActionContext): Record<string, unknown> | undefined {
  const traits = p.traits
  if (ctx.fields?.user) {
    const values = recordFieldValues('user', userFieldCandidates(p), ctx) ?? {}
    return Object.keys(values).length > 0 ? values : undefined
  }
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
  const uf = userFields(p, ctx)
  if (uf) {
    user.user_fields = uf
  }
  return user
}

/** An identify needs something to find the user by: the userId, or the email (always, when it decides). */
function checkIdentifiers(p: Payload, ctx: ActionContext): Payload {
  if (p.email === undefined && matchesByEmail(ctx.settings)) {
    throw new AppError(
      ERROR_KINDS.invalidEvent,
      'MAPPING_USER_EMAIL_REQUIRED',
      'email: the destination matches users by email (matchUsersBy: email) and this identify has no email (traits.email)',
      { field: 'email' },
    )
  }
  if (p.email === undefined && p.externalId === undefined) {
    throw new AppError(
      ERROR_KINDS.invalidEvent,
      'MAPPING_USER_NO_IDENTIFIER',
      'externalId: this identify has neither a userId nor an email (traits.email), so no Zendesk user can be found or created for it',
      { field: 'externalId' },
    )
  }
  return p
}

export const upsertUser = defineAction({
  id: 'upsert-user',
  title: 'Create or update user',
  description: 'Creates a Zendesk user, or updates the one with the same external ID or email.',
  defaultTrigger: { types: ['identify'] },
  fields,
  customFields: { kind: 'user', candidates: userFieldCandidates },
  bulk: {
    maxSize: USERS_BULK_MAX,
    item: (p, ctx) => toUser(checkIdentifiers(p, ctx), ctx),
    key: (u) => (u.external_id ? `x:${u.external_id.toLowerCase()}` : `e:${u.email ?? ''}`),
    merge: (a, b) => ({
      ...a,
      ...b,
      ...(a.user_fields || b.user_fields ? { user_fields: { ...a.user_fields, ...b.user_fields } } : {}),
    }),
    request: createOrUpdateMany,
    single: createOrUpdate,
    // Lookups for matchUsersBy: email only; the default costs nothing before the bulk call.
    prepare: prepareMatchByEmail,
    // Only for failed records with both identifiers, and updated users with updatePrimaryEmail on.
    followUp: userFollowUp,
  },
})
