/**
 * Three service processes on one PostgreSQL (over TCP). Events go to every node in turn; one
 * node at a time delivers the destination (its delivery lease). The holder is killed with
 * SIGKILL mid-sync: another node takes the lease over within the configured bound and finishes
 * the sync, and the emulator ends with every user and every ticket exactly once, each person
 * with their last identify.
 */
import { createEmulator, type Emulator } from '@zdd/zendesk-emulator'
import pg from 'pg'
import { afterEach, describe, expect, test } from 'vitest'

import { cluster, waitFor, type Cluster } from '../cluster.js'
import { createTestDatabase, type TestDatabase } from '../pg.js'

const WRITE_KEY = 'cluster-kill-write-key'
const USERS = 5_000
/** Every 10th user files a ticket ("Ticket Created" with an external_id): 500 tickets. */
const TICKET_EVERY = 10
/** A short lease, so that the test is quick; rounds run every third of it. */
const LEASE_TTL_MS = 3_000
/**
 * How soon another node delivers after the holder dies (docs/deployment.md): the lease expires
 * at most a ttl after its last renewal, the next round of another node (every ttl / 3) takes it,
 * then one delivery round (claim, map, send) reaches Zendesk. This test allows 2 s for that round
 * on a shared CI machine.
 */
const FAILOVER_BOUND_MS = LEASE_TTL_MS + LEASE_TTL_MS / 3 + 2_000

/** Identifies per person: every user twice, every 4th a third time; the last one wins. */
const versions = (i: number): number => (i % 4 === 0 ? 3 : 2)
const nameOf = (i: number, v: number): string => `User ${i} v${v}`

let emulator: Emulator | undefined
let nodes: Cluster | undefined
let db: TestDatabase | undefined

afterEach(async () => {
  await nodes?.close()
  nodes = undefined
  await emulator?.close()
  emulator = undefined
  await db?.drop()
  db = undefined
})

async function state(e: Emulator): Promise<any> {
  return (await fetch(`${e.url}/__emulator/state`)).json()
}

async function writes(e: Emulator): Promise<{ time: string; path: string }[]> {
  const body: any = await (await fetch(`${e.url}/__emulator/requests?path=create`)).json()
  return body.requests.filter((r: any) => r.method === 'POST')
}

function events(): unknown[] {
  const identify = (i: number, v: number) => ({
    type: 'identify',
    messageId: `identify-${i}-v${v}`,
    userId: `user-${i}`,
    traits: v === 1 ? { email: `user${i}@example.com`, name: nameOf(i, 1) } : { name: nameOf(i, v) },
  })
  const first = Array.from({ length: USERS }, (_, i) => [
    identify(i, 1),
    ...(i % TICKET_EVERY === 0
      ? [
          {
            type: 'track',
            event: 'Ticket Created',
            messageId: `ticket-${i}`,
            userId: `user-${i}`,
            properties: {
              subject: `Order ${i} never arrived`,
              comment: 'It has been two weeks.',
              email: `user${i}@example.com`,
              external_id: `order-${i}`,
            },
          },
        ]
      : []),
  ]).flat()
  const second = Array.from({ length: USERS }, (_, i) => identify(i, 2))
  const third = Array.from({ length: USERS }, (_, i) => i)
    .filter((i) => versions(i) === 3)
    .map((i) => identify(i, 3))
  return [...first, ...second, ...third]
}

describe('three nodes on one PostgreSQL, the lease holder killed mid-sync', () => {
  test('another node takes over within the bound; every user and ticket reaches Zendesk exactly once, in order', async () => {
    db = await createTestDatabase('zdd_test_cluster_kill')
    // Bulk jobs take a while in Zendesk, so that the kill lands while some are running.
    emulator = await createEmulator({ jobDelayMs: 300 })
    nodes = cluster({
      DATABASE_URL: db.url,
      LEASE_TTL_MS: String(LEASE_TTL_MS),
      ZENDESK_URL: emulator.url,
      ZENDESK_OAUTH_CLIENT_ID: emulator.seed.oauthClientId,
      ZENDESK_OAUTH_CLIENT_SECRET: emulator.seed.oauthClientSecret,
      WRITE_KEY,
    })
    const all = [await nodes.start(), await nodes.start(), await nodes.start()]
    expect(new Set(await Promise.all(all.map((n) => n.nodeId()))).size).toBe(3)
    const [holder] = await waitFor(
      async () => {
        const h = await nodes!.holders('default')
        return h.length === 1 ? h : null
      },
      10_000,
      'one node holding the lease',
    )

    // Any node accepts events: batches of 500 go to the three nodes in turn, each acknowledged
    // before the next is sent (so a person's events are committed in order). Meanwhile Zendesk's
    // jobs are slow (2 s, a wave of at most 2,800 users), so that the kill, once all are posted,
    // lands before every user exists however long posting takes here (with 300 ms jobs throughout,
    // 4,100–4,500 of the 5,000 users existed by then, and all of them on a busy CI run).
    emulator.configure({ jobDelayMs: 2_000 })
    const list = events()
    for (let i = 0, k = 0; i < list.length; i += 500, k++) {
      const batch = list.slice(i, i + 500)
      expect(await all[k % 3]!.postBatch(WRITE_KEY, batch)).toMatchObject({
        status: 200,
        body: { success: true, accepted: batch.length },
      })
    }

    // Mid-sync: some users and tickets are in Zendesk, not all, and bulk jobs are running there.
    const before = await waitFor(
      async () => {
        const s = await state(emulator!)
        const users = s.users.filter((u: any) => u.role === 'end-user').length
        const running = s.job_statuses.some((j: any) => j.status === 'queued' || j.status === 'working')
        return users >= 1_000 && s.tickets.length > 0 && running ? { users, tickets: s.tickets.length } : null
      },
      60_000,
      'the first users and tickets to arrive while more are on their way',
    )
    // Only the holder's worker delivers.
    expect(await Promise.all(all.map((n) => n.delivering()))).toEqual(
      all.map((n) => (n === holder ? ['default'] : [])),
    )
    expect(await holder!.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' })
    const killedAt = Date.now()
    expect(before.users).toBeLessThan(USERS)
    emulator.configure({ jobDelayMs: 300 })
    const survivors = all.filter((n) => n !== holder)

    // Another node holds the lease and delivers: the first write to Zendesk after the kill.
    const [next] = await waitFor(
      async () => {
        const h = await nodes!.holders('default')
        return h.length === 1 && h[0] !== holder ? h : null
      },
      FAILOVER_BOUND_MS + 10_000,
      'a surviving node to take the lease',
    )
    expect(survivors).toContain(next)
    const firstWriteAfterKill = await waitFor(
      async () => {
        const w = (await writes(emulator!)).find((r) => Date.parse(r.time) > killedAt)
        return w ? Date.parse(w.time) : null
      },
      FAILOVER_BOUND_MS + 10_000,
      'a delivery by the new holder',
    )
    const failoverMs = firstWriteAfterKill - killedAt
    console.log(
      `failover: ${failoverMs} ms from the kill to the next delivery (bound ${FAILOVER_BOUND_MS} ms)`,
    )
    expect(failoverMs).toBeLessThanOrEqual(FAILOVER_BOUND_MS)

    const final = await waitFor(
      async () => {
        const s = await state(emulator!)
        const users = s.users.filter((u: any) => u.role === 'end-user')
        const done =
          users.length >= USERS &&
          s.tickets.length >= USERS / TICKET_EVERY &&
          users.every((u: any) => {
            const i = Number(String(u.external_id).slice(5))
            return u.name === nameOf(i, versions(i))
          })
        return done ? s : null
      },
      120_000,
      `all ${USERS} users with their last names and ${USERS / TICKET_EVERY} tickets`,
    )

    // Users: exactly once each, with their last identify and the first one's email.
    const users = final.users.filter((u: any) => u.role === 'end-user')
    expect(users).toHaveLength(USERS)
    expect(new Set(users.map((u: any) => u.external_id)).size).toBe(USERS)
    expect(new Set(users.map((u: any) => u.email)).size).toBe(USERS)
    const byExternalId = new Map<string, any>(users.map((u: any) => [u.external_id, u]))
    const wrong = Array.from({ length: USERS }, (_, i) => i).filter((i) => {
      const u = byExternalId.get(`user-${i}`)
      return !u || u.name !== nameOf(i, versions(i)) || u.email !== `user${i}@example.com`
    })
    expect(wrong).toEqual([])

    // Tickets: exactly one per external id, requested by its user.
    const tickets = final.tickets
    expect(tickets).toHaveLength(USERS / TICKET_EVERY)
    expect(new Set(tickets.map((t: any) => t.external_id)).size).toBe(USERS / TICKET_EVERY)
    const userIdByExternalId = new Map<string, number>(users.map((u: any) => [u.external_id, u.id]))
    for (const t of tickets) {
      const i = Number(String(t.external_id).slice(6))
      expect(t.requester_id).toBe(userIdByExternalId.get(`user-${i}`))
    }

    // Of the survivors, only the new holder's worker delivers.
    expect(await Promise.all(survivors.map((n) => n.delivering()))).toEqual(
      survivors.map((n) => (n === next ? ['default'] : [])),
    )

    // Every job settled as delivered; none is left behind, none failed.
    const pool = new pg.Pool({ connectionString: db.url, max: 1 })
    try {
      const counts = await waitFor(
        async () => {
          const { rows } = await pool.query<{ state: string; n: string }>(
            'SELECT state, count(*) AS n FROM jobs GROUP BY state',
          )
          const byState = Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]))
          return Object.keys(byState).length === 1 && byState.done !== undefined ? byState : null
        },
        30_000,
        'every job done',
      )
      expect(counts).toEqual({ done: list.length })
    } finally {
      await pool.end()
    }

    // A graceful stop of the new holder hands its lease to the last node at once.
    expect(await next!.kill('SIGTERM')).toEqual({ code: 0, signal: null })
    const last = survivors.find((n) => n !== next)!
    await waitFor(
      async () => ((await last.leases()).some((l) => l.destination === 'default') ? true : null),
      LEASE_TTL_MS,
      'the last node to take the lease given up at a graceful stop',
    )
  }, 240_000)
})
