/**
 * Runs the service as a real child process, the way `npm run dev` does (`node --conditions=source
 * --import tsx packages/service/src/main.ts`), so that a test can kill it (SIGKILL included) and
 * start it again on the same DATA_DIR. The service's URL is read from its "Server listening at"
 * log line (PORT=0 picks a free port).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const MAIN = 'packages/service/src/main.ts'
/** Output kept for the failure message (the tail). */
const MAX_OUTPUT = 20_000

export interface ChildService {
  url: string
  pid: number
  /** The process's stdout and stderr so far (the last 20,000 characters), for failure messages. */
  output(): string
  /** Sends `signal` and resolves with the exit code (null) and signal once the process is gone. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts `main.ts` with `env` added to this process's environment; resolves once it listens. */
export async function startChildService(
  env: Record<string, string>,
  opts: { startTimeoutMs?: number } = {},
): Promise<ChildService> {
  const child: ChildProcess = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the service did not start in time:\n${output}`))
    }, opts.startTimeoutMs ?? 30_000)
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-MAX_OUTPUT)
      const m = /Server listening at (http:\/\/[^"\s]+)/.exec(output)
      if (m?.[1]) {
        clearTimeout(timer)
        resolve(m[1])
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`the service exited (code ${code}, signal ${signal}) before listening:\n${output}`))
    })
  })
  return {
    url,
    pid: child.pid ?? -1,
    output: () => output,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal)
      }
      return exited
    },
  }
}
