/**
 * The two backends of the stores (SQLite file, PostgreSQL database), as the store contract suites
 * (src/store/*.contract.ts) use them: each `open()` gives an empty database, and
 * `reopen()` the same one through a new connection, as after a restart. On PostgreSQL each
 * `open()` is a fresh schema of one database per test file, migrated by db/migrate.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import Database from 'better-sqlite3'

import { migrate } from '../src/db/migrate.js'
import { openThreadedSqliteQueue, type ThreadedSqliteQueue } from '../src/queue/threaded-sqlite-queue.js'
import { openPgPool, type PgPool } from '../src/db/pg.js'
import type { ActionMemoryStore } from '../src/lib/action-memory.js'
import { systemClock, type Clock } from '../src/lib/clock.js'
import { openActionMemory } from '../src/store/action-memory.js'
import { openSqliteActivationStore, type ActivationStore } from '../src/store/activations.js'
import { openDeliveryLog, type DeliveryLog, type DeliveryLogOptions } from '../src/store/delivery-log.js'
import { openOAuthTokenStore, type OAuthTokenStore } from '../src/store/oauth-tokens.js'
import { openPgActionMemory } from '../src/store/pg-action-memory.js'
import { openPgActivationStore } from '../src/store/pg-activations.js'
import { openPgDeliveryLog } from '../src/store/pg-delivery-log.js'
import { openPgOAuthTokenStore } from '../src/store/pg-oauth-tokens.js'
import { openPgRejectedEventStore } from '../src/store/pg-rejected-events.js'
import { openRejectedEventStore, type RejectedEventStore } from '../src/store/rejected-events.js'
import { createTestDatabase, type TestDatabase } from './pg.js'

/** One open database of a backend. */
export interface StoreDatabase {
  actionMemory(clock: Clock): ActionMemoryStore
  activations(): ActivationStore
  deliveryLog(opts: DeliveryLogOptions): DeliveryLog
  rejectedEvents(capacity?: number): RejectedEventStore
  oauthTokens(clock: Clock): OAuthTokenStore
  /** A table's rows as committed, read through a connection of its own (columns as stored). */
  committedRows(table: string): Promise<Record<string, unknown>[]>
  /** The same database through a new connection (a restart); this one stays open. */
  reopen(): Promise<StoreDatabase>
}

export interface StoreBackend {
  name: string
  /** An empty database. */
  open(): Promise<StoreDatabase>
  /** Closes every database opened, and removes them. */
  cleanup(): Promise<void>
}

/**
 * With `writesInQueueThread`, the stores that can write through the queue's thread (the delivery
 * log) do, as the service runs them (db/open-backend.ts): a threaded queue opens on each file.
 */
export function sqliteStoreBackend(options: { writesInQueueThread?: boolean } = {}): StoreBackend {
  const dir = mkdtempSync(join(tmpdir(), 'zdd-stores-'))
  const open: Database.Database[] = []
  const queues: ThreadedSqliteQueue[] = []
  let files = 0
  const connect = async (path: string): Promise<StoreDatabase> => {
    const db = new Database(path)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    open.push(db)
    let writer: ThreadedSqliteQueue | undefined
    if (options.writesInQueueThread === true) {
      writer = await openThreadedSqliteQueue({
        path,
        clock: systemClock,
        retentionMs: 60_000,
        dedupeWindowMs: 60_000,
      })
      queues.push(writer)
    }
    return {
      actionMemory: (clock) => openActionMemory(db, clock),
      activations: () => openSqliteActivationStore(db),
      deliveryLog: (opts) => openDeliveryLog(db, opts, writer),
      rejectedEvents: (capacity) => openRejectedEventStore(db, capacity),
      oauthTokens: (clock) => openOAuthTokenStore(db, clock),
      committedRows(table) {
        const reader = new Database(path, { readonly: true })
        try {
          return Promise.resolve(
            reader.prepare(`SELECT * FROM ${table} ORDER BY 1`).all() as Record<string, unknown>[],
          )
        } finally {
          reader.close()
        }
      },
      reopen: () => connect(path),
    }
  }
  return {
    name: options.writesInQueueThread === true ? 'sqlite, writes in the queue thread' : 'sqlite',
    open: () => connect(join(dir, `stores-${++files}.sqlite`)),
    async cleanup() {
      await Promise.all(queues.splice(0).map((q) => q.close()))
      for (const db of open.splice(0)) {
        db.close()
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export function pgStoreBackend(): StoreBackend {
  let database: TestDatabase | null = null
  const pools: PgPool[] = []
  let schemas = 0
  const pool = (schema: string) => {
    const p = openPgPool({ url: database!.url, schema, max: 2 })
    pools.push(p)
    return p
  }
  const connect = (schema: string): StoreDatabase => {
    const p = pool(schema)
    return {
      actionMemory: (clock) => openPgActionMemory(p, clock),
      activations: () => openPgActivationStore(p),
      deliveryLog: (opts) => openPgDeliveryLog(p, opts),
      rejectedEvents: (capacity) => openPgRejectedEventStore(p, capacity),
      oauthTokens: (clock) => openPgOAuthTokenStore(p, clock),
      async committedRows(table) {
        const reader = openPgPool({ url: database!.url, schema, max: 1 })
        try {
          const { rows } = await reader.query<Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY 1`)
          return rows
        } finally {
          await reader.end()
        }
      },
      reopen: () => Promise.resolve(connect(schema)),
    }
  }
  return {
    name: 'postgresql',
    async open() {
      database ??= await createTestDatabase('zdd_test_stores')
      const schema = `s${++schemas}`
      const admin = openPgPool({ url: database.url, schema, max: 1 })
      try {
        await admin.query(`CREATE SCHEMA ${schema}`)
        await migrate(admin)
      } finally {
        await admin.end()
      }
      return connect(schema)
    },
    async cleanup() {
      await Promise.all(pools.splice(0).map((p) => p.end()))
      await database?.drop()
    },
  }
}
