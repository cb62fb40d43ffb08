import { describe, expect, test } from 'vitest'

import { resultAt } from './job-statuses.js'

describe('resultAt', () => {
  test('results follow the request’s order', () => {
    expect(
      resultAt(
        [
          { id: 1, status: 'Created' },
          { id: 2, status: 'Updated' },
        ],
        1,
      ),
    ).toEqual({ id: 2, status: 'Updated' })
  })

  test('where a result carries an index that disagrees with its place, the index wins', () => {
    const results = [
      { id: 7, index: 1 },
      { id: 8, index: 0 },
    ]
    expect(resultAt(results, 0)).toEqual({ id: 8, index: 0 })
    expect(resultAt(results, 1)).toEqual({ id: 7, index: 1 })
  })

  test('a position without a result is undefined', () => {
    expect(resultAt([{ id: 1 }], 3)).toBeUndefined()
  })
})
