import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { createEmulator, type Emulator } from '@zdd/zendesk-emulator'
import { afterEach, describe, expect, test } from 'vitest'

import { systemClock } from '../../src/lib/clock.js'
import { openSqliteQueue } from '../../src/queue/sqlite-queue.js'
import { startChildService, type ChildService } from '../child-service.js'
import { waitForValue } from '../wait-for.js'

const WRITE_KEY = 'kill-test-write-key'
const USERS = 5_000
/** Every 10th user is identified a second time, later, with another name. */
const renamed = (i: number): boolean => i % 10 === 0
const lastName = (i: number): string => (renamed(i) ? `User ${i} Renamed` : `User ${i}`)

let emulator: Emulator | undefined
let services: ChildService[] = []
let dataDir: string | undefined

afterEach(async () => {
  await Promise.all(services.map((s) => s.kill('SIGKILL')))
  services = []
  await emulator?.close()
  emulator = undefined
  if (dataDir) {
    rmSync(dataDir, { recursive: true, force: true })
    dataDir = undefined
  }
})

async function state(e: Emulator): Promise<any> {
  return (await fetch(`${e.url}/__emulator/state`)).json()
}

async function endUsers(e: Emulator): Promise<any[]> {
  return (await state(e)).users.filter((u: any) => u.role === 'end-user')
}

async function postBatch(url: string, batch: unknown[]): Promise<any> {
  const res = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ batch }),
  })
  return { status: res.status, body: await res.json() }
}

describe('a service killed with SIGKILL mid-sync and restarted on the same DATA_DIR', () => {
  test('the emulator ends with all 5,000 users, each exactly once, each with their last identify', async () => {
    // Slow bulk jobs (1.5 s from queued to completed) so that the kill lands mid-sync.
    emulator = await createEmulator({ jobDelayMs: 1_000 })
    dataDir = mkdtempSync(join(tmpdir(), 'zdd-kill-'))
    const env = {
      PORT: '0',
      DATA_DIR: dataDir,
      ZENDESK_URL: emulator.url,
      ZENDESK_OAUTH_CLIENT_ID: 'sandbox-client',
      ZENDESK_OAUTH_CLIENT_SECRET: 'sandbox-secret',
      WRITE_KEY,
    }
    const first = await startChildService(env)
    services.push(first)

    const identifies = [
      ...Array.from({ length: USERS }, (_, i) => ({
        type: 'identify',
        messageId: `first-${i}`,
        userId: `user-${i}`,
        traits: {
          email: `user${i}@example.com`,
          name: `User ${i}`,
          phone: `+4520${String(i).padStart(6, '0')}`,
        },
      })),
      ...Array.from({ length: USERS }, (_, i) => i)
        .filter(renamed)
        .map((i) => ({
          type: 'identify',
          messageId: `second-${i}`,
          userId: `user-${i}`,
          traits: { name: lastName(i) },
        })),
    ]
    for (let i = 0; i < identifies.length; i += 500) {
      const batch = identifies.slice(i, i + 500)
      expect(await postBatch(first.url, batch)).toMatchObject({
        status: 200,
        body: { success: true, accepted: batch.length },
      })
    }

    // Some users are in Zendesk, not all, and bulk jobs are still running there (so their jobs
    // are leased in the service's queue): kill the process without letting it settle anything.
    const before = await waitForValue(
      async () => {
        const s = await state(emulator!)
        const n = s.users.filter((u: any) => u.role === 'end-user').length
        const running = s.job_statuses.some((j: any) => j.status === 'queued' || j.status === 'working')
        return n >= 1_000 && running ? n : null
      },
      30_000,
      'the first users to arrive while more are on their way',
    )
    expect(await first.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' })
    expect(before).toBeLessThan(USERS)
    // What the dead process left behind: jobs still leased (in a bulk call, or settled in Zendesk
    // but not yet in the queue).
    const queue = openSqliteQueue({
      path: join(dataDir, 'zendesk-destination.sqlite'),
      clock: systemClock,
      retentionMs: 60_000,
      dedupeWindowMs: 60_000,
    })
    const left = await queue.counts()
    await queue.close()
    expect(left.leased).toBeGreaterThan(0)

    // Same DATA_DIR. Jobs the dead process had leased must come back at once, not after their
    // 5-minute lease: the wait below is far shorter than that.
    const second = await startChildService(env)
    services.push(second)
    const users = await waitForValue(
      async () => {
        const all = await endUsers(emulator!)
        const done =
          all.length >= USERS && all.every((u) => u.name === lastName(Number(u.external_id.slice(5))))
        return done ? all : null
      },
      45_000,
      `all ${USERS} users with their last names (${before} were there at the kill)`,
    )

    // Exactly once: one user per external_id and per email, and nobody else.
    expect(users).toHaveLength(USERS)
    expect(new Set(users.map((u) => u.external_id)).size).toBe(USERS)
    expect(new Set(users.map((u) => u.email)).size).toBe(USERS)
    const byExternalId = new Map(users.map((u) => [u.external_id, u]))
    const wrong = Array.from({ length: USERS }, (_, i) => i).filter((i) => {
      const u = byExternalId.get(`user-${i}`)
      return (
        !u ||
        u.name !== lastName(i) ||
        u.email !== `user${i}@example.com` ||
        u.phone !== `+4520${String(i).padStart(6, '0')}`
      )
    })
    expect(wrong).toEqual([])

    // Graceful stop of the restarted process: intake stops, the database closes, exit 0.
    expect(await second.kill('SIGTERM')).toEqual({ code: 0, signal: null })
  }, 120_000)
})
