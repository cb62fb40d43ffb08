/**
 * Proves ADR 0003 (relative imports are spelled `.js` in TypeScript sources): the compiled output
 * runs on plain Node, for the emulator's command line and for the service.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

import { afterEach, beforeAll, describe, expect, test } from 'vitest'

import { createTestDatabase } from '../packages/service/test/pg.js'

const root = new URL('..', import.meta.url).pathname
const run = promisify(execFile)
const children: ChildProcess[] = []

/** Starts a process and resolves with the first stdout line that matches. */
async function firstLine(child: ChildProcess, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  let out = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} in: ${out}`)), timeoutMs)
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n').find((l) => pattern.test(l))
      if (line) {
        clearTimeout(timer)
        resolve(line)
      }
    })
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)))
  })
}

beforeAll(async () => {
  await run('npm', ['run', 'build'], { cwd: root })
}, 120_000)

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null) {
      c.kill('SIGTERM')
      await once(c, 'exit')
    }
  }
})

describe('the build runs on plain Node', () => {
  test('node packages/zendesk-emulator/dist/main.js --port 0 prints its base URL and serves', async () => {
    const child = spawn(process.execPath, ['packages/zendesk-emulator/dist/main.js', '--port', '0'], {
      cwd: root,
    })
    children.push(child)
    const url = await firstLine(child, /^http:\/\/127\.0\.0\.1:\d+$/)
    const r = await fetch(`${url}/__emulator/config`)
    expect(r.status).toBe(200)
    expect(((await r.json()) as { seed: { subdomain: string } }).seed.subdomain).toBe('sandbox')
  })

  test('node packages/service/dist/main.js starts on its defaults with the sandbox emulator', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'zdd-build-'))
    const child = spawn(process.execPath, ['packages/service/dist/main.js'], {
      cwd: root,
      env: { ...process.env, PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    })
    children.push(child)
    const line = await firstLine(child, /^zendesk-destination is running at http/)
    const url = /running at (http:\/\/\S+)/.exec(line)?.[1]
    const r = await fetch(`${url}/health`)
    const body = (await r.json()) as { status: string; destinations: { mode: string }[] }
    expect(body).toMatchObject({ status: 'ok', destinations: [{ id: 'default', mode: 'sandbox' }] })
  })

  test('with DATABASE_URL the built service finds its SQL migrations, migrates PostgreSQL and is ready', async () => {
    const db = await createTestDatabase('zdd_test_build')
    try {
      const child = spawn(process.execPath, ['packages/service/dist/main.js'], {
        cwd: root,
        env: {
          ...process.env,
          PORT: '0',
          DATA_DIR: mkdtempSync(join(tmpdir(), 'zdd-build-')),
          DATABASE_URL: db.url,
        },
      })
      children.push(child)
      const line = await firstLine(child, /^zendesk-destination is running at http/)
      const url = /running at (http:\/\/\S+)/.exec(line)?.[1]
      const r = await fetch(`${url}/ready`)
      expect(((await r.json()) as { database: string }).database).toBe('ok')
      child.kill('SIGTERM')
      await once(child, 'exit')
    } finally {
      await db.drop()
    }
  })
})
