import { describe, expect, test } from 'vitest'

import { readPath, resolveMapping, validateMapping } from './mapping.js'

const event = {
  type: 'identify',
  userId: 'u1',
  traits: { email: 'a@b.c', first_name: 'Ann', last_name: 'Lee' },
}

describe('resolveMapping', () => {
  test('literals resolve to themselves', async () => {
    expect(await resolveMapping('end-user', event)).toBe('end-user')
    expect(await resolveMapping(3, event)).toBe(3)
    expect(await resolveMapping(null, event)).toBeNull()
  })

  test('a path reads into the event, and a missing step is undefined', async () => {
    expect(await resolveMapping({ '@path': '$.traits.email' }, event)).toBe('a@b.c')
    expect(await resolveMapping({ '@path': '$.traits.phone' }, event)).toBeUndefined()
    expect(await resolveMapping({ '@path': '$.context.x.y' }, event)).toBeUndefined()
  })

  test('a JSONata expression is evaluated against the event', async () => {
    expect(await resolveMapping({ '@jsonata': "traits.first_name & ' ' & traits.last_name" }, event)).toBe(
      'Ann Lee',
    )
  })

  test('objects resolve key by key and drop undefined values', async () => {
    expect(
      await resolveMapping(
        { email: { '@path': '$.traits.email' }, phone: { '@path': '$.traits.phone' } },
        event,
      ),
    ).toEqual({
      email: 'a@b.c',
    })
  })

  test('a path must start with $.', () => {
    expect(() => readPath(event, 'traits.email')).toThrow(/starts with "\$\."/)
  })
})

describe('validateMapping', () => {
  test('names the field of a bad path or expression', () => {
    expect(validateMapping({ email: { '@path': 'traits.email' } }, 'mapping')).toEqual([
      'mapping.email: @path must start with "$."',
    ])
    expect(validateMapping({ '@jsonata': 'traits.(' }, 'name')[0]).toMatch(
      /^name: invalid JSONata expression/,
    )
  })
})
