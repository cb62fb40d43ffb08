import { describe, expect, test } from 'vitest'

import { ExcludedProfile, type ActivationConfig } from '../actions/sync-audience-common/activation.js'
import { AppError, ERROR_KINDS } from '../errors.js'
import type { Job } from '../queue/queue.js'
import { DEFAULT_STREAM_NAMES } from '../spec/audiences.js'
import type { AcceptedMember, ActivationEntry } from '../store/activations.js'
import {
  activationAcceptor,
  activationRecorder,
  activationRuntime,
  withConfiguredAudiences,
} from './audience-activations.js'
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
    // Received is counted at acceptance (activationAcceptor), not again here.
    expect(recorded.map((e) => [e.audienceId, e.outcome, e.received, e.reason])).toEqual([
      ['seg-1', 'activated', false, null],
      ['seg-1', 'excluded', false, 'no email or external_id'],
      ['seg-1', 'failed', false, 'ZD_X: no'],
    ])
    // The excluded and failed ones name the person, so that a pending membership goes.
    expect(recorded[1]?.member?.personKey).toBe('user:u1')
    expect(recorded[0]?.member).toEqual({
      personKey: 'user:u1',
      userId: 'u1',
      email: 'a@b.co',
      attributes: { n: 1 },
    })
  })

  test('accepted jobs count as received for the activations that take them; members only under their job’s key', async () => {
    const received: ActivationEntry[] = []
    const pending: AcceptedMember[] = []
    const accept = activationAcceptor(
      new Map([['d', [activationRuntime(config)]]]),
      {
        record: (e) => Promise.resolve(void received.push(...e)),
        acceptMembers: (e) => Promise.resolve(void pending.push(...e)),
      },
      { now: () => 5 },
    )
    const jobs = [
      { destinationId: 'd', orderingKey: 'user:u1', dedupeKey: 'm1', payload: audienceEvent },
      // Another destination (no activation) and an event the activation does not take.
      { destinationId: 'x', orderingKey: 'user:u1', dedupeKey: 'm2', payload: audienceEvent },
      {
        destinationId: 'd',
        orderingKey: 'user:u2',
        dedupeKey: 'm3',
        payload: { type: 'track', event: 'Other' },
      },
      // An anonymous track: counted, but its person key (the email) is not its job's key.
      {
        destinationId: 'd',
        orderingKey: 'user:anon',
        dedupeKey: 'm4',
        payload: {
          type: 'track',
          anonymousId: 'anon',
          event: 'Audience Entered',
          properties: { audience_key: 'vip', email: 'z@b.co' },
        },
      },
    ]
    await accept(jobs, { inserted: 4, duplicates: 0 })
    expect(received.map((e) => [e.destinationId, e.audienceId, e.received, e.outcome, e.status])).toEqual([
      ['d', 'seg-1', true, null, 'realized'],
      ['d', 'seg-1', true, null, 'realized'],
    ])
    expect(pending.map((p) => [p.destinationId, p.audienceId, p.member.personKey])).toEqual([
      ['d', 'seg-1', 'user:u1'],
    ])
    // A batch that was all repeats counts nothing.
    await accept(jobs, { inserted: 0, duplicates: 4 })
    expect(received).toHaveLength(2)
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
