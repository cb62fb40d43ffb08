import { afterAll, beforeAll, describe, expect, test } from 'vitest'

import { createTestDatabase, type TestDatabase } from '../../test/pg.js'
import { loadMigrations, migrate, type Migration } from './migrate.js'
import { openPgPool, type PgPool } from './pg.js'

let db: TestDatabase
const pools: PgPool[] = []
let schemas = 0

beforeAll(async () => {
  db = await createTestDatabase('zdd_test_migrate')
})

afterAll(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()))
  await db.drop()
})

/** A pool on a new, empty schema; `max` connections. */
async function emptySchema(max = 1): Promise<{ schema: string; pool: () => PgPool }> {
  const schema = `m${++schemas}`
  const admin = openPgPool({ url: db.url, max: 1 })
  await admin.query(`CREATE SCHEMA ${schema}`)
  await admin.end()
  return {
    schema,
    pool: () => {
      const p = openPgPool({ url: db.url, schema, max })
      pools.push(p)
      return p
    },
  }
}

const tables = async (pool: PgPool, schema: string) =>
  (
    await pool.query<{ t: string }>(
      `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
      [schema],
    )
  ).rows.map((r) => r.t)

describe('PostgreSQL migrations', () => {
  test('the files of this build are numbered from 1 without gaps, and the first creates the queue and the stores', () => {
    const migrations = loadMigrations()
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1))
    expect(migrations[0]).toMatchObject({ version: 1, name: 'init' })
    for (const table of [
      'jobs',
      'dedupe',
      'queue_totals',
      'delivery_log',
      'rejected_events',
      'oauth_tokens',
    ]) {
      expect(migrations[0]!.sql).toContain(`CREATE TABLE ${table} (`)
    }
  })

  test('apply in order once, are recorded in schema_migrations, and a second run applies nothing', async () => {
    const { schema, pool } = await emptySchema()
    const p = pool()
    const all = loadMigrations()
    expect(await migrate(p)).toEqual({ version: all.length, applied: all.map((m) => m.version) })
    expect(await tables(p, schema)).toEqual(
      expect.arrayContaining(['jobs', 'dedupe', 'queue_totals', 'delivery_log', 'schema_migrations']),
    )
    const recorded = await p.query<{ version: number; name: string }>(
      'SELECT version, name FROM schema_migrations ORDER BY version',
    )
    expect(recorded.rows).toEqual(all.map((m) => ({ version: m.version, name: m.name })))
    expect(await migrate(p)).toEqual({ version: all.length, applied: [] })
  })

  test('five processes starting at once: one applies each migration, the others wait and find it done', async () => {
    const { schema, pool } = await emptySchema()
    const results = await Promise.all(Array.from({ length: 5 }, () => migrate(pool())))
    const applied = results.flatMap((r) => r.applied)
    expect(applied).toEqual(loadMigrations().map((m) => m.version))
    expect(results.filter((r) => r.applied.length === 0)).toHaveLength(4)
    expect(await tables(pool(), schema)).toContain('jobs')
  })

  test('a failing migration leaves the schema as it was: earlier ones of the same run are rolled back too', async () => {
    const { schema, pool } = await emptySchema()
    const p = pool()
    const broken: Migration[] = [
      { version: 1, name: 'first', sql: 'CREATE TABLE first_table (id int)' },
      { version: 2, name: 'broken', sql: 'CREATE TABLE second_table (id int); SELECT no_such_function()' },
    ]
    await expect(migrate(p, broken)).rejects.toThrow(/no_such_function/)
    expect(await tables(p, schema)).toEqual([])
  })

  test('a database migrated by a newer build, or with an applied migration edited, is refused', async () => {
    const { pool } = await emptySchema()
    const p = pool()
    const v1: Migration[] = [{ version: 1, name: 'first', sql: 'CREATE TABLE first_table (id int)' }]
    const v2: Migration[] = [...v1, { version: 2, name: 'second', sql: 'CREATE TABLE second_table (id int)' }]
    await migrate(p, v2)
    await expect(migrate(p, v1)).rejects.toMatchObject({ code: 'DB_SCHEMA_TOO_NEW' })
    const edited: Migration[] = [{ ...v1[0]!, sql: 'CREATE TABLE first_table (id bigint)' }, v2[1]!]
    await expect(migrate(p, edited)).rejects.toMatchObject({ code: 'DB_MIGRATION_CHANGED' })
  })
})
