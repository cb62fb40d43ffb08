/**
 * Opens where the service keeps its queue and its state: the embedded SQLite file in DATA_DIR (the
 * default, one process), or PostgreSQL when DATABASE_URL is set (several processes share it;
 * docs/adr/0005-postgresql.md). Either way the service gets the same interfaces: the queue, the
 * rejected events, the rotated OAuth pairs, the delivery log, the actions' memory and the audience
 * activation data.
 *
 * On PostgreSQL the migrations run first (db/migrate.ts; safe when several processes start at
 * once), and the pool is handed out too, so that the cluster's delivery leases share it.
 * `close()` flushes the delivery log and closes the database (the pool included).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

import Database from 'better-sqlite3'

import type { ActionMemoryStore } from '../lib/action-memory.js'
import type { Clock } from '../lib/clock.js'
import { openPgQueue } from '../queue/pg-queue.js'
import type { Queue } from '../queue/queue.js'
import { openThreadedSqliteQueue } from '../queue/threaded-sqlite-queue.js'
import { openActionMemory } from '../store/action-memory.js'
import { openSqliteActivationStore, type ActivationStore } from '../store/activations.js'
import { openDeliveryLog, type DeliveryLog } from '../store/delivery-log.js'
import { openOAuthTokenStore, type OAuthTokenStore } from '../store/oauth-tokens.js'
import { openPgActionMemory } from '../store/pg-action-memory.js'
import { openPgActivationStore } from '../store/pg-activations.js'
import { openPgDeliveryLog } from '../store/pg-delivery-log.js'
import { openPgOAuthTokenStore } from '../store/pg-oauth-tokens.js'
import { openPgRejectedEventStore } from '../store/pg-rejected-events.js'
import { openRejectedEventStore, type RejectedEventStore } from '../store/rejected-events.js'
import { migrate } from './migrate.js'
import { openPgPool, redactDatabaseUrl, type PgPool } from './pg.js'

export interface BackendLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

export interface BackendOptions {
  /** The SQLite file's folder (used when `database` is null). */
  dataDir: string
  /** PostgreSQL (config.ts `database`), or null for SQLite. */
  database: { url: string; poolSize: number } | null
  clock: Clock
  log: BackendLogger
  /** How long done and dead jobs are kept. Default 7 days. */
  retentionMs?: number
  /** How long a messageId makes a repeat a duplicate. Default 24 hours. */
  dedupeWindowMs?: number
}

export interface Backend {
  kind: 'sqlite' | 'postgresql'
  queue: Queue
  rejected: RejectedEventStore
  oauthTokens: OAuthTokenStore
  deliveryLog: DeliveryLog
  actionMemory: ActionMemoryStore
  /** Audience activation data and memberships (docs/audiences.md). */
  activations: ActivationStore
  /** The PostgreSQL pool (null on SQLite): the cluster's leases use it too. */
  pool: PgPool | null
  /** Where the data is, for the start-up log (a PostgreSQL password is masked). */
  location: string
  /** Flushes the delivery log, then closes the queue and the database. */
  close(): Promise<void>
}

const DAY = 24 * 60 * 60 * 1000

export async function openBackend(opts: BackendOptions): Promise<Backend> {
  const windows = { retentionMs: opts.retentionMs ?? 7 * DAY, dedupeWindowMs: opts.dedupeWindowMs ?? DAY }
  const onLogError = (err: unknown) =>
    opts.log.warn({ err }, 'could not write the delivery log; will try again')
  if (opts.database !== null) {
    const location = redactDatabaseUrl(opts.database.url)
    const pool = openPgPool({
      url: opts.database.url,
      max: opts.database.poolSize,
      onError: (err) =>
        opts.log.warn(
          { err: { message: err.message } },
          'a PostgreSQL connection failed; it is replaced when needed',
        ),
    })
    try {
      const { version, applied } = await migrate(pool)
      opts.log.info(
        { database: location, schemaVersion: version, migrationsApplied: applied },
        'queue and state in PostgreSQL',
      )
    } catch (err) {
      await pool.end()
      throw err
    }
    const deliveryLog = openPgDeliveryLog(pool, { clock: opts.clock, onError: onLogError })
    const queue = openPgQueue({ pool, clock: opts.clock, ...windows })
    return {
      kind: 'postgresql',
      queue,
      rejected: openPgRejectedEventStore(pool),
      oauthTokens: openPgOAuthTokenStore(pool, opts.clock),
      deliveryLog,
      actionMemory: openPgActionMemory(pool, opts.clock),
      activations: openPgActivationStore(pool),
      pool,
      location,
      async close() {
        await deliveryLog.flush().catch(onLogError)
        await queue.close()
        await pool.end()
      },
    }
  }

  mkdirSync(opts.dataDir, { recursive: true })
  const path = join(opts.dataDir, 'zendesk-destination.sqlite')
  // The queue's connection works in a thread of its own, off the event loop of ingest and delivery.
  const queue = await openThreadedSqliteQueue(
    { path, clock: opts.clock, ...windows },
    {
      onThreadEvent: (e) => {
        if (e.type === 'gone') {
          opts.log.warn(
            { reason: e.message },
            "the queue's thread died; starting a new one (ingest answers 503 meanwhile)",
          )
        } else if (e.type === 'restarted') {
          opts.log.info({}, "the queue's thread is running again")
        } else {
          opts.log.warn(
            { err: e.error, retryInMs: e.retryInMs },
            'a new queue thread could not open the database; will try again',
          )
        }
      },
    },
  )
  const storeDb = new Database(path)
  storeDb.pragma('journal_mode = WAL')
  storeDb.pragma('busy_timeout = 5000')
  // The log's rows (one per settled job) are written by the queue's thread, off the event loop.
  const deliveryLog = openDeliveryLog(storeDb, { clock: opts.clock, onError: onLogError }, queue)
  return {
    kind: 'sqlite',
    queue,
    rejected: openRejectedEventStore(storeDb),
    oauthTokens: openOAuthTokenStore(storeDb, opts.clock),
    deliveryLog,
    actionMemory: openActionMemory(storeDb, opts.clock),
    activations: openSqliteActivationStore(storeDb),
    pool: null,
    location: path,
    async close() {
      await deliveryLog.flush().catch(onLogError)
      storeDb.close()
      await queue.close()
    },
  }
}
