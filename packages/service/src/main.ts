/**
 * Composition root and process lifecycle. Reads configuration, starts the built-in Zendesk
 * emulator as a sandbox when no Zendesk credentials are configured, and serves HTTP.
 */
import { mkdirSync, readFileSync } from 'node:fs'

import { configFilePath, loadConfig } from './config.js'
import { ConfigError } from './errors.js'
import { buildApp } from './http/app.js'
import { systemClock } from './lib/clock.js'

async function main(): Promise<void> {
  let config
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
  mkdirSync(config.dataDir, { recursive: true })

  const zendesk = config.destinations[0]?.zendesk ?? { mode: 'sandbox' as const }
  let zendeskUrl: string
  let closeSandbox: () => Promise<void> = () => Promise.resolve()
  if (zendesk.mode === 'sandbox') {
    const { createEmulator } = await import('@zdd/zendesk-emulator')
    const sandbox = await createEmulator({ port: 0 })
    zendeskUrl = sandbox.url
    closeSandbox = () => sandbox.close()
  } else {
    zendeskUrl = zendesk.baseUrl
  }

  const app = buildApp({
    clock: systemClock,
    zendesk: { mode: zendesk.mode, baseUrl: zendeskUrl },
    logger: { level: config.logLevel },
  })
  await app.listen({ host: config.http.host, port: config.http.port })
  if (zendesk.mode === 'sandbox') {
    app.log.info(
      { sandbox: zendeskUrl },
      `No Zendesk credentials configured: using the built-in sandbox emulator at ${zendeskUrl} (inspect it at ${zendeskUrl}/__emulator/state)`,
    )
  }

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) {
      return
    }
    stopping = true
    app.log.info(`${signal}: shutting down`)
    void app
      .close()
      .then(closeSandbox)
      .then(() => process.exit(0))
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

await main()
