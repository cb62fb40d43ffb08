import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import Database from 'better-sqlite3'
import { afterAll, describe, expect, test } from 'vitest'

import { pgStoreBackend, sqliteStoreBackend } from '../../test/store-backends.js'
import { FakeClock } from '../lib/clock.js'
import { describeOAuthTokensContract } from './oauth-tokens.contract.js'
import { openOAuthTokenStore } from './oauth-tokens.js'

describeOAuthTokensContract(sqliteStoreBackend())
describeOAuthTokensContract(pgStoreBackend())

describe('the OAuth token store on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zdd-oauth-tokens-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test("a save leaves the shared connection's synchronous setting (NORMAL) as it was", async () => {
    const db = new Database(join(dir, 'store.sqlite'))
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    const store = openOAuthTokenStore(db, new FakeClock())
    expect(db.pragma('synchronous', { simple: true })).toBe(1)
    await store.save(
      'support',
      { accessToken: 'a', refreshToken: 'r', accessExpiresAt: null, refreshExpiresAt: null },
      'configured-refresh',
    )
    expect(db.pragma('synchronous', { simple: true })).toBe(1)
    db.close()
  })
})
