import { describe, expect, test } from 'vitest'

import { mapLimit } from './map-limit.js'

describe('mapLimit', () => {
  test('keeps the items’ order and never runs more than the limit at once', async () => {
    let running = 0
    let most = 0
    const out = await mapLimit([30, 10, 20, 5, 15], 2, async (ms, i) => {
      running += 1
      most = Math.max(most, running)
      await new Promise((resolve) => setTimeout(resolve, ms))
      running -= 1
      return `${i}:${ms}`
    })
    expect(out).toEqual(['0:30', '1:10', '2:20', '3:5', '4:15'])
    expect(most).toBe(2)
  })

  test('an empty list gives an empty result', async () => {
    expect(await mapLimit([], 4, () => Promise.resolve(1))).toEqual([])
  })
})
