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
 * Activation data counts a profile as received when the ingest accepts it (`activationAcceptor`,
 * once its jobs are queued), per audience of the activation that the event names; and once its
 * delivery has ended (`activationRecorder`): activated (delivered), excluded (the action's
 * ExcludedProfile note, with its reason) or failed (a dead job, with the error). Received minus
 * those three is what is still queued, retried or parked. A parked job's error is kept as the last
 * error at once. At acceptance, a realized/existing profile also makes the person a pending member
 * (for a mirror that completes before its delivery). Members are updated from
 * activated profiles (realized and existing add, exited removes) for mirror syncs; a person
 * accepted as a member at ingest but excluded or failed is no longer remembered as pending.
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
import type { EnqueueResult, NewJob } from '../queue/queue.js'
import type { SpecEvent } from '../spec/events.js'
import type {
  AcceptedMember,
  ActivationEntry,
  ActivationStore,
  ActivationSummary,
} from '../store/activations.js'
import { takes, type SettledJob, type Subscription } from './worker.js'

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
            // Counted at acceptance (activationAcceptor).
            received: false,
            outcome,
            status,
            reason,
            // Activated: the member as delivered; excluded or failed: the person, so that a row
            // recorded pending at acceptance (for mirrors) goes.
            member:
              outcome !== null
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
 * Counts what the ingest accepted for each destination's activations (received), and remembers
 * the realized/existing people as pending members, once the jobs are queued. A job counts for an
 * activation when one of its subscriptions takes the event, as delivery will route it.
 *
 * - Duplicates: the queue drops a repeated message id but says only how many it dropped; a batch
 *   that was all repeats counts nothing, one that mixes new and repeated ids counts its repeats too.
 * - A pending member is recorded only when its person key is the job's ordering key (always for
 *   `/v1/audiences` and for stream events with a userId), so that a mirror's exit for it is
 *   delivered after that job; an anonymous track or identify is known to mirrors once delivered.
 */
export function activationAcceptor(
  runtimes: ReadonlyMap<string, ActivationRuntime[]>,
  store: Pick<ActivationStore, 'record' | 'acceptMembers'>,
  clock: Clock,
): (jobs: NewJob[], result: EnqueueResult) => Promise<void> {
  return async (jobs, result) => {
    if (result.inserted === 0) {
      return
    }
    const entries: ActivationEntry[] = []
    const pending: AcceptedMember[] = []
    const at = clock.now()
    for (const job of jobs) {
      for (const runtime of runtimes.get(job.destinationId) ?? []) {
        const payload = job.payload as SpecEvent
        if (!runtime.subscriptions.some((sub) => takes(sub, payload))) {
          continue
        }
        const event = runtime.read(payload)
        const personKey = audienceOrderingKey(event)
        for (const { audience, status } of membershipsOf(event, runtime.config)) {
          entries.push({
            destinationId: job.destinationId,
            activationId: runtime.config.id,
            audienceId: audience.id,
            received: true,
            outcome: null,
            status,
            reason: null,
            member: null,
            at,
          })
          if (status !== 'exited' && personKey === job.orderingKey) {
            pending.push({
              destinationId: job.destinationId,
              audienceId: audience.id,
              member: { personKey, userId: event.userId, email: event.email, attributes: event.attributes },
              at,
            })
          }
        }
      }
    }
    if (entries.length > 0) {
      await store.record(entries)
    }
    if (pending.length > 0) {
      await store.acceptMembers(pending)
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
