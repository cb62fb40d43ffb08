/**
 * Delivery leases in PostgreSQL, shared by every node on one database (lease.ts describes the
 * lease's lifecycle, the failover bound and the fair share).
 *
 * Two tables:
 * - `delivery_leases`: one row per destination: the node holding it and when that ends (epoch ms).
 *   Taking and renewing is one atomic statement per round: an upsert whose update only applies
 *   `WHERE the lease has expired OR its holder is this node`, so two nodes can never both hold
 *   one; rows are locked in destination order, so two nodes' rounds cannot deadlock.
 * - `cluster_nodes`: one row per node, renewed each round with the same ttl: the live nodes that
 *   the fair share divides the destinations by.
 *
 * Times are the nodes' clocks (injected), not the database's: the expiry a node writes is the
 * instant its own view of the lease ends, which keeps the two in step.
 */
import type { Pool } from 'pg'

import type { Clock } from '../lib/clock.js'
import { planRound, type DeliveryLeases, type HeldLease, type LeaseRow } from './lease.js'

/** What the leases need of a connection pool. */
export type LeaseDatabase = Pick<Pool, 'query'>

export interface LeaseLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
}

export interface PgLeaseOptions {
  db: LeaseDatabase
  nodeId: string
  /** The destinations this node may deliver (every node runs the same configuration). */
  destinationIds: readonly string[]
  /** How long a lease lasts without renewal; rounds run every third of it. */
  ttlMs: number
  clock: Clock
  /** Resolves after `ms`, or early when `signal` aborts (it must not reject). */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  log: LeaseLogger
}

// The tables come from the numbered migration db/migrations/pg/0003_delivery_leases.sql.

/** Rows of nodes gone for this many ttls are deleted (they no longer count as live long before). */
const FORGET_NODES_AFTER_TTLS = 10

export class PgDeliveryLeases implements DeliveryLeases {
  readonly nodeId: string
  readonly ttlMs: number
  private readonly o: PgLeaseOptions
  private readonly startedAt: number
  private readonly mine = new Map<string, HeldLease>()
  /** The expiry this node last wrote for each destination (kept after the lease is lost). */
  private readonly lastExpiry = new Map<string, number>()
  private readonly listeners: ((change: { gained: string[]; lost: string[] }) => void)[] = []
  private readonly stopLoop = new AbortController()
  private loop: Promise<void> | null = null
  /** Resolves the `round()` under way, so that `stop()` releases after it, not before. */
  private current: Promise<void> = Promise.resolve()
  private stopped = false

  constructor(opts: PgLeaseOptions) {
    this.o = opts
    this.nodeId = opts.nodeId
    this.ttlMs = opts.ttlMs
    this.startedAt = Math.floor(opts.clock.now())
  }

  holds(destinationId: string): boolean {
    const lease = this.mine.get(destinationId)
    return lease !== undefined && lease.until !== null && this.o.clock.now() < lease.until
  }

  exclusiveUntil(destinationId: string): number {
    return (this.lastExpiry.get(destinationId) ?? -Infinity) - this.ttlMs / 10
  }

  held(): HeldLease[] {
    return [...this.mine.values()].filter((l) => this.holds(l.destinationId))
  }

  onChange(listener: (change: { gained: string[]; lost: string[] }) => void): void {
    this.listeners.push(listener)
  }

  async start(): Promise<void> {
    if (this.loop !== null) {
      return
    }
    await this.round()
    this.loop = this.run()
  }

  private async run(): Promise<void> {
    const every = Math.max(1, Math.floor(this.ttlMs / 3))
    while (!this.stopLoop.signal.aborted) {
      await this.o.sleep(every, this.stopLoop.signal)
      if (!this.stopLoop.signal.aborted) {
        await this.round()
      }
    }
  }

  /**
   * One round: the node's heartbeat, the leases as they are, then one statement that renews the
   * leases kept and takes free ones. A failed round changes nothing; leases not renewed run out.
   */
  round(): Promise<void> {
    const next = this.current.then(() =>
      this.roundOnce().catch((err: unknown) =>
        this.o.log.warn({ err, node: this.nodeId }, 'delivery lease round failed; will try again'),
      ),
    )
    this.current = next
    return next
  }

  private async roundOnce(): Promise<void> {
    if (this.stopped) {
      return
    }
    // Whole milliseconds: the columns are bigint.
    const now = Math.floor(this.o.clock.now())
    const until = now + Math.floor(this.ttlMs)
    const heldBefore = new Set(this.held().map((l) => l.destinationId))
    let acquired: Map<string, number>
    let letExpire: string[]
    try {
      await this.o.db.query(
        `INSERT INTO cluster_nodes (node_id, expires_at, started_at) VALUES ($1, $2, $3)
         ON CONFLICT (node_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
        [this.nodeId, until, this.startedAt],
      )
      const live = await this.o.db.query<{ n: string }>(
        'SELECT count(*) AS n FROM cluster_nodes WHERE expires_at > $1',
        [now],
      )
      const rows = await this.o.db.query<{ destination_id: string; holder: string; expires_at: string }>(
        'SELECT destination_id, holder, expires_at FROM delivery_leases WHERE destination_id = ANY($1)',
        [this.o.destinationIds],
      )
      const plan = planRound({
        nodeId: this.nodeId,
        destinationIds: this.o.destinationIds,
        rows: rows.rows.map((r): LeaseRow => ({
          destinationId: r.destination_id,
          holder: r.holder,
          expiresAt: Number(r.expires_at),
        })),
        liveNodes: Number(live.rows[0]?.n ?? 1),
        now,
      })
      letExpire = plan.letExpire
      acquired = await this.acquire(plan.acquire, now, until)
      await this.o.db.query('DELETE FROM cluster_nodes WHERE expires_at < $1', [
        now - FORGET_NODES_AFTER_TTLS * this.ttlMs,
      ])
    } catch (err) {
      this.o.log.warn({ err, node: this.nodeId }, 'delivery lease round failed; leases not renewed run out')
      return
    }
    for (const [destinationId, since] of acquired) {
      this.mine.set(destinationId, { destinationId, since, until })
      this.lastExpiry.set(destinationId, until)
    }
    for (const destinationId of [...this.mine.keys()]) {
      if (!acquired.has(destinationId)) {
        this.mine.delete(destinationId)
      }
    }
    const gained = [...acquired.keys()].filter((id) => !heldBefore.has(id))
    const lost = [...heldBefore].filter((id) => !acquired.has(id))
    this.report(gained, lost, letExpire)
  }

  /** Renews or takes the leases in one statement; returns those now held, with their start. */
  private async acquire(ids: string[], now: number, until: number): Promise<Map<string, number>> {
    if (ids.length === 0) {
      return new Map()
    }
    const { rows } = await this.o.db.query<{ destination_id: string; acquired_at: string }>(
      `INSERT INTO delivery_leases AS l (destination_id, holder, expires_at, acquired_at)
       SELECT d, $2, $4, $3 FROM unnest($1::text[]) AS d ORDER BY d
       ON CONFLICT (destination_id) DO UPDATE
         SET holder = EXCLUDED.holder,
             expires_at = EXCLUDED.expires_at,
             acquired_at = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > $3
                                THEN l.acquired_at ELSE EXCLUDED.acquired_at END
         WHERE l.holder = EXCLUDED.holder OR l.expires_at <= $3
       RETURNING destination_id, acquired_at`,
      [[...ids].sort(), this.nodeId, now, until],
    )
    return new Map(rows.map((r) => [r.destination_id, Number(r.acquired_at)]))
  }

  private report(gained: string[], lost: string[], letExpire: string[]): void {
    if (gained.length === 0 && lost.length === 0) {
      return
    }
    this.o.log.info(
      { node: this.nodeId, gained, lost, ...(letExpire.length > 0 ? { overFairShare: letExpire } : {}) },
      'delivery leases changed hands',
    )
    for (const listener of this.listeners) {
      listener({ gained, lost })
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) {
      return
    }
    this.stopLoop.abort()
    await this.loop
    await this.current
    this.stopped = true
    const lost = this.held().map((l) => l.destinationId)
    this.mine.clear()
    this.lastExpiry.clear()
    try {
      // Expired for every clock: the next round of any other node takes them.
      await this.o.db.query('UPDATE delivery_leases SET expires_at = 0 WHERE holder = $1', [this.nodeId])
      await this.o.db.query('DELETE FROM cluster_nodes WHERE node_id = $1', [this.nodeId])
    } catch (err) {
      this.o.log.warn({ err, node: this.nodeId }, 'could not give up the delivery leases; they run out')
    }
    this.report([], lost, [])
  }
}
