import { describe, expect, test } from 'vitest'

import type { ZendeskRequest } from '../../zendesk/request.js'
import { buildPayload } from '../build-payload.js'
import { isPerform, type ActionZendesk, type AnyAction } from '../define-action.js'
import {
  attributesMapping,
  ExcludedProfile,
  type ActivationConfig,
} from '../sync-audience-common/activation.js'
import {
  createSellContactsActivation,
  SELL_DEFAULT_MAPPINGS,
  type SellContactRecord,
} from './sync-audience-to-sell-contacts.js'

const config: ActivationConfig = {
  id: 'aep',
  target: 'sell-contacts',
  audiences: [
    { id: 's1', key: 's1', representation: 'tag', tag: 's1', field: 's1', mappingId: 'aud_one' },
    { id: 's2', key: 's2', representation: 'tag', tag: 's2', field: 's2', mappingId: 'aud_two' },
  ],
  mappings: { ...SELL_DEFAULT_MAPPINGS, phone: '$.attributes.mobilePhone.number' },
  stream: { enteredEvent: '', exitedEvent: '', keyProperty: '', identifyTraits: false },
  sellMatchField: null,
}

function event(attributes: Record<string, unknown>, more: Record<string, unknown> = {}) {
  return {
    type: 'audience',
    userId: 'u1',
    email: 'ann@example.com',
    attributes,
    audiences: { s1: { status: 'realized' }, s2: { status: 'exited' } },
    ...more,
  }
}

async function recordOf(e: unknown, c: ActivationConfig = config): Promise<SellContactRecord> {
  const action: AnyAction = createSellContactsActivation(c)
  const payload = await buildPayload(action.fields, { attributes: attributesMapping(c.mappings) }, e)
  return action.bulk.item(payload, { userFieldKeys: null, settings: {} }) as SellContactRecord
}

describe('sync-audience-to-sell-contacts', () => {
  test('the seed’s mappings (nested or flat attributes), and each audience’s status in its Mapping ID field', async () => {
    const nested = await recordOf(
      event({ person: { name: { firstName: 'Ann', lastName: 'Lee' } }, mobilePhone: { number: '+1555' } }),
    )
    expect(nested).toEqual({
      activationId: 'aep',
      excluded: null,
      nothing: false,
      filters: { email: 'ann@example.com' },
      data: {
        email: 'ann@example.com',
        last_name: 'Lee',
        first_name: 'Ann',
        phone: '+1555',
        custom_fields: { aud_one: 'realized', aud_two: 'exited' },
      },
    })
    expect((await recordOf(event({ last_name: 'Lee' }))).data.last_name).toBe('Lee')
  })

  test('without email or last_name nothing is sent: excluded, with the mandatory mapping named', async () => {
    expect((await recordOf(event({ person: { name: { firstName: 'Ann' } } }))).excluded).toMatch(
      /^last_name: the profile has no value for this mandatory mapping/,
    )
    expect((await recordOf(event({}, { email: null }))).excluded).toMatch(/^email and last_name: /)
  })

  test('with sellMatchField, contacts are upserted by the custom field holding the userId', async () => {
    const r = await recordOf(event({ last_name: 'Lee' }), { ...config, sellMatchField: 'crm_id' })
    expect(r.filters).toEqual({ 'custom_fields[crm_id]': 'u1' })
    expect(r.data.custom_fields).toMatchObject({ crm_id: 'u1' })
  })

  test('perform: one upsert per contact, excluded ones not sent, an error kept for its contact only', async () => {
    const action = createSellContactsActivation(config)
    const good = await recordOf(event({ last_name: 'Lee' }))
    const excluded = await recordOf(event({}))
    const failing = await recordOf(event({ last_name: 'Ray' }, { email: 'bo@example.com' }))
    const sent: ZendeskRequest[] = []
    const boom = new Error('422')
    const zendesk: ActionZendesk = {
      send: <T>(r: ZendeskRequest) => {
        sent.push(r)
        return r.query?.email === 'bo@example.com'
          ? Promise.reject(boom)
          : Promise.resolve({ status: 200, headers: {}, body: {} as T })
      },
      runJob: () => Promise.reject(new Error('Sell has no jobs')),
    }
    const out = isPerform(action.bulk) ? await action.bulk.perform([good, excluded, failing], zendesk) : []
    expect(out[0]).toBeNull()
    expect(out[1]).toBeInstanceOf(ExcludedProfile)
    expect(out[2]).toBe(boom)
    expect(sent).toHaveLength(2)
    expect(sent[0]).toMatchObject({
      api: 'sell',
      method: 'POST',
      path: 'contacts/upsert',
      query: { email: 'ann@example.com' },
      limitClass: 'sell',
      body: { data: { email: 'ann@example.com', last_name: 'Lee' } },
    })
  })
})
