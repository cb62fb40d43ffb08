import { describe, expect, test } from 'vitest'

import { ExcludedProfile, type ActivationConfig } from '../actions/sync-audience-common/activation.js'
import { AppError, ERROR_KINDS } from '../errors.js'
import type { Job } from '../queue/queue.js'
import { DEFAULT_STREAM_NAMES } from '../spec/audiences.js'
import type { ActivationEntry } from '../store/activations.js'
import { activationRecorder, activationRuntime, withConfiguredAudiences } from './audience-activations.js'
import type { Outcome } from './outcome.js'
import { takes } from './worker.js'

const config: ActivationConfig = {
  id: 'vip',
  target: 'support-users',
  audiences: [{ id: 'seg-1', key: 'vip', representation: 'tag', tag: 'vip', field: 'vip', mappingId: '' }],
  mappings: {},
  stream: DEFAULT_STREAM_NAMES,
  sellMatchField: null,
}

const audienceEvent = {
  type: 'audience',
  messageId: 'm',
  receivedAt: '',
  timestamp: '',
  userId: 'u1',
  email: 'a@b.co',
  attributes: { n: 1 },
  audiences: { 'seg-1': { status: 'realized' }, other: { status: 'realized' } },
  origin: 'profile',
}

const job = (payload: unknown): Job => ({ id: 1, payload, attempts: 0 }) as unknown as Job

describe('audience activations in delivery', () => {
  test('an activation takes audience events, its tracks and identifies with its audience traits, nothing else', () => {
    const { subscriptions } = activationRuntime(config)
    const taken = (event: unknown) => subscriptions.some((s) => takes(s, event as never))
    expect(taken(audienceEvent)).toBe(true)
    expect(taken({ type: 'track', userId: 'u', event: 'Audience Entered', properties: {} })).toBe(true)
    expect(taken({ type: 'track', userId: 'u', event: 'Order Completed' })).toBe(false)
    expect(taken({ type: 'identify', userId: 'u', traits: { vip: true } })).toBe(true)
    expect(taken({ type: 'identify', userId: 'u', traits: { plan: 'pro' } })).toBe(false)
  })

  test('settlements become activation data for the activation’s audiences only', () => {
    const runtime = activationRuntime(config)
    const recorded: ActivationEntry[] = []
    const record = activationRecorder(
      'd',
      [runtime],
      { record: (e) => Promise.resolve(void recorded.push(...e)) },
      { now: () => 5 },
      () => {},
    )
    const subscriptions = runtime.subscriptions
    const delivered: Outcome = { kind: 'delivered' }
    record([
      { job: job(audienceEvent), error: null, outcome: delivered, subscriptions },
      {
        job: job(audienceEvent),
        error: new ExcludedProfile('no email or external_id', 'vip'),
        outcome: delivered,
        subscriptions,
      },
      {
        job: job(audienceEvent),
        error: new AppError(ERROR_KINDS.rejected, 'ZD_X', 'no'),
        outcome: { kind: 'failed', reason: 'ZD_X: no' },
        subscriptions,
      },
      {
        job: job(audienceEvent),
        error: null,
        outcome: { kind: 'retry', at: 9, reason: 'ZD_429', spendAttempt: false },
        subscriptions,
      },
    ] as never)
    expect(recorded.map((e) => [e.audienceId, e.outcome, e.received, e.reason])).toEqual([
      ['seg-1', 'activated', true, null],
      ['seg-1', 'excluded', true, 'no email or external_id'],
      ['seg-1', 'failed', true, 'ZD_X: no'],
    ])
    expect(recorded[0]?.member).toEqual({
      personKey: 'user:u1',
      userId: 'u1',
      email: 'a@b.co',
      attributes: { n: 1 },
    })
  })

  test('activation data lists every configured audience, at zero before any data', () => {
    const data = {
      activationId: 'old',
      audienceId: 'gone',
      received: 1,
      activated: 1,
      excluded: 0,
      failed: 0,
      statuses: { realized: 1, existing: 0, exited: 0 },
      excludedReasons: [],
      lastError: null,
      members: 1,
      updatedAt: '2026-11-21T00:00:00.000Z',
    }
    expect(withConfiguredAudiences([data], [config])).toEqual([
      {
        ...data,
        activationId: 'vip',
        audienceId: 'seg-1',
        received: 0,
        activated: 0,
        statuses: { realized: 0, existing: 0, exited: 0 },
        members: 0,
        updatedAt: null,
      },
      data,
    ])
  })
})
