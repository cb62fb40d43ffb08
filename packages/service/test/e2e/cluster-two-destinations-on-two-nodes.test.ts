/**
 * Two destinations (two Zendesk accounts, two emulators) and two service processes on one
 * PostgreSQL: the destinations spread over the nodes (each holds one delivery lease, and only
 * its worker delivers that destination), both syncs run at the same time, and either node
 * accepts events for both.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { createEmulator, type Emulator } from '@zdd/zendesk-emulator'
import { afterEach, describe, expect, test } from 'vitest'

import { cluster, waitFor, type Cluster, type ClusterNode } from '../cluster.js'
import { createTestDatabase, type TestDatabase } from '../pg.js'

const WRITE_KEY = 'cluster-two-write-key'
const USERS = 2_000
const LEASE_TTL_MS = 1_500

let emulators: Emulator[] = []
let nodes: Cluster | undefined
let db: TestDatabase | undefined
let dir: string | undefined

afterEach(async () => {
  await nodes?.close()
  nodes = undefined
  await Promise.all(emulators.map((e) => e.close()))
  emulators = []
  await db?.drop()
  db = undefined
  if (dir) {
    rmSync(dir, { recursive: true, force: true })
    dir = undefined
  }
})

function configYaml(east: Emulator, west: Emulator): string {
  const zendesk = (e: Emulator) =>
    `{ url: '${e.url}', oauth: { clientId: '${e.seed.oauthClientId}', clientSecret: '${e.seed.oauthClientSecret}' } }`
  return [
    'sources:',
    `  - { id: web, writeKey: ${WRITE_KEY}, destinations: [east, west] }`,
    'destinations:',
    `  - { id: east, zendesk: ${zendesk(east)} }`,
    `  - { id: west, zendesk: ${zendesk(west)} }`,
    '',
  ].join('\n')
}

async function endUsers(e: Emulator): Promise<any[]> {
  const s: any = await (await fetch(`${e.url}/__emulator/state`)).json()
  return s.users.filter((u: any) => u.role === 'end-user')
}

/** Arrival times (ms) of the bulk upserts an emulator received. */
async function bulkCalls(e: Emulator): Promise<number[]> {
  const body: any = await (await fetch(`${e.url}/__emulator/requests?path=create_or_update_many`)).json()
  return body.requests.map((r: any) => Date.parse(r.time))
}

/** Each node's leases, by destination → since. */
async function leaseMap(list: ClusterNode[]): Promise<Map<string, { node: ClusterNode; since: string }>> {
  const out = new Map<string, { node: ClusterNode; since: string }>()
  for (const n of list) {
    for (const l of await n.leases()) {
      out.set(l.destination, { node: n, since: l.since })
    }
  }
  return out
}

describe('two destinations on two nodes', () => {
  test('each node holds one lease and delivers its destination, both at once; either node accepts events', async () => {
    db = await createTestDatabase('zdd_test_cluster_two')
    const [east, west] = [
      await createEmulator({ jobDelayMs: 200 }),
      await createEmulator({ jobDelayMs: 200 }),
    ]
    emulators = [east, west]
    dir = mkdtempSync(join(tmpdir(), 'zdd-cluster-two-'))
    const configFile = join(dir, 'config.yaml')
    writeFileSync(configFile, configYaml(east, west))
    nodes = cluster({ DATABASE_URL: db.url, LEASE_TTL_MS: String(LEASE_TTL_MS), CONFIG_FILE: configFile })

    // A lone node holds both leases; when a second one joins, it gets its fair share (one).
    const a = await nodes.start()
    await waitFor(
      async () => ((await a.leases()).length === 2 ? true : null),
      10_000,
      'the first node to hold both leases',
    )
    const b = await nodes.start()
    const split = await waitFor(
      async () => {
        const [la, lb] = [await a.leases(), await b.leases()]
        return la.length === 1 && lb.length === 1 && la[0]!.destination !== lb[0]!.destination
          ? await leaseMap([a, b])
          : null
      },
      4 * LEASE_TTL_MS + 10_000,
      'one lease on each node',
    )
    const holderOf = (d: string): ClusterNode => split.get(d)!.node
    await waitFor(
      async () => {
        const [da, db2] = [await a.delivering(), await b.delivering()]
        return da.length === 1 && db2.length === 1 ? true : null
      },
      10_000,
      'each node’s worker to deliver its destination',
    )
    expect(await holderOf('east').delivering()).toEqual(['east'])
    expect(await holderOf('west').delivering()).toEqual(['west'])

    // Either node accepts events for both destinations: batches go to a and b in turn.
    const identifies = Array.from({ length: USERS }, (_, i) => ({
      type: 'identify',
      messageId: `m-${i}`,
      userId: `user-${i}`,
      traits: { email: `user${i}@example.com`, name: `User ${i}` },
    }))
    for (let i = 0, k = 0; i < identifies.length; i += 250, k++) {
      const batch = identifies.slice(i, i + 250)
      expect(await [a, b][k % 2]!.postBatch(WRITE_KEY, batch)).toMatchObject({
        status: 200,
        body: { success: true, accepted: batch.length },
      })
    }

    for (const e of [east, west]) {
      const users = await waitFor(
        async () => {
          const u = await endUsers(e)
          return u.length >= USERS ? u : null
        },
        60_000,
        `all ${USERS} users in each account`,
      )
      expect(users).toHaveLength(USERS)
      expect(new Set(users.map((u) => u.external_id)).size).toBe(USERS)
    }

    // Nothing changed hands during the sync: the same node held each lease since before it.
    const after = await leaseMap([a, b])
    expect([...after.entries()].map(([d, l]) => [d, l.node.pid, l.since]).sort()).toEqual(
      [...split.entries()].map(([d, l]) => [d, l.node.pid, l.since]).sort(),
    )
    // Both syncs ran at the same time: each account's bulk calls began before the other's ended.
    const [ce, cw] = [await bulkCalls(east), await bulkCalls(west)]
    expect(Math.min(...ce)).toBeLessThan(Math.max(...cw))
    expect(Math.min(...cw)).toBeLessThan(Math.max(...ce))
  }, 180_000)
})
