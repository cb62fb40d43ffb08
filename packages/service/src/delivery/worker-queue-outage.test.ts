/**
 * The worker when its queue cannot be reached for a while (the PostgreSQL database away): rounds
 * that fail are tried again, and settlements it could not write are written once the queue is
 * back, without waiting for the jobs' leases to run out. The queue is the real SQLite queue behind
 * a switch that makes every call fail as a refused connection would.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'

import { createEmulator } from '@zdd/zendesk-emulator'
import { afterEach, describe, expect, test } from 'vitest'

import { upsertUser } from '../actions/upsert-user/upsert-user.js'
import { systemClock } from '../lib/clock.js'
import type { Queue } from '../queue/queue.js'
import { openSqliteQueue } from '../queue/sqlite-queue.js'
import { createZendeskClient } from '../zendesk/client.js'
import { ZendeskRateLimiter } from '../zendesk/rate-limiter.js'
import { DestinationWorker } from './worker.js'

const cleanups: (() => Promise<void>)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup()
  }
})

async function waitFor<T>(
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) {
      return v
    }
    if (Date.now() > deadline) {
      throw new Error('timed out waiting for the condition')
    }
    await delay(20)
  }
}

describe('the worker while its queue is unreachable', () => {
  test('writes the settlements it could not write once the queue is back, and claims again', async () => {
    // Zendesk's bulk jobs take a while, so that the queue can go away while one is under way.
    const emulator = await createEmulator({ jobDelayMs: 300 })
    cleanups.push(() => emulator.close())
    const dir = mkdtempSync(join(tmpdir(), 'zdd-worker-outage-'))
    cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })))
    const real = openSqliteQueue({
      path: join(dir, 'queue.sqlite'),
      clock: systemClock,
      retentionMs: 60_000,
      dedupeWindowMs: 60_000,
    })
    cleanups.push(() => real.close())
    // Which calls fail: none, the settlements only (the database went away between a claim and
    // its settlement), or all of them.
    const outage = { down: 'none' as 'none' | 'settlements' | 'all', refused: 0 }
    const settlements = new Set<string | symbol>(['complete', 'retry', 'fail', 'park'])
    const queue = new Proxy<Queue>(real, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver)
        if (typeof value !== 'function') {
          return value
        }
        return (...args: unknown[]) => {
          if (outage.down === 'all' || (outage.down === 'settlements' && settlements.has(prop))) {
            outage.refused += 1
            return Promise.reject(
              Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
            )
          }
          return value.apply(target, args)
        }
      },
    })
    const client = createZendeskClient({
      supportBaseUrl: emulator.url,
      credentials: {
        kind: 'oauth_client_credentials',
        clientId: emulator.seed.oauthClientId,
        clientSecret: emulator.seed.oauthClientSecret,
      },
      limiter: new ZendeskRateLimiter({ clock: systemClock }),
      clock: systemClock,
      timeoutMs: 60_000,
    })
    cleanups.push(() => client.close())
    const errors: string[] = []
    const worker = new DestinationWorker(
      {
        id: 'zd',
        settings: {},
        subscriptions: [{ action: upsertUser, trigger: upsertUser.defaultTrigger }],
        zendesk: { send: (req, o) => client.send(req, o), testConnection: () => Promise.resolve(true) },
      },
      {
        queue,
        clock: systemClock,
        sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined),
        outcome: {
          policy: { maxAttempts: 5, maxRetryAfterMs: 60_000 },
          backoffMs: () => 50,
          random: () => 0,
        },
        log: {
          info: () => {},
          warn: (_o, m) => errors.push(m ?? ''),
          error: (_o, m) => errors.push(m ?? ''),
        },
        // Leases far longer than the test: only the worker's own retries can settle the jobs in time.
        options: { batchWindowMs: 20, pollIntervalMs: 20, leaseMs: 10 * 60_000 },
      },
    )
    cleanups.push(() => worker.stop(0))
    const identify = (userId: string) => ({
      destinationId: 'zd',
      orderingKey: `user:${userId}`,
      dedupeKey: null,
      payload: {
        type: 'identify',
        userId,
        traits: { email: `${userId}@example.com`, name: userId },
        messageId: `m-${userId}`,
        receivedAt: new Date().toISOString(),
        timestamp: new Date().toISOString(),
      },
    })
    await real.enqueue(['a', 'b', 'c'].map(identify))
    worker.start()

    // The bulk call is out: the queue goes away before its results are settled.
    await waitFor(async () => {
      const r: any = await (
        await fetch(`${emulator.url}/__emulator/requests?path=create_or_update_many`)
      ).json()
      return r.requests.length > 0
    })
    outage.down = 'settlements'
    const users = async () => {
      const state: any = await (await fetch(`${emulator.url}/__emulator/state`)).json()
      return state.users.filter((u: any) => u.external_id !== null).map((u: any) => u.external_id as string)
    }
    // Zendesk applies the records; the worker cannot record it, and keeps trying.
    await waitFor(async () => (await users()).length === 3 && outage.refused >= 2)
    expect(await real.counts('zd')).toMatchObject({ leased: 3, done: 0 })
    expect(errors).toContain('could not record a settlement in the queue; trying again')

    // Then nothing works, claims included, while a new event waits.
    outage.down = 'all'
    await real.enqueue(['d'].map(identify))
    const refused = outage.refused
    await waitFor(() => Promise.resolve(outage.refused >= refused + 2))
    expect(await users()).not.toContain('d')

    // The queue is back: the settlements are written, and delivery goes on, long before any
    // lease runs out.
    outage.down = 'none'
    await waitFor(async () => (await real.counts('zd')).done === 4)
    expect((await users()).sort()).toEqual(['a', 'b', 'c', 'd'])
  })
})
