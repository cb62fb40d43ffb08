/**
 * PostgreSQL plumbing shared by the PostgreSQL queue and stores: the connection pool, one helper
 * that runs work in a transaction, and the test of whether an error means "the database cannot be
 * reached" (ingest answers 503 then; the worker retries).
 *
 * - The pool never crashes the process: an idle connection that dies (server restart, network
 *   cut, `pg_terminate_backend`) is dropped and reported to `onError`; a connection that dies
 *   during a query rejects that query, and is destroyed instead of going back to the pool.
 * - Bounded waits: connecting gives up after `connectTimeoutMs`, a query after `queryTimeoutMs`
 *   (client side, so that a silent network cut cannot hang a request forever), and TCP
 *   keep-alive is on.
 * - The URL may hold a password: nothing here logs it or puts it in an error message
 *   (`redactDatabaseUrl` is what a log line may show).
 */
import pg from 'pg'

export type PgPool = pg.Pool
export type PgClient = pg.PoolClient

export interface PgPoolOptions {
  /** `postgres://user:password@host:port/database?…` */
  url: string
  /** Connections at most (default 10; docs/adr/0005-postgresql.md explains the sizing). */
  max?: number
  /** Default 5,000 ms. */
  connectTimeoutMs?: number
  /** Default 30,000 ms. */
  queryTimeoutMs?: number
  /** Shown in `pg_stat_activity`. Default `zendesk-destination`. */
  applicationName?: string
  /** A schema to work in (`search_path`), instead of the user's default (`public`). */
  schema?: string
  /** Told when an idle connection fails (the pool drops it and opens another when needed). */
  onError?: (err: Error) => void
}

export function openPgPool(opts: PgPoolOptions): PgPool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
    query_timeout: opts.queryTimeoutMs ?? 30_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: opts.applicationName ?? 'zendesk-destination',
    ...(opts.schema === undefined ? {} : { options: `-c search_path=${quoteIdent(opts.schema)}` }),
  })
  pool.on('error', (err) => opts.onError?.(err))
  return pool
}

/** An SQL identifier, quoted. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** Errors worth running a whole transaction again for: the server chose a victim. */
const RETRYABLE_CODES = new Set(['40001', '40P01'])
const MAX_TRANSACTION_ATTEMPTS = 3

/**
 * Runs `work` in a transaction (BEGIN … COMMIT; READ COMMITTED unless told otherwise) on one
 * pooled connection, and returns its result once committed. On an error it rolls back and
 * rethrows; a serialization failure or a deadlock runs the whole transaction again (up to 3
 * times), so `work` must be safe to repeat (no side effects outside the database).
 */
export async function withTransaction<T>(
  pool: PgPool,
  work: (client: PgClient) => Promise<T>,
  isolation: 'READ COMMITTED' | 'REPEATABLE READ' = 'READ COMMITTED',
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await onConnection(pool, async (client) => {
        await client.query(`BEGIN ISOLATION LEVEL ${isolation}`)
        try {
          const result = await work(client)
          await client.query('COMMIT')
          return result
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined)
          throw err
        }
      })
    } catch (err) {
      if (attempt >= MAX_TRANSACTION_ATTEMPTS || !RETRYABLE_CODES.has(pgCode(err) ?? '')) {
        throw err
      }
    }
  }
}

/**
 * One statement on the pool (its own transaction), run again like `withTransaction` when the
 * server chose it as a deadlock or serialization victim.
 */
export async function queryRetrying<R extends pg.QueryResultRow>(
  pool: PgPool,
  sql: string,
  params: unknown[],
): Promise<pg.QueryResult<R>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await pool.query<R>(sql, params)
    } catch (err) {
      if (attempt >= MAX_TRANSACTION_ATTEMPTS || !RETRYABLE_CODES.has(pgCode(err) ?? '')) {
        throw err
      }
    }
  }
}

/**
 * Runs `work` on one pooled connection. A connection that failed under it (network, server gone)
 * is destroyed rather than handed to the next caller.
 */
export async function onConnection<T>(pool: PgPool, work: (client: PgClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  // Checked-out clients have no listener of the pool's: without one, a connection dying between
  // two queries would be an unhandled 'error' event. The failure also rejects the next query.
  let broken: Error | null = null
  const onError = (err: Error) => {
    broken = err
  }
  client.on('error', onError)
  try {
    const result = await work(client)
    client.removeListener('error', onError)
    client.release(broken ?? undefined)
    return result
  } catch (err) {
    client.removeListener('error', onError)
    // Destroy the connection when it failed, or when a query may still be running on it.
    client.release(broken ?? (isDatabaseUnavailable(err) ? (err as Error) : undefined))
    throw err
  }
}

/** The SQLSTATE of a server error, if any. */
export function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/**
 * Whether an error means the database could not be reached or used right now (as opposed to a
 * bad statement): connection refused, reset or timed out, the server shutting down or refusing
 * connections, too many connections, a query timeout.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) {
    return false
  }
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    return true
  }
  const sqlstate = pgCode(err)
  if (sqlstate !== undefined) {
    // 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot connect now;
    // 53300: too many connections; 57014: query canceled (statement_timeout).
    return sqlstate.startsWith('08') || ['57P01', '57P02', '57P03', '53300', '57014'].includes(sqlstate)
  }
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|connection is closed/i.test(
    err.message,
  )
}

/** The URL with its password replaced, for log lines. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') {
      u.password = '***'
    }
    return u.toString()
  } catch {
    return '(an unparsable DATABASE_URL)'
  }
}
