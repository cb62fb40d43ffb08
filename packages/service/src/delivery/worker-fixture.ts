/**
 * Test-only set-up shared by the delivery worker's tests (worker.test.ts, worker-lease.test.ts,
 * worker-queue-outage.test.ts): the real pieces around the worker (a SQLite queue in a temporary
 * folder, the emulator in-process, a Zendesk client on it) and the helpers those tests enqueue
 * and poll with. Service code never imports it; its name has no `.test.` so that Vitest does not
 * collect it as a test file.
 *
 * Every function that starts something takes the test file's `Cleanups` and registers how to
 * take it down; the test file runs them from `afterEach`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'

import { createEmulator, type Emulator, type EmulatorOptions } from '@zdd/zendesk-emulator'

import { upsertUser } from '../actions/upsert-user/upsert-user.js'
import { systemClock } from '../lib/clock.js'
import type { NewJob, Queue } from '../queue/queue.js'
import { openSqliteQueue, type SqliteQueue } from '../queue/sqlite-queue.js'
import { createZendeskClient } from '../zendesk/client.js'
import { ZendeskRateLimiter } from '../zendesk/rate-limiter.js'
import {
  DestinationWorker,
  type Logger,
  type Subscription,
  type WorkerDeps,
  type ZendeskSender,
} from './worker.js'

/** The id of the one destination the worker tests deliver to. */
export const DESTINATION = 'zd'

/** What a test started, taken down in reverse order by `run` (call it from `afterEach`). */
export class Cleanups {
  private readonly steps: (() => Promise<void>)[] = []

  add(step: () => Promise<void>): void {
    this.steps.push(step)
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      await step()
    }
  }
}

/** The emulator in-process, closed after the test. */
export async function startEmulator(cleanups: Cleanups, options: EmulatorOptions = {}): Promise<Emulator> {
  const emulator = await createEmulator(options)
  cleanups.add(() => emulator.close())
  return emulator
}

/** A SQLite queue in a new temporary folder (named after `prefix`); both go after the test. */
export function openTempQueue(cleanups: Cleanups, prefix: string): SqliteQueue {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  cleanups.add(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })))
  const queue = openSqliteQueue({
    path: join(dir, 'queue.sqlite'),
    clock: systemClock,
    retentionMs: 60_000,
    dedupeWindowMs: 60_000,
  })
  cleanups.add(() => queue.close())
  return queue
}

/**
 * The worker's view of a Zendesk client of the emulator's seeded account (OAuth client
 * credentials, its own rate limiter): its requests, and whether its credentials work.
 */
export function emulatorSender(cleanups: Cleanups, emulator: Emulator): ZendeskSender {
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
  cleanups.add(() => client.close())
  return {
    send: (req, o) => client.send(req, o),
    testConnection: () =>
      client.testConnection().then(
        () => true,
        () => false,
      ),
  }
}

/** A log that says nothing. */
export const silentLog: Logger = { info: () => {}, warn: () => {}, error: () => {} }

/**
 * The worker's deps on the real clock, with a quick, deterministic retry policy and a silent log.
 * `overrides` replace any of them; their `options` are laid over short batch and poll windows.
 */
export function workerDeps(queue: Queue, overrides: Partial<WorkerDeps> = {}): WorkerDeps {
  return {
    queue,
    clock: systemClock,
    // Resolves early, never rejects, when the worker's signal aborts.
    sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined),
    outcome: {
      policy: { maxAttempts: 5, maxRetryAfterMs: 60_000 },
      backoffMs: () => 50,
      random: () => 0,
    },
    log: silentLog,
    ...overrides,
    options: { batchWindowMs: 20, pollIntervalMs: 20, ...overrides.options },
  }
}

/**
 * A worker of `DESTINATION` with `subscriptions` (upsert-user on its defaults unless given), sending
 * through `zendesk`; stopped after the test.
 */
export function createWorker(
  cleanups: Cleanups,
  zendesk: ZendeskSender,
  deps: WorkerDeps,
  subscriptions: Subscription[] = [{ action: upsertUser, trigger: upsertUser.defaultTrigger }],
): DestinationWorker {
  const worker = new DestinationWorker(
    {
      id: DESTINATION,
      settings: {},
      subscriptions,
      zendesk,
    },
    deps,
  )
  cleanups.add(() => worker.stop(0))
  return worker
}

/** A job of `DESTINATION` carrying an identify of `userId` with `traits`, ordered by the user. */
export function identifyJob(userId: string, traits: Record<string, unknown>, messageId: string): NewJob {
  return {
    destinationId: DESTINATION,
    orderingKey: `user:${userId}`,
    dedupeKey: null,
    payload: {
      type: 'identify',
      userId,
      traits,
      messageId,
      receivedAt: new Date().toISOString(),
      timestamp: new Date().toISOString(),
    },
  }
}

/** The emulator's request log for paths containing `path` (`/__emulator/requests`). */
export async function requests(
  emulator: Emulator,
  path: string,
): Promise<{ seq: number; path: string; status: number }[]> {
  const response = await fetch(`${emulator.url}/__emulator/requests?path=${path}`)
  const body = (await response.json()) as { requests: { seq: number; path: string; status: number }[] }
  return body.requests
}

/** The users of the emulator's account now (`/__emulator/state`). */
export async function emulatorUsers(
  emulator: Emulator,
): Promise<{ role: string; external_id: string | null; phone?: string | null }[]> {
  const response = await fetch(`${emulator.url}/__emulator/state`)
  const state = (await response.json()) as {
    users: { role: string; external_id: string | null; phone?: string | null }[]
  }
  return state.users
}

/** The tests' polling wait (test/wait-for.ts), for the worker tests to import with the rest. */
export { waitFor } from '../../test/wait-for.js'
