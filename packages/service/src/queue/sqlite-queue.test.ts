import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import Database from 'better-sqlite3'
import { afterAll, describe, expect, test } from 'vitest'

import { FakeClock } from '../lib/clock.js'
import type { NewJob } from './queue.js'
import { describeQueueContract } from './queue.contract.js'
import { openSqliteQueue, type SqliteQueueOptions } from './sqlite-queue.js'

const dir = mkdtempSync(join(tmpdir(), 'zdd-queue-'))
let files = 0
const WINDOWS = { retentionMs: 7 * 86_400_000, dedupeWindowMs: 86_400_000 }

function freshPath(): string {
  files++
  return join(dir, `queue-${files}.db`)
}

function open(overrides: Partial<SqliteQueueOptions> = {}) {
  return openSqliteQueue({ path: freshPath(), clock: new FakeClock(), ...WINDOWS, ...overrides })
}

function aJob(overrides: Partial<NewJob> = {}): NewJob {
  return { destinationId: 'd1', orderingKey: 'user-1', dedupeKey: null, payload: { n: 1 }, ...overrides }
}

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describeQueueContract('sqlite', (clock, windows) =>
  Promise.resolve(openSqliteQueue({ path: freshPath(), clock, ...windows })),
)

describe('the SQLite queue file', () => {
  test('is in WAL mode with synchronous NORMAL by default, and FULL on request', async () => {
    const normal = open()
    expect(normal.info).toMatchObject({ journalMode: 'wal', synchronous: 'NORMAL', schemaVersion: 1 })
    const raw = new Database(normal.info.path, { readonly: true })
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal')
    raw.close()
    await normal.close()

    const full = open({ synchronous: 'FULL' })
    expect(full.info.synchronous).toBe('FULL')
    await full.close()
  })

  test('checkpoints its WAL every 10,000 pages by default, or as asked (0: never)', async () => {
    const byDefault = open()
    expect(byDefault.info.walAutocheckpointPages).toBe(10_000)
    await byDefault.close()

    const never = open({ walAutocheckpointPages: 0 })
    const every = open({ walAutocheckpointPages: 1 })
    expect(never.info.walAutocheckpointPages).toBe(0)
    const walBytes = (q: typeof never) => statSync(`${q.info.path}-wal`).size
    const sizes: number[][] = []
    for (const orderingKey of ['user-1', 'user-2']) {
      await never.enqueue([aJob({ orderingKey })])
      await every.enqueue([aJob({ orderingKey })])
      sizes.push([walBytes(never), walBytes(every)])
    }
    const [[neverFirst, everyFirst], [neverSecond, everySecond]] = sizes as [
      [number, number],
      [number, number],
    ]
    // Never checkpointed, the WAL only grows; checkpointed after each commit, the next one writes
    // from the WAL's start again.
    expect(neverSecond).toBeGreaterThan(neverFirst)
    expect(everySecond).toBe(everyFirst)
    expect(everySecond).toBeLessThan(neverSecond)
    await every.close()
    await never.close()
  })

  test('keeps jobs, attempts, dedupe keys and the backlog across a close and reopen', async () => {
    const clock = new FakeClock()
    const path = freshPath()
    const first = openSqliteQueue({ path, clock, ...WINDOWS })
    await first.enqueue([
      aJob({ orderingKey: 'a', dedupeKey: 'm-1', payload: { keep: 'me' } }),
      aJob({ orderingKey: 'b', dedupeKey: 'm-2' }),
      aJob({ orderingKey: 'c', dedupeKey: 'm-3' }),
    ])
    const [a, b] = await first.claim({ destinationId: 'd1', limit: 2, leaseMs: 30_000 })
    await first.retry(a!.id, clock.now() + 60_000, 'Zendesk answered 503')
    await first.complete([b!.id])
    await first.close()

    const second = openSqliteQueue({ path, clock, ...WINDOWS })
    expect(await second.get(a!.id)).toMatchObject({
      state: 'ready',
      attempts: 1,
      lastError: 'Zendesk answered 503',
      payload: { keep: 'me' },
    })
    expect(await second.counts('d1')).toEqual({ ready: 2, leased: 0, done: 1, dead: 0, parked: 0 })
    expect(await second.backlog()).toBe(2)
    expect(await second.enqueue([aJob({ dedupeKey: 'm-2' }), aJob({ dedupeKey: 'm-4' })])).toEqual({
      inserted: 1,
      duplicates: 1,
    })
    const [newest] = await second.list('d1', 'ready', 10).then((jobs) => jobs.slice(-1))
    expect(newest!.id).toBeGreaterThan(b!.id + 1)
    await second.close()
  })

  test('lets a second connection see committed jobs, and never hands it jobs leased by the first', async () => {
    const clock = new FakeClock()
    const path = freshPath()
    const first = openSqliteQueue({ path, clock, ...WINDOWS })
    const second = openSqliteQueue({ path, clock, ...WINDOWS })
    await first.enqueue(Array.from({ length: 5 }, (_, i) => aJob({ orderingKey: `u-${i}` })))
    expect(await second.backlog()).toBe(5)
    expect(await second.counts('d1')).toMatchObject({ ready: 5 })

    const byFirst = await first.claim({ destinationId: 'd1', limit: 2, leaseMs: 30_000 })
    const bySecond = await second.claim({ destinationId: 'd1', limit: 10, leaseMs: 30_000 })
    expect(bySecond).toHaveLength(3)
    expect(bySecond.some((j) => byFirst.some((f) => f.id === j.id))).toBe(false)
    await second.complete(bySecond.map((j) => j.id))
    expect(await first.counts('d1')).toMatchObject({ leased: 2, done: 3 })
    await first.close()
    await second.close()
  })

  test('keeps the jobs an enqueue acknowledged when the process is killed with SIGKILL right after', async () => {
    const path = freshPath()
    const script = join(dir, 'enqueue-then-die.mts')
    const modulePath = fileURLToPath(new URL('./sqlite-queue.ts', import.meta.url))
    writeFileSync(
      script,
      `import { openSqliteQueue } from ${JSON.stringify(modulePath)}
const queue = openSqliteQueue({ path: process.argv[2], clock: { now: () => 1_000 }, retentionMs: 1, dedupeWindowMs: 1 })
const jobs = Array.from({ length: 2_000 }, (_, i) => ({ destinationId: 'd1', orderingKey: 'u-' + i, dedupeKey: 'm-' + i, payload: { i } }))
const result = await queue.enqueue(jobs)
process.stdout.write(JSON.stringify(result) + '\\n', () => process.kill(process.pid, 'SIGKILL'))
`,
    )
    const child = spawn(process.execPath, ['--import', 'tsx', script, path], {
      cwd: fileURLToPath(new URL('../../../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null]
    expect({ code, signal, err }).toEqual({ code: null, signal: 'SIGKILL', err: '' })
    expect(JSON.parse(out)).toEqual({ inserted: 2_000, duplicates: 0 })

    const reopened = open({ path })
    expect(await reopened.backlog()).toBe(2_000)
    expect((await reopened.list('d1', 'ready', 5_000)).map((j) => j.payload)).toEqual(
      Array.from({ length: 2_000 }, (_, i) => ({ i })),
    )
    await reopened.close()
  })

  test('purges more finished jobs and dedupe keys than one chunk holds in one call', async () => {
    const clock = new FakeClock()
    const queue = open({ clock })
    const total = 12_000
    await queue.enqueue(
      Array.from({ length: total }, (_, i) => aJob({ orderingKey: `u-${i}`, dedupeKey: `m-${i}` })),
    )
    const jobs = await queue.claim({ destinationId: 'd1', limit: total, leaseMs: 30_000 })
    await queue.complete(jobs.map((j) => j.id))
    clock.advance(WINDOWS.retentionMs)

    expect(await queue.purge()).toBe(total)
    expect(await queue.counts()).toEqual({ ready: 0, leased: 0, done: 0, dead: 0, parked: 0 })
    const raw = new Database(queue.info.path, { readonly: true })
    expect(raw.prepare('SELECT count(*) FROM dedupe').pluck().get()).toBe(0)
    raw.close()
    await queue.close()
  })

  test('records its schema version and refuses a file written by a newer version', async () => {
    const queue = open()
    const path = queue.info.path
    await queue.close()
    const raw = new Database(path)
    const version = raw.prepare("SELECT version FROM schema_versions WHERE component = 'queue'").pluck()
    expect(version.get()).toBe(1)
    raw.prepare("UPDATE schema_versions SET version = 99 WHERE component = 'queue'").run()
    raw.close()
    expect(() => open({ path })).toThrow(expect.objectContaining({ code: 'QUEUE_SCHEMA_TOO_NEW' }))
  })

  test('enqueues and claims quickly with 100,000 jobs queued (prints the measured rates)', async () => {
    const clock = new FakeClock()
    const queue = open({ clock })
    const payload = {
      type: 'identify',
      userId: 'user-000000',
      traits: { email: 'ada.lovelace@example.com', name: 'Ada Lovelace', plan: 'enterprise', logins: 42 },
      context: { library: { name: '@segment/analytics-node', version: '3.1.0' } },
      timestamp: '2026-11-21T04:26:32.553Z',
    }
    const total = 100_000
    const batch = 1_000
    // RudderStack's SDK sends uuid v4 messageIds (random); Segment's are time-prefixed
    // ("node-next-<epoch ms>-<uuid>"), which land together in the dedupe index.
    const rates: string[] = []
    for (const style of ['uuid v4', 'time-prefixed'] as const) {
      const batches = Array.from({ length: total / batch }, (_, b) =>
        Array.from({ length: batch }, (_, i) =>
          aJob({
            destinationId: style,
            orderingKey: `user-${(b * batch + i) % 10_000}`,
            dedupeKey:
              style === 'uuid v4'
                ? crypto.randomUUID()
                : `node-next-${clock.now() + b}-${crypto.randomUUID()}`,
            payload,
          }),
        ),
      )
      const started = performance.now()
      for (const jobs of batches) {
        clock.advance(1)
        await queue.enqueue(jobs)
      }
      rates.push(
        `${Math.round((total / (performance.now() - started)) * 1000)} jobs/s with ${style} dedupe keys`,
      )
    }
    expect(await queue.backlog()).toBe(2 * total)

    const claimMs: number[] = []
    for (let i = 0; i < 5; i++) {
      const started = performance.now()
      const jobs = await queue.claim({ destinationId: 'uuid v4', limit: 500, leaseMs: 30_000 })
      claimMs.push(performance.now() - started)
      expect(jobs).toHaveLength(500)
    }
    const started = performance.now()
    let settled = 0
    for (let i = 0; i < 20; i++) {
      const jobs = await queue.claim({ destinationId: 'uuid v4', limit: 500, leaseMs: 30_000 })
      await queue.complete(jobs.map((j) => j.id))
      settled += jobs.length
    }
    const cycleMs = performance.now() - started
    console.log(
      [
        `SQLite queue: enqueue ${total} jobs in batches of ${batch}: ${rates.join('; ')}`,
        `claim 500 of ${total} queued (2,500 in flight): ${claimMs.map((ms) => ms.toFixed(1)).join(', ')} ms`,
        `claim 500 + complete: ${Math.round((settled / cycleMs) * 1000)} jobs/s`,
      ].join('\n  '),
    )
    await queue.close()
  }, 120_000)
})
