/**
 * Options of the emulated account. Every value has a documented default (see the README);
 * the "seed" values describe the sandbox account that exists after start and after every reset.
 */

/** Zendesk plans and their account-wide Support API limit, requests per minute [D-rl]. */
export const PLAN_LIMITS = {
  team: 200,
  growth: 400,
  professional: 400,
  enterprise: 700,
  high_volume: 2500,
} as const

export type Plan = keyof typeof PLAN_LIMITS

export interface SeedAccount {
  /** The account's subdomain, reported in urls and job statuses. */
  subdomain: string
  /** The admin user that exists from the start; API-token auth acts as this user. */
  adminEmail: string
  adminName: string
  /** The account's API token (legacy auth: `Basic email/token:TOKEN`). */
  apiToken: string
  /** The confidential OAuth client. */
  oauthClientId: string
  oauthClientSecret: string
  /** The Sell API personal access token. */
  sellToken: string
}

export interface EmulatorConfig {
  plan: Plan
  /** Overrides the plan's account-wide limit (requests per minute). */
  accountLimitPerMinute: number | null
  /**
   * Shrinks every rate-limit window, job delay and Retry-After: with 10 a one-minute window
   * lasts 6 seconds. Benchmarks use it to run Zendesk's real limits faster.
   */
  timeScale: number
  /** Whether `users/create_many` and `users/create_or_update_many` are allowed (off on new accounts). */
  bulkUserImport: boolean
  /** Milliseconds (before time scaling) for a bulk job to go from queued to completed. */
  jobDelayMs: number
  /** Maximum queued or working jobs per account [D-rl]. */
  maxInflightJobs: number
  /** Milliseconds (before time scaling) after which a job status is gone (404). */
  jobRetentionMs: number
  /** Behave as after 2027-04-30: every API token is rejected. */
  apiTokensRetired: boolean
  /**
   * The Sell token is revoked: every Sell request is 401 until this is false again (as when an
   * operator revokes a personal access token, then issues the one the service was given).
   */
  sellTokenRevoked: boolean
  /** OAuth access-token lifetime, seconds. */
  accessTokenTtlS: number
  /** OAuth refresh-token lifetime, seconds. */
  refreshTokenTtlS: number
  /** Whether a user may belong to several organizations (off on Team plans). */
  multipleOrganizations: boolean
  /**
   * How `users/create_or_update` picks the user when both `external_id` and `email` are given
   * and match different users. Unverified on a real account (facts §2.5); `external_id` first
   * is the suggested default.
   */
  createOrUpdatePrecedence: 'external_id' | 'email'
  /** Whether the account-wide and endpoint rate limits are enforced at all. */
  rateLimits: boolean
}

export interface EmulatorOptions extends Partial<EmulatorConfig> {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number
  /** Interface to listen on; loopback by default. */
  host?: string
  /** Overrides of the seeded sandbox account. */
  seed?: Partial<SeedAccount>
  /** Seed of the pseudo-random generator used by fault shares and ids. */
  randomSeed?: number
  /** Scheduled faults from the start (the same shape as `POST /__emulator/faults`). */
  faults?: unknown[]
  /**
   * Custom fields that exist from the start and after every reset, each as `POST {kind}_fields`
   * takes it, e.g. `{ user: [{ key: 'plan', title: 'Plan', type: 'text' }] }`. A field Zendesk
   * would refuse makes `createEmulator` throw.
   */
  fields?: SeedFields
}

/** Seeded custom fields per kind (model/custom-fields.ts says what each kind takes). */
export interface SeedFields {
  user?: Record<string, unknown>[]
  organization?: Record<string, unknown>[]
  ticket?: Record<string, unknown>[]
}

export const DEFAULT_SEED: SeedAccount = {
  subdomain: 'sandbox',
  adminEmail: 'admin@example.com',
  adminName: 'Sandbox Admin',
  apiToken: 'sandbox-api-token',
  oauthClientId: 'sandbox-client',
  oauthClientSecret: 'sandbox-secret',
  sellToken: 'sandbox-sell-token',
}

export const DEFAULT_CONFIG: EmulatorConfig = {
  plan: 'enterprise',
  accountLimitPerMinute: null,
  timeScale: 1,
  bulkUserImport: true,
  jobDelayMs: 200,
  maxInflightJobs: 30,
  jobRetentionMs: 24 * 60 * 60 * 1000,
  apiTokensRetired: false,
  sellTokenRevoked: false,
  accessTokenTtlS: 30 * 60,
  refreshTokenTtlS: 30 * 24 * 60 * 60,
  multipleOrganizations: true,
  createOrUpdatePrecedence: 'external_id',
  rateLimits: true,
}

/** The effective account-wide limit per minute. */
export function accountLimit(config: EmulatorConfig): number {
  return config.accountLimitPerMinute ?? PLAN_LIMITS[config.plan]
}
