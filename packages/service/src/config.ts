/**
 * The service's configuration, read once from the environment (conventions §4.8). Every key has a
 * default or is optional; startup fails listing every problem at once. Modules get their section.
 */
import { z } from 'zod'

import { ConfigError } from './errors.js'

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i

const envSchema = z.object({
  HOST: z.string().default('127.0.0.1').describe('Interface the HTTP server listens on.'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080).describe('HTTP port.'),
  DATA_DIR: z.string().default('./data').describe('Folder for the embedded SQLite database.'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WRITE_KEY: z
    .string()
    .min(1)
    .default('sandbox-write-key')
    .describe('Write key for ingest (Basic user).'),
  ZENDESK_SUBDOMAIN: z
    .string()
    .regex(DNS_LABEL, 'must be a DNS label (letters, digits and hyphens)')
    .optional()
    .describe('Zendesk subdomain: https://{subdomain}.zendesk.com'),
  ZENDESK_URL: z
    .url()
    .optional()
    .describe('Explicit Zendesk base URL (an emulator); overrides the subdomain.'),
  ZENDESK_OAUTH_CLIENT_ID: z.string().optional(),
  ZENDESK_OAUTH_CLIENT_SECRET: z.string().optional(),
  ZENDESK_EMAIL: z.string().optional().describe('Acting user for a legacy API token.'),
  ZENDESK_API_TOKEN: z.string().optional().describe('Legacy API token (stops working on 2027-04-30).'),
  ZENDESK_SELL_TOKEN: z.string().optional(),
})

export interface Config {
  http: { host: string; port: number; writeKey: string }
  dataDir: string
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL']
  zendesk:
    | { mode: 'sandbox' }
    | {
        mode: 'remote'
        baseUrl: string
        oauth: { clientId: string; clientSecret: string } | null
        apiToken: { email: string; token: string } | null
        sellToken: string | null
      }
}

/** Parses the environment; throws ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`))
  }
  const e = parsed.data
  const hasCredentials = Boolean(e.ZENDESK_OAUTH_CLIENT_ID || e.ZENDESK_API_TOKEN)
  const baseUrl = e.ZENDESK_URL ?? (e.ZENDESK_SUBDOMAIN ? `https://${e.ZENDESK_SUBDOMAIN}.zendesk.com` : null)
  const problems: string[] = []
  if (hasCredentials && !baseUrl) {
    problems.push('ZENDESK_SUBDOMAIN: required when Zendesk credentials are given (or set ZENDESK_URL)')
  }
  if (e.ZENDESK_OAUTH_CLIENT_ID && !e.ZENDESK_OAUTH_CLIENT_SECRET) {
    problems.push('ZENDESK_OAUTH_CLIENT_SECRET: required with ZENDESK_OAUTH_CLIENT_ID')
  }
  if (e.ZENDESK_API_TOKEN && !e.ZENDESK_EMAIL) {
    problems.push('ZENDESK_EMAIL: required with ZENDESK_API_TOKEN')
  }
  if (problems.length > 0) {
    throw new ConfigError(problems)
  }
  const config: Config = {
    http: { host: e.HOST, port: e.PORT, writeKey: e.WRITE_KEY },
    dataDir: e.DATA_DIR,
    logLevel: e.LOG_LEVEL,
    zendesk:
      hasCredentials && baseUrl
        ? {
            mode: 'remote',
            baseUrl,
            oauth:
              e.ZENDESK_OAUTH_CLIENT_ID && e.ZENDESK_OAUTH_CLIENT_SECRET
                ? { clientId: e.ZENDESK_OAUTH_CLIENT_ID, clientSecret: e.ZENDESK_OAUTH_CLIENT_SECRET }
                : null,
            apiToken:
              e.ZENDESK_API_TOKEN && e.ZENDESK_EMAIL
                ? { email: e.ZENDESK_EMAIL, token: e.ZENDESK_API_TOKEN }
                : null,
            sellToken: e.ZENDESK_SELL_TOKEN ?? null,
          }
        : { mode: 'sandbox' },
  }
  return Object.freeze(config)
}
