import { afterAll, beforeAll, describe, expect, test } from 'vitest'

import { createTestDatabase, startTcpProxy, type TcpProxy, type TestDatabase } from '../../test/pg.js'
import { isDatabaseUnavailable, openPgPool, redactDatabaseUrl, withTransaction } from './pg.js'

let db: TestDatabase
let proxy: TcpProxy

beforeAll(async () => {
  db = await createTestDatabase('zdd_test_pg')
  proxy = await startTcpProxy(db.url)
})

afterAll(async () => {
  await proxy.close()
  await db.drop()
})

describe('the PostgreSQL plumbing', () => {
  test('a log line shows the URL with its password masked', () => {
    expect(redactDatabaseUrl('postgres://zdd:s3cret@db.internal:5432/zdd?sslmode=require')).toBe(
      'postgres://zdd:***@db.internal:5432/zdd?sslmode=require',
    )
    expect(redactDatabaseUrl('postgres://db.internal/zdd')).toBe('postgres://db.internal/zdd')
    expect(redactDatabaseUrl('not a url s3cret')).not.toContain('s3cret')
  })

  test('a transaction commits its work, and rolls all of it back when a statement fails', async () => {
    const pool = openPgPool({ url: db.url, max: 2 })
    try {
      await pool.query('CREATE TABLE IF NOT EXISTS t (n int)')
      await withTransaction(pool, async (c) => {
        await c.query('INSERT INTO t VALUES (1)')
      })
      await expect(
        withTransaction(pool, async (c) => {
          await c.query('INSERT INTO t VALUES (2)')
          await c.query('SELECT no_such_column FROM t')
        }),
      ).rejects.toMatchObject({ code: '42703' })
      expect((await pool.query('SELECT n FROM t ORDER BY n')).rows).toEqual([{ n: 1 }])
    } finally {
      await pool.end()
    }
  })

  test('a database out of reach is told apart from a bad statement, and the pool works again once it is back', async () => {
    const pool = openPgPool({ url: proxy.url, max: 2, onError: () => {} })
    try {
      await pool.query('SELECT 1')
      const bad = await pool.query('SELECT no_such_function()').catch((err: unknown) => err)
      expect(isDatabaseUnavailable(bad)).toBe(false)

      proxy.cut()
      // The open connections die without an unhandled 'error' event (that would end the
      // process); new ones are refused.
      const refused = await pool.query('SELECT 1').catch((err: unknown) => err)
      expect(isDatabaseUnavailable(refused)).toBe(true)
      const inTransaction = await withTransaction(pool, (c) => c.query('SELECT 1')).catch(
        (err: unknown) => err,
      )
      expect(isDatabaseUnavailable(inTransaction)).toBe(true)

      proxy.restore()
      expect((await pool.query<{ n: number }>('SELECT 1 AS n')).rows).toEqual([{ n: 1 }])
    } finally {
      proxy.restore()
      await pool.end()
    }
  })
})
