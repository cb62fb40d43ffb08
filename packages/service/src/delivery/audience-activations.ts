/**
 * Audience activations in delivery (docs/audiences.md): the subscriptions through which a
 * destination's activation receives audience events, and the recording of activation data when
 * their jobs settle.
 *
 * An activation takes:
 * - audience events (`type: 'audience'`: AEP profile exports from `/v1/audiences`, and mirror exits);
 * - tracks named as its `stream.enteredEvent` / `stream.exitedEvent` (with the audience key in
 *   `stream.keyProperty`);
 * - identifies with a trait named as one of its audience keys (when `stream.identifyTraits`).
 * Each becomes the same audience event (`audienceEventFromStream`) before its mapping is read.
 *
 * Activation data counts a profile once its delivery has ended, per audience of the activation
 * that the event names: activated (delivered), excluded (the action's ExcludedProfile note, with
 * its reason) or failed (a dead job, with the error). Received is their sum. A parked job counts
 * nothing until it settles again; its error is kept as the last error. Members are updated from
 * activated profiles (realized and existing add, exited removes) for mirror syncs.
 */
import type { AnyAction } from '../actions/define-action.js'
import {
  attributesMapping,
  isExcluded,
  membershipsOf,
  type ActivationConfig,
} from '../actions/sync-audience-common/activation.js'
import { createSellContactsActivation } from '../actions/sync-audience-to-sell-contacts/sync-audience-to-sell-contacts.js'
import { createSupportUsersActivation } from '../actions/sync-audience-to-support-users/sync-audience-to-support-users.js'
import type { Clock } from '../lib/clock.js'
import { audienceEventFromStream, audienceOrderingKey, type AudienceEvent } from '../spec/audiences.js'
import type { ActivationEntry, ActivationStore, ActivationSummary } from '../store/activations.js'
import type { SettledJob, Subscription } from './worker.js'

export interface ActivationRuntime {
  config: ActivationConfig
  action: AnyAction
  subscriptions: Subscription[]
  /** The event as this activation reads it. */
  read(event: unknown): AudienceEvent
}

export function activationRuntime(config: ActivationConfig): ActivationRuntime {
  const action =
    config.target === 'support-users'
      ? createSupportUsersActivation(config)
      : createSellContactsActivation(config)
  const keys = new Map(config.audiences.map((a) => [a.key, a.id]))
  const read = (event: unknown): AudienceEvent => audienceEventFromStream(event, config.stream, keys)
  const base = { action, prepare: read, mapping: { attributes: attributesMapping(config.mappings) } }
  const subscriptions: Subscription[] = [{ ...base, trigger: { types: [] }, audiences: true }]
  if (config.stream.enteredEvent !== '' || config.stream.exitedEvent !== '') {
    subscriptions.push({
      ...base,
      trigger: {
        types: ['track'],
        events: [config.stream.enteredEvent, config.stream.exitedEvent].filter((e) => e !== ''),
      },
    })
  }
  const traitKeys = [...keys.keys()].filter((k) => /^[A-Za-z0-9_-]+$/.test(k))
  if (config.stream.identifyTraits && traitKeys.length > 0) {
    subscriptions.push({
      ...base,
      trigger: { types: ['identify'], whenAny: traitKeys.map((k) => `$.traits.${k}`) },
    })
  }
  return { config, action, subscriptions, read }
}

/** Records each settled job's result for the audiences of the activations it went to. */
export function activationRecorder(
  destinationId: string,
  runtimes: ActivationRuntime[],
  store: Pick<ActivationStore, 'record'>,
  clock: Clock,
  onError: (err: unknown) => void,
): (settled: SettledJob[]) => void {
  const byAction = new Map(runtimes.map((r) => [r.action, r]))
  return (settled) => {
    const entries: ActivationEntry[] = []
    const at = clock.now()
    for (const s of settled) {
      const seen = new Set<ActivationRuntime>()
      for (const sub of s.subscriptions) {
        const runtime = byAction.get(sub.action)
        if (!runtime || seen.has(runtime)) {
          continue
        }
        seen.add(runtime)
        const event = runtime.read(s.job.payload)
        const kind = s.outcome.kind
        let outcome: ActivationEntry['outcome'] = null
        let reason: string | null = null
        if (kind === 'delivered') {
          const excluded = isExcluded(s.error) && s.error.activationId === runtime.config.id
          outcome = excluded ? 'excluded' : 'activated'
          reason = excluded && isExcluded(s.error) ? s.error.reason : null
        } else if (kind === 'failed' || kind === 'parked') {
          outcome = kind === 'failed' ? 'failed' : null
          reason = s.outcome.reason
        }
        if (outcome === null && reason === null) {
          continue
        }
        for (const { audience, status } of membershipsOf(event, runtime.config)) {
          entries.push({
            destinationId,
            activationId: runtime.config.id,
            audienceId: audience.id,
            received: outcome !== null,
            outcome,
            status,
            reason,
            member:
              outcome === 'activated'
                ? {
                    personKey: audienceOrderingKey(event),
                    userId: event.userId,
                    email: event.email,
                    attributes: event.attributes,
                  }
                : null,
            at,
          })
        }
      }
    }
    if (entries.length > 0) {
      store.record(entries).catch(onError)
    }
  }
}

/**
 * The activation data of a destination with every configured audience listed, those with no data
 * yet at zero, in configuration order; data of audiences no longer configured follows.
 */
export function withConfiguredAudiences(
  summary: ActivationSummary[],
  configs: ActivationConfig[],
): ActivationSummary[] {
  const key = (activationId: string, audienceId: string): string => JSON.stringify([activationId, audienceId])
  const known = new Map(summary.map((s) => [key(s.activationId, s.audienceId), s]))
  const listed = configs.flatMap((c) =>
    c.audiences.map(
      (a): ActivationSummary =>
        known.get(key(c.id, a.id)) ?? {
          activationId: c.id,
          audienceId: a.id,
          received: 0,
          activated: 0,
          excluded: 0,
          failed: 0,
          statuses: { realized: 0, existing: 0, exited: 0 },
          excludedReasons: [],
          lastError: null,
          members: 0,
          updatedAt: null,
        },
    ),
  )
  const configured = new Set(listed.map((s) => key(s.activationId, s.audienceId)))
  return [...listed, ...summary.filter((s) => !configured.has(key(s.activationId, s.audienceId)))]
}
