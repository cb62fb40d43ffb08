/**
 * Several service processes on one PostgreSQL database, for the cluster's acceptance tests:
 * each node is a child process (child-service.ts) with its own DATA_DIR, all on the same
 * DATABASE_URL; their `/ready` says which delivery leases each holds.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { startChildService, type ChildService } from './child-service.js'

export interface Lease {
  destination: string
  since: string
  until: string | null
}

export interface ClusterNode extends ChildService {
  /** The node id its `/ready` reports. */
  nodeId(): Promise<string>
  /** The delivery leases it holds now (from `/ready`). */
  leases(): Promise<Lease[]>
  /** The destinations its workers deliver now (from `/ready`). */
  delivering(): Promise<string[]>
  /** POSTs a batch with the write key; resolves with status and body. */
  postBatch(writeKey: string, batch: unknown[]): Promise<{ status: number; body: any }>
}

export interface Cluster {
  nodes: ClusterNode[]
  /** Starts one more node with the cluster's environment plus `env`. */
  start(env?: Record<string, string>): Promise<ClusterNode>
  /** The nodes holding the destination's lease now (one, once the cluster has settled). */
  holders(destinationId: string): Promise<ClusterNode[]>
  /** Kills every node still running (SIGKILL) and removes their data folders. */
  close(): Promise<void>
}

interface Ready {
  node: string
  leases: Lease[]
  destinations: { id: string; delivering: boolean }[]
}

async function ready(url: string): Promise<Ready> {
  const res = await fetch(`${url}/ready`)
  return (await res.json()) as Ready
}

/** A cluster whose nodes all get `env` (DATABASE_URL, Zendesk, LEASE_TTL_MS, …). */
export function cluster(env: Record<string, string>): Cluster {
  const dirs: string[] = []
  const running: ClusterNode[] = []
  return {
    nodes: running,
    async start(extra = {}) {
      const dataDir = mkdtempSync(join(tmpdir(), 'zdd-node-'))
      dirs.push(dataDir)
      const child = await startChildService({ PORT: '0', DATA_DIR: dataDir, ...env, ...extra })
      const node: ClusterNode = {
        ...child,
        async nodeId() {
          return (await ready(child.url)).node
        },
        async leases() {
          return (await ready(child.url)).leases
        },
        async delivering() {
          return (await ready(child.url)).destinations.filter((d) => d.delivering).map((d) => d.id)
        },
        async postBatch(writeKey, batch) {
          const res = await fetch(`${child.url}/v1/batch`, {
            method: 'POST',
            headers: {
              authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
              'content-type': 'application/json',
            },
            body: JSON.stringify({ batch }),
          })
          return { status: res.status, body: await res.json() }
        },
      }
      running.push(node)
      return node
    },
    async holders(destinationId) {
      const held = await Promise.all(
        running.map(async (n) => {
          const leases = await n.leases().catch(() => [] as Lease[])
          return leases.some((l) => l.destination === destinationId) ? [n] : []
        }),
      )
      return held.flat()
    },
    async close() {
      await Promise.all(running.map((n) => n.kill('SIGKILL')))
      running.length = 0
      for (const dir of dirs.splice(0)) {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}

/** Polls `check` every 100 ms until it returns non-null (test/wait-for.ts); the timeout names `what`. */
export { waitForValue as waitFor } from './wait-for.js'
