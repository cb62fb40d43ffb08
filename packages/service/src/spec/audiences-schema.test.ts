/**
 * The JSON schema of `/v1/audiences` profiles documented in docs/audiences.md agrees with the
 * validation the service runs (spec/audiences.ts): each example is accepted or refused by both.
 */
import { readFileSync } from 'node:fs'

import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, test } from 'vitest'

import { parseAudienceProfile } from './audiences.js'

function documentedSchema(): object {
  const doc = readFileSync(new URL('../../../../docs/audiences.md', import.meta.url), 'utf8')
  const section = doc.slice(doc.indexOf('### JSON schema of a profile'))
  const json = /```json\n([\s\S]*?)\n```/.exec(section)?.[1]
  if (json === undefined) {
    throw new Error('docs/audiences.md has no JSON schema block')
  }
  return JSON.parse(json) as object
}

const ups = { seg1: { status: 'realized', lastQualificationTime: '2026-11-20T10:00:00Z' } }

const examples: [string, unknown, boolean][] = [
  [
    'the issue’s example',
    {
      identityMap: { Email: [{ id: 'ann@example.com' }] },
      person: { name: { lastName: 'Lee' } },
      segmentMembership: { ups },
    },
    true,
  ],
  ['a userId instead of an email', { userId: 'crm-1', segmentMembership: { ups } }, true],
  [
    'flat attributes',
    { identityMap: { Email: [{ id: 'a@b.co' }] }, last_name: 'Lee', segmentMembership: { ups } },
    true,
  ],
  ['no identity', { segmentMembership: { ups } }, false],
  ['no memberships', { identityMap: { Email: [{ id: 'a@b.co' }] } }, false],
  [
    'an empty membership list',
    { identityMap: { Email: [{ id: 'a@b.co' }] }, segmentMembership: { ups: {} } },
    false,
  ],
  [
    'an unknown status',
    { identityMap: { Email: [{ id: 'a@b.co' }] }, segmentMembership: { ups: { s: { status: 'gone' } } } },
    false,
  ],
  ['an identity without id', { identityMap: { Email: [{}] }, segmentMembership: { ups } }, false],
  ['not an object', ['x'], false],
]

describe('the documented /v1/audiences profile schema', () => {
  const validate = new Ajv2020({ strict: false, validateFormats: false }).compile(documentedSchema())

  test.each(examples)('%s: accepted by both, or refused by both', (_name, profile, valid) => {
    expect(validate(profile)).toBe(valid)
    expect(
      parseAudienceProfile(profile, { receivedAt: '2026-11-21T00:00:00Z', newMessageId: () => 'm' }).ok,
    ).toBe(valid)
  })
})
