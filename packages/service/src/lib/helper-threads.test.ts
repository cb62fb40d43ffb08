import { existsSync } from 'node:fs'

import { describe, expect, test } from 'vitest'

import { lowerHelperThreads, processThreads, type ThreadControl } from './helper-threads.js'

/** Threads of a pretend process: their nice values, and which ones refuse a change. */
function fakeThreads(ids: number[] | null, refusing: number[] = [], start: Record<number, number> = {}) {
  const niceness = new Map<number, number>((ids ?? []).map((id) => [id, start[id] ?? 0]))
  const control: ThreadControl = {
    threadIds: () => ids,
    priorityOf: (id) => niceness.get(id) ?? 0,
    setPriority(id, n) {
      if (refusing.includes(id)) {
        throw new Error(`ESRCH: no such thread ${id}`)
      }
      niceness.set(id, n)
    },
  }
  return { control, niceness }
}

describe('lowerHelperThreads', () => {
  test('gives every thread but the main one the nice value, and says which', () => {
    const { control, niceness } = fakeThreads([100, 101, 102, 103])
    expect(lowerHelperThreads(100, 10, control)).toEqual({
      lowered: [101, 102, 103],
      failed: 0,
      supported: true,
    })
    expect([...niceness]).toEqual([
      [100, 0],
      [101, 10],
      [102, 10],
      [103, 10],
    ])
  })

  test('a thread that cannot be changed (ended meanwhile) is counted, and the others still are', () => {
    const { control, niceness } = fakeThreads([7, 8, 9], [8])
    expect(lowerHelperThreads(7, 5, control)).toEqual({ lowered: [9], failed: 1, supported: true })
    expect(niceness.get(9)).toBe(5)
  })

  test('only ever lowers: a thread already at that nice value or above keeps its own', () => {
    const { control, niceness } = fakeThreads([1, 2, 3], [], { 2: 15, 3: 10 })
    expect(lowerHelperThreads(1, 10, control)).toEqual({ lowered: [2, 3], failed: 0, supported: true })
    expect([...niceness]).toEqual([
      [1, 0],
      [2, 15],
      [3, 10],
    ])
  })

  test('niceness 0 changes nothing', () => {
    const { control, niceness } = fakeThreads([1, 2])
    expect(lowerHelperThreads(1, 0, control)).toEqual({ lowered: [], failed: 0, supported: true })
    expect([...niceness.values()]).toEqual([0, 0])
  })

  test('where threads cannot be listed, nothing changes and it says so', () => {
    const { control } = fakeThreads(null)
    expect(lowerHelperThreads(1, 10, control)).toEqual({ lowered: [], failed: 0, supported: false })
  })

  test.runIf(existsSync('/proc/self/task'))(
    'on Linux, lists this process’s threads, the main one among them',
    () => {
      const ids = processThreads.threadIds()
      expect(ids).toContain(process.pid)
    },
  )
})
