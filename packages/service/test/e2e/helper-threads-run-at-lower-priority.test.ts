/**
 * The service started as `npm run dev` starts it lowers Node's helper threads (V8's compilers and
 * GC helpers, libuv's pool) to HELPER_THREAD_NICENESS, keeps its main thread and the queue's
 * thread at the normal priority, and still syncs (lib/helper-threads.ts). Linux only: the nice
 * values are read from /proc.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { getPriority, tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterEach, describe, expect, test } from 'vitest'

import { startChildService, type ChildService } from '../child-service.js'
import { waitForValue } from '../wait-for.js'

const WRITE_KEY = 'nice-test-write-key'

let service: ChildService | undefined
let dataDir: string | undefined

afterEach(async () => {
  await service?.kill('SIGKILL')
  service = undefined
  if (dataDir) {
    rmSync(dataDir, { recursive: true, force: true })
    dataDir = undefined
  }
})

/** Each thread of `pid` (/proc/<pid>/task) with its nice value. */
function niceValues(pid: number): Map<number, number> {
  return new Map(readdirSync(`/proc/${pid}/task`).map((tid) => [Number(tid), getPriority(Number(tid))]))
}

async function start(env: Record<string, string>): Promise<ChildService> {
  dataDir = mkdtempSync(join(tmpdir(), 'zdd-nice-'))
  service = await startChildService({ PORT: '0', DATA_DIR: dataDir, WRITE_KEY, ...env })
  return service
}

describe.runIf(existsSync('/proc/self/task'))('helper threads at a lower priority', () => {
  test('by default they run at nice 10, while the main thread and the queue’s thread stay at 0, and Ann still reaches the sandbox', async () => {
    const s = await start({})
    const nice = niceValues(s.pid)
    expect(nice.get(s.pid)).toBe(0)
    const lowered = [...nice].filter(([, n]) => n === 10).length
    const normal = [...nice].filter(([tid, n]) => tid !== s.pid && n === 0).length
    // V8's four platform workers at least; and the threads started later (the queue's) at 0.
    expect(lowered).toBeGreaterThanOrEqual(4)
    expect(normal).toBeGreaterThanOrEqual(1)
    expect(s.output()).toMatch(/"threads":\d+,"failed":0,"niceness":10,"msg":"Node helper threads/)

    const res = await fetch(`${s.url}/v1/identify`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` },
      body: JSON.stringify({ userId: 'u1', traits: { email: 'ann@example.com', name: 'Ann' } }),
    })
    expect(res.status).toBe(200)
    const sandbox = /Sandbox Zendesk \(emulator\): (http:\/\/\S+)/.exec(s.output())?.[1]
    expect(sandbox).toBeDefined()
    const ann = await waitForValue(
      async () => {
        const state = (await (await fetch(`${sandbox}/__emulator/state`)).json()) as {
          users: { email: string; name: string; external_id: string | null }[]
        }
        return state.users.find((u) => u.email === 'ann@example.com') ?? null
      },
      20_000,
      'Ann in the sandbox',
    )
    expect(ann).toMatchObject({ name: 'Ann', external_id: 'u1' })
  })

  test('HELPER_THREAD_NICENESS=0 leaves every thread as it is', async () => {
    const s = await start({ HELPER_THREAD_NICENESS: '0' })
    expect([...niceValues(s.pid).values()].every((n) => n === 0)).toBe(true)
    expect(s.output()).not.toMatch(/lower CPU priority/)
  })
})
