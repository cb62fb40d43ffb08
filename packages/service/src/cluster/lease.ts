/**
 * Delivery leases: which node delivers which destination. One node at a time holds a
 * destination's lease, so that the cluster as a whole keeps to one Zendesk account's rate limit
 * and a person's jobs go out from one place, in order (ADR 0002).
 *
 * Lifecycle of one destination's lease, seen from one node:
 *
 *                 round: free (no row, or expired) and under its fair share
 *   not held  ──────────────────────────────────────────────────────────▶  held (until now + ttl)
 *      ▲                                                                      │  │
 *      │  the node's own view runs out (no renewal within ttl: dead database,  │  │ round: renewed
 *      │  stalled process), or a round finds it over its fair share and lets  │  │ (until now + ttl)
 *      └──────────────────── it run out, or stop() gives it up ◀─────────────┘ ◀┘
 *
 * - `holds()` is the node's own view: true until the start of its last successful renewal plus
 *   the ttl. The database's expiry is the same instant (the same `now` is written), so with
 *   synchronised clocks a node stops before any other node can take over; clock skew between
 *   nodes eats into that margin (docs/deployment.md).
 * - Failover: a dead holder's lease expires at most `ttl` after its last renewal; the other nodes
 *   run a round every `ttl / 3`, so one of them holds it at most `ttl + ttl / 3` after the
 *   death (plus one round's queries). Its worker then takes back at once the jobs the dead node
 *   had claimed (worker.ts, ADR 0004), so the jobs' own lease length does not add to this.
 * - Spreading: a node takes at most its fair share, `ceil(destinations / live nodes)`, preferring
 *   the destinations that score highest for it (rendezvous hashing of node id and destination
 *   id, so that different nodes prefer different destinations). A node over its share (a node
 *   joined) stops renewing the leases it prefers least; they run out and a node under its share
 *   takes them. Live nodes are those whose own heartbeat row has not expired.
 *
 * Two implementations: `LocalLeases` (the embedded SQLite queue: one process, which holds every
 * lease) and `PgDeliveryLeases` (pg-leases.ts: a table shared by the nodes).
 */
import type { Clock } from '../lib/clock.js'

/** A lease this node holds. */
export interface HeldLease {
  destinationId: string
  /** Epoch ms since when this node has held it without interruption. */
  since: number
  /** Epoch ms until which it holds it unless renewed; null: for as long as the process runs. */
  until: number | null
}

/** The delivery leases of this node, as delivery and the HTTP layer see them. */
export interface DeliveryLeases {
  /** This process's node id (random per process). */
  readonly nodeId: string
  /** How long a lease lasts without renewal, ms (null: leases never expire, one process). */
  readonly ttlMs: number | null
  /** Whether this node holds the destination's lease now. */
  holds(destinationId: string): boolean
  /**
   * Until when no other node can hold the destination's lease, even if this node no longer holds
   * it (it let it run out, or could not renew it): the expiry of this node's last renewal, less a
   * margin of a tenth of the ttl. Before it, a worker that lost the lease may still settle or hand
   * back the jobs it claimed; after it, another node may have taken them over. Epoch ms;
   * -Infinity if this node never held it, Infinity while a single process holds it.
   */
  exclusiveUntil(destinationId: string): number
  /** Every lease this node holds now, by destination id. */
  held(): HeldLease[]
  /** Called after a round that gained or lost leases (not for one that runs out on its own). */
  onChange(listener: (change: { gained: string[]; lost: string[] }) => void): void
  /** Runs the first round, then keeps renewing in the background. */
  start(): Promise<void>
  /** Stops renewing and gives up every lease, so that another node takes over at once. */
  stop(): Promise<void>
}

/** One process on the embedded queue: it holds every destination's lease, always. */
export class LocalLeases implements DeliveryLeases {
  readonly nodeId: string
  readonly ttlMs = null
  private readonly since: number
  private readonly destinationIds: readonly string[]
  private stopped = false

  constructor(opts: { nodeId: string; destinationIds: readonly string[]; clock: Clock }) {
    this.nodeId = opts.nodeId
    this.destinationIds = opts.destinationIds
    this.since = opts.clock.now()
  }

  holds(destinationId: string): boolean {
    return !this.stopped && this.destinationIds.includes(destinationId)
  }

  exclusiveUntil(destinationId: string): number {
    // No other node exists: what this process claimed stays its own, also after stop().
    return this.destinationIds.includes(destinationId) ? Infinity : -Infinity
  }

  held(): HeldLease[] {
    return this.stopped
      ? []
      : this.destinationIds.map((destinationId) => ({ destinationId, since: this.since, until: null }))
  }

  onChange(): void {
    // Nothing ever changes hands.
  }

  start(): Promise<void> {
    return Promise.resolve()
  }

  stop(): Promise<void> {
    this.stopped = true
    return Promise.resolve()
  }
}

/** How many leases one node may hold: `ceil(destinations / live nodes)` (at least 1 node). */
export function fairShare(destinations: number, liveNodes: number): number {
  return Math.ceil(destinations / Math.max(1, liveNodes))
}

/**
 * How much `nodeId` prefers `destinationId` (rendezvous hashing): a 32-bit FNV-1a hash of both.
 * Every node ranks the destinations differently, so that nodes starting together reach for
 * different ones, and each node's ranking is stable from one round to the next.
 */
export function preference(nodeId: string, destinationId: string): number {
  let h = 0x811c9dc5
  for (const ch of `${nodeId}\u0000${destinationId}`) {
    h ^= ch.codePointAt(0) ?? 0
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** A destination's lease as the database has it at the start of a round. */
export interface LeaseRow {
  destinationId: string
  holder: string
  expiresAt: number
}

/** What one round does: the leases to renew or take (one statement), and those let run out. */
export interface LeasePlan {
  /** Held by this node and kept, or free and taken: acquired or renewed in one statement. */
  acquire: string[]
  /** Held by this node beyond its fair share: not renewed, so that they run out. */
  letExpire: string[]
}

/**
 * One round's decisions for `nodeId`: keep its leases up to its fair share (those it prefers
 * most), then take free ones (no row, or expired) in its order of preference up to the share.
 */
export function planRound(opts: {
  nodeId: string
  destinationIds: readonly string[]
  rows: readonly LeaseRow[]
  liveNodes: number
  now: number
}): LeasePlan {
  const share = fairShare(opts.destinationIds.length, opts.liveNodes)
  const byId = new Map(opts.rows.map((r) => [r.destinationId, r]))
  const ranked = [...opts.destinationIds].sort(
    (a, b) => preference(opts.nodeId, b) - preference(opts.nodeId, a) || a.localeCompare(b),
  )
  const mine = ranked.filter((id) => {
    const r = byId.get(id)
    return r !== undefined && r.holder === opts.nodeId && r.expiresAt > opts.now
  })
  const keep = mine.slice(0, share)
  const letExpire = mine.slice(share)
  const free = ranked.filter((id) => {
    const r = byId.get(id)
    return r === undefined || r.expiresAt <= opts.now
  })
  return { acquire: [...keep, ...free.slice(0, Math.max(0, share - keep.length))], letExpire }
}
