/**
 * The service's configuration (conventions §4.8), read once at start from the environment and,
 * optionally, a YAML file (`--config file.yaml` or `CONFIG_FILE`). Startup fails listing every
 * problem at once, each with its path (`destinations[0].zendesk.subdomain: must be a DNS label`).
 *
 * Without a file, the environment describes one source (WRITE_KEY) feeding one destination
 * (`default`): a real Zendesk when credentials are given, else the built-in sandbox emulator.
 * The file's schema is documented in docs/configuration.md. Strings in the file may use
 * `${NAME}` to read an environment variable, so secrets need not be written in it.
 */
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'

import {
  isPresetName,
  presetSubscriptions,
  PRESET_NAMES,
  translateSettings,
  unknownSettingMessage,
  type PresetName,
  type SubscriptionSpec,
} from './actions/presets.js'
import { findAction } from './actions/registry.js'
import type { ActivationConfig } from './actions/sync-audience-common/activation.js'
import { activationsSchema, toActivations } from './actions/sync-audience-common/activation-config.js'
import { ConfigError } from './errors.js'
import { validateMapping, type MappingValue } from './mapping/mapping.js'
import { EVENT_TYPES } from './spec/events.js'
import type { Credentials } from './zendesk/auth.js'

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i
const DNS_LABEL_MESSAGE = 'must be a DNS label (letters, digits and hyphens)'

const envSchema = z.object({
  HOST: z.string().default('127.0.0.1').describe('Interface the HTTP server listens on.'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080).describe('HTTP port.'),
  DATA_DIR: z.string().default('./data').describe('Folder for the embedded SQLite database.'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// (or postgresql://) URL')
    .optional()
    .describe('PostgreSQL for the queue and the stored state instead of SQLite (several nodes).'),
  DATABASE_POOL_SIZE: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(10)
    .describe('PostgreSQL connections per process at most.'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WRITE_KEY: z.string().min(1).default('sandbox-write-key').describe('Write key for ingest (Basic user).'),
  CONFIG_FILE: z.string().optional().describe('YAML file with several sources and destinations.'),
  ZENDESK_SUBDOMAIN: z
    .string()
    .regex(DNS_LABEL, DNS_LABEL_MESSAGE)
    .optional()
    .describe('Zendesk subdomain: https://{subdomain}.zendesk.com'),
  ZENDESK_URL: z
    .url()
    .optional()
    .describe('Explicit Zendesk base URL (an emulator); overrides the subdomain.'),
  ZENDESK_OAUTH_CLIENT_ID: z.string().optional(),
  ZENDESK_OAUTH_CLIENT_SECRET: z.string().optional(),
  ZENDESK_OAUTH_ACCESS_TOKEN: z
    .string()
    .optional()
    .describe('OAuth access token of an authorization-code grant (with the refresh token).'),
  ZENDESK_OAUTH_REFRESH_TOKEN: z
    .string()
    .optional()
    .describe('OAuth refresh token; rotated pairs are kept in DATA_DIR.'),
  ZENDESK_EMAIL: z.string().optional().describe('Acting user for a legacy API token.'),
  ZENDESK_API_TOKEN: z.string().optional().describe('Legacy API token (stops working on 2027-04-30).'),
  ZENDESK_SELL_TOKEN: z.string().optional(),
  LEASE_TTL_MS: z.coerce
    .number()
    .int()
    .min(300)
    .max(600_000)
    .default(15_000)
    .describe(
      'Several nodes (DATABASE_URL): how long a delivery lease lasts without renewal; a dead node’s destinations move within about 4/3 of it.',
    ),
  HELPER_THREAD_NICENESS: z.coerce
    .number()
    .int()
    .min(0)
    .max(19)
    .default(10)
    .describe(
      'Linux nice value given at start to Node’s helper threads (V8’s compilers and GC helpers, libuv’s pool), so that they yield the CPU to request handling; 0 leaves them as they are.',
    ),
})

export type ZendeskConnection =
  | { mode: 'sandbox' }
  | {
      mode: 'remote'
      baseUrl: string
      /** Sell API base; Sell lives at `https://api.getbase.com` unless an emulator is used. */
      sellBaseUrl: string
      oauth: { clientId: string; clientSecret: string } | null
      /**
       * An access/refresh pair from an authorization-code grant. Zendesk revokes it at the first
       * refresh; the service keeps the rotated pair in DATA_DIR (store/oauth-tokens.ts).
       */
      oauthTokens: OAuthTokensConfig | null
      apiToken: { email: string; token: string } | null
      sellToken: string | null
      /** Sell's limit per token, when not Sell's documented 36,000 an hour (an emulator). */
      sellRequestsPerHour?: number
    }

export interface OAuthTokensConfig {
  clientId: string
  /** Confidential clients authenticate the refresh; public (PKCE) clients have no secret. */
  clientSecret: string | null
  accessToken: string
  refreshToken: string
}

export type RemoteZendeskConnection = Extract<ZendeskConnection, { mode: 'remote' }>

export interface DestinationSettings {
  /** Create users as verified (no verification email). */
  verified: boolean
  /** Create users without sending the verification email. */
  skipVerifyEmail: boolean
  /** Create missing custom user fields from traits (off by default). */
  createMissingUserFields: boolean
  /** Create missing custom organization fields from group traits (off by default). */
  createMissingOrganizationFields: boolean
  /** How many custom fields this destination may create, user and organization fields together. */
  maxCreatedFields: number
  /** A group call without userId upserts only the organization (off: it fails). */
  sendGroupCallsWithoutUserId: boolean
  /** An identify with `traits.company.remove: true` removes that organization membership. */
  removeUsersFromOrganizations: boolean
  /**
   * How upsert-user finds the Zendesk user: by `external_id` (the userId), else by email (Zendesk's
   * own rule); or by `email` (Segment's and Customer.io's rule; needs traits.email).
   */
  matchUsersBy: 'external_id' | 'email'
  /** An identify's email becomes the user's primary email (RudderStack's `searchByExternalId`). */
  updatePrimaryEmail: boolean
  /** Events API: the event's source (Zendesk reserves `zendesk`); track-event's default otherwise. */
  eventSource?: string
  /** Events API: the profile's source (default: the event source). */
  profileSource?: string
  /** Events API: the profile's type (default `customer`). */
  profileType?: string
}

export interface DestinationConfig {
  id: string
  zendesk: ZendeskConnection
  settings: DestinationSettings
  /** The destination's subscriptions; the presets when the configuration gives none. */
  subscriptions: SubscriptionSpec[] | null
  /** The compatibility preset named in the configuration (actions/presets.ts), if any. */
  preset?: PresetName
  /** Audience activations (docs/audiences.md); none when absent. */
  activations?: ActivationConfig[]
}

export interface SourceConfig {
  id: string
  writeKey: string
  destinationIds: string[]
}

export interface Config {
  http: { host: string; port: number }
  dataDir: string
  /** PostgreSQL instead of the SQLite file in dataDir (queue and stored state); null: SQLite. */
  database: { url: string; poolSize: number } | null
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL']
  /** Several nodes on one PostgreSQL: the delivery leases (cluster/lease.ts, docs/deployment.md). */
  cluster: { leaseTtlMs: number }
  /** The nice value of Node's helper threads (lib/helper-threads.ts); 0: left as they are. */
  helperThreadNiceness: number
  sources: SourceConfig[]
  destinations: DestinationConfig[]
}

const DEFAULT_SETTINGS: DestinationSettings = {
  verified: false,
  skipVerifyEmail: true,
  createMissingUserFields: false,
  createMissingOrganizationFields: false,
  maxCreatedFields: 50,
  sendGroupCallsWithoutUserId: false,
  removeUsersFromOrganizations: false,
  matchUsersBy: 'external_id',
  updatePrimaryEmail: false,
}

const mappingValue: z.ZodType<MappingValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.record(z.string(), mappingValue)]),
)

const zendeskSchema = z
  .object({
    sandbox: z.boolean().optional(),
    subdomain: z.string().regex(DNS_LABEL, DNS_LABEL_MESSAGE).optional(),
    url: z.url().optional(),
    sellUrl: z.url().optional(),
    oauth: z
      .object({ clientId: z.string().min(1), clientSecret: z.string().min(1) })
      .strict()
      .optional(),
    oauthTokens: z
      .object({
        clientId: z.string().min(1),
        clientSecret: z.string().min(1).optional(),
        accessToken: z.string().min(1),
        refreshToken: z.string().min(1),
      })
      .strict()
      .optional(),
    apiToken: z
      .object({ email: z.string().min(3), token: z.string().min(1) })
      .strict()
      .optional(),
    sellToken: z.string().min(1).optional(),
    sellRequestsPerHour: z.number().int().min(3600).optional(),
  })
  .strict()

const fileSchema = z
  .object({
    sources: z
      .array(
        z
          .object({
            id: z.string().min(1),
            writeKey: z.string().min(8, 'must be at least 8 characters'),
            destinations: z.array(z.string().min(1)).min(1, 'must name at least one destination'),
          })
          .strict(),
      )
      .min(1, 'must list at least one source'),
    destinations: z
      .array(
        z
          .object({
            id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and hyphens'),
            zendesk: zendeskSchema,
            preset: z.enum(PRESET_NAMES).optional(),
            settings: z
              .object({
                verified: z.boolean().optional(),
                skipVerifyEmail: z.boolean().optional(),
                createMissingUserFields: z.boolean().optional(),
                createMissingOrganizationFields: z.boolean().optional(),
                maxCreatedFields: z.number().int().min(0).max(1000).optional(),
                sendGroupCallsWithoutUserId: z.boolean().optional(),
                removeUsersFromOrganizations: z.boolean().optional(),
                matchUsersBy: z.enum(['external_id', 'email']).optional(),
                updatePrimaryEmail: z.boolean().optional(),
                // The Events allowlist (Segment's "Events"): only these track names go to track-event.
                events: z
                  .array(z.string().trim().min(1, 'must not be empty'))
                  .min(1, 'must list at least one event name (leave it out to send every track)')
                  .optional(),
                eventSource: z
                  .string()
                  .trim()
                  .min(1, 'must not be empty')
                  .refine((v) => v.toLowerCase() !== 'zendesk', 'Zendesk reserves the event source "zendesk"')
                  .optional(),
                profileSource: z.string().trim().min(1, 'must not be empty').optional(),
                profileType: z.string().trim().min(1, 'must not be empty').optional(),
              })
              .strict()
              .optional(),
            activations: activationsSchema.optional(),
            subscriptions: z
              .array(
                z
                  .object({
                    action: z.string().min(1),
                    trigger: z
                      .object({
                        types: z.array(z.enum(EVENT_TYPES)).min(1),
                        events: z.array(z.string()).optional(),
                        exceptEvents: z.array(z.string()).optional(),
                        whenAny: z.array(z.string().startsWith('$.', 'a path starts with "$."')).optional(),
                      })
                      .strict()
                      .optional(),
                    mapping: z.record(z.string(), mappingValue).optional(),
                  })
                  .strict(),
              )
              .optional(),
          })
          .strict(),
      )
      .min(1, 'must list at least one destination'),
  })
  .strict()

/** Our setting names, for messages. */
const settingNames = (): string[] =>
  Object.keys(fileSchema.shape.destinations.element.shape.settings.unwrap().shape)

/** A file whose presets' setting names were made ours, and how to name them back. */
interface PresetTranslation {
  file: unknown
  /** By destination index: the preset. */
  presets: Map<number, PresetName>
  /** By destination index: our setting name → the name the file used. */
  givenAs: Map<number, Record<string, string>>
}

/**
 * A destination with a preset may use the platform's setting names (actions/presets.ts): they
 * become ours, with the preset's defaults, before the schema checks them.
 */
function translatePresets(file: unknown, problems: string[]): PresetTranslation {
  const out: PresetTranslation = { file, presets: new Map(), givenAs: new Map() }
  const list = (file as { destinations?: unknown } | null)?.destinations
  if (!Array.isArray(list)) {
    return out
  }
  const destinations = list.map((d: unknown, di) => {
    const dest = d as Record<string, unknown> | null
    if (typeof dest !== 'object' || dest === null || !isPresetName(dest.preset)) {
      return d
    }
    const given = dest.settings ?? {}
    if (typeof given !== 'object' || given === null || Array.isArray(given)) {
      return d // the schema names the problem
    }
    const t = translateSettings(dest.preset, given as Record<string, unknown>, `destinations[${di}].settings`)
    problems.push(...t.problems)
    out.presets.set(di, dest.preset)
    out.givenAs.set(di, t.givenAs)
    return { ...dest, settings: t.settings }
  })
  out.file = { ...(file as Record<string, unknown>), destinations }
  return out
}

/** A schema problem as the user wrote the file: a preset's settings under the platform's names. */
function issueProblems(i: z.core.$ZodIssue, t: PresetTranslation): string[] {
  const [top, di, key, name] = i.path
  const preset =
    top === 'destinations' && typeof di === 'number' && key === 'settings' ? t.presets.get(di) : undefined
  if (preset !== undefined && typeof di === 'number') {
    if (i.code === 'unrecognized_keys' && name === undefined) {
      return i.keys.map(
        (k) => `destinations[${di}].settings.${k}: ${unknownSettingMessage(preset, k, settingNames())}`,
      )
    }
    const given = typeof name === 'string' ? t.givenAs.get(di)?.[name] : undefined
    if (given !== undefined) {
      return [`${pathOf([...i.path.slice(0, 3), given, ...i.path.slice(4)])}: ${i.message}`]
    }
  }
  return [`${pathOf(i.path) || '(file)'}: ${i.message}`]
}

function pathOf(path: PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  )
}

/** Replaces `${NAME}` in every string of the file with the environment variable. */
function interpolate(
  value: unknown,
  env: Record<string, string | undefined>,
  path: string,
  problems: string[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z0-9_]+)\}/g, (_m, name: string) => {
      const v = env[name]
      if (v === undefined) {
        problems.push(`${path}: environment variable ${name} is not set`)
        return ''
      }
      return v
    })
  }
  if (Array.isArray(value)) {
    return value.map((v, i) => interpolate(v, env, `${path}[${i}]`, problems))
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v, env, path ? `${path}.${k}` : k, problems)]),
    )
  }
  return value
}

const SELL_API = 'https://api.getbase.com'

function connection(z0: z.infer<typeof zendeskSchema>, path: string, problems: string[]): ZendeskConnection {
  if (z0.sandbox) {
    return { mode: 'sandbox' }
  }
  const baseUrl = z0.url ?? (z0.subdomain ? `https://${z0.subdomain}.zendesk.com` : null)
  if (!baseUrl) {
    problems.push(`${path}: give subdomain (or url), or sandbox: true`)
  }
  if (!z0.oauth && !z0.oauthTokens && !z0.apiToken) {
    problems.push(
      `${path}: give oauth (clientId, clientSecret), oauthTokens (clientId, accessToken, refreshToken) or the legacy apiToken (email, token)`,
    )
  }
  if (z0.oauthTokens && (z0.oauth || z0.apiToken)) {
    problems.push(
      `${path}.oauthTokens: give one kind of credentials; oauthTokens excludes oauth and apiToken`,
    )
  }
  return {
    mode: 'remote',
    baseUrl: baseUrl ?? '',
    sellBaseUrl: z0.sellUrl ?? (z0.url ? z0.url : SELL_API),
    oauth: z0.oauth ?? null,
    oauthTokens: z0.oauthTokens
      ? { ...z0.oauthTokens, clientSecret: z0.oauthTokens.clientSecret ?? null }
      : null,
    apiToken: z0.apiToken ?? null,
    sellToken: z0.sellToken ?? null,
    ...(z0.sellRequestsPerHour !== undefined ? { sellRequestsPerHour: z0.sellRequestsPerHour } : {}),
  }
}

function fromFile(
  text: string,
  env: Record<string, string | undefined>,
  problems: string[],
): Pick<Config, 'sources' | 'destinations'> {
  let raw: unknown
  try {
    raw = parseYaml(text)
  } catch (err) {
    problems.push(`config file: not valid YAML: ${(err as Error).message}`)
    return { sources: [], destinations: [] }
  }
  const presets = translatePresets(interpolate(raw, env, '', problems), problems)
  const parsed = fileSchema.safeParse(presets.file)
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      problems.push(...issueProblems(i, presets))
    }
    return { sources: [], destinations: [] }
  }
  const f = parsed.data
  const destinations: DestinationConfig[] = f.destinations.map((d, di) => {
    const subscriptions =
      d.subscriptions?.map((s, si) => {
        const path = `destinations[${di}].subscriptions[${si}]`
        const action = findAction(s.action)
        if (!action) {
          problems.push(`${path}.action: unknown action "${s.action}"`)
        }
        for (const key of Object.keys(s.mapping ?? {})) {
          if (action && !(key in action.fields)) {
            problems.push(`${path}.mapping.${key}: action "${s.action}" has no field "${key}"`)
          }
        }
        problems.push(...validateMapping(s.mapping ?? {}, `${path}.mapping`))
        const spec: SubscriptionSpec = {
          actionId: s.action,
          trigger: s.trigger
            ? {
                types: s.trigger.types,
                ...(s.trigger.events ? { events: s.trigger.events } : {}),
                ...(s.trigger.exceptEvents ? { exceptEvents: s.trigger.exceptEvents } : {}),
                ...(s.trigger.whenAny ? { whenAny: s.trigger.whenAny } : {}),
              }
            : (action?.defaultTrigger ?? { types: [] }),
        }
        if (s.mapping) {
          spec.mapping = s.mapping
        }
        return spec
      }) ?? null
    // A preset (or the Events allowlist) gives the subscriptions the file does not list.
    const events = d.settings?.events
    if (subscriptions !== null && events !== undefined) {
      problems.push(
        `destinations[${di}].settings.${presets.givenAs.get(di)?.events ?? 'events'}: the allowlist is the trigger of the default track-event subscription; with subscriptions listed, give it as that subscription's trigger.events`,
      )
    }
    return {
      id: d.id,
      zendesk: connection(d.zendesk, `destinations[${di}].zendesk`, problems),
      settings: {
        verified: d.settings?.verified ?? DEFAULT_SETTINGS.verified,
        skipVerifyEmail: d.settings?.skipVerifyEmail ?? DEFAULT_SETTINGS.skipVerifyEmail,
        createMissingUserFields:
          d.settings?.createMissingUserFields ?? DEFAULT_SETTINGS.createMissingUserFields,
        createMissingOrganizationFields:
          d.settings?.createMissingOrganizationFields ?? DEFAULT_SETTINGS.createMissingOrganizationFields,
        maxCreatedFields: d.settings?.maxCreatedFields ?? DEFAULT_SETTINGS.maxCreatedFields,
        sendGroupCallsWithoutUserId:
          d.settings?.sendGroupCallsWithoutUserId ?? DEFAULT_SETTINGS.sendGroupCallsWithoutUserId,
        removeUsersFromOrganizations:
          d.settings?.removeUsersFromOrganizations ?? DEFAULT_SETTINGS.removeUsersFromOrganizations,
        matchUsersBy: d.settings?.matchUsersBy ?? DEFAULT_SETTINGS.matchUsersBy,
        updatePrimaryEmail: d.settings?.updatePrimaryEmail ?? DEFAULT_SETTINGS.updatePrimaryEmail,
        ...(d.settings?.eventSource !== undefined ? { eventSource: d.settings.eventSource } : {}),
        ...(d.settings?.profileSource !== undefined ? { profileSource: d.settings.profileSource } : {}),
        ...(d.settings?.profileType !== undefined ? { profileType: d.settings.profileType } : {}),
      },
      subscriptions:
        subscriptions ??
        (d.preset !== undefined || events !== undefined
          ? presetSubscriptions(d.preset ?? null, events)
          : null),
      ...(d.preset !== undefined ? { preset: d.preset } : {}),
      ...(d.activations
        ? { activations: toActivations(d.activations, `destinations[${di}].activations`, problems) }
        : {}),
    }
  })
  // Sell-contacts activations need the Sell token (the sandbox has its own).
  destinations.forEach((d, i) => {
    const sell = d.activations?.some((a) => a.target === 'sell-contacts') ?? false
    if (sell && d.zendesk.mode === 'remote' && d.zendesk.sellToken === null) {
      problems.push(`destinations[${i}].zendesk.sellToken: required for sell-contacts activations`)
    }
  })
  const ids = new Set<string>()
  destinations.forEach((d, i) => {
    if (ids.has(d.id)) {
      problems.push(`destinations[${i}].id: "${d.id}" is used twice`)
    }
    ids.add(d.id)
  })
  // Each refresh revokes the pair, so two destinations on one pair would revoke each other's tokens.
  const pairs = new Map<string, number>()
  destinations.forEach((d, i) => {
    const refresh = d.zendesk.mode === 'remote' ? d.zendesk.oauthTokens?.refreshToken : undefined
    if (refresh === undefined) {
      return
    }
    const first = pairs.get(refresh)
    if (first !== undefined) {
      problems.push(
        `destinations[${i}].zendesk.oauthTokens: the same token pair as destinations[${first}]; each destination needs its own grant`,
      )
    }
    pairs.set(refresh, first ?? i)
  })
  const keys = new Set<string>()
  const sources = f.sources.map((s, si) => {
    s.destinations.forEach((id, di) => {
      if (!ids.has(id)) {
        problems.push(`sources[${si}].destinations[${di}]: no destination "${id}"`)
      }
    })
    if (keys.has(s.writeKey)) {
      problems.push(`sources[${si}].writeKey: used by another source`)
    }
    keys.add(s.writeKey)
    return { id: s.id, writeKey: s.writeKey, destinationIds: s.destinations }
  })
  return { sources, destinations }
}

/**
 * Parses the environment and, if given, the YAML file's text; throws ConfigError listing every
 * problem. Secret values never appear in the messages.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  fileText?: string,
): Readonly<Config> {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${pathOf(i.path)}: ${i.message}`))
  }
  const e = parsed.data
  const problems: string[] = []
  let sources: SourceConfig[]
  let destinations: DestinationConfig[]
  if (fileText !== undefined) {
    ;({ sources, destinations } = fromFile(fileText, env, problems))
  } else {
    // A token pair (access + refresh) takes the OAuth client id, and its secret when the client
    // is confidential; without a pair, the client id and secret are client credentials.
    const pairGiven = Boolean(e.ZENDESK_OAUTH_ACCESS_TOKEN || e.ZENDESK_OAUTH_REFRESH_TOKEN)
    const hasCredentials = Boolean(e.ZENDESK_OAUTH_CLIENT_ID || e.ZENDESK_API_TOKEN || pairGiven)
    const baseUrl =
      e.ZENDESK_URL ?? (e.ZENDESK_SUBDOMAIN ? `https://${e.ZENDESK_SUBDOMAIN}.zendesk.com` : null)
    if (hasCredentials && !baseUrl) {
      problems.push('ZENDESK_SUBDOMAIN: required when Zendesk credentials are given (or set ZENDESK_URL)')
    }
    if (pairGiven) {
      if (!e.ZENDESK_OAUTH_ACCESS_TOKEN) {
        problems.push('ZENDESK_OAUTH_ACCESS_TOKEN: required with ZENDESK_OAUTH_REFRESH_TOKEN')
      }
      if (!e.ZENDESK_OAUTH_REFRESH_TOKEN) {
        problems.push('ZENDESK_OAUTH_REFRESH_TOKEN: required with ZENDESK_OAUTH_ACCESS_TOKEN')
      }
      if (!e.ZENDESK_OAUTH_CLIENT_ID) {
        problems.push(
          'ZENDESK_OAUTH_CLIENT_ID: required with ZENDESK_OAUTH_ACCESS_TOKEN and ZENDESK_OAUTH_REFRESH_TOKEN',
        )
      }
    } else if (e.ZENDESK_OAUTH_CLIENT_ID && !e.ZENDESK_OAUTH_CLIENT_SECRET) {
      problems.push('ZENDESK_OAUTH_CLIENT_SECRET: required with ZENDESK_OAUTH_CLIENT_ID')
    }
    if (e.ZENDESK_API_TOKEN && !e.ZENDESK_EMAIL) {
      problems.push('ZENDESK_EMAIL: required with ZENDESK_API_TOKEN')
    }
    const zendesk: ZendeskConnection =
      hasCredentials && baseUrl
        ? {
            mode: 'remote',
            baseUrl,
            sellBaseUrl: e.ZENDESK_URL ?? SELL_API,
            oauth:
              !pairGiven && e.ZENDESK_OAUTH_CLIENT_ID && e.ZENDESK_OAUTH_CLIENT_SECRET
                ? { clientId: e.ZENDESK_OAUTH_CLIENT_ID, clientSecret: e.ZENDESK_OAUTH_CLIENT_SECRET }
                : null,
            oauthTokens:
              e.ZENDESK_OAUTH_CLIENT_ID && e.ZENDESK_OAUTH_ACCESS_TOKEN && e.ZENDESK_OAUTH_REFRESH_TOKEN
                ? {
                    clientId: e.ZENDESK_OAUTH_CLIENT_ID,
                    clientSecret: e.ZENDESK_OAUTH_CLIENT_SECRET || null,
                    accessToken: e.ZENDESK_OAUTH_ACCESS_TOKEN,
                    refreshToken: e.ZENDESK_OAUTH_REFRESH_TOKEN,
                  }
                : null,
            apiToken:
              e.ZENDESK_API_TOKEN && e.ZENDESK_EMAIL
                ? { email: e.ZENDESK_EMAIL, token: e.ZENDESK_API_TOKEN }
                : null,
            sellToken: e.ZENDESK_SELL_TOKEN ?? null,
          }
        : { mode: 'sandbox' }
    destinations = [{ id: 'default', zendesk, settings: DEFAULT_SETTINGS, subscriptions: null }]
    sources = [{ id: 'default', writeKey: e.WRITE_KEY, destinationIds: ['default'] }]
  }
  if (problems.length > 0) {
    throw new ConfigError(problems)
  }
  return Object.freeze({
    http: { host: e.HOST, port: e.PORT },
    dataDir: e.DATA_DIR,
    database: e.DATABASE_URL ? { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE } : null,
    logLevel: e.LOG_LEVEL,
    cluster: { leaseTtlMs: e.LEASE_TTL_MS },
    helperThreadNiceness: e.HELPER_THREAD_NICENESS,
    sources,
    destinations,
  })
}

/**
 * The Support API credentials a remote destination's configuration gives: OAuth client
 * credentials, else an OAuth token pair, else the legacy API token. The service swaps a token
 * pair for the rotated one it stored (store/oauth-tokens.ts).
 */
export function zendeskCredentials(z: RemoteZendeskConnection): Credentials {
  if (z.oauth) {
    return { kind: 'oauth_client_credentials', ...z.oauth }
  }
  if (z.oauthTokens) {
    const t = z.oauthTokens
    return {
      kind: 'oauth_tokens',
      clientId: t.clientId,
      ...(t.clientSecret === null ? {} : { clientSecret: t.clientSecret }),
      accessToken: t.accessToken,
      refreshToken: t.refreshToken,
    }
  }
  return { kind: 'api_token', email: z.apiToken?.email ?? '', token: z.apiToken?.token ?? '' }
}

/** The config file named by `--config <file>` in argv, or CONFIG_FILE. */
export function configFilePath(
  argv: string[] = process.argv,
  env: Record<string, string | undefined> = process.env,
): string | null {
  const i = argv.indexOf('--config')
  if (i >= 0 && argv[i + 1]) {
    return argv[i + 1] ?? null
  }
  return env.CONFIG_FILE ?? null
}
