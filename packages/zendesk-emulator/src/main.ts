#!/usr/bin/env node
/**
 * Runs the emulator on its own: `npm run emulator -- --port 4010` prints the base URL.
 * Options mirror `createEmulator` (see the package README).
 */
import { Command, InvalidArgumentError } from 'commander'

import { createEmulator } from './index.js'
import { PLAN_LIMITS, type EmulatorOptions, type Plan } from './options.js'

function int(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) {
    throw new InvalidArgumentError('must be a whole number')
  }
  return n
}

function positive(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError('must be a positive number')
  }
  return n
}

const program = new Command()
  .name('zendesk-emulator')
  .description('An in-memory Zendesk account: Support, Events, Sell and OAuth APIs on one port.')
  .option('--port <n>', 'TCP port (0 picks a free one)', int, 4010)
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--plan <plan>', `account plan: ${Object.keys(PLAN_LIMITS).join(', ')}`, 'enterprise')
  .option('--rate-limit <n>', 'account-wide requests per minute (overrides the plan)', int)
  .option(
    '--time-scale <x>',
    'shrink rate-limit windows, job delays and Retry-After by this factor',
    positive,
    1,
  )
  .option('--job-delay-ms <n>', 'milliseconds for a bulk job to complete (before time scaling)', int, 200)
  .option('--no-bulk-import', 'answer 403 to bulk user import, as on new accounts')
  .option('--tokens-retired', 'reject every API token, as after 2027-04-30')
  .option('--access-token-ttl <s>', 'OAuth access-token lifetime in seconds', int, 1800)
  .option('--single-organization', 'allow one organization per user (Team plans)')
  .option('--no-rate-limits', 'turn every rate limit off')
  .option('--subdomain <name>', 'subdomain of the seeded account', 'sandbox')
  .option('--api-token <token>', 'API token of the seeded account', 'sandbox-api-token')
  .option('--admin-email <email>', 'email of the seeded admin', 'admin@example.com')
  .option('--client-id <id>', 'OAuth client id', 'sandbox-client')
  .option('--client-secret <secret>', 'OAuth client secret', 'sandbox-secret')
  .option('--sell-token <token>', 'Sell API access token', 'sandbox-sell-token')
  .parse()

const o = program.opts<{
  port: number
  host: string
  plan: string
  rateLimit?: number
  timeScale: number
  jobDelayMs: number
  bulkImport: boolean
  tokensRetired?: boolean
  accessTokenTtl: number
  singleOrganization?: boolean
  rateLimits: boolean
  subdomain: string
  apiToken: string
  adminEmail: string
  clientId: string
  clientSecret: string
  sellToken: string
}>()

if (!(o.plan in PLAN_LIMITS)) {
  program.error(`--plan must be one of ${Object.keys(PLAN_LIMITS).join(', ')}`)
}

const options: EmulatorOptions = {
  port: o.port,
  host: o.host,
  plan: o.plan as Plan,
  accountLimitPerMinute: o.rateLimit ?? null,
  timeScale: o.timeScale,
  jobDelayMs: o.jobDelayMs,
  bulkUserImport: o.bulkImport,
  apiTokensRetired: o.tokensRetired === true,
  accessTokenTtlS: o.accessTokenTtl,
  multipleOrganizations: o.singleOrganization !== true,
  rateLimits: o.rateLimits,
  seed: {
    subdomain: o.subdomain,
    apiToken: o.apiToken,
    adminEmail: o.adminEmail,
    oauthClientId: o.clientId,
    oauthClientSecret: o.clientSecret,
    sellToken: o.sellToken,
  },
}

const emulator = await createEmulator(options)
process.stdout.write(`${emulator.url}\n`)
process.stderr.write(
  `zendesk-emulator: Support API ${emulator.url}/api/v2, Sell API ${emulator.url}/v2, inspection ${emulator.url}/__emulator/state\n`,
)

const stop = (): void => {
  void emulator.close().then(() => process.exit(0))
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
