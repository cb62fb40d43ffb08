/**
 * Validation of configuration changes (`PUT /__emulator/config`, `createEmulator` options and the
 * command line), so that a bad value is refused with the field and the reason.
 */
import { z } from 'zod'

import { PLAN_LIMITS, type EmulatorConfig } from './options.js'

export const configPatchSchema = z
  .object({
    plan: z.enum(Object.keys(PLAN_LIMITS) as [keyof typeof PLAN_LIMITS]),
    accountLimitPerMinute: z.number().int().positive().nullable(),
    timeScale: z.number().positive().max(10_000),
    bulkUserImport: z.boolean(),
    jobDelayMs: z.number().int().min(0).max(3_600_000),
    maxInflightJobs: z.number().int().positive(),
    jobRetentionMs: z.number().int().positive(),
    apiTokensRetired: z.boolean(),
    sellTokenRevoked: z.boolean(),
    accessTokenTtlS: z.number().int().positive(),
    refreshTokenTtlS: z.number().int().positive(),
    multipleOrganizations: z.boolean(),
    createOrUpdatePrecedence: z.enum(['external_id', 'email']),
    rateLimits: z.boolean(),
  })
  .partial()
  .strict()

export type ConfigPatch = z.infer<typeof configPatchSchema>

/** Parses a patch; on failure returns messages of the form `field: reason`. */
export function parseConfigPatch(
  input: unknown,
): { ok: true; patch: Partial<EmulatorConfig> } | { ok: false; errors: string[] } {
  const result = configPatchSchema.safeParse(input)
  if (result.success) {
    const patch: Partial<EmulatorConfig> = {}
    for (const [k, v] of Object.entries(result.data)) {
      if (v !== undefined) {
        ;(patch as Record<string, unknown>)[k] = v
      }
    }
    return { ok: true, patch }
  }
  return {
    ok: false,
    errors: result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
  }
}
