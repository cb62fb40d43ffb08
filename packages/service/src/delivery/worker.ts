/**
 * The delivery worker of one destination: claim → route → map → batch → send → settle.
 *
 * - Claim: leases ready jobs of the destination (the queue keeps each person's jobs in order: a
 *   person's next job is not claimable while an earlier one is leased or waiting).
 * - Route: each job's event goes to the destination's subscriptions whose trigger matches; an
 *   event that matches none is done (recorded as skipped).
 * - Map: the subscription's mapping gives the action's payload; a payload problem fails the job
 *   (the sender must fix the event) and never touches Zendesk.
 * - Batch: records of one action merge per person in job order (later values win) and go out in
 *   bulk calls of at most `maxSize` records.
 * - Send: through the Zendesk client, which waits for its rate-limit budget. A bulk call answers
 *   a job status; up to `maxBulkJobsInFlight` are polled together with `show_many`.
 * - Settle: each record settles from its own result in the job status (results are in request
 *   order); errors become outcomes in `classifyOutcome` only.
 *
 * Two conditions change how the worker runs:
 * - Bulk refused (403 on a bulk endpoint while the single endpoint works): the account has no bulk
 *   import; the worker remembers it and sends records one by one (the client keeps those within
 *   Zendesk's 1-a-second single-user limit).
 * - Auth failed (401/403 everywhere): jobs are parked without spending attempts, the worker stops
 *   claiming and probes the credentials every `authProbeMs`; once they work, it unparks the jobs.
 */
import { buildPayload, PayloadError } from '../actions/build-payload.js'
import type { ActionContext, AnyAction, Trigger } from '../actions/define-action.js'
import { AppError, ERROR_KINDS } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import type { MappingValue } from '../mapping/mapping.js'
import type { Job, Queue } from '../queue/queue.js'
import type { SpecEvent } from '../spec/events.js'
import {
  isFailedResult,
  isFinished,
  showMany,
  type JobResult,
  type JobStatus,
} from '../zendesk/job-statuses.js'
import type { ZendeskRequest, ZendeskResponse } from '../zendesk/request.js'
import { listUserFields } from '../zendesk/users.js'
import { classifyOutcome, type Outcome, type OutcomeDeps } from './outcome.js'

/** What the worker needs of the Zendesk client. */
export interface ZendeskSender {
  send<T>(request: ZendeskRequest): Promise<ZendeskResponse<T>>
  /** Whether the credentials work (a real authenticated call). */
  testConnection(): Promise<boolean>
}

export interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface Subscription {
  action: AnyAction
  trigger: Trigger
  mapping?: Record<string, MappingValue>
}

export interface DestinationRuntime {
  id: string
  settings: Readonly<Record<string, unknown>>
  subscriptions: Subscription[]
  zendesk: ZendeskSender
}

export interface WorkerOptions {
  /** Jobs claimed at most per round. */
  claimLimit: number
  leaseMs: number
  /** How long to wait for more jobs before sending a partial batch. */
  batchWindowMs: number
  pollIntervalMs: number
  /** Bulk jobs waiting in Zendesk at once (Zendesk allows 30 per account). */
  maxBulkJobsInFlight: number
  /** How long the list of user fields is trusted. */
  userFieldsTtlMs: number
  /** How often parked credentials are tried again. */
  authProbeMs: number
}

export const DEFAULT_WORKER_OPTIONS: WorkerOptions = {
  claimLimit: 1000,
  leaseMs: 5 * 60_000,
  batchWindowMs: 200,
  pollIntervalMs: 250,
  maxBulkJobsInFlight: 10,
  userFieldsTtlMs: 5 * 60_000,
  authProbeMs: 30_000,
}

export interface WorkerDeps {
  queue: Queue
  clock: Clock
  sleep: (ms: number) => Promise<void>
  outcome: OutcomeDeps
  log: Logger
  options?: Partial<WorkerOptions>
}

/** One record on its way to Zendesk and the jobs it carries. */
interface Item {
  action: AnyAction
  record: unknown
  jobs: Job[]
}

/** A bulk call waiting for its job status. */
interface InFlight {
  jobStatusId: string
  items: Item[]
  sentAt: number
}

export function matchesTrigger(trigger: Trigger, event: SpecEvent): boolean {
  if (!trigger.types.includes(event.type)) {
    return false
  }
  if (event.type === 'track' && trigger.events && trigger.events.length > 0) {
    return trigger.events.includes(event.event)
  }
  return true
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { status?: unknown }).status
  return typeof s === 'number' ? s : undefined
}

export class DestinationWorker {
  private readonly d: DestinationRuntime
  private readonly deps: WorkerDeps
  private readonly opts: WorkerOptions
  private inFlight: InFlight[] = []
  private bulkRefused = false
  private authPausedSince: number | null = null
  private userFields: { keys: Set<string>; fetchedAt: number } | null = null
  private stopping = false
  private loop: Promise<void> | null = null

  constructor(destination: DestinationRuntime, deps: WorkerDeps) {
    this.d = destination
    this.deps = deps
    this.opts = { ...DEFAULT_WORKER_OPTIONS, ...deps.options }
  }

  /** Whether the account refused bulk calls and records go one by one. */
  get usesSingleRequests(): boolean {
    return this.bulkRefused
  }

  get pausedForAuth(): boolean {
    return this.authPausedSince !== null
  }

  start(): void {
    this.loop ??= this.run()
  }

  /** Stops claiming, waits for bulk jobs in flight to settle (up to `graceMs`), then returns. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true
    const deadline = this.deps.clock.now() + graceMs
    await this.loop
    while (this.inFlight.length > 0 && this.deps.clock.now() < deadline) {
      await this.poll()
      if (this.inFlight.length > 0) {
        await this.deps.sleep(this.opts.pollIntervalMs)
      }
    }
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        const worked = await this.tick()
        if (!worked) {
          await this.deps.sleep(
            this.pausedForAuth ? Math.min(this.opts.authProbeMs, 1000) : this.opts.batchWindowMs,
          )
        }
      } catch (err) {
        this.deps.log.error({ err, destination: this.d.id }, 'delivery round failed')
        await this.deps.sleep(1000)
      }
    }
  }

  /** One round; returns whether anything was done (no sleep needed). */
  async tick(): Promise<boolean> {
    if (this.authPausedSince !== null) {
      await this.probeAuth()
      return false
    }
    let worked = false
    if (this.inFlight.length > 0) {
      worked = (await this.poll()) || worked
    }
    const free = this.opts.maxBulkJobsInFlight - this.inFlight.length
    if (free > 0) {
      const jobs = await this.deps.queue.claim({
        destinationId: this.d.id,
        limit: Math.min(this.opts.claimLimit, free * 100),
        leaseMs: this.opts.leaseMs,
      })
      if (jobs.length > 0) {
        await this.process(jobs)
        worked = true
      }
    }
    if (!worked && this.inFlight.length > 0) {
      await this.deps.sleep(this.opts.pollIntervalMs)
      return true
    }
    return worked
  }

  private async context(): Promise<ActionContext> {
    const now = this.deps.clock.now()
    if (!this.userFields || now - this.userFields.fetchedAt > this.opts.userFieldsTtlMs) {
      try {
        const r = await this.d.zendesk.send<{ user_fields?: { key: string; active?: boolean }[] }>(
          listUserFields(),
        )
        const keys = new Set((r.body.user_fields ?? []).filter((f) => f.active !== false).map((f) => f.key))
        this.userFields = { keys, fetchedAt: now }
      } catch (err) {
        this.deps.log.warn({ err, destination: this.d.id }, 'could not list user fields; custom fields wait')
      }
    }
    return { userFieldKeys: this.userFields?.keys ?? null, settings: this.d.settings }
  }

  private async process(jobs: Job[]): Promise<void> {
    const ctx = await this.context()
    const byAction = new Map<string, { action: AnyAction; items: Map<string, Item> }>()
    const skipped: number[] = []
    for (const job of jobs) {
      const event = job.payload as SpecEvent
      const subs = this.d.subscriptions.filter((s) => matchesTrigger(s.trigger, event))
      if (subs.length === 0) {
        skipped.push(job.id)
        continue
      }
      for (const sub of subs) {
        let record: unknown
        try {
          const payload = await buildPayload(sub.action.fields, sub.mapping, event)
          record = sub.action.bulk.item(payload, ctx)
        } catch (err) {
          const error =
            err instanceof PayloadError
              ? new AppError(ERROR_KINDS.invalidEvent, 'MAPPING_INVALID_PAYLOAD', err.message)
              : err
          await this.apply([job], error)
          continue
        }
        let group = byAction.get(sub.action.id)
        if (!group) {
          group = { action: sub.action, items: new Map() }
          byAction.set(sub.action.id, group)
        }
        const key = sub.action.bulk.key(record)
        const existing = group.items.get(key)
        if (existing) {
          existing.record = sub.action.bulk.merge(existing.record, record)
          existing.jobs.push(job)
        } else {
          group.items.set(key, { action: sub.action, record, jobs: [job] })
        }
      }
    }
    if (skipped.length > 0) {
      await this.deps.queue.complete(skipped)
    }
    const sends: Promise<void>[] = []
    for (const { action, items } of byAction.values()) {
      const list = [...items.values()]
      for (let i = 0; i < list.length; i += action.bulk.maxSize) {
        sends.push(this.send(action, list.slice(i, i + action.bulk.maxSize)))
      }
    }
    await Promise.all(sends)
  }

  private async send(action: AnyAction, items: Item[]): Promise<void> {
    if (this.bulkRefused) {
      await this.sendSingly(items)
      return
    }
    try {
      const r = await this.d.zendesk.send<{ job_status: JobStatus }>(
        action.bulk.request(items.map((i) => i.record)),
      )
      this.inFlight.push({ jobStatusId: r.body.job_status.id, items, sentAt: this.deps.clock.now() })
    } catch (err) {
      if (statusOf(err) === 403 && (await this.singleWorks(items))) {
        return
      }
      await this.settleItems(items, err)
    }
  }

  /**
   * A 403 on a bulk call may mean "bulk import is not enabled" (facts §0.3). If the single-record
   * endpoint accepts the first record, that is what it meant: remember it and go on singly.
   */
  private async singleWorks(items: Item[]): Promise<boolean> {
    const [first, ...rest] = items
    if (!first) {
      return false
    }
    try {
      await this.d.zendesk.send(first.action.bulk.single(first.record))
    } catch {
      return false
    }
    this.bulkRefused = true
    this.deps.log.warn(
      { destination: this.d.id },
      'Zendesk refused the bulk endpoint (403: bulk import not enabled on this account); sending records one by one',
    )
    await this.settleItems([first], null)
    await this.sendSingly(rest)
    return true
  }

  private async sendSingly(items: Item[]): Promise<void> {
    for (const item of items) {
      if (this.authPausedSince !== null) {
        await this.deps.queue.park(
          item.jobs.map((j) => j.id),
          'destination paused: Zendesk credentials failed',
        )
        continue
      }
      try {
        await this.d.zendesk.send(item.action.bulk.single(item.record))
        await this.settleItems([item], null)
      } catch (err) {
        await this.settleItems([item], err)
      }
    }
  }

  /** Reads the job statuses of bulk calls in flight and settles the finished ones. */
  private async poll(): Promise<boolean> {
    const ids = this.inFlight.slice(0, 100).map((f) => f.jobStatusId)
    let statuses: JobStatus[]
    try {
      const r = await this.d.zendesk.send<{ job_statuses: JobStatus[] }>(showMany(ids))
      statuses = r.body.job_statuses
    } catch (err) {
      this.deps.log.warn({ err, destination: this.d.id }, 'job status poll failed; will poll again')
      return false
    }
    const byId = new Map(statuses.map((s) => [s.id, s]))
    const done: InFlight[] = []
    for (const f of this.inFlight) {
      const status = byId.get(f.jobStatusId)
      if (status && isFinished(status)) {
        done.push(f)
        await this.settleJob(f, status)
      } else if (!status && ids.includes(f.jobStatusId)) {
        // Expired or unknown: Zendesk keeps job statuses for a limited time (facts §7).
        done.push(f)
        await this.settleItems(
          f.items,
          new AppError(
            ERROR_KINDS.transient,
            'ZD_JOB_STATUS_LOST',
            `job status ${f.jobStatusId} is no longer available`,
          ),
        )
      }
    }
    this.inFlight = this.inFlight.filter((f) => !done.includes(f))
    if (this.inFlight.length > 0) {
      await this.deps.queue.extendLease(
        this.inFlight.flatMap((f) => f.items.flatMap((i) => i.jobs.map((j) => j.id))),
        this.opts.leaseMs,
      )
    }
    return done.length > 0
  }

  private async settleJob(f: InFlight, status: JobStatus): Promise<void> {
    if (status.status !== 'completed' || !Array.isArray(status.results)) {
      await this.settleItems(
        f.items,
        new AppError(
          ERROR_KINDS.transient,
          'ZD_JOB_FAILED',
          `Zendesk job ${status.id} ended ${status.status}: ${status.message ?? ''}`,
        ),
      )
      return
    }
    const results = status.results
    for (const [position, item] of f.items.entries()) {
      const result = resultFor(results, position)
      if (!result) {
        await this.settleItems(
          [item],
          new AppError(
            ERROR_KINDS.transient,
            'ZD_JOB_RESULT_MISSING',
            `no result for item ${position} of job ${status.id}`,
          ),
        )
      } else if (isFailedResult(result)) {
        await this.settleItems(
          [item],
          new AppError(
            ERROR_KINDS.rejected,
            `ZD_ITEM_${(result.error ?? 'FAILED').toUpperCase()}`,
            result.details ?? result.error ?? 'failed',
          ),
        )
      } else {
        await this.settleItems([item], null)
      }
    }
  }

  /** Applies one attempt's result to every job of the items. */
  private async settleItems(items: Item[], error: unknown): Promise<void> {
    await this.apply(
      items.flatMap((i) => i.jobs),
      error,
    )
  }

  private async apply(jobs: Job[], error: unknown): Promise<void> {
    const now = this.deps.clock.now()
    const delivered: number[] = []
    const parked: number[] = []
    let parkReason = ''
    for (const job of jobs) {
      const outcome: Outcome = classifyOutcome({ error, attempt: job.attempts + 1, now }, this.deps.outcome)
      switch (outcome.kind) {
        case 'delivered':
          delivered.push(job.id)
          break
        case 'retry':
          await this.deps.queue.retry(job.id, outcome.at, outcome.reason)
          break
        case 'failed':
          await this.deps.queue.fail(job.id, outcome.reason)
          break
        case 'parked':
          parked.push(job.id)
          parkReason = outcome.reason
          break
      }
    }
    if (delivered.length > 0) {
      await this.deps.queue.complete(delivered)
    }
    if (parked.length > 0) {
      await this.deps.queue.park(parked, parkReason)
      if (
        error instanceof AppError &&
        error.kind === ERROR_KINDS.authFailed &&
        this.authPausedSince === null
      ) {
        this.authPausedSince = now
        this.deps.log.error(
          { destination: this.d.id, code: error.code },
          'Zendesk refused the credentials: destination paused, its jobs are parked until the credentials work',
        )
      }
    }
  }

  private lastProbe = -Infinity

  private async probeAuth(): Promise<void> {
    const now = this.deps.clock.now()
    if (now - this.lastProbe < this.opts.authProbeMs) {
      return
    }
    this.lastProbe = now
    const ok = await this.d.zendesk.testConnection().catch(() => false)
    if (ok) {
      const n = await this.deps.queue.unpark(this.d.id)
      this.authPausedSince = null
      this.deps.log.info(
        { destination: this.d.id, unparked: n },
        'Zendesk credentials work again: destination resumed',
      )
    }
  }
}

/**
 * The result for the item at `position`. Results come one per item in request order (facts §2.3);
 * where a result carries an `index` that disagrees, the index wins.
 */
function resultFor(results: JobResult[], position: number): JobResult | undefined {
  const inOrder = results[position]
  if (inOrder && (inOrder.index === undefined || inOrder.index === position)) {
    return inOrder
  }
  return results.find((r) => r.index === position)
}
