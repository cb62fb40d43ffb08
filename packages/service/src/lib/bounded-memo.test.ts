import { describe, expect, test } from 'vitest'

import { boundedMemo } from './bounded-memo.js'

describe('boundedMemo', () => {
  test('computes each key once, remembers nothing that threw, and starts again past its limit', () => {
    const calls: string[] = []
    const upper = boundedMemo((s: string) => {
      calls.push(s)
      if (s === 'bad') {
        throw new Error('bad key')
      }
      return s.toUpperCase()
    }, 2)
    expect([upper('a'), upper('a'), upper('b')]).toEqual(['A', 'A', 'B'])
    expect(() => upper('bad')).toThrow('bad key')
    expect(() => upper('bad')).toThrow('bad key')
    expect(calls).toEqual(['a', 'b', 'bad', 'bad'])
    // A third key empties the memory first: 'a' is computed again.
    expect([upper('c'), upper('a')]).toEqual(['C', 'A'])
    expect(calls).toEqual(['a', 'b', 'bad', 'bad', 'c', 'a'])
  })
})
