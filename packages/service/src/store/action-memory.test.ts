import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import Database from 'better-sqlite3'
import { afterAll, describe, expect, test } from 'vitest'

import { FakeClock } from '../lib/clock.js'
import { openActionMemory } from './action-memory.js'

describe('the actions’ memory on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zdd-action-memory-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const open = (): { db: Database.Database; memory: ReturnType<typeof openActionMemory> } => {
    const db = new Database(join(dir, 'store.sqlite'))
    db.pragma('journal_mode = WAL')
    return { db, memory: openActionMemory(db, new FakeClock()) }
  }

  test('what an action remembers survives a reopen, per destination and action; forget removes it', async () => {
    const first = open()
    const tickets = first.memory.of('support', 'create-ticket')
    await tickets.remember([
      ['rma-1', 'created:11'],
      ['rma-2', 'sending'],
    ])
    await first.memory.of('other', 'create-ticket').remember([['rma-1', 'created:99']])
    await tickets.remember([['rma-2', 'created:12']])
    first.db.close()

    const again = open()
    const recalled = await again.memory.of('support', 'create-ticket').recall(['rma-1', 'rma-2', 'rma-3'])
    expect(Object.fromEntries(recalled)).toEqual({ 'rma-1': 'created:11', 'rma-2': 'created:12' })
    expect(await again.memory.of('support', 'upsert-organization').recall(['rma-1'])).toEqual(new Map())
    await again.memory.of('support', 'create-ticket').forget(['rma-1'])
    expect([
      ...(await again.memory.of('support', 'create-ticket').recall(['rma-1', 'rma-2'])).keys(),
    ]).toEqual(['rma-2'])
    again.db.close()
  })

  test('a key held by one batch is refused to another until it is released', () => {
    const { db, memory } = open()
    const m = memory.of('support', 'create-ticket')
    expect(m.hold(['a', 'b'])).toEqual([])
    expect(m.hold(['b', 'c'])).toEqual(['b'])
    // Another destination's keys are its own.
    expect(memory.of('other', 'create-ticket').hold(['b'])).toEqual([])
    m.release(['a', 'b'])
    expect(m.hold(['b'])).toEqual([])
    db.close()
  })

  test('more keys than one read takes are all recalled', async () => {
    const { db, memory } = open()
    const m = memory.of('bulk', 'upsert-organization')
    const keys = Array.from({ length: 1_234 }, (_, i) => `org-${i}`)
    await m.remember(keys.map((k, i) => [k, String(i)] as const))
    const got = await m.recall(keys)
    expect(got.size).toBe(1_234)
    expect(got.get('org-1233')).toBe('1233')
    db.close()
  })
})
