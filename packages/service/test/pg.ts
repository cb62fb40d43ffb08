/**
 * Isolated PostgreSQL databases for tests. Vitest runs test files in parallel workers and other
 * test runs share the same server, so every test file (or test) works in a database of its own:
 *
 * ```ts
 * import { createTestDatabase, type TestDatabase } from '../test/pg.js'
 *
 * let db: TestDatabase
 * beforeAll(async () => { db = await createTestDatabase() })
 * afterAll(async () => { await db.drop() })
 * // db.url is a postgres:// URL: give it to openPgBackend, startTestService({ env: { DATABASE_URL: db.url } }), …
 * ```
 *
 * - The server: `TEST_DATABASE_URL` (any database on it that the user may connect to; the user
 *   needs CREATEDB), default `postgres://postgres@127.0.0.1:5432/postgres`, the server that
 *   `.ci/run` starts (trust auth on loopback).
 * - Each database is `zdd_test_<random>`, created empty from template0; `drop()` ends the
 *   connections still open to it (`WITH (FORCE)`) and drops it. A crashed run may leave
 *   `zdd_test_*` databases behind; `dropStaleTestDatabases()` removes those older than an hour.
 * - `startTcpProxy(db.url)` puts a TCP proxy in front of the server, so that a test can take
 *   "the database" away (`cut()`: open connections reset, new ones refused) and give it back
 *   (`restore()`) without touching the server that other tests share.
 */
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createConnection, createServer, type Socket } from 'node:net'

import pg from 'pg'

/** The maintenance connection: where test databases are created and dropped. */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface TestDatabase {
  /** The database's name (`zdd_test_…`). */
  name: string
  /** A connection URL for it, on the same server and user as TEST_DATABASE_URL. */
  url: string
  /** Ends every connection to it and drops it. Safe to call twice. */
  drop(): Promise<void>
}

/** `TEST_DATABASE_URL` with another database name. */
export function databaseUrl(name: string, base: string = TEST_DATABASE_URL): string {
  const url = new URL(base)
  url.pathname = `/${encodeURIComponent(name)}`
  return url.toString()
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

/** Creates an empty database with a random name; `prefix` (lowercase letters, digits, _) helps to tell them apart. */
export async function createTestDatabase(prefix = 'zdd_test'): Promise<TestDatabase> {
  if (!/^[a-z0-9_]{1,30}$/.test(prefix)) {
    throw new Error(`createTestDatabase: prefix must be lowercase letters, digits and _: ${prefix}`)
  }
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE template0`))
  let dropped = false
  return {
    name,
    url: databaseUrl(name),
    async drop() {
      if (dropped) {
        return
      }
      dropped = true
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
    },
  }
}

/** Drops `zdd_test_*` databases left by crashed runs (created more than `olderThanMs` ago). */
export async function dropStaleTestDatabases(olderThanMs = 60 * 60_000): Promise<number> {
  return admin(async (c) => {
    // A database's creation time is its directory's; pg_stat_file needs superuser, so fall back
    // to nothing when it is refused.
    const { rows } = await c
      .query<{ datname: string }>(
        `SELECT datname FROM pg_database
         WHERE datname LIKE 'zdd\\_test\\_%'
           AND (pg_stat_file('base/' || oid || '/PG_VERSION')).modification < now() - $1 * interval '1 millisecond'`,
        [olderThanMs],
      )
      .catch(() => ({ rows: [] as { datname: string }[] }))
    for (const { datname } of rows) {
      await c.query(`DROP DATABASE IF EXISTS "${datname.replaceAll('"', '""')}" WITH (FORCE)`)
    }
    return rows.length
  })
}

export interface TcpProxy {
  /** The database URL through the proxy (same database, user and options). */
  url: string
  /** Resets every open connection and refuses new ones until `restore()`. */
  cut(): void
  restore(): void
  close(): Promise<void>
}

/** A loopback TCP proxy to the server of `url` (see the header). */
export async function startTcpProxy(url: string): Promise<TcpProxy> {
  const target = new URL(url)
  const sockets = new Set<Socket>()
  let down = false
  const server = createServer((client) => {
    if (down) {
      client.resetAndDestroy()
      return
    }
    const upstream = createConnection({ host: target.hostname, port: Number(target.port || 5432) })
    sockets.add(client)
    sockets.add(upstream)
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const proxied = new URL(url)
  proxied.hostname = '127.0.0.1'
  proxied.port = String(typeof address === 'object' && address ? address.port : 0)
  const cut = () => {
    down = true
    for (const s of sockets) {
      s.resetAndDestroy()
    }
    sockets.clear()
  }
  return {
    url: proxied.toString(),
    cut,
    restore() {
      down = false
    },
    async close() {
      cut()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
