/**
 * `cluster` (issue 6): what PostgreSQL and a second node do to ingest, and how long a failover
 * takes.
 *
 * - `ingest_events_per_s` on SQLite, on PostgreSQL with one service process, and with two
 *   processes on the same database (the clients split between them), each measured like
 *   `ingest` (bench/ingest.ts): `/v1/batch` bodies of 100 identifies from keep-alive clients,
 *   after a warm-up, while delivery runs to an emulator at real speed. Each PostgreSQL run has a
 *   fresh database on the server of `BENCH_DATABASE_URL` (default
 *   `postgres://postgres@127.0.0.1:5432/postgres`, the server `.ci/run` starts).
 * - `failover_s`: with the two processes delivering that backlog, the holder of the
 *   destination's delivery lease is killed (SIGKILL); the figure is the time from the kill to the
 *   next bulk call the emulator receives (from the other node). The lease ttl is the service's
 *   default unless `--lease-ttl-ms` says otherwise; the bound is about ttl × 4/3 plus a round.
 */
import { randomBytes } from 'node:crypto'
import { Agent } from 'node:http'
import { performance } from 'node:perf_hooks'

import pg from 'pg'

import { loadConfig } from '../packages/service/src/config.js'

import { batchBodies, getJson, round, sendBatches, sleep } from './lib/load.js'
import { startEmulator, startService, stopAll, type Child, type ServiceChild } from './lib/processes.js'

export interface ClusterSettings {
  /** Events measured per configuration, after a warm-up of a tenth of them. */
  events: number
  concurrency: number
  jobDelayMs: number
  /** The delivery lease ttl of the PostgreSQL nodes (null: the service's default, 15 s). */
  leaseTtlMs: number | null
  dist: boolean
  log: (message: string) => void
}

export interface ClusterResult {
  scenario: 'cluster'
  events: number
  concurrency: number
  ingest_events_per_s_sqlite: number
  ingest_events_per_s_pg_1_process: number
  ingest_events_per_s_pg_2_processes: number
  /** PostgreSQL with one process over SQLite. */
  pg_to_sqlite_ratio: number
  /** Two processes over one, both on PostgreSQL. */
  two_to_one_process_ratio: number
  lease_ttl_ms: number
  failover_s: number
}

/** The service's own default (config.ts), so that the figure follows it. */
const SERVICE_DEFAULT_LEASE_TTL_MS = loadConfig({}).cluster.leaseTtlMs

const SERVER_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** A fresh database on the bench's server; `drop()` removes it (and its connections). */
async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `zdd_bench_${randomBytes(5).toString('hex')}`
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: SERVER_URL })
    await client.connect()
    try {
      await client.query(sql)
    } finally {
      await client.end()
    }
  }
  await admin(`CREATE DATABASE ${name} TEMPLATE template0`)
  const url = new URL(SERVER_URL)
  url.pathname = `/${name}`
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) }
}

/** Ingest rate of `nodes` (clients split evenly between them), after a warm-up. */
async function measureIngest(
  nodes: ServiceChild[],
  runId: string,
  s: ClusterSettings,
): Promise<{ eventsPerS: number }> {
  const warmUp = Math.max(1_000, Math.round(s.events / 10))
  const perNode = (total: number): number => Math.ceil(total / nodes.length / 100) * 100
  const send = (prefix: string, total: number): Promise<unknown> =>
    Promise.all(
      nodes.map((n, k) =>
        sendBatches({
          url: `${n.url}/v1/batch`,
          writeKey: n.writeKey,
          bodies: batchBodies(`${prefix}n${k}`, 0, perNode(total)),
          events: perNode(total),
          concurrency: Math.max(1, Math.round(s.concurrency / nodes.length)),
        }).then((r) => {
          if (Object.keys(r.errors).length > 0) {
            throw new Error(`ingest answered errors: ${JSON.stringify(r.errors)}`)
          }
        }),
      ),
    )
  await send(`${runId}w`, warmUp)
  const t0 = performance.now()
  await send(runId, s.events)
  const seconds = (performance.now() - t0) / 1000
  return { eventsPerS: (perNode(s.events) * nodes.length) / seconds }
}

interface Ready {
  leases: { destination: string }[]
}

/** The time (epoch ms) of the first bulk call the emulator received after `after`. */
async function firstBulkCallAfter(agent: Agent, emulatorUrl: string, after: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const log = await getJson<{ requests: { time: string }[] }>(
      agent,
      `${emulatorUrl}/__emulator/requests?path=create_or_update_many`,
    )
    const t = log.requests.map((r) => Date.parse(r.time)).find((time) => time > after)
    if (t !== undefined) {
      return t
    }
    if (Date.now() > deadline) {
      throw new Error(`no bulk call within ${timeoutMs} ms of the kill`)
    }
    await sleep(50)
  }
}

export async function cluster(s: ClusterSettings): Promise<ClusterResult> {
  const ttl = s.leaseTtlMs ?? SERVICE_DEFAULT_LEASE_TTL_MS
  const runId = `cluster${Date.now().toString(36)}`
  const agent = new Agent({ keepAlive: true })
  let emulator: Child | null = null
  const children: ServiceChild[] = []
  const databases: { drop(): Promise<void> }[] = []
  const stopServices = async (): Promise<void> => {
    await stopAll(children.splice(0))
  }
  try {
    emulator = await startEmulator({ plan: 'enterprise', timeScale: 1, jobDelayMs: s.jobDelayMs }, s.dist)
    const zendesk = emulator.url

    s.log(`cluster: SQLite, 1 process, ${s.events} events`)
    children.push(await startService(zendesk, s.dist))
    const sqlite = await measureIngest(children, `${runId}s`, s)
    await stopServices()

    s.log(`cluster: PostgreSQL, 1 process, ${s.events} events`)
    const db1 = await freshDatabase()
    databases.push(db1)
    children.push(await startService(zendesk, s.dist, { DATABASE_URL: db1.url }))
    const one = await measureIngest(children, `${runId}p`, s)
    await stopServices()

    s.log(`cluster: PostgreSQL, 2 processes, ${s.events} events`)
    const db2 = await freshDatabase()
    databases.push(db2)
    const env = { DATABASE_URL: db2.url, LEASE_TTL_MS: String(ttl) }
    children.push(await startService(zendesk, s.dist, env), await startService(zendesk, s.dist, env))
    const two = await measureIngest(children, `${runId}q`, s)

    // The two nodes now deliver the backlog; kill the one holding the destination's lease.
    const holders = []
    for (const c of children) {
      const ready = await getJson<Ready>(agent, `${c.url}/ready`)
      if (ready.leases.some((l) => l.destination === 'default')) {
        holders.push(c)
      }
    }
    const holder = holders[0]
    if (holders.length !== 1 || !holder) {
      throw new Error(`expected one node holding the lease, found ${holders.length}`)
    }
    s.log(`cluster: killing the lease holder (pid ${holder.pid}); lease ttl ${ttl} ms`)
    const exited = new Promise<void>((resolve) => holder.process.once('exit', () => resolve()))
    holder.process.kill('SIGKILL')
    await exited
    const killedAt = Date.now()
    const next = await firstBulkCallAfter(agent, zendesk, killedAt, 2 * ttl + 30_000)
    children.splice(children.indexOf(holder), 1)
    await holder.stop().catch(() => {})

    return {
      scenario: 'cluster',
      events: s.events,
      concurrency: s.concurrency,
      ingest_events_per_s_sqlite: Math.round(sqlite.eventsPerS),
      ingest_events_per_s_pg_1_process: Math.round(one.eventsPerS),
      ingest_events_per_s_pg_2_processes: Math.round(two.eventsPerS),
      pg_to_sqlite_ratio: round(one.eventsPerS / sqlite.eventsPerS, 2),
      two_to_one_process_ratio: round(two.eventsPerS / one.eventsPerS, 2),
      lease_ttl_ms: ttl,
      failover_s: round((next - killedAt) / 1000, 2),
    }
  } finally {
    agent.destroy()
    await stopServices()
    await stopAll([emulator])
    for (const db of databases) {
      await db.drop().catch(() => {})
    }
  }
}
