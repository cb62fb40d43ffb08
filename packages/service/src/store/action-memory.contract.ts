/**
 * The contract of the actions' memory (lib/action-memory.ts), as one vitest suite that every
 * backend runs: `describeActionMemoryContract(backend)` with a backend of test/store-backends.ts.
 */
import { afterAll, describe, expect, test } from 'vitest'

import type { StoreBackend } from '../../test/store-backends.js'
import { FakeClock } from '../lib/clock.js'

export function describeActionMemoryContract(backend: StoreBackend): void {
  describe(`the actions’ memory (${backend.name})`, () => {
    afterAll(() => backend.cleanup())

    test('what an action remembers survives a reopen, per destination and action; forget removes it', async () => {
      const db = await backend.open()
      const first = db.actionMemory(new FakeClock())
      const tickets = first.of('support', 'create-ticket')
      await tickets.remember([
        ['rma-1', 'created:11'],
        ['rma-2', 'sending'],
      ])
      await first.of('other', 'create-ticket').remember([['rma-1', 'created:99']])
      await tickets.remember([['rma-2', 'created:12']])

      const again = (await db.reopen()).actionMemory(new FakeClock())
      const recalled = await again.of('support', 'create-ticket').recall(['rma-1', 'rma-2', 'rma-3'])
      expect(Object.fromEntries(recalled)).toEqual({ 'rma-1': 'created:11', 'rma-2': 'created:12' })
      expect(await again.of('support', 'upsert-organization').recall(['rma-1'])).toEqual(new Map())
      await again.of('support', 'create-ticket').forget(['rma-1'])
      expect([...(await again.of('support', 'create-ticket').recall(['rma-1', 'rma-2'])).keys()]).toEqual([
        'rma-2',
      ])
      expect(Object.fromEntries(await again.of('other', 'create-ticket').recall(['rma-1']))).toEqual({
        'rma-1': 'created:99',
      })
    })

    test('one remember with a key twice keeps the later value; empty calls change nothing', async () => {
      const m = (await backend.open()).actionMemory(new FakeClock()).of('support', 'create-ticket')
      await m.remember([
        ['k', 'first'],
        ['k', 'second'],
      ])
      await m.remember([])
      await m.forget([])
      expect(await m.recall([])).toEqual(new Map())
      expect(Object.fromEntries(await m.recall(['k']))).toEqual({ k: 'second' })
    })

    test('more keys than one read takes are all recalled', async () => {
      const m = (await backend.open()).actionMemory(new FakeClock()).of('bulk', 'upsert-organization')
      const keys = Array.from({ length: 1_234 }, (_, i) => `org-${i}`)
      await m.remember(keys.map((k, i) => [k, String(i)] as const))
      const got = await m.recall(keys)
      expect(got.size).toBe(1_234)
      expect(got.get('org-1233')).toBe('1233')
    })
  })
}
