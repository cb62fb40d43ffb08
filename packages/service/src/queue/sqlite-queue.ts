/**
 * The queue on an embedded SQLite file (better-sqlite3), for a single service process. It
 * implements `queue.ts` exactly; read the state machine there first.
 *
 * - Every write is one `BEGIN IMMEDIATE` transaction: it takes the write lock first, so a second
 *   connection (an admin tool, another process) waits up to `busyTimeoutMs` for it instead of
 *   failing half-way with SQLITE_BUSY.
 * - better-sqlite3 is synchronous; the methods return settled promises so that the PostgreSQL
 *   queue fits the same interface. A call blocks the event loop for its duration: claims and
 *   enqueues of a few thousand jobs take milliseconds; `purge` works in chunks and yields.
 * - Ordering (queue.ts): a ready job is claimable when no earlier job of its destination and
 *   ordering key is leased, parked, or ready but not yet available. `claim` walks the ready jobs
 *   of the destination in id order; SQLite itself leaves out those with an earlier leased or
 *   parked job of their key, with one seek each in the small `jobs_blockers` index (leased and
 *   parked jobs only), and a ready job that is not yet available blocks its key for the rest of
 *   the walk. The walk's cost grows with the ready jobs it steps over before it has
 *   `limit` claimable ones: jobs waiting for a retry, and jobs whose key is blocked (measured
 *   here: ~5 ms for 500 jobs out of 1,000,000 queued; 30–110 ms when 100,000 blocked jobs come
 *   first, of one key to 1,000 keys).
 * - Duplicates: a `dedupe` table remembers (destination, dedupeKey) for `dedupeWindowMs` from the
 *   first enqueue, independently of the job's own lifetime; an entry older than the window is
 *   renewed, so the window is exact whether or not `purge` has run yet.
 * - Backlog: kept as a counter row updated in the same transaction as each change, so that ingest
 *   back-pressure costs one row read instead of counting millions of jobs.
 */
import Database from 'better-sqlite3'

import { AppError, ERROR_KINDS } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import { sqliteBatchRunner, type SqlStatementBatch } from '../lib/sql-statements.js'
import type {
  ClaimOptions,
  EnqueueResult,
  Job,
  JobState,
  NewJob,
  Queue,
  QueueCounts,
  QueueWindows,
} from './queue.js'

/**
 * `NORMAL`: in WAL mode a commit is not fsynced; the WAL is synced at checkpoints. A process
 * crash (kill -9, OOM) loses nothing that was committed, because the written pages are in the
 * operating system's cache; a power loss or kernel crash may roll back the last transactions
 * (the file stays consistent). `FULL` fsyncs the WAL at every commit: durable against power loss,
 * at the price of one fsync per enqueue batch.
 */
export type SqliteSynchronous = 'NORMAL' | 'FULL'

export interface SqliteQueueOptions extends QueueWindows {
  /** The database file, inside the service's DATA_DIR. */
  path: string
  clock: Clock
  /** Default `NORMAL` (see SqliteSynchronous). */
  synchronous?: SqliteSynchronous
  /** How long a write waits for another connection's lock before failing. Default 5,000 ms. */
  busyTimeoutMs?: number
  /**
   * WAL pages after which a commit checkpoints (copies the WAL into the database file). Default
   * 10,000 (~40 MB); 0 never checkpoints (bench/queue-costs.ts measures each step's WAL writes so).
   */
  walAutocheckpointPages?: number
}

/** What the connection actually runs with, for the startup log and tests. */
export interface SqliteQueueInfo {
  path: string
  journalMode: string
  synchronous: SqliteSynchronous
  schemaVersion: number
  /** WAL pages after which a commit checkpoints (0: never). */
  walAutocheckpointPages: number
}

const SCHEMA_VERSIONS = `
  CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)`
const SELECT_SCHEMA_VERSION = `SELECT version FROM schema_versions WHERE component = 'queue'`
const SET_SCHEMA_VERSION = `
  INSERT INTO schema_versions (component, version) VALUES ('queue', ?)
  ON CONFLICT (component) DO UPDATE SET version = excluded.version`

/** Schema migrations, applied in order; schema_versions ('queue') holds how many have run. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: ids order enqueues and name jobs in the admin API
    destination_id  TEXT    NOT NULL,
    ordering_key    TEXT    NOT NULL,
    dedupe_key      TEXT,
    payload         TEXT    NOT NULL,                  -- JSON
    state           TEXT    NOT NULL CHECK (state IN ('ready', 'leased', 'done', 'dead', 'parked')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    available_at    INTEGER NOT NULL,                  -- epoch ms
    leased_until    INTEGER,                           -- epoch ms, leased jobs only
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
  );
  -- The claim walk (ready jobs of a destination in id order), list() and counts().
  CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (destination_id, state, id);
  -- Only jobs that block their key by state; small (in flight + parked), so inserts never touch it.
  CREATE INDEX IF NOT EXISTS jobs_blockers ON jobs (destination_id, ordering_key, id)
    WHERE state IN ('leased', 'parked');
  CREATE INDEX IF NOT EXISTS jobs_leases ON jobs (leased_until) WHERE state = 'leased';
  CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (updated_at) WHERE state IN ('done', 'dead');

  CREATE TABLE IF NOT EXISTS dedupe (
    destination_id  TEXT    NOT NULL,
    dedupe_key      TEXT    NOT NULL,
    seen_at         INTEGER NOT NULL,                  -- epoch ms of the enqueue that opened the window
    PRIMARY KEY (destination_id, dedupe_key)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS dedupe_by_age ON dedupe (seen_at);

  CREATE TABLE IF NOT EXISTS queue_totals (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    backlog  INTEGER NOT NULL                          -- jobs ready, leased or parked
  );
  INSERT OR IGNORE INTO queue_totals (id, backlog)
    SELECT 1, count(*) FROM jobs WHERE state IN ('ready', 'leased', 'parked');
  `,
]

// Statements. Lists of ids travel as one JSON array parameter (json_each) so that a statement
// does not depend on the number of ids, nor on SQLite's limit on bound parameters.

const INSERT_JOB = `
  INSERT INTO jobs (destination_id, ordering_key, dedupe_key, payload, state, attempts,
                    available_at, created_at, updated_at)
  VALUES (?, ?, ?, ?, 'ready', 0, ?, ?, ?)`

/** Changes 1 row when the key is new or its window has passed; 0 for a duplicate. */
const REMEMBER_DEDUPE_KEY = `
  INSERT INTO dedupe (destination_id, dedupe_key, seen_at) VALUES (?, ?, ?)
  ON CONFLICT (destination_id, dedupe_key) DO UPDATE SET seen_at = excluded.seen_at
  WHERE dedupe.seen_at <= ?`

const ADD_TO_BACKLOG = `UPDATE queue_totals SET backlog = backlog + ? WHERE id = 1`
const SELECT_BACKLOG = `SELECT backlog FROM queue_totals WHERE id = 1`

/** Any claim returns every expired lease, of all destinations, to ready; attempts unchanged. */
const EXPIRE_LEASES = `
  UPDATE jobs SET state = 'ready', leased_until = NULL, updated_at = ?
  WHERE state = 'leased' AND leased_until <= ?`

/**
 * A page of the destination's ready jobs in id order, without those that an earlier leased or
 * parked job of their key blocks: one seek each in `jobs_blockers` (INDEXED BY keeps that plan).
 * Asked from JavaScript, that check cost ~10 µs a candidate; reading every blocker of the
 * destination once per claim instead cost ~1.3 µs per blocker, 13 µs a job for a claim of 300
 * with 3,000 in flight. Here it costs ~2 µs a job whatever the claim's size (bench/README.md).
 */
const READY_UNBLOCKED_PAGE = `
  SELECT r.id, r.ordering_key, r.available_at FROM jobs r
  WHERE r.destination_id = ? AND r.state = 'ready' AND r.id > ?
    AND NOT EXISTS (
      SELECT 1 FROM jobs b INDEXED BY jobs_blockers
      WHERE b.destination_id = r.destination_id AND b.ordering_key = r.ordering_key AND b.id < r.id
        AND b.state IN ('leased', 'parked'))
  ORDER BY r.id LIMIT ?`

/**
 * No RETURNING: SQLite buffers returned rows in a temporary table first, which with the payloads
 * made a lease of 1,000 jobs take ~23 ms; the update and SELECT_JOBS after it take ~17 ms.
 */
const LEASE_JOBS = `
  UPDATE jobs SET state = 'leased', leased_until = ?, updated_at = ?
  WHERE id IN (SELECT value FROM json_each(?)) AND state = 'ready'`

/** The jobs just leased, in id order (the walk picked them in id order and they are ready). */
const SELECT_JOBS = `SELECT * FROM jobs WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`

const EXTEND_LEASES = `
  UPDATE jobs SET leased_until = ?, updated_at = ?
  WHERE id IN (SELECT value FROM json_each(?)) AND state = 'leased'`

const COMPLETE_JOBS = `
  UPDATE jobs SET state = 'done', leased_until = NULL, updated_at = ?
  WHERE id IN (SELECT value FROM json_each(?)) AND state = 'leased'`

const RETRY_JOB = `
  UPDATE jobs SET state = 'ready', attempts = attempts + ?, available_at = ?, leased_until = NULL,
                  last_error = ?, updated_at = ?
  WHERE id = ? AND state = 'leased'`

const FAIL_JOB = `
  UPDATE jobs SET state = 'dead', attempts = attempts + 1, leased_until = NULL, last_error = ?,
                  updated_at = ?
  WHERE id = ? AND state = 'leased'`

const PARK_JOBS = `
  UPDATE jobs SET state = 'parked', leased_until = NULL, last_error = ?, updated_at = ?
  WHERE id IN (SELECT value FROM json_each(?)) AND state = 'leased'`

const UNPARK_DESTINATION = `
  UPDATE jobs SET state = 'ready', available_at = ?, updated_at = ?
  WHERE destination_id = ? AND state = 'parked'`

/** last_error stays, as history of why the job died; attempts start again. */
const REPLAY_DESTINATION = `
  UPDATE jobs SET state = 'ready', attempts = 0, available_at = ?, updated_at = ?
  WHERE destination_id = ? AND state = 'dead'`

const REPLAY_JOBS = `
  UPDATE jobs SET state = 'ready', attempts = 0, available_at = ?, updated_at = ?
  WHERE destination_id = ? AND state = 'dead' AND id IN (SELECT value FROM json_each(?))`

const SELECT_JOB = `SELECT * FROM jobs WHERE id = ?`

const LIST_JOBS = `SELECT * FROM jobs WHERE destination_id = ? AND state = ? ORDER BY id LIMIT ?`

const COUNT_ALL = `SELECT state, count(*) AS n FROM jobs GROUP BY state`
const COUNT_DESTINATION = `SELECT state, count(*) AS n FROM jobs WHERE destination_id = ? GROUP BY state`

const PURGE_FINISHED_CHUNK = `
  DELETE FROM jobs WHERE id IN (
    SELECT id FROM jobs WHERE state IN ('done', 'dead') AND updated_at <= ? LIMIT ?)`

const PURGE_DEDUPE_CHUNK = `
  DELETE FROM dedupe WHERE (destination_id, dedupe_key) IN (
    SELECT destination_id, dedupe_key FROM dedupe WHERE seen_at <= ? LIMIT ?)`

const PURGE_CHUNK_SIZE = 5_000

/** A job as a row of the `jobs` table (its payload as JSON). */
export interface JobRow {
  id: number
  destination_id: string
  ordering_key: string
  dedupe_key: string | null
  payload: string
  state: JobState
  attempts: number
  available_at: number
  leased_until: number | null
  last_error: string | null
  created_at: number
  updated_at: number
}

/** READY_UNBLOCKED_PAGE in raw mode: id, ordering_key, available_at. */
type ReadyRow = [id: number, orderingKey: string, availableAt: number]

/** Opens (creating or migrating) the queue file. */
export function openSqliteQueue(options: SqliteQueueOptions): SqliteQueue {
  return new SqliteQueue(options)
}

export class SqliteQueue implements Queue {
  readonly info: SqliteQueueInfo

  private readonly db: Database.Database
  private readonly clock: Clock
  private readonly retentionMs: number
  private readonly dedupeWindowMs: number
  private readonly statements: ReturnType<typeof prepareStatements>
  /** Runs other stores' statements (`runStatements`). */
  private readonly foreign: (batch: SqlStatementBatch) => void

  constructor(options: SqliteQueueOptions) {
    const synchronous = options.synchronous ?? 'NORMAL'
    this.clock = options.clock
    this.retentionMs = options.retentionMs
    this.dedupeWindowMs = options.dedupeWindowMs
    this.db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5_000 })
    try {
      const journalMode = String(this.db.pragma('journal_mode = WAL', { simple: true }))
      if (journalMode !== 'wal' && options.path !== ':memory:') {
        throw new AppError(
          ERROR_KINDS.internal,
          'QUEUE_WAL_UNAVAILABLE',
          `SQLite refused WAL mode for ${options.path} (journal_mode is ${journalMode})`,
        )
      }
      this.db.pragma(`synchronous = ${synchronous}`)
      // 16 MiB of page cache (the default is 2 MiB): the claim walk and the hot part of the dedupe
      // index stay in memory. 64 MiB measured no faster at ingest (bench/README.md, `memory`) and
      // pushed the service past its 250 MB RSS budget with a million jobs queued.
      this.db.pragma('cache_size = -16384')
      // Checkpoint every ~40 MB of WAL instead of 4 MB: random dedupe keys (uuid v4 messageIds)
      // dirty pages all over the dedupe index, and fewer checkpoints write and fsync each page
      // fewer times. Measured on a 2-core machine, 100,000 random keys in batches of 1,000:
      // ~80k → ~120k keys/s. The WAL file is cut back to 64 MB after a checkpoint.
      this.db.pragma(`wal_autocheckpoint = ${options.walAutocheckpointPages ?? 10_000}`)
      this.db.pragma('journal_size_limit = 67108864')
      const schemaVersion = migrate(this.db)
      // Read back rather than echo the option: 1 is NORMAL, 2 is FULL.
      const effective = Number(this.db.pragma('synchronous', { simple: true })) === 2 ? 'FULL' : 'NORMAL'
      this.info = {
        path: options.path,
        journalMode,
        synchronous: effective,
        schemaVersion,
        walAutocheckpointPages: Number(this.db.pragma('wal_autocheckpoint', { simple: true })),
      }
      this.statements = prepareStatements(this.db)
      this.foreign = sqliteBatchRunner(this.db)
    } catch (error) {
      this.db.close()
      throw error
    }
  }

  enqueue(jobs: NewJob[]): Promise<EnqueueResult> {
    return settle(() => this.enqueueRows(jobs.map(serializeJob)))
  }

  claim(opts: ClaimOptions): Promise<Job[]> {
    return settle(() => this.claimRows(opts).map(toJob))
  }

  extendLease(ids: number[], leaseMs: number): Promise<void> {
    return settle(() => {
      const now = this.clock.now()
      this.write(() => this.statements.extendLeases.run(now + leaseMs, now, JSON.stringify(ids)))
    })
  }

  complete(ids: number[]): Promise<void> {
    return settle(() => {
      this.write(() => {
        const { changes } = this.statements.completeJobs.run(this.clock.now(), JSON.stringify(ids))
        this.statements.addToBacklog.run(-changes)
      })
    })
  }

  retry(id: number, availableAt: number, error: string, spendAttempt = true): Promise<void> {
    return settle(() => {
      this.write(() =>
        this.statements.retryJob.run(spendAttempt ? 1 : 0, availableAt, error, this.clock.now(), id),
      )
    })
  }

  fail(id: number, error: string): Promise<void> {
    return settle(() => {
      this.write(() => {
        const { changes } = this.statements.failJob.run(error, this.clock.now(), id)
        this.statements.addToBacklog.run(-changes)
      })
    })
  }

  park(ids: number[], reason: string): Promise<void> {
    return settle(() => {
      this.write(() => this.statements.parkJobs.run(reason, this.clock.now(), JSON.stringify(ids)))
    })
  }

  unpark(destinationId: string): Promise<number> {
    return settle(() => {
      const now = this.clock.now()
      return this.write(() => this.statements.unparkDestination.run(now, now, destinationId).changes)
    })
  }

  replay(destinationId: string, ids?: number[]): Promise<number> {
    return settle(() =>
      this.write(() => {
        const now = this.clock.now()
        const { changes } =
          ids === undefined
            ? this.statements.replayDestination.run(now, now, destinationId)
            : this.statements.replayJobs.run(now, now, destinationId, JSON.stringify(ids))
        this.statements.addToBacklog.run(changes)
        return changes
      }),
    )
  }

  get(id: number): Promise<Job | null> {
    return settle(() => {
      const row = this.getRow(id)
      return row === null ? null : toJob(row)
    })
  }

  list(destinationId: string, state: JobState, limit: number): Promise<Job[]> {
    return settle(() => this.listRows(destinationId, state, limit).map(toJob))
  }

  /** `get` with the payload left as JSON (the thread of threaded-sqlite-queue.ts). */
  getRow(id: number): JobRow | null {
    return this.statements.selectJob.get(id) ?? null
  }

  /** `list` with the payloads left as JSON. */
  listRows(destinationId: string, state: JobState, limit: number): JobRow[] {
    return this.statements.listJobs.all(destinationId, state, limit)
  }

  counts(destinationId?: string): Promise<QueueCounts> {
    return settle(() => {
      const rows =
        destinationId === undefined
          ? this.statements.countAll.all()
          : this.statements.countDestination.all(destinationId)
      const counts: QueueCounts = { ready: 0, leased: 0, done: 0, dead: 0, parked: 0 }
      for (const row of rows) {
        counts[row.state] = row.n
      }
      return counts
    })
  }

  backlog(): Promise<number> {
    return settle(() => this.statements.selectBacklog.get() ?? 0)
  }

  async purge(olderThanMs: number = this.retentionMs): Promise<number> {
    const now = this.clock.now()
    // Chunks, each its own transaction, with the event loop free in between: ingest in this
    // process and writers in others never wait long behind a purge.
    const purgeChunks = async (statement: Database.Statement<[number, number]>, cutoff: number) => {
      let total = 0
      for (;;) {
        const { changes } = this.write(() => statement.run(cutoff, PURGE_CHUNK_SIZE))
        total += changes
        if (changes < PURGE_CHUNK_SIZE) {
          return total
        }
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
    }
    const purged = await purgeChunks(this.statements.purgeFinishedChunk, now - olderThanMs)
    await purgeChunks(this.statements.purgeDedupeChunk, now - this.dedupeWindowMs)
    return purged
  }

  close(): Promise<void> {
    return settle(() => {
      if (this.db.open) {
        this.db.close()
      }
    })
  }

  /** `enqueue` of jobs whose payloads are JSON already. */
  enqueueRows(jobs: SerializedJob[]): EnqueueResult {
    if (jobs.length === 0) {
      return { inserted: 0, duplicates: 0 }
    }
    const s = this.statements
    return this.write(() => {
      const now = this.clock.now()
      const windowStart = now - this.dedupeWindowMs
      let inserted = 0
      for (const job of jobs) {
        if (
          job.dedupeKey !== null &&
          s.rememberDedupeKey.run(job.destinationId, job.dedupeKey, now, windowStart).changes === 0
        ) {
          continue
        }
        s.insertJob.run(job.destinationId, job.orderingKey, job.dedupeKey, job.payloadJson, now, now, now)
        inserted++
      }
      s.addToBacklog.run(inserted)
      return { inserted, duplicates: jobs.length - inserted }
    })
  }

  /** `claim` with the payloads left as JSON. */
  claimRows({ destinationId, limit, leaseMs }: ClaimOptions): JobRow[] {
    const s = this.statements
    return this.write(() => {
      const now = this.clock.now()
      s.expireLeases.run(now, now)
      if (limit <= 0) {
        return []
      }
      const picked: number[] = []
      // Keys with an earlier job that is ready but not yet available: every later job of such a
      // key is blocked too, for the rest of this walk (leased and parked ones are left out by
      // the page's query).
      const blockedKeys = new Set<string>()
      const pageSize = Math.min(Math.max(limit * 2, 100), 2_000)
      let afterId = 0
      walk: for (;;) {
        const page = s.readyUnblockedPage.all(destinationId, afterId, pageSize)
        for (const [id, key, availableAt] of page) {
          afterId = id
          if (blockedKeys.has(key)) {
            continue
          }
          if (availableAt > now) {
            blockedKeys.add(key)
            continue
          }
          picked.push(id)
          if (picked.length === limit) {
            break walk
          }
        }
        if (page.length < pageSize) {
          break
        }
      }
      if (picked.length === 0) {
        return []
      }
      const ids = JSON.stringify(picked)
      s.leaseJobs.run(now + leaseMs, now, ids)
      // Every picked job was ready inside this transaction, so each is leased now.
      return s.selectJobs.all(ids)
    })
  }

  /**
   * Runs other stores' statements of the same file in one write transaction on this connection:
   * in the threaded queue, that takes their writes off the service's event loop (the delivery
   * log's rows, a row per settled job). Statements are prepared once per SQL text.
   */
  runStatements(batch: SqlStatementBatch): void {
    this.foreign(batch)
  }

  /** Runs `work` in a BEGIN IMMEDIATE transaction (takes the write lock up front). */
  private write<T>(work: () => T): T {
    return this.db.transaction(work).immediate()
  }
}

function prepareStatements(db: Database.Database) {
  return {
    insertJob: db.prepare<[string, string, string | null, string, number, number, number]>(INSERT_JOB),
    rememberDedupeKey: db.prepare<[string, string, number, number]>(REMEMBER_DEDUPE_KEY),
    addToBacklog: db.prepare<[number]>(ADD_TO_BACKLOG),
    selectBacklog: db.prepare<[], number>(SELECT_BACKLOG).pluck(),
    expireLeases: db.prepare<[number, number]>(EXPIRE_LEASES),
    // Arrays, not objects: a walk past 100,000 blocked jobs takes ~35% less time.
    readyUnblockedPage: db.prepare<[string, number, number], ReadyRow>(READY_UNBLOCKED_PAGE).raw(),
    leaseJobs: db.prepare<[number, number, string]>(LEASE_JOBS),
    selectJobs: db.prepare<[string], JobRow>(SELECT_JOBS),
    extendLeases: db.prepare<[number, number, string]>(EXTEND_LEASES),
    completeJobs: db.prepare<[number, string]>(COMPLETE_JOBS),
    retryJob: db.prepare<[number, number, string, number, number]>(RETRY_JOB),
    failJob: db.prepare<[string, number, number]>(FAIL_JOB),
    parkJobs: db.prepare<[string, number, string]>(PARK_JOBS),
    unparkDestination: db.prepare<[number, number, string]>(UNPARK_DESTINATION),
    replayDestination: db.prepare<[number, number, string]>(REPLAY_DESTINATION),
    replayJobs: db.prepare<[number, number, string, string]>(REPLAY_JOBS),
    selectJob: db.prepare<[number], JobRow>(SELECT_JOB),
    listJobs: db.prepare<[string, JobState, number], JobRow>(LIST_JOBS),
    countAll: db.prepare<[], { state: JobState; n: number }>(COUNT_ALL),
    countDestination: db.prepare<[string], { state: JobState; n: number }>(COUNT_DESTINATION),
    purgeFinishedChunk: db.prepare<[number, number]>(PURGE_FINISHED_CHUNK),
    purgeDedupeChunk: db.prepare<[number, number]>(PURGE_DEDUPE_CHUNK),
  }
}

/**
 * Applies the migrations not yet applied; returns the schema version. The version lives in a
 * `schema_versions` row named 'queue' rather than in `PRAGMA user_version`, because the file is
 * shared with other stores of the service, each with its own migrations.
 */
function migrate(db: Database.Database): number {
  return db
    .transaction(() => {
      db.exec(SCHEMA_VERSIONS)
      const version = db.prepare<[], number>(SELECT_SCHEMA_VERSION).pluck().get() ?? 0
      if (version > MIGRATIONS.length) {
        throw new AppError(
          ERROR_KINDS.internal,
          'QUEUE_SCHEMA_TOO_NEW',
          `The queue file has schema version ${version}; this build knows up to ${MIGRATIONS.length}`,
        )
      }
      for (const [index, sql] of MIGRATIONS.entries()) {
        if (index >= version) {
          db.exec(sql)
        }
      }
      db.prepare<[number]>(SET_SCHEMA_VERSION).run(MIGRATIONS.length)
      return MIGRATIONS.length
    })
    .immediate()
}

/** A new job with its payload as JSON, as `enqueueRows` takes it. */
export interface SerializedJob {
  destinationId: string
  orderingKey: string
  dedupeKey: string | null
  payloadJson: string
}

export function serializeJob(job: NewJob): SerializedJob {
  return {
    destinationId: job.destinationId,
    orderingKey: job.orderingKey,
    dedupeKey: job.dedupeKey,
    // JSON.stringify(undefined) is undefined: an absent payload is stored as null.
    payloadJson: job.payloadJson ?? JSON.stringify(job.payload) ?? 'null',
  }
}

export function toJob(row: JobRow): Job {
  return {
    id: row.id,
    destinationId: row.destination_id,
    orderingKey: row.ordering_key,
    dedupeKey: row.dedupe_key,
    payload: JSON.parse(row.payload) as unknown,
    state: row.state,
    attempts: row.attempts,
    availableAt: row.available_at,
    leasedUntil: row.leased_until,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/** A synchronous step as a promise: its result resolves, its exception rejects. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()))
}
