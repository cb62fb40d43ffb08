/**
 * Child processes of a benchmark, run as they really run: the Zendesk emulator standalone
 * (`packages/zendesk-emulator/src/main.ts`) and the service (`packages/service/src/main.ts`), both
 * through tsx with the `source` condition, or from `dist/` after `npm run build` (`--dist`).
 * Plus what the bench reads about a process from /proc: RSS, peak RSS and CPU time.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** The credentials the service uses against the emulator (the emulator's seeded OAuth client). */
export const OAUTH_CLIENT_ID = 'sandbox-client'
export const OAUTH_CLIENT_SECRET = 'sandbox-secret'
export const WRITE_KEY = 'bench-write-key'

/** Environment variables the service reads; inherited ones are dropped so they cannot interfere. */
const SERVICE_ENV = [
  'HOST',
  'PORT',
  'DATA_DIR',
  'LOG_LEVEL',
  'WRITE_KEY',
  'CONFIG_FILE',
  'ZENDESK_SUBDOMAIN',
  'ZENDESK_URL',
  'ZENDESK_OAUTH_CLIENT_ID',
  'ZENDESK_OAUTH_CLIENT_SECRET',
  'ZENDESK_EMAIL',
  'ZENDESK_API_TOKEN',
  'ZENDESK_SELL_TOKEN',
  'DATABASE_URL',
  'DATABASE_POOL_SIZE',
  'LEASE_TTL_MS',
]

export interface Child {
  process: ChildProcess
  pid: number
  url: string
  /** The last lines the process wrote (stdout and stderr), for error messages. */
  tail(): string
  /**
   * Starts watching the output for `pattern` (lines already written count too, as far as the
   * last 50 go); the returned function tells whether a line matched so far.
   */
  watch(pattern: RegExp): () => boolean
  stop(): Promise<void>
}

let profileDir: string | null = null

/**
 * Makes every child started from now on write a V8 CPU profile (`--cpu-prof`) into
 * `dir/service/` or `dir/zendesk-emulator/` when it exits; open them in Chrome DevTools or summarise them with bench/lib/profile-summary.ts.
 */
export function profileChildrenInto(dir: string): void {
  profileDir = dir
}

function nodeArgs(pkg: 'service' | 'zendesk-emulator', dist: boolean): string[] {
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, pkg)}`] : []
  if (dist) {
    const main = join(ROOT, 'packages', pkg, 'dist', 'main.js')
    if (!existsSync(main)) {
      throw new Error(`${main} does not exist: run \`npm run build\` first, or drop --dist`)
    }
    return [...profile, main]
  }
  return [...profile, '--conditions=source', '--import', 'tsx', join(ROOT, 'packages', pkg, 'src', 'main.ts')]
}

/**
 * Spawns `node args`, drains its output (a full pipe would block it), and resolves once a line
 * matches `urlPattern` (its first group is the URL).
 */
export function spawnAndWaitForUrl(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  urlPattern: RegExp,
  timeoutMs = 30_000,
): Promise<Child> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  const watches: { pattern: RegExp; seen: boolean }[] = []
  let exited = false
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  void exit.then(() => {
    exited = true
  })

  return new Promise<Child>((resolve, reject) => {
    let found = false
    const timer = setTimeout(() => {
      if (!found) {
        child.kill('SIGKILL')
        reject(new Error(`${name} did not print its URL within ${timeoutMs} ms:\n${lines.join('\n')}`))
      }
    }, timeoutMs)
    const onLine = (line: string): void => {
      lines.push(line)
      if (lines.length > 50) {
        lines.shift()
      }
      for (const w of watches) {
        w.seen ||= w.pattern.test(line)
      }
      const m = found ? null : urlPattern.exec(line)
      if (m?.[1]) {
        found = true
        clearTimeout(timer)
        resolve(handle(m[1]))
      }
    }
    for (const stream of [child.stdout, child.stderr]) {
      let partial = ''
      stream?.setEncoding('utf8')
      stream?.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n')
        partial = parts.pop() ?? ''
        parts.forEach(onLine)
      })
    }
    void exit.then(() => {
      if (!found) {
        clearTimeout(timer)
        reject(new Error(`${name} exited before printing its URL:\n${lines.join('\n')}`))
      }
    })

    const handle = (url: string): Child => ({
      process: child,
      pid: child.pid ?? -1,
      url,
      tail: () => lines.join('\n'),
      watch(pattern) {
        const w = { pattern, seen: lines.some((l) => pattern.test(l)) }
        watches.push(w)
        return () => w.seen
      },
      async stop() {
        if (exited) {
          return
        }
        child.kill('SIGTERM')
        const killed = await Promise.race([
          exit.then(() => false),
          new Promise<boolean>((r) => setTimeout(() => r(true), 20_000).unref()),
        ])
        if (killed) {
          child.kill('SIGKILL')
          await exit
        }
      },
    })
  })
}

export interface EmulatorFlags {
  plan?: string
  timeScale: number
  jobDelayMs: number
  /** The emulator's OAuth client secret; a different one than the service's pauses delivery. */
  clientSecret?: string
}

/** Starts the standalone emulator (`--port 0`); its URL is the first line it prints. */
export function startEmulator(flags: EmulatorFlags, dist = false): Promise<Child> {
  const args = [
    ...nodeArgs('zendesk-emulator', dist),
    '--port',
    '0',
    '--plan',
    flags.plan ?? 'enterprise',
    '--time-scale',
    String(flags.timeScale),
    '--job-delay-ms',
    String(flags.jobDelayMs),
    '--client-secret',
    flags.clientSecret ?? OAUTH_CLIENT_SECRET,
  ]
  return spawnAndWaitForUrl('the emulator', args, process.env, /^(http:\/\/\S+)$/)
}

export interface ServiceChild extends Child {
  dataDir: string
  writeKey: string
}

/**
 * Starts the service as `npm start` would, against `zendeskUrl` with OAuth client credentials, on a
 * free port and a fresh DATA_DIR (removed by `stop`). The URL comes from the "zendesk-destination is
 * running at URL" line (sandbox mode) or fastify's "Server listening at URL" log line.
 */
export async function startService(
  zendeskUrl: string,
  dist = false,
  /** More environment (e.g. DATABASE_URL for the PostgreSQL backend). */
  extraEnv: Record<string, string> = {},
): Promise<ServiceChild> {
  const dataDir = mkdtempSync(join(tmpdir(), 'zdd-bench-'))
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const k of SERVICE_ENV) {
    delete env[k]
  }
  Object.assign(env, {
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    ZENDESK_URL: zendeskUrl,
    ZENDESK_OAUTH_CLIENT_ID: OAUTH_CLIENT_ID,
    ZENDESK_OAUTH_CLIENT_SECRET: OAUTH_CLIENT_SECRET,
    WRITE_KEY,
    ...extraEnv,
  })
  let child: Child
  try {
    child = await spawnAndWaitForUrl(
      'the service',
      nodeArgs('service', dist),
      env,
      /(?:zendesk-destination is running at|Server listening at) (http:\/\/[^\s"]+)/,
    )
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true })
    throw err
  }
  return {
    ...child,
    dataDir,
    writeKey: WRITE_KEY,
    async stop() {
      await child.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** `VmRSS` and `VmHWM` (peak resident set) of a process, in MB. */
export function memoryOf(pid: number): { rssMb: number; peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 }
}

/** User + system CPU seconds a process has used (Linux clock ticks are 1/100 s). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces) start at ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** Stops children in reverse order, never throwing. */
export async function stopAll(children: (Child | null | undefined)[]): Promise<void> {
  for (const c of [...children].reverse()) {
    await c?.stop().catch(() => {})
  }
}
