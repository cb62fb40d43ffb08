/**
 * The embedded SQLite queue (sqlite-queue.ts) run in a worker thread, the service's default on
 * SQLite. better-sqlite3 is synchronous: in the main thread every enqueue, claim and settlement
 * blocks the event loop that also parses ingest requests and runs delivery. Here the queue's own
 * connection lives in a thread (sqlite-queue-thread.ts) and the main thread only sends requests
 * and reads answers, so SQLite's work runs on a second core. On the 2-core machine of the
 * benchmarks, ingest and delivery share one core less: bench/README.md (`identify-sync`).
 *
 * - Same contract as SqliteQueue (queue.contract.ts runs on both): requests run one at a time in
 *   the order they were sent, each in its own transaction; `enqueue` answers after the commit.
 * - Time is the main thread's: every request carries `clock.now()`, so an injected clock rules.
 * - Payloads cross as JSON text: `enqueue` serializes them here (as SqliteQueue does), `claim`,
 *   `get` and `list` parse them here; the thread never parses a payload.
 * - The thread holds the process open only while a request waits for its answer.
 * - If the thread dies (it should not: every request's error is caught and answered), the requests
 *   waiting fail, and so do later ones, at once, with QUEUE_THREAD_GONE, while a new thread opens
 *   the file again: at once, then after 1 s, 2 s, … up to 30 s between tries while it fails.
 *   Meanwhile ingest answers 503 (SDKs retry) and /ready reports the database unavailable; nothing
 *   committed is lost. A request whose answer was lost may have committed: an enqueue the sender
 *   then retries is a duplicate by its messageId, and a settlement done twice changes nothing the
 *   second time (its jobs are no longer leased).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'

import { AppError, ERROR_KINDS } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import type { SqlStatementBatch, SqlStatementRunner } from '../lib/sql-statements.js'
import type { ClaimOptions, EnqueueResult, Job, JobState, NewJob, Queue, QueueCounts } from './queue.js'
import {
  serializeJob,
  toJob,
  type JobRow,
  type SqliteQueueInfo,
  type SqliteQueueOptions,
} from './sqlite-queue.js'
import {
  deserializeError,
  fromColumns,
  JOB_ROW_FIELDS,
  SERIALIZED_JOB_FIELDS,
  toColumns,
  type Columns,
  type QueueThreadData,
  type QueueThreadRequest,
  type SerializedError,
} from './thread-protocol.js'

type Answer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError }
type StartMessage = { type: 'ready'; info: SqliteQueueInfo } | { type: 'failed'; error: SerializedError }

/**
 * The thread's module next to this one. From the sources (tests, `npm run dev`) it is TypeScript:
 * a bootstrap registers tsx in the thread first (a worker's execArgv cannot take `--import`).
 */
function threadEntry(): { entry: URL | string; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) {
    return { entry: new URL('./sqlite-queue-thread.js', import.meta.url), eval: false }
  }
  const url = new URL('./sqlite-queue-thread.ts', import.meta.url)
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}) })`
  return { entry: bootstrap, eval: true }
}

/** What happened to the queue's thread, for the service's log. */
export type QueueThreadEvent =
  | { type: 'gone'; message: string }
  | { type: 'restarted' }
  | { type: 'restart-failed'; error: Error; retryInMs: number }

/** Longest wait between two tries to start a new thread after the last one died. */
const MAX_RESTART_BACKOFF_MS = 30_000

/** What the service gives the threaded queue besides the queue's options. */
export interface ThreadedQueueHooks {
  /** Told what happens to the queue's thread (the service logs it). */
  onThreadEvent?: (event: QueueThreadEvent) => void
  /**
   * Waits `ms` before the next try to start a thread, or less when `signal` aborts (the queue
   * closes); must not reject. Default: a timer.
   */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
}

/** How a dead thread is replaced: a new thread, what to tell the service, the wait between tries. */
type Restarts = Required<ThreadedQueueHooks> & {
  newThread: () => Promise<{ worker: Worker; info: SqliteQueueInfo }>
}

const timerSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  sleep(ms, undefined, { signal }).catch(() => undefined)

/** Starts the thread and opens (creating or migrating) the queue file in it. */
export async function openThreadedSqliteQueue(
  options: SqliteQueueOptions,
  hooks: ThreadedQueueHooks = {},
): Promise<ThreadedSqliteQueue> {
  const { clock, ...rest } = options
  const data: QueueThreadData = { options: rest }
  const { worker, info } = await startThread(data)
  return new ThreadedSqliteQueue(worker, clock, info, {
    newThread: () => startThread(data),
    onThreadEvent: hooks.onThreadEvent ?? (() => undefined),
    sleep: hooks.sleep ?? timerSleep,
  })
}

/** A thread with the queue file open in it, once it says so. */
async function startThread(data: QueueThreadData): Promise<{ worker: Worker; info: SqliteQueueInfo }> {
  const entry = threadEntry()
  const worker = new Worker(entry.entry, {
    workerData: data,
    eval: entry.eval,
    // A small young generation: the thread's garbage is short-lived rows and messages, and the
    // service's memory budget (bench `memory`) counts this heap too.
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  })
  const info = await new Promise<SqliteQueueInfo>((resolve, reject) => {
    const onExit = (code: number) =>
      reject(
        new AppError(
          ERROR_KINDS.internal,
          'QUEUE_THREAD_GONE',
          `the queue's thread exited (${code}) at start`,
        ),
      )
    worker.once('error', reject)
    worker.once('exit', onExit)
    worker.once('message', (m: StartMessage) => {
      worker.off('error', reject)
      worker.off('exit', onExit)
      if (m.type === 'ready') {
        resolve(m.info)
      } else {
        void worker.terminate()
        reject(deserializeError(m.error))
      }
    })
  })
  return { worker, info }
}

export class ThreadedSqliteQueue implements Queue, SqlStatementRunner {
  readonly info: SqliteQueueInfo

  private worker: Worker
  private readonly clock: Clock
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  private nextId = 1
  private gone: Error | null = null
  private closed = false
  /** The tries to start a new thread under way (closing waits for them). */
  private restarting: Promise<void> | null = null
  private readonly cancelRestart = new AbortController()
  private readonly restarts: Restarts

  constructor(worker: Worker, clock: Clock, info: SqliteQueueInfo, restarts: Restarts) {
    this.restarts = restarts
    this.worker = worker
    this.clock = clock
    this.info = info
    this.adopt(worker)
  }

  /** Answers the requests from this thread's messages, and notices when it dies. */
  private adopt(worker: Worker): void {
    worker.unref()
    worker.on('message', (a: Answer) => {
      const p = this.pending.get(a.id)
      if (!p) {
        return
      }
      this.pending.delete(a.id)
      if (this.pending.size === 0) {
        worker.unref()
      }
      if (a.ok) {
        p.resolve(a.value)
      } else {
        p.reject(deserializeError(a.error))
      }
    })
    let noticed = false
    const onGone = (why: string) => {
      if (this.closed || noticed) {
        return
      }
      noticed = true
      this.gone = new AppError(ERROR_KINDS.internal, 'QUEUE_THREAD_GONE', `the queue's thread ${why}`)
      for (const p of this.pending.values()) {
        p.reject(this.gone)
      }
      this.pending.clear()
      this.restarts.onThreadEvent({ type: 'gone', message: this.gone.message })
      this.restarting = this.restart().finally(() => {
        this.restarting = null
      })
    }
    worker.on('error', (err) => onGone(`failed: ${err.message}`))
    worker.on('exit', (code) => onGone(`exited (${code})`))
  }

  /** Starts new threads until one has the file open (see the header), unless closed meanwhile. */
  private async restart(): Promise<void> {
    // The wait before the next try: none for the first, then 1 s, doubling up to the maximum.
    let waitMs = 0
    while (!this.closed) {
      if (waitMs > 0) {
        await this.restarts.sleep(waitMs, this.cancelRestart.signal)
        if (this.closed) {
          return
        }
      }
      try {
        const { worker } = await this.restarts.newThread()
        if (this.closed) {
          await worker.terminate()
          return
        }
        this.worker = worker
        this.adopt(worker)
        this.gone = null
        this.restarts.onThreadEvent({ type: 'restarted' })
        return
      } catch (err) {
        waitMs = waitMs === 0 ? 1000 : Math.min(MAX_RESTART_BACKOFF_MS, waitMs * 2)
        this.restarts.onThreadEvent({
          type: 'restart-failed',
          error: err instanceof Error ? err : new Error(String(err)),
          retryInMs: waitMs,
        })
      }
    }
  }

  /** Ends the thread as a crash would (tests of the restart). */
  killThreadForTest(): Promise<number> {
    return this.worker.terminate()
  }

  enqueue(jobs: NewJob[]): Promise<EnqueueResult> {
    if (jobs.length === 0) {
      return Promise.resolve({ inserted: 0, duplicates: 0 })
    }
    return this.call({
      op: 'enqueue',
      jobs: toColumns(jobs.map(serializeJob), SERIALIZED_JOB_FIELDS),
    }) as Promise<EnqueueResult>
  }

  async claim(opts: ClaimOptions): Promise<Job[]> {
    const columns = (await this.call({ op: 'claim', opts })) as Columns<JobRow>
    return fromColumns(columns, JOB_ROW_FIELDS).map(toJob)
  }

  async extendLease(ids: number[], leaseMs: number): Promise<void> {
    await this.call({ op: 'extendLease', ids, leaseMs })
  }

  async complete(ids: number[]): Promise<void> {
    await this.call({ op: 'complete', ids })
  }

  async retry(id: number, availableAt: number, error: string, spendAttempt?: boolean): Promise<void> {
    await this.call({
      op: 'retry',
      id,
      availableAt,
      error,
      ...(spendAttempt === undefined ? {} : { spendAttempt }),
    })
  }

  async fail(id: number, error: string): Promise<void> {
    await this.call({ op: 'fail', id, error })
  }

  async park(ids: number[], reason: string): Promise<void> {
    await this.call({ op: 'park', ids, reason })
  }

  unpark(destinationId: string): Promise<number> {
    return this.call({ op: 'unpark', destinationId }) as Promise<number>
  }

  replay(destinationId: string, ids?: number[]): Promise<number> {
    return this.call({
      op: 'replay',
      destinationId,
      ...(ids === undefined ? {} : { ids }),
    }) as Promise<number>
  }

  async get(id: number): Promise<Job | null> {
    const row = (await this.call({ op: 'get', id })) as JobRow | null
    return row === null ? null : toJob(row)
  }

  async list(destinationId: string, state: JobState, limit: number): Promise<Job[]> {
    const rows = (await this.call({ op: 'list', destinationId, state, limit })) as JobRow[]
    return rows.map(toJob)
  }

  counts(destinationId?: string): Promise<QueueCounts> {
    return this.call({
      op: 'counts',
      ...(destinationId === undefined ? {} : { destinationId }),
    }) as Promise<QueueCounts>
  }

  backlog(): Promise<number> {
    return this.call({ op: 'backlog' }) as Promise<number>
  }

  purge(olderThanMs?: number): Promise<number> {
    return this.call({
      op: 'purge',
      ...(olderThanMs === undefined ? {} : { olderThanMs }),
    }) as Promise<number>
  }

  /**
   * Runs statements of other stores of the same file in one write transaction in the queue's
   * thread (`SqliteQueue.runStatements`): their writes leave the event loop, in call order with
   * the queue's own.
   */
  async runStatements(batch: SqlStatementBatch): Promise<void> {
    await this.call({ op: 'runStatements', batch })
  }

  async close(): Promise<void> {
    if (this.closed) {
      return
    }
    if (this.gone === null) {
      await this.call({ op: 'close' })
    }
    this.closed = true
    this.cancelRestart.abort()
    await this.restarting
    await this.worker.terminate()
  }

  private call(request: QueueThreadRequest): Promise<unknown> {
    if (this.closed) {
      return Promise.reject(new AppError(ERROR_KINDS.internal, 'QUEUE_CLOSED', 'the queue is closed'))
    }
    if (this.gone !== null) {
      return Promise.reject(this.gone)
    }
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      if (this.pending.size === 1) {
        this.worker.ref()
      }
      this.worker.postMessage({ id, now: this.clock.now(), request })
    })
  }
}
