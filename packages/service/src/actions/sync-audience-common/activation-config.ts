/**
 * The `activations` section of a destination in the configuration file (docs/configuration.md,
 * docs/audiences.md): its schema, and its checks and defaults, turned into `ActivationConfig`s.
 * config.ts calls it for each destination; problems are reported with their path, all at once.
 */
import { z } from 'zod'

import { validateMapping, type MappingValue } from '../../mapping/mapping.js'
import { DEFAULT_STREAM_NAMES } from '../../spec/audiences.js'
import {
  SELL_CONTACT_TARGETS,
  SELL_DEFAULT_MAPPINGS,
  SELL_MANDATORY,
} from '../sync-audience-to-sell-contacts/sync-audience-to-sell-contacts.js'
import {
  SUPPORT_USER_DEFAULT_MAPPINGS,
  SUPPORT_USER_TARGETS,
} from '../sync-audience-to-support-users/sync-audience-to-support-users.js'
import {
  ACTIVATION_TARGETS,
  mappingOf,
  REPRESENTATIONS,
  tagOf,
  type ActivationAudience,
  type ActivationConfig,
} from './activation.js'

const mappingValue: z.ZodType<MappingValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.record(z.string(), mappingValue)]),
)

const FIELD_KEY = /^[A-Za-z0-9_]+$/

export const activationsSchema = z.array(
  z
    .object({
      id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and hyphens'),
      target: z.enum(ACTIVATION_TARGETS),
      representation: z.enum(REPRESENTATIONS).optional(),
      audiences: z
        .array(
          z
            .object({
              id: z.string().min(1),
              key: z.string().min(1).optional(),
              representation: z.enum(REPRESENTATIONS).optional(),
              tag: z.string().min(1).optional(),
              field: z
                .string()
                .regex(FIELD_KEY, 'must be a user field key (letters, digits, underscores)')
                .optional(),
              mappingId: z.string().min(1).optional(),
            })
            .strict(),
        )
        .min(1, 'must list at least one audience'),
      mappings: z.record(z.string(), mappingValue).optional(),
      stream: z
        .object({
          enteredEvent: z.string().optional(),
          exitedEvent: z.string().optional(),
          keyProperty: z.string().min(1).optional(),
          identifyTraits: z.boolean().optional(),
        })
        .strict()
        .optional(),
      sellMatchField: z.string().min(1).optional(),
    })
    .strict(),
)

export type ActivationsInput = z.infer<typeof activationsSchema>

/** Checks the activations of one destination and fills in their defaults. */
export function toActivations(input: ActivationsInput, path: string, problems: string[]): ActivationConfig[] {
  const ids = new Set<string>()
  return input.map((a, ai) => {
    const at = `${path}[${ai}]`
    if (ids.has(a.id)) {
      problems.push(`${at}.id: "${a.id}" is used twice`)
    }
    ids.add(a.id)
    const sell = a.target === 'sell-contacts'
    if (!sell && a.sellMatchField !== undefined) {
      problems.push(`${at}.sellMatchField: only for target sell-contacts`)
    }
    const audiences: ActivationAudience[] = a.audiences.map((u, ui) => {
      const key = u.key ?? u.id
      const representation = u.representation ?? a.representation ?? 'tag'
      if (sell && u.mappingId === undefined) {
        problems.push(
          `${at}.audiences[${ui}].mappingId: required for sell-contacts (the contact custom field holding the audience's status)`,
        )
      }
      const field = u.field ?? key.replace(/[^A-Za-z0-9_]+/g, '_')
      if (!sell && representation !== 'tag' && (!FIELD_KEY.test(field) || /^\d+$/.test(field))) {
        problems.push(`${at}.audiences[${ui}].field: give the user field key for audience "${u.id}"`)
      }
      return {
        id: u.id,
        key,
        representation,
        tag: tagOf(u.tag ?? key),
        field,
        mappingId: u.mappingId ?? '',
      }
    })
    const seen = new Set<string>()
    a.audiences.forEach((u, ui) => {
      if (seen.has(u.id)) {
        problems.push(`${at}.audiences[${ui}].id: "${u.id}" is listed twice`)
      }
      seen.add(u.id)
    })
    const defaults: Record<string, MappingValue> = sell
      ? { ...SELL_DEFAULT_MAPPINGS }
      : { ...SUPPORT_USER_DEFAULT_MAPPINGS }
    const mappings: Record<string, MappingValue> = { ...defaults, ...a.mappings }
    for (const [target, source] of Object.entries(a.mappings ?? {})) {
      const known = sell
        ? SELL_CONTACT_TARGETS.has(target) || target.startsWith('custom_fields.')
        : SUPPORT_USER_TARGETS.has(target) || target.startsWith('user_fields.')
      if (!known) {
        problems.push(
          `${at}.mappings.${target}: not a ${sell ? 'Sell contact attribute (or custom_fields.<name>)' : 'Support user attribute (or user_fields.<key>)'}`,
        )
      }
      if (sell && source === null && (SELL_MANDATORY as readonly string[]).includes(target)) {
        problems.push(`${at}.mappings.${target}: mandatory for sell-contacts (email and last_name)`)
      }
      problems.push(...validateMapping(mappingOf(source), `${at}.mappings.${target}`))
    }
    return {
      id: a.id,
      target: a.target,
      audiences,
      mappings,
      stream: {
        enteredEvent: a.stream?.enteredEvent ?? DEFAULT_STREAM_NAMES.enteredEvent,
        exitedEvent: a.stream?.exitedEvent ?? DEFAULT_STREAM_NAMES.exitedEvent,
        keyProperty: a.stream?.keyProperty ?? DEFAULT_STREAM_NAMES.keyProperty,
        identifyTraits: a.stream?.identifyTraits ?? DEFAULT_STREAM_NAMES.identifyTraits,
      },
      sellMatchField: a.sellMatchField ?? null,
    }
  })
}
