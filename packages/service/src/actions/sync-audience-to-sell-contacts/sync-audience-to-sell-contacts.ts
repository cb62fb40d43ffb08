/**
 * Audience activation to Zendesk Sell contacts: what AEP's Zendesk destination does (seeds 000,
 * 001; docs/audiences.md).
 *
 * - Mappings go from a source path of the audience event to a Sell contact attribute. `email` and
 *   `last_name` are mandatory: a profile without a value for either is not sent at all ("If these
 *   mappings are missing, any other mappings are ignored and not sent") and counts as excluded,
 *   with the reason.
 * - Each audience's status (realized, existing, exited) is written to the contact custom field
 *   named by the audience's Mapping ID.
 * - Contacts are upserted by email (`POST /v2/contacts/upsert?email=`), or, when the activation
 *   names a `sellMatchField`, by that custom field holding the person's userId, so that a changed
 *   email updates the contact instead of creating a second one.
 *
 * perform, because Sell has no bulk upsert: one request per contact, `CONCURRENCY` at a time per
 * batch; the client's rate limiter keeps Sell's 36,000 requests an hour per token (facts §10).
 */
import { mapLimit } from '../../lib/map-limit.js'
import type { AudienceEvent } from '../../spec/audiences.js'
import { upsertContact, type SellContactInput } from '../../zendesk/sell-contacts.js'
import type { ActionZendesk, AnyAction } from '../define-action.js'
import {
  defineActivationAction,
  isSent,
  splitMapped,
  unsentOutcome,
  type ActivationRecord,
  type AudiencePayload,
} from '../sync-audience-common/activation-action.js'
import {
  asAudienceEvent,
  firstOf,
  membershipsOf,
  text,
  UNCONFIGURED,
  type ActivationConfig,
} from '../sync-audience-common/activation.js'

export const SELL_CONTACTS_ACTION_ID = 'sync-audience-to-sell-contacts'

/** Requests a batch has in flight at once (the limiter spaces them to Sell's limit). */
const CONCURRENCY = 10
/** Contacts per perform batch. */
const BATCH = 100

/** Writable Sell contact attributes a mapping may target, besides `custom_fields.<name>` [basecrm-ruby]. */
export const SELL_CONTACT_TARGETS = new Set([
  'address',
  'contact_id',
  'customer_status',
  'prospect_status',
  'description',
  'email',
  'facebook',
  'fax',
  'first_name',
  'industry',
  'last_name',
  'linkedin',
  'mobile',
  'owner_id',
  'phone',
  'skype',
  'title',
  'twitter',
  'website',
])

/** The seed's mandatory mappings. */
export const SELL_MANDATORY = ['email', 'last_name'] as const

/** Default mappings: the seed's example (the activation's mappings override them key by key). */
export const SELL_DEFAULT_MAPPINGS = {
  email: '$.email',
  last_name: firstOf('attributes.person.name.lastName', 'attributes.last_name', 'attributes.lastName'),
  first_name: firstOf('attributes.person.name.firstName', 'attributes.first_name', 'attributes.firstName'),
} as const

export interface SellContactRecord extends ActivationRecord {
  filters: Record<string, string>
  data: SellContactInput
}

function toRecord(p: AudiencePayload, config: ActivationConfig): SellContactRecord {
  const event: AudienceEvent = asAudienceEvent(p.profile)
  const attrs = p.attributes ?? {}
  const memberships = membershipsOf(event, config)
  const missing = SELL_MANDATORY.filter((f) => text(attrs[f]) === null)
  if (missing.length > 0) {
    return {
      activationId: config.id,
      excluded: `${missing.join(' and ')}: the profile has no value for ${missing.length > 1 ? 'these mandatory mappings' : 'this mandatory mapping'}; nothing was sent`,
      nothing: memberships.length === 0,
      filters: {},
      data: {},
    }
  }
  const data: SellContactInput = {}
  const { fields: customFields, others } = splitMapped(attrs, 'custom_fields.')
  for (const [target, value] of others) {
    data[target] = typeof value === 'object' ? value : (text(value) ?? value)
  }
  data.email = String(data.email).toLowerCase()
  for (const { audience, status } of memberships) {
    customFields[audience.mappingId] = status
  }
  let filters: Record<string, string> = { email: data.email }
  if (config.sellMatchField !== null && event.userId !== null) {
    customFields[config.sellMatchField] = event.userId
    filters = { [`custom_fields[${config.sellMatchField}]`]: event.userId }
  }
  if (Object.keys(customFields).length > 0) {
    data.custom_fields = customFields
  }
  return { activationId: config.id, excluded: null, nothing: memberships.length === 0, filters, data }
}

function keyOf(r: SellContactRecord): string | null {
  return isSent(r) ? JSON.stringify(r.filters) : null
}

function merge(a: SellContactRecord, b: SellContactRecord): SellContactRecord {
  const customFields = { ...a.data.custom_fields, ...b.data.custom_fields }
  return {
    ...b,
    data: {
      ...a.data,
      ...b.data,
      ...(Object.keys(customFields).length > 0 ? { custom_fields: customFields } : {}),
    },
  }
}

function perform(records: SellContactRecord[], zendesk: ActionZendesk): Promise<unknown[]> {
  return mapLimit(records, CONCURRENCY, async (r): Promise<unknown> => {
    const unsent = unsentOutcome(r)
    if (unsent !== null) {
      return unsent
    }
    try {
      await zendesk.send(upsertContact(r.filters, r.data))
      return null
    } catch (err) {
      return err
    }
  })
}

/** The action for one activation: its records carry that activation's audiences and mappings. */
export function createSellContactsActivation(config: ActivationConfig): AnyAction {
  const action = defineActivationAction({
    id: `${SELL_CONTACTS_ACTION_ID}:${config.id}`,
    title: 'Sync audience to Sell contacts',
    description: `Upserts the members of activation "${config.id}" as Zendesk Sell contacts.`,
    bulk: { maxSize: BATCH, item: (p) => toRecord(p, config), key: keyOf, merge, perform },
  })
  return action
}

/**
 * The registered action (metadata; `preset: false`). A destination uses it through an
 * `activations` entry of its configuration, which gives the audiences, Mapping IDs and mappings.
 */
export const syncAudienceToSellContacts = defineActivationAction({
  id: SELL_CONTACTS_ACTION_ID,
  title: 'Sync audience to Sell contacts',
  description:
    'Upserts audience members as Zendesk Sell contacts, each audience’s status in its Mapping ID custom field (configured as an activation).',
  bulk: {
    maxSize: BATCH,
    item: (p) => toRecord(p, { ...UNCONFIGURED, target: 'sell-contacts' }),
    key: keyOf,
    merge,
    perform,
  },
})
