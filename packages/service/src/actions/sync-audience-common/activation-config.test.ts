import { describe, expect, test } from 'vitest'

import { loadConfig } from '../../config.js'
import { ConfigError } from '../../errors.js'
import { activationsSchema, toActivations } from './activation-config.js'

function load(input: unknown): { activations: ReturnType<typeof toActivations>; problems: string[] } {
  const problems: string[] = []
  const parsed = activationsSchema.parse(input)
  return { activations: toActivations(parsed, 'activations', problems), problems }
}

describe('activation configuration', () => {
  test('defaults: tag from the audience key, Segment Engage stream names, the target’s default mappings', () => {
    const { activations, problems } = load([
      { id: 'vip', target: 'support-users', audiences: [{ id: 'seg-1', key: 'VIP Users' }] },
    ])
    expect(problems).toEqual([])
    expect(activations[0]).toMatchObject({
      audiences: [{ id: 'seg-1', key: 'VIP Users', representation: 'tag', tag: 'vip_users' }],
      stream: {
        enteredEvent: 'Audience Entered',
        exitedEvent: 'Audience Exited',
        keyProperty: 'audience_key',
      },
      mappings: { email: '$.email', external_id: '$.userId' },
    })
  })

  test('every problem is reported with its path', () => {
    const { problems } = load([
      {
        id: 'sell',
        target: 'sell-contacts',
        audiences: [{ id: 'seg-1' }, { id: 'seg-1', mappingId: 'x' }],
        mappings: { last_name: null, favourite_colour: '$.attributes.c', first_name: { '@path': 'bad' } },
      },
      {
        id: 'sell',
        target: 'support-users',
        sellMatchField: 'crm',
        audiences: [{ id: 'a b', representation: 'checkbox', field: undefined }],
      },
    ])
    expect(problems).toEqual([
      "activations[0].audiences[0].mappingId: required for sell-contacts (the contact custom field holding the audience's status)",
      'activations[0].audiences[1].id: "seg-1" is listed twice',
      'activations[0].mappings.last_name: mandatory for sell-contacts (email and last_name)',
      'activations[0].mappings.favourite_colour: not a Sell contact attribute (or custom_fields.<name>)',
      'activations[0].mappings.first_name: @path must start with "$."',
      'activations[1].id: "sell" is used twice',
      'activations[1].sellMatchField: only for target sell-contacts',
    ])
  })

  test('the configuration file reports activation problems with their full path, with the others', () => {
    const yaml = `
sources:
  - { id: aep, writeKey: aep-write-key, destinations: [sell] }
destinations:
  - id: sell
    zendesk: { sandbox: true }
    activations:
      - id: contacts
        target: sell-contacts
        audiences: [{ id: seg-1 }]
        mappings: { email: null }
`
    let error: unknown
    try {
      loadConfig({}, yaml)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).problems).toEqual([
      "destinations[0].activations[0].audiences[0].mappingId: required for sell-contacts (the contact custom field holding the audience's status)",
      'destinations[0].activations[0].mappings.email: mandatory for sell-contacts (email and last_name)',
    ])
    const remote = yaml
      .replace('{ sandbox: true }', '{ url: "http://127.0.0.1:9", oauth: { clientId: a, clientSecret: b } }')
      .replace('[{ id: seg-1 }]', '[{ id: seg-1, mappingId: aud }]')
      .replace('mappings: { email: null }', '')
    expect(() => loadConfig({}, remote)).toThrow(
      /destinations\[0\]\.zendesk\.sellToken: required for sell-contacts activations/,
    )
    const ok = loadConfig(
      {},
      yaml
        .replace('[{ id: seg-1 }]', '[{ id: seg-1, mappingId: aud }]')
        .replace('mappings: { email: null }', ''),
    )
    expect(ok.destinations[0]?.activations?.[0]).toMatchObject({
      id: 'contacts',
      audiences: [{ mappingId: 'aud' }],
    })
  })
})
