/**
 * The delivery worker and its node's delivery lease (cluster/lease.ts): it claims and sends only
 * while the lease is held; losing it, it sends nothing new, lets bulk jobs already sent settle
 * and releases the rest; another worker (another node) then takes over with nothing lost.
 * Real pieces: a SQLite queue shared by the two workers, the Zendesk client, the emulator.
 */
import type { Emulator } from '@zdd/zendesk-emulator'
import { afterEach, describe, expect, test } from 'vitest'

import type { SqliteQueue } from '../queue/sqlite-queue.js'
import type { DestinationWorker, Logger, WorkerOptions } from './worker.js'
import {
  Cleanups,
  createWorker,
  DESTINATION,
  emulatorSender,
  emulatorUsers,
  identifyJob,
  openTempQueue,
  startEmulator,
  waitFor,
  workerDeps,
} from './worker-fixture.js'

const cleanups = new Cleanups()

afterEach(() => cleanups.run())

/** A node's view of its lease, switched by the test; counts how often the worker asked. */
class SwitchedLease {
  held: boolean
  /** Whether no other node can hold it yet (true: a lease let go that has not run out). */
  exclusive = true
  asked = 0
  constructor(held: boolean) {
    this.held = held
  }
  holds(): boolean {
    this.asked += 1
    return this.held
  }
  exclusiveUntil(): number {
    return this.exclusive ? Infinity : -Infinity
  }
}

interface Node {
  worker: DestinationWorker
  lease: SwitchedLease
  /** Bulk upserts this node sent while its lease was not held (must stay 0). */
  sentWithoutLease: number
  /** Bulk upserts this node sent. */
  sent: number
  messages: string[]
}

async function setup(): Promise<{
  emulator: Emulator
  queue: SqliteQueue
  node(held: boolean, options?: Partial<WorkerOptions>): Node
  identify(n: number): Promise<void>
  endUsers(): Promise<any[]>
  /** Jobs of the destination whose lease has not ended (a released job keeps its state until the next claim). */
  liveLeases(): Promise<number>
  waitFor<T>(check: () => Promise<T | null | undefined | false>, timeoutMs?: number): Promise<T>
}> {
  // Bulk jobs take a while, so that a lease can be lost while some are in flight.
  const emulator = await startEmulator(cleanups, { jobDelayMs: 150 })
  const queue = openTempQueue(cleanups, 'zdd-worker-lease-')

  const node = (held: boolean, options: Partial<WorkerOptions> = {}): Node => {
    const sender = emulatorSender(cleanups, emulator)
    const messages: string[] = []
    const log: Logger = {
      info: (_o, m) => messages.push(m ?? ''),
      warn: (_o, m) => messages.push(m ?? ''),
      error: (_o, m) => messages.push(m ?? ''),
    }
    const n: Node = { lease: new SwitchedLease(held), sentWithoutLease: 0, sent: 0, messages } as Node
    n.worker = createWorker(
      cleanups,
      {
        ...sender,
        send: (req, o) => {
          if (req.path.includes('create_or_update_many')) {
            n.sent += 1
            n.sentWithoutLease += n.lease.held ? 0 : 1
          }
          return sender.send(req, o)
        },
      },
      workerDeps(queue, { log, lease: n.lease, options }),
    )
    return n
  }

  return {
    emulator,
    queue,
    node,
    async identify(count) {
      await queue.enqueue(
        Array.from({ length: count }, (_, i) =>
          identifyJob(`u${i}`, { email: `u${i}@example.com`, name: `User ${i}` }, `m-${i}`),
        ),
      )
    },
    async liveLeases() {
      const now = Date.now()
      return (await queue.list(DESTINATION, 'leased', 1_000_000)).filter((j) => (j.leasedUntil ?? 0) > now)
        .length
    },
    async endUsers() {
      return (await emulatorUsers(emulator)).filter((u) => u.role === 'end-user')
    },
    waitFor: (check, timeoutMs = 20_000) => waitFor(check, timeoutMs),
  }
}

describe('the delivery worker follows its node’s delivery lease', () => {
  test('without the lease it claims nothing; once the lease is gained it delivers', async () => {
    const s = await setup()
    await s.identify(3)
    const a = s.node(false)
    a.worker.start()
    // Many rounds go by, each asking for the lease: nothing is claimed, nothing is sent.
    await s.waitFor(() => Promise.resolve(a.lease.asked >= 20))
    expect((await s.queue.counts(DESTINATION)).ready).toBe(3)
    expect(a.sent).toBe(0)

    a.lease.held = true
    a.worker.wake()
    await s.waitFor(async () => (await s.queue.counts(DESTINATION)).done === 3)
    expect((await s.endUsers()).map((u) => u.external_id).sort()).toEqual(['u0', 'u1', 'u2'])
  })

  test('records waiting for the batching window when the lease is lost are never sent: their jobs go back at once', async () => {
    const s = await setup()
    await s.identify(30)
    // A partial batch waits up to 3 s for more records: the lease is lost meanwhile.
    const a = s.node(true, { batchWindowMs: 3_000 })
    a.worker.start()
    await s.waitFor(async () => (await s.queue.counts(DESTINATION)).leased === 30)
    // As the service does when its node's leases change hands.
    a.lease.held = false
    a.worker.wake()
    await s.waitFor(() =>
      Promise.resolve(
        a.messages.includes('delivery lease lost: jobs not settled released for the node that holds it now'),
      ),
    )
    expect(a.sent).toBe(0)
    // Their leases ended: the next claim (the new holder's) takes them, attempts unchanged.
    const back = await s.queue.claim({ destinationId: DESTINATION, limit: 100, leaseMs: 60_000 })
    expect(back.map((j) => j.attempts)).toEqual(Array.from({ length: 30 }, () => 0))
  })

  test('losing the lease mid-sync: nothing new goes out, the rest is released, another node delivers it all exactly once', async () => {
    const s = await setup()
    const USERS = 1_000
    await s.identify(USERS)
    // One bulk call at a time, so that the sync takes several waves.
    const a = s.node(true, { maxBulkJobsInFlight: 1 })
    a.worker.start()
    await s.waitFor(() => Promise.resolve(a.sent >= 2))
    a.lease.held = false

    // a lets go: the bulk job it had sent settles, every job it still held goes back to ready.
    await s.waitFor(() =>
      Promise.resolve(
        a.messages.includes('delivery lease lost: claiming and sending stop; work under way settles'),
      ),
    )
    await s.waitFor(async () => (await s.liveLeases()) === 0)
    const sentByA = a.sent
    const counts = await s.queue.counts(DESTINATION)
    expect(counts.done).toBeGreaterThan(0)
    expect(counts.done).toBeLessThan(USERS)
    // Released: ready, or still marked leased with an ended lease (jobs the worker had built ahead).
    expect(counts.ready + counts.leased).toBe(USERS - counts.done)

    // b holds the lease now and delivers the rest.
    const b = s.node(true)
    b.worker.start()
    await s.waitFor(async () => (await s.queue.counts(DESTINATION)).done === USERS)
    expect(a.sentWithoutLease).toBe(0)
    expect(a.sent).toBe(sentByA)
    expect(b.sent).toBeGreaterThan(0)
    const users = await s.endUsers()
    expect(users).toHaveLength(USERS)
    expect(new Set(users.map((u) => u.external_id)).size).toBe(USERS)
    // Every job was attempted once: none failed or was retried on the way.
    const all = await s.queue.list(DESTINATION, 'done', USERS)
    expect(all.every((j) => j.attempts === 0)).toBe(true)
  })

  test('a lease that expired before the work under way settled: the worker leaves its jobs alone, the next holder takes them back', async () => {
    const s = await setup()
    const USERS = 1_000
    await s.identify(USERS)
    const a = s.node(true, { maxBulkJobsInFlight: 1 })
    a.worker.start()
    await s.waitFor(() => Promise.resolve(a.sent >= 2))
    // Not renewed for a whole ttl (stalled, or cut off from the database): another node may hold it.
    a.lease.exclusive = false
    a.lease.held = false
    a.worker.wake()
    await s.waitFor(() =>
      Promise.resolve(
        a.messages.some((m) => m.startsWith('delivery lease expired before the work under way settled')),
      ),
    )
    // a wrote nothing more: the jobs of its last bulk call are still leased to it.
    const left = await s.queue.counts(DESTINATION)
    expect(left.leased).toBeGreaterThan(0)
    const sentByA = a.sent

    const b = s.node(true)
    b.worker.start()
    await s.waitFor(async () => (await s.queue.counts(DESTINATION)).done === USERS)
    expect(a.sentWithoutLease).toBe(0)
    expect(a.sent).toBe(sentByA)
    const users = await s.endUsers()
    expect(users).toHaveLength(USERS)
    expect(new Set(users.map((u) => u.external_id)).size).toBe(USERS)
  })

  test('a node that lost the lease and gains it again takes back what was left leased', async () => {
    const s = await setup()
    await s.identify(300)
    const a = s.node(true, { maxBulkJobsInFlight: 1 })
    a.worker.start()
    await s.waitFor(() => Promise.resolve(a.sent >= 1))
    a.lease.held = false
    await s.waitFor(async () => (await s.liveLeases()) === 0)
    // Another node's claim, which then died with the jobs leased for five minutes.
    const orphaned = await s.queue.claim({ destinationId: DESTINATION, limit: 50, leaseMs: 5 * 60_000 })
    expect(orphaned.length).toBeGreaterThan(0)

    a.lease.held = true
    a.worker.wake()
    await s.waitFor(async () => (await s.queue.counts(DESTINATION)).done === 300)
    expect(a.sentWithoutLease).toBe(0)
    expect(await s.endUsers()).toHaveLength(300)
  })
})
