/**
 * PostgreSQL schema migrations: numbered plain SQL files (`migrations/pg/NNNN_name.sql`), applied
 * in order at start.
 *
 * - One transaction applies every pending file and records each in `schema_migrations` (version,
 *   name, SHA-256 of the text, time): a failure leaves the schema as it was.
 * - Several processes may start at once: the transaction first takes a transaction-scoped
 *   advisory lock, so one migrates and the others wait, then find nothing left to do. The lock
 *   goes with the transaction, even when the process dies.
 * - A database migrated by a newer build (a version this build does not know) is refused rather
 *   than used with a schema it does not understand; so is an applied file whose text changed
 *   (a migration, once released, is never edited: a new number is added instead).
 * - The files ship beside the compiled code: the build copies `src/db/migrations` to
 *   `dist/db/migrations` (package.json, `build`).
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'

import { AppError, ERROR_KINDS } from '../errors.js'
import { withTransaction, type PgPool } from './pg.js'

export interface Migration {
  version: number
  name: string
  sql: string
}

/** The lock every migrating process takes (an arbitrary constant: "zdd" + "migr"). */
const MIGRATION_LOCK = 0x7a64_6d69_6772

const MIGRATION_FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/

/** The PostgreSQL migrations of this build, from the folder beside this module. */
export const PG_MIGRATIONS_DIR = new URL('./migrations/pg/', import.meta.url)

/** Reads `NNNN_name.sql` files of a folder, in version order; versions must run 1, 2, 3, … */
export function loadMigrations(dir: URL = PG_MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .flatMap((file) => {
      const m = MIGRATION_FILE.exec(file)
      return m ? [{ version: Number(m[1]), name: m[2]!, sql: readFileSync(new URL(file, dir), 'utf8') }] : []
    })
    .sort((a, b) => a.version - b.version)
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new AppError(
        ERROR_KINDS.internal,
        'DB_MIGRATIONS_NOT_CONTIGUOUS',
        `Migration ${String(m.version).padStart(4, '0')}_${m.name} found where ${i + 1} was expected`,
      )
    }
  })
  return migrations
}

export interface MigrationResult {
  /** The schema version now (the highest migration applied). */
  version: number
  /** Versions this call applied (empty when the schema was up to date). */
  applied: number[]
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/** Applies the pending migrations (see the header); safe to call from several processes at once. */
export async function migrate(
  pool: PgPool,
  migrations: Migration[] = loadMigrations(),
): Promise<MigrationResult> {
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer     PRIMARY KEY,
      name       text        NOT NULL,
      sha256     text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
    const { rows } = await client.query<{ version: number; name: string; sha256: string }>(
      'SELECT version, name, sha256 FROM schema_migrations ORDER BY version',
    )
    const known = new Map(migrations.map((m) => [m.version, m]))
    for (const row of rows) {
      const m = known.get(row.version)
      if (!m) {
        throw new AppError(
          ERROR_KINDS.internal,
          'DB_SCHEMA_TOO_NEW',
          `The database has schema version ${row.version} (${row.name}); this build knows up to ${migrations.length}. Run the newer build, or a database of this version`,
        )
      }
      if (m.name !== row.name || sha256(m.sql) !== row.sha256) {
        throw new AppError(
          ERROR_KINDS.internal,
          'DB_MIGRATION_CHANGED',
          `Migration ${row.version} (${row.name}) was applied with a different text than this build's ${m.name}`,
        )
      }
    }
    const done = new Set(rows.map((r) => r.version))
    const applied: number[] = []
    for (const m of migrations) {
      if (done.has(m.version)) {
        continue
      }
      await client.query(m.sql)
      await client.query('INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        sha256(m.sql),
      ])
      applied.push(m.version)
    }
    return { version: migrations.length, applied }
  })
}
