/**
 * Composition root and process lifecycle: reads configuration (environment, optional YAML file),
 * starts the built-in Zendesk emulator for sandbox destinations, starts the service, and shuts it
 * down gracefully on SIGTERM / SIGINT (intake stops, in-flight work settles, the database closes).
 */
import { readFileSync } from 'node:fs'

import { pino } from 'pino'

import { configFilePath, loadConfig, zendeskCredentials, type Config } from './config.js'
import { ConfigError } from './errors.js'
import { systemClock } from './lib/clock.js'
import { lowerHelperThreads, processThreads } from './lib/helper-threads.js'
import { startService, type ResolvedZendesk } from './service.js'

async function main(): Promise<void> {
  let config: Readonly<Config>
  try {
    const file = configFilePath(process.argv, process.env)
    config = loadConfig(process.env, file === null ? undefined : readFileSync(file, 'utf8'))
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  const log = pino({ level: config.logLevel })
  // Before any thread of ours starts, so that the queue's thread keeps the main thread's priority.
  const helpers = lowerHelperThreads(process.pid, config.helperThreadNiceness, processThreads)
  if (helpers.lowered.length > 0 || helpers.failed > 0) {
    log.info(
      { threads: helpers.lowered.length, failed: helpers.failed, niceness: config.helperThreadNiceness },
      'Node helper threads (V8 compilers, GC helpers, libuv pool) run at a lower CPU priority',
    )
  }

  const sandboxes: { close(): Promise<void> }[] = []
  // Filled in by resolveZendesk when a destination is a sandbox.
  const sandbox: { url: string | null } = { url: null }
  const service = await startService(config, {
    clock: systemClock,
    logger: { level: config.logLevel },
    log,
    async resolveZendesk(d): Promise<ResolvedZendesk> {
      if (d.zendesk.mode === 'remote') {
        const z = d.zendesk
        const credentials = zendeskCredentials(z)
        return { baseUrl: z.baseUrl, sellBaseUrl: z.sellBaseUrl, credentials, sellToken: z.sellToken }
      }
      // A sandbox: the emulator in-process, reached over OAuth like a real account.
      const { createEmulator } = await import('@zdd/zendesk-emulator')
      const emulator = await createEmulator({ port: 0 })
      sandboxes.push(emulator)
      sandbox.url = emulator.url
      return {
        baseUrl: emulator.url,
        sellBaseUrl: emulator.url,
        credentials: {
          kind: 'oauth_client_credentials',
          clientId: emulator.seed.oauthClientId,
          clientSecret: emulator.seed.oauthClientSecret,
        },
        sellToken: emulator.seed.sellToken,
      }
    },
  })

  // Printed in every mode: scripts and operators read the address from it (PORT=0 picks one).
  process.stdout.write(`zendesk-destination is running at ${service.url}\n`)
  const sandboxUrl = sandbox.url
  if (sandboxUrl !== null) {
    const writeKey = config.sources[0]?.writeKey ?? ''
    log.info(
      { service: service.url, sandbox: sandboxUrl },
      'No Zendesk credentials configured: syncing to the built-in sandbox emulator',
    )
    process.stdout.write(
      [
        `Sandbox Zendesk (emulator): ${sandboxUrl}  — see what it holds: ${sandboxUrl}/__emulator/state`,
        'Try it:',
        `  curl -u ${writeKey}: ${service.url}/v1/identify -d '{"userId":"u1","traits":{"email":"ann@example.com","name":"Ann"}}'`,
        `  curl -s ${sandboxUrl}/__emulator/state | grep ann@example.com`,
        '',
      ].join('\n'),
    )
  }

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) {
      return
    }
    stopping = true
    log.info(`${signal}: shutting down`)
    void service
      .stop()
      .then(() => Promise.all(sandboxes.map((s) => s.close())))
      .then(() => process.exit(0))
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

await main()
