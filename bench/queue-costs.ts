/**
 * What each step of the SQLite queue costs per event, on the engine the queue's thread runs
 * (`SqliteQueue`), in one process with nothing else running: CPU time and bytes written to the
 * write-ahead log (WAL) per event, for enqueue (as ingest does it: 100 events a call, each with its
 * `messageId` as dedupe key), claim (1,000 a call, as the worker does) and complete (100 a call,
 * one bulk job's records), then the checkpoint that copies the WAL back into the database file.
 * Deterministic enough to compare two versions of the queue, unlike `identify-sync` (±25%).
 *
 *   node --import tsx bench/queue-costs.ts [--events N] [--rounds N] [--keys uuid|sequential]
 *
 * `--keys uuid` (the default) makes dedupe keys as rudder-sdk-node does (random v4 UUIDs);
 * `sequential` makes them as the other benchmarks do (`<run>-msg-<i>`), which land next to each
 * other in the dedupe index, as @segment/analytics-node's time-prefixed ones
 * (`node-next-<epoch ms>-<uuid>`) do. Each round uses a fresh database; the first round includes V8's
 * warm-up. Prints one JSON line per round (`scenario: "queue-costs"`). bench/README.md explains the
 * figures.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'

import Database from 'better-sqlite3'

import { SqliteQueue, type SerializedJob } from '../packages/service/src/queue/sqlite-queue.js'
import { identifyEvent, round } from './lib/load.js'

const ENQUEUE_BATCH = 100
const CLAIM_LIMIT = 1000
const COMPLETE_BATCH = 100

interface StepCost {
  us_per_event: number
  wal_bytes_per_event: number
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '10000' },
      rounds: { type: 'string', default: '3' },
      keys: { type: 'string', default: 'uuid' },
    },
  })
  const events = Number(values.events)
  const rounds = Number(values.rounds)
  if (!Number.isInteger(events) || events < ENQUEUE_BATCH || !Number.isInteger(rounds) || rounds < 1) {
    throw new Error('--events must be an integer ≥ 100 and --rounds an integer ≥ 1')
  }
  if (values.keys !== 'uuid' && values.keys !== 'sequential') {
    throw new Error(`--keys must be uuid or sequential, not ${values.keys}`)
  }
  for (let r = 1; r <= rounds; r++) {
    process.stdout.write(`${JSON.stringify(await measureRound(events, values.keys, r))}\n`)
  }
}

async function measureRound(
  events: number,
  keys: 'uuid' | 'sequential',
  roundNo: number,
): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'queue-costs-'))
  const path = join(dir, 'queue.sqlite')
  const queue = new SqliteQueue({
    path,
    clock: { now: () => Date.now() },
    retentionMs: 7 * 86_400_000,
    dedupeWindowMs: 86_400_000,
    // No checkpoint inside the steps: each step's WAL growth is its own writes. The service
    // checkpoints every 10,000 pages (sqlite-queue.ts); `checkpoint_ms` is what one costs.
    walAutocheckpointPages: 0,
  })
  try {
    const walSize = (): number => {
      try {
        return statSync(`${path}-wal`).size
      } catch {
        return 0
      }
    }
    const runId = `costs${roundNo}`
    const sentAt = new Date().toISOString()
    const batches: SerializedJob[][] = []
    for (let from = 0; from < events; from += ENQUEUE_BATCH) {
      const batch: SerializedJob[] = []
      for (let i = from; i < Math.min(events, from + ENQUEUE_BATCH); i++) {
        const event = identifyEvent(runId, i, sentAt)
        batch.push({
          destinationId: 'bench',
          orderingKey: String(event.userId),
          dedupeKey: keys === 'uuid' ? randomUUID() : String(event.messageId),
          payloadJson: JSON.stringify(event),
        })
      }
      batches.push(batch)
    }
    const step = (work: () => void): StepCost => {
      const wal = walSize()
      const started = performance.now()
      work()
      return {
        us_per_event: round(((performance.now() - started) * 1000) / events, 1),
        wal_bytes_per_event: Math.round((walSize() - wal) / events),
      }
    }
    const enqueue = step(() => {
      for (const batch of batches) {
        queue.enqueueRows(batch)
      }
    })
    const claimed: number[][] = []
    const claim = step(() => {
      for (;;) {
        const rows = queue.claimRows({ destinationId: 'bench', limit: CLAIM_LIMIT, leaseMs: 60_000 })
        if (rows.length === 0) {
          break
        }
        for (let i = 0; i < rows.length; i += COMPLETE_BATCH) {
          claimed.push(rows.slice(i, i + COMPLETE_BATCH).map((row) => row.id))
        }
      }
    })
    const claimedJobs = claimed.reduce((n, ids) => n + ids.length, 0)
    if (claimedJobs !== events) {
      throw new Error(`claimed ${claimedJobs} jobs of ${events}`)
    }
    const completions: Promise<void>[] = []
    const complete = step(() => {
      // SqliteQueue's writes run synchronously; the promises are settled when they return.
      for (const ids of claimed) {
        completions.push(queue.complete(ids))
      }
    })
    await Promise.all(completions)
    const walBytes = walSize()
    // The checkpoint the service's connection would run: on a second connection, as a commit
    // would (it waits for nothing here), and truncating the WAL afterwards.
    const checkpointer = new Database(path)
    const started = performance.now()
    checkpointer.pragma('wal_checkpoint(TRUNCATE)')
    const checkpointMs = performance.now() - started
    checkpointer.close()
    return {
      scenario: 'queue-costs',
      round: roundNo,
      events,
      keys,
      enqueue,
      claim,
      complete,
      total_us_per_event: round(enqueue.us_per_event + claim.us_per_event + complete.us_per_event, 1),
      wal_bytes_per_event: Math.round(walBytes / events),
      checkpoint_ms: round(checkpointMs, 1),
    }
  } finally {
    await queue.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
