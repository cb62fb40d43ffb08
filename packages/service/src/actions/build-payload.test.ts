import { describe, expect, test } from 'vitest'

import { buildPayload, PayloadError } from './build-payload.js'
import type { Fields } from './define-action.js'

const fields = {
  email: {
    label: 'Email',
    description: 'Email.',
    type: 'string',
    required: true,
    default: { '@path': '$.traits.email' },
  },
  seats: { label: 'Seats', description: 'Seats.', type: 'integer', default: { '@path': '$.traits.seats' } },
} satisfies Fields

const event = { type: 'identify', userId: 'u1', traits: { email: ' a@b.c ', seats: '3' } }

describe('buildPayload', () => {
  test('without JSONata the payload is built at once (no promise), coerced to the fields’ types', () => {
    expect(buildPayload(fields, undefined, event)).toEqual({ email: 'a@b.c', seats: 3 })
  })

  test('a mapping with JSONata gives a promise of the same payload', async () => {
    const built = buildPayload(fields, { email: { '@jsonata': '$trim(traits.email)' } }, event)
    expect(built).toBeInstanceOf(Promise)
    expect(await built).toEqual({ email: 'a@b.c', seats: 3 })
  })

  test('every field at fault is named, whether the payload is built at once or not', async () => {
    const bad = { type: 'identify', traits: { seats: 'many' } }
    const problems = [
      { field: 'email', message: 'is required but the event has no value for it' },
      { field: 'seats', message: 'must be a whole number' },
    ]
    expect(() => buildPayload(fields, undefined, bad)).toThrow(new PayloadError(problems))
    await expect(buildPayload(fields, { email: { '@jsonata': 'traits.email' } }, bad)).rejects.toThrow(
      new PayloadError(problems),
    )
  })
})
