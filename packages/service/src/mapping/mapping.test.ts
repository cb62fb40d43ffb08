import { describe, expect, test } from 'vitest'

import { isSyncMapping, readPath, resolveMapping, resolveMappingSync, validateMapping } from './mapping.js'

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

  test('@if takes then when exists holds (neither undefined nor null), else otherwise', async () => {
    const m = { '@if': { exists: { '@path': '$.traits.email' }, then: 'has', else: 'lacks' } }
    expect(await resolveMapping(m, event)).toBe('has')
    expect(await resolveMapping(m, { traits: { email: '' } })).toBe('has')
    expect(await resolveMapping(m, { traits: { email: null } })).toBe('lacks')
    expect(await resolveMapping(m, {})).toBe('lacks')
  })

  test('@if blank holds for undefined, null and blank strings; a missing branch is undefined', async () => {
    const m = { '@if': { blank: { '@path': '$.traits.name' }, then: { '@path': '$.traits.first_name' } } }
    expect(await resolveMapping(m, event)).toBe('Ann')
    expect(await resolveMapping(m, { traits: { name: ' ', first_name: 'Bo' } })).toBe('Bo')
    expect(await resolveMapping(m, { traits: { name: 'Cy', first_name: 'Bo' } })).toBeUndefined()
  })

  test('@template fills each {{path}} from the event, missing values as empty strings', async () => {
    expect(await resolveMapping({ '@template': '{{traits.first_name}} {{ traits.last_name }}' }, event)).toBe(
      'Ann Lee',
    )
    expect(await resolveMapping({ '@template': 'Hi {{traits.nickname}}!' }, event)).toBe('Hi !')
    expect(await resolveMapping({ '@template': '{{userId}}/{{$.type}}: {{traits}}' }, event)).toBe(
      'u1/identify: {"email":"a@b.c","first_name":"Ann","last_name":"Lee"}',
    )
  })

  test('mappings without JSONata resolve synchronously, with the same result', async () => {
    const m = {
      name: {
        '@if': { blank: { '@path': '$.traits.name' }, then: { '@template': '{{traits.first_name}}' } },
      },
      email: { '@path': '$.traits.email' },
      kind: 'person',
    }
    expect(isSyncMapping(m)).toBe(true)
    expect(resolveMappingSync(m, event)).toEqual(await resolveMapping(m, event))
    expect(resolveMappingSync(m, event)).toEqual({ name: 'Ann', email: 'a@b.c', kind: 'person' })
    const withJsonata = { ...m, upper: { '@jsonata': '$uppercase(userId)' } }
    expect(isSyncMapping(withJsonata)).toBe(false)
    expect(await resolveMapping(withJsonata, event)).toEqual({
      ...(resolveMappingSync(m, event) as object),
      upper: 'U1',
    })
    const ifWithJsonata = {
      '@if': { exists: { '@jsonata': 'traits.email' }, then: { '@jsonata': '$uppercase(userId)' } },
    }
    expect(isSyncMapping(ifWithJsonata)).toBe(false)
    expect(await resolveMapping(ifWithJsonata, event)).toBe('U1')
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
    expect(validateMapping({ '@template': 3 }, 'name')).toEqual(['name: @template must be a string'])
    expect(validateMapping({ '@if': { then: 'x' } }, 'name')).toEqual([
      'name.@if: needs exactly one condition, "exists" or "blank"',
    ])
    expect(validateMapping({ '@if': { exists: 'x', otherwise: 'y' } }, 'name')).toEqual([
      'name.@if: unknown key "otherwise" (exists, blank, then, else)',
    ])
    expect(validateMapping({ '@if': { blank: { '@path': 'traits.name' }, then: 'x' } }, 'name')).toEqual([
      'name.@if.blank: @path must start with "$."',
    ])
  })
})
