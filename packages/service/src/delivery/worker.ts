/**
 * The delivery worker of one destination: claim → route → map → batch → send → poll → settle.
 *
 * - Claim: leases ready jobs of the destination (the queue keeps each person's jobs in order: a
 *   person's next job is not claimable while an earlier one is leased or waiting).
 * - Route: each job's event goes to the destination's subscriptions whose trigger matches; an
 *   event that matches none is done (recorded as skipped).
 * - Map: the subscription's mapping gives the action's payload; a payload problem fails the job
 *   (the sender must fix the event) and never touches Zendesk. Payloads with custom-field values
 *   (users, organizations, tickets) need that kind's list of fields (custom-fields.ts: cached,
 *   read again when stale or when a name is unknown): when Zendesk cannot list them and no earlier
 *   list is known, those payloads' jobs settle with that error (retried, or parked on an auth
 *   failure) rather than go out without their custom fields. With `createMissingUserFields` or
 *   `createMissingOrganizationFields`, the fields the round's values lack are created before its
 *   records are built; a field that cannot be created is left out of the records, which still go.
 *   What a record leaves out (no such field, a value the field's type cannot take) is noted by the
 *   action (`ActionContext.note`): the job is delivered, and the delivery log says what was left out.
 * - Batch: records of one action merge per person in job order (later values win) and go out in
 *   bulk calls of at most `maxSize` records.
 * - Send: through the Zendesk client, which waits for its rate-limit budget. A bulk call answers
 *   a job status; up to `maxBulkJobsInFlight` are polled together with `show_many`, and so are
 *   the jobs of `perform` actions (`runJob` waits for the shared poll: one request sees the jobs
 *   of every batch and step). Polls run on their own loop (`poller`), never behind the round's
 *   claims and settlements, which wait on the queue's thread while ingest writes; a poll that
 *   frees slots sends the calls built ahead at once. A poll is timed to when the oldest job is
 *   sure to be done: the shortest age at which recent jobs were seen finished (by a poll, or by a
 *   bulk answer's in-flight count, see Slots), counted from when the call left (an answer the
 *   event loop read late must not make jobs look quicker than they are, and polls early); a
 *   poll that finds nothing finished doubles the gap to the next. A failed poll leaves the jobs
 *   in flight and is tried again with a growing interval (up to 30 s); an auth failure on a poll
 *   pauses the destination, and polling goes on once the credentials work.
 * - Slots: a bulk call in flight (or on its way) and a running `perform` each hold one of the
 *   `maxBulkJobsInFlight` slots. While every slot is taken, the worker claims and builds up to
 *   `prefetchBulkCalls` more batches, which wait for a slot and go out as soon as one is free:
 *   the next wave does not wait for a claim and its mapping. A slot frees when a poll sees its
 *   job finished, or earlier when a bulk call's answer shows it: Zendesk's
 *   `zendesk-ratelimit-inflight-jobs` header counts the account's jobs queued or running, and
 *   every one of ours in flight beyond that count is done (`learnJobsInFlight`; the poll then
 *   only settles their records).
 * - Settle: each record settles from its own result in the job status (results are in request
 *   order; a failure is `{id, index, error, details, status: 'Failed'}`); errors become outcomes
 *   in `classifyOutcome` only. A job settles once, after every record it contributed to has
 *   settled, with the most serious of their errors. Jobs that failed together (one call, one
 *   error) get one outcome, hence one retry time, so that they go out together again. Each
 *   settlement is one row of the delivery log, with its reason (delivery-log-entry.ts). What the
 *   polls find finished is settled apart from the round (`kickSettler`), so that writing a wave's
 *   outcomes never holds up the claim of the next wave.
 * - Around a bulk call, an action may look things up first (`prepare`: records it decides settle
 *   without being sent) and follow up the few results that need more requests (`followUp`: in the
 *   background after a bulk job, in turn for records sent one by one); the others settle at once.
 *
 * Leases. The worker is the only one delivering its destination (one process on the embedded
 * SQLite queue; with several nodes, the holder of the destination's delivery lease, ADR 0002).
 * - At start, any job of the destination still leased belongs to a worker that is gone (killed,
 *   crashed): its lease is ended at once (`extendLease(ids, 0)`; the next claim takes the jobs
 *   back as it does expired ones), so a restarted service resumes in seconds instead of waiting
 *   for the lease to run out. Attempts are unchanged; the queue's per-person order makes
 *   a job that Zendesk did apply before the crash harmless to send again (an upsert of the same
 *   values, and a later job of that person still comes after it).
 * - While it works, every job it holds (mapping, waiting for the rate limiter, in a bulk call,
 *   being sent one by one) has its lease renewed every `leaseMs / 3`, so a long wait never lets
 *   another claim take a job that is still on its way.
 * - With several nodes, the worker claims and sends only while its node holds the destination's
 *   delivery lease (`deps.lease`, cluster/lease.ts). Losing it: nothing new is claimed or sent
 *   (partial batches waiting for the window are dropped, a `perform`'s next request fails as
 *   transient), bulk jobs and performs already under way settle for up to `LEASE_LOST_DRAIN_MS`,
 *   then every job still held is released for the new holder. All that only while no other node
 *   can hold the lease yet (`exclusiveUntil`: a lease let go to rebalance runs out a ttl later);
 *   once another may, the worker drops what it holds without touching the queue, as the new
 *   holder takes those jobs back itself. Gaining it (and the first round of a single process,
 *   which always holds it): once nothing of the earlier tenure is left, the "at start" release
 *   above runs, so a dead holder's jobs are taken over at once, not after their job lease;
 *   failover time is the delivery lease's alone.
 *
 * Two conditions change how the worker runs:
 * - Bulk refused (403 on a bulk endpoint while the single endpoint answers for the record, even
 *   if only to refuse that record): the account has no bulk import; the worker remembers it and
 *   sends records one by one (the client keeps those within Zendesk's 1-a-second single-user
 *   limit), claiming fewer jobs a round.
 * - Auth failed (401/403 everywhere): jobs are parked without spending attempts, the worker stops
 *   claiming and probes the credentials every `authProbeMs`; once they work, it unparks the jobs.
 *   Support and Sell have credentials of their own (the error says which API refused them): a
 *   refused Sell token pauses Sell only (docs/decisions.md). The worker goes on claiming; a Sell
 *   request is refused here with the Sell error, without a call, so its job parks while Support
 *   deliveries go on; the Sell token is probed (`testSellConnection`) every `authProbeMs`, and
 *   once it works the jobs are unparked.
 *
 * `stop()` stops claiming, lets the round under way finish and bulk jobs in flight settle for a
 * grace period, then cancels what still waits on Zendesk and ends the leases of every job not
 * settled, so that the next start takes them at once.
 */
import { buildPayload, PayloadError } from '../actions/build-payload.js'
import {
  DeliveryNote,
  isPerform,
  type ActionContext,
  type ActionZendesk,
  type AnyAction,
  type BulkSpec,
  type Fields,
  type FollowUpSpec,
  type PayloadOf,
  type PerformSpec,
  type Trigger,
} from '../actions/define-action.js'
import { AppError, ERROR_KINDS, type ErrorKind } from '../errors.js'
import type { ActionMemoryStore } from '../lib/action-memory.js'
import type { Clock } from '../lib/clock.js'
import type { MappingValue } from '../mapping/mapping.js'
import type { Job, Queue } from '../queue/queue.js'
import { isAudienceEvent } from '../spec/audiences.js'
import type { SpecEvent } from '../spec/events.js'
import type { DeliveryLog, NewDeliveryLogEntry } from '../store/delivery-log.js'
import {
  failedResultError,
  isFailedResult,
  isFinished,
  resultAt,
  showMany,
  type JobResult,
  type JobStatus,
} from '../zendesk/job-statuses.js'
import type { ZendeskRequest, ZendeskResponse } from '../zendesk/request.js'
import { deliveryLogEntry, triggerMisses, type TriggerMiss } from './delivery-log-entry.js'
import { classifyOutcome, type Outcome, type OutcomeDeps } from './outcome.js'
import { CustomFields, type PreparedFields } from './custom-fields.js'

/** What the worker needs of the Zendesk client. */
export interface ZendeskSender {
  /** `signal` cancels the request, also while it waits for the rate limiter (shutdown). */
  send<T>(request: ZendeskRequest, opts?: { signal?: AbortSignal }): Promise<ZendeskResponse<T>>
  /** Whether the credentials work (a real authenticated call). */
  testConnection(): Promise<boolean>
  /** Whether the Sell token works (a real authenticated Sell call); absent: no Sell token. */
  testSellConnection?(): Promise<boolean>
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
  /** Takes audience events (`type: 'audience'`, spec/audiences.ts), which no trigger matches. */
  audiences?: boolean
  /** Turns the event into what the mapping reads (an activation's stream events into audience events). */
  prepare?: (event: unknown) => unknown
}

/** A settled job as `onSettled` sees it: its worst result, its outcome, the subscriptions it went to. */
export interface SettledJob {
  job: Job
  error: unknown
  outcome: Outcome
  subscriptions: Subscription[]
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
  /** Lease of claimed jobs; renewed every third of it while the worker holds them. */
  leaseMs: number
  /** How long to wait for more jobs before sending a partial batch. */
  batchWindowMs: number
  /**
   * First guess of how long a bulk job takes; the worker then learns it from the jobs it sees and
   * polls when the oldest job in flight should be done.
   */
  pollIntervalMs: number
  /** Shortest gap between two job-status polls. */
  minPollGapMs: number
  /**
   * Bulk jobs waiting in Zendesk at once. Zendesk allows 30 queued or running per account
   * (facts §7); the default leaves 2 for other integrations of the account.
   */
  maxBulkJobsInFlight: number
  /**
   * Bulk calls claimed, mapped and built ahead, waiting for a job slot, so a freed slot is used at
   * once. A whole wave (as many as the slots): a poll often frees most slots at once, and with 10
   * built ahead the rest waited for a claim and its mapping (40–90 ms while ingest ran).
   */
  prefetchBulkCalls: number
  /** How long a list of custom fields (user, organization, ticket) is trusted. */
  userFieldsTtlMs: number
  /** Shortest time between two reads of a list of custom fields that unknown names cause. */
  unknownFieldRefreshGapMs: number
  /** How often parked credentials are tried again. */
  authProbeMs: number
}

export const DEFAULT_WORKER_OPTIONS: WorkerOptions = {
  claimLimit: 1000,
  leaseMs: 5 * 60_000,
  batchWindowMs: 200,
  pollIntervalMs: 250,
  minPollGapMs: 50,
  maxBulkJobsInFlight: 28,
  prefetchBulkCalls: 28,
  userFieldsTtlMs: 5 * 60_000,
  unknownFieldRefreshGapMs: 30_000,
  authProbeMs: 30_000,
}

/**
 * The account's jobs queued or running, from `zendesk-ratelimit-inflight-jobs: total=30;
 * remaining=29; resets=60` (facts §7): total − remaining; null when the header is absent or not
 * in that form.
 */
export function accountJobsInFlight(header: string | undefined): number | null {
  const m = header === undefined ? null : /total=(\d+);\s*remaining=(\d+)/.exec(header)
  if (!m) {
    return null
  }
  return Math.max(0, Number(m[1]) - Number(m[2]))
}

/** Records per bulk call that a claim is sized for (Zendesk's bulk limit). */
const RECORDS_PER_BULK_CALL = 100
/** Jobs claimed a round when records go one by one: about a minute of single calls. */
const SINGLE_MODE_CLAIM_LIMIT = 60
/** How many recent finished-job ages the poll timing learns from. */
const FINISHED_AGES_KEPT = 32
/** Longest wait between polls after failed ones. */
const MAX_POLL_BACKOFF_MS = 30_000
/** How long work under way may settle after the delivery lease is lost, before its jobs are released. */
const LEASE_LOST_DRAIN_MS = 30_000

export interface WorkerDeps {
  queue: Queue
  clock: Clock
  /** Resolves after `ms`, or early when `signal` aborts (it must not reject). */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  outcome: OutcomeDeps
  log: Logger
  /** Where each settled job is recorded with its outcome and reason (none in some unit tests). */
  deliveryLog?: Pick<DeliveryLog, 'add'>
  /** Told of every settlement (audience activation data, store/activations.ts); must not throw. */
  onSettled?: (settled: SettledJob[]) => void
  /** What `perform` actions remember between deliveries; without it they ask Zendesk instead. */
  actionMemory?: ActionMemoryStore
  /**
   * Whether this node holds the destination's delivery lease now (cluster/lease.ts); absent: it
   * always does (one process).
   */
  lease?: { holds(): boolean; exclusiveUntil(): number }
  options?: Partial<WorkerOptions>
}

/** A claimed job with its event and the subscriptions that take it. */
interface Routed {
  job: Job
  event: SpecEvent
  subs: Subscription[]
}

/** A subscription's payload for a job, built by its action's mapping. */
interface Built {
  job: Job
  action: AnyAction
  payload: PayloadOf<Fields>
}

/** A job settled without Zendesk: a payload the mapping refused, or a record already carried. */
interface Local {
  job: Job
  error: unknown
}

/** What an asynchronous mapping gave: the payload, or the error it threw. */
type Mapped = { payload: PayloadOf<Fields> } | { error: unknown }

/**
 * A subscription's payload while the round is built: ready, still to come from an asynchronous
 * mapping, or refused (kept in its place once a payload is still to come).
 */
type Building = Built | { job: Job; action: AnyAction; later: Promise<Mapped> } | Local

/** A payload the mapping refused is an invalid event (not retried); other errors stay as they are. */
function mappingError(err: unknown): unknown {
  return err instanceof PayloadError
    ? new AppError(ERROR_KINDS.invalidEvent, 'MAPPING_INVALID_PAYLOAD', err.message)
    : err
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
  /** The records of a bulk action's call (none for a `perform`'s job). */
  items: Item[]
  /**
   * When the call left (`ZendeskResponse.sentAt`; the client runs on the service's clock, as the
   * worker does), not when its answer was read: the job was queued after it, so a job's age from
   * here is never shorter than it ran, even when the event loop read the answer late.
   */
  sentAt: number
  /** A `perform` waiting in `runJob` for this job: the shared poll answers it. */
  waiter?: { resolve: (results: JobResult[]) => void; reject: (err: unknown) => void }
}

/**
 * A claimed job not settled yet: how many of its records are still out, and the worst error so
 * far. Every field is there from the start (null until known), so that all of them share one
 * shape for V8: fields added later changed it, and `apply`, optimized for the first shape, was
 * thrown away and compiled again during a fresh sync (bench/README.md, ninth session).
 */
interface Held {
  job: Job
  pending: number
  error: unknown
  /** What its records left out, said by the actions (`ActionContext.note`): a delivered job's reason. */
  notes: Set<string> | null
  /** The subscriptions that took its event, routed once when it was claimed. */
  subs: Subscription[] | null
}

export function matchesTrigger(trigger: Trigger, event: SpecEvent): boolean {
  // The conditions are spelled once, in triggerMisses, so that the delivery log's skip reason
  // names exactly the condition that routing applied.
  return trigger.types.includes(event.type) && triggerMisses(trigger, event).length === 0
}

/** Why no subscription took an event: those of its type, with the conditions it failed. */
function missesOf(subscriptions: Subscription[], event: SpecEvent): TriggerMiss[] {
  if (isAudienceEvent(event)) {
    return []
  }
  return subscriptions
    .filter((s) => s.trigger.types.includes(event.type))
    .map((s) => ({ actionId: s.action.id, misses: triggerMisses(s.trigger, event) }))
}

/** Whether a subscription takes an event: audience events by flag, the others by trigger. */
export function takes(sub: Subscription, event: SpecEvent): boolean {
  return isAudienceEvent(event) ? sub.audiences === true : matchesTrigger(sub.trigger, event)
}

/** The bulk spec of an action sent in bulk (perform actions never reach the bulk paths). */
function bulkOf(action: AnyAction): BulkSpec<PayloadOf<Fields>, unknown> {
  if (isPerform(action.bulk)) {
    throw new AppError(ERROR_KINDS.internal, 'DELIVERY_NOT_BULK', `action ${action.id} is not sent in bulk`)
  }
  return action.bulk
}

/** What a `perform` gets for a request after this node lost the destination's delivery lease. */
function leaseLostError(): AppError {
  return new AppError(
    ERROR_KINDS.transient,
    'DELIVERY_LEASE_LOST',
    'this node no longer holds the delivery lease of this destination',
  )
}

/** What a `perform` waiting for a job gets when delivery stops before the job was seen done. */
function stoppedError(): AppError {
  return new AppError(ERROR_KINDS.transient, 'DELIVERY_STOPPED', 'delivery stopped while a job was running')
}

/** Zendesk's own error code (`RecordInvalid`, …) of a client error, when it has one. */
function zendeskCodeOf(err: unknown): string {
  const code = (err as { zendeskCode?: unknown } | null)?.zendeskCode
  return typeof code === 'string' ? code : 'Failed'
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { status?: unknown } | null)?.status
  return typeof s === 'number' ? s : undefined
}

function kindOf(err: unknown): ErrorKind | undefined {
  return err instanceof AppError ? err.kind : undefined
}

/**
 * How serious an error is for a job whose records ended differently: parking (someone must act)
 * over retrying over failing over success. Unknown errors are bugs of ours, parked.
 */
function severity(err: unknown): number {
  if (err === null) {
    return 0
  }
  if (err instanceof DeliveryNote) {
    // Delivered, with a reason for the log: kept over a plain success, never over an error.
    return 0.5
  }
  switch (kindOf(err)) {
    case ERROR_KINDS.invalidEvent:
    case ERROR_KINDS.rejected:
      return 1
    case ERROR_KINDS.rateLimited:
    case ERROR_KINDS.transient:
      return 2
    default:
      return 3
  }
}

export class DestinationWorker {
  private readonly d: DestinationRuntime
  private readonly deps: WorkerDeps
  private readonly opts: WorkerOptions
  private inFlight: InFlight[] = []
  /**
   * Finished bulk jobs whose records are still to be settled. A poll frees their slots at once
   * and sends the next bulk calls; these settle apart (`kickSettler`: the SQLite writes of a
   * wave's settlement would otherwise delay the next wave by tens of milliseconds).
   */
  private toSettle: (() => Promise<void>)[] = []
  /** The settlement of `toSettle` under way (see `kickSettler`). */
  private settling: Promise<void> | null = null
  /** Multi-step deliveries (`perform` actions) under way; each holds one slot of the job window. */
  private readonly performing = new Set<Promise<void>>()
  /** Every job claimed and not settled yet, by id. */
  private readonly held = new Map<number, Held>()
  private bulkRefused = false
  private authPausedSince: number | null = null
  private authError: AppError | null = null
  private lastProbe = -Infinity
  /** Sell refused its token: Sell requests are refused here until a probe of the token works. */
  private sellPause: { error: AppError; lastProbe: number } | null = null
  private pollFailures = 0
  /** Polls in a row that found no job finished although the oldest one was due. */
  private fruitlessPolls = 0
  private nextPollAt = -Infinity
  /**
   * Ages at which recent bulk jobs were seen finished (from when the call left to the answer of
   * the poll that saw them), ms. Each is an upper bound of how long a job takes (the job was
   * queued after the call left, and was done before that answer); their minimum is when a job is
   * sure to be done, so polls go out when jobs complete rather than on a beat or a few
   * milliseconds late. Only the last `FINISHED_AGES_KEPT` count, so the figure grows again when
   * Zendesk slows down (and fruitless polls back off meanwhile).
   */
  private readonly finishedAges: number[] = []
  /**
   * Whether the last claim took every job that was ready (fewer than it asked for, with slots
   * free): a poll that comes a little later then delays no other work.
   */
  private drained = false
  /**
   * Bulk calls built and waiting for a job slot: the next wave is claimed and mapped while the
   * current one runs in Zendesk, so that a poll that frees slots is followed at once by the next
   * calls rather than by a claim and its mapping.
   */
  private waiting: { action: AnyAction; items: Item[] }[] = []
  /** Bulk calls on their way (sent, job status not known yet): each holds a slot. */
  private sending = 0
  /**
   * How many of the bulk jobs in flight Zendesk has shown to be finished before a poll saw them
   * (a lower bound): each bulk call's answer says how many jobs the account has queued or running
   * (`zendesk-ratelimit-inflight-jobs`, facts §7), and every one of ours in flight beyond that
   * count is done. Their slots are free at once; the next poll settles their records.
   */
  private finishedUnpolled = 0
  /**
   * Bulk calls sent outside the round, into slots that a poll or an answer's in-flight count freed
   * (`stop()` waits for them).
   */
  private readonly eagerSends = new Set<Promise<void>>()
  /** Records of a partial batch waiting up to `batchWindowMs` for more, per action. */
  private readonly carry = new Map<string, { action: AnyAction; items: Item[]; since: number }>()
  /** The destination's custom fields: the cached lists, and creation when the settings allow. */
  private readonly customFields: CustomFields
  private stopping = false
  /** Whether the worker delivers: it holds the delivery lease and has taken over its jobs. */
  private delivering = false
  /** When the delivery lease was lost (null while delivering, or before the first tenure). */
  private leaseLostAt: number | null = null
  /** Ends the current pause when new jobs arrive (`wake()`). */
  private wakeUp = new AbortController()
  /** Whether the loop is in `pause` (what `wake` can end). */
  private pausing = false
  /** Ends the worker's sleeps at `stop()`. */
  private readonly stopSleeps = new AbortController()
  /** Cancels requests still waiting on Zendesk when the stop's grace period is over. */
  private readonly cancel = new AbortController()
  /** Ends the lease renewals, once `stop()` has released what is left. */
  private readonly stopHeartbeat = new AbortController()
  /**
   * Ends the poller's wait early: a job joined an empty flight, a call waits for a slot, the
   * credentials work again, or `stop()`.
   */
  private pollerWake = new AbortController()
  private loop: Promise<void> | null = null
  private pollerLoop: Promise<void> | null = null
  private heartbeatLoop: Promise<void> | null = null

  constructor(destination: DestinationRuntime, deps: WorkerDeps) {
    this.d = destination
    this.deps = deps
    this.opts = { ...DEFAULT_WORKER_OPTIONS, ...deps.options }
    const settings = destination.settings
    this.customFields = new CustomFields({
      destinationId: destination.id,
      zendesk: destination.zendesk,
      clock: deps.clock,
      log: deps.log,
      ttlMs: this.opts.userFieldsTtlMs,
      refreshGapMs: this.opts.unknownFieldRefreshGapMs,
      create: {
        user: settings.createMissingUserFields === true,
        organization: settings.createMissingOrganizationFields === true,
      },
      ...(typeof settings.maxCreatedFields === 'number'
        ? { maxCreatedFields: settings.maxCreatedFields }
        : {}),
      signal: this.cancel.signal,
    })
    this.cancel.signal.addEventListener('abort', () => this.rejectWaiters(), { once: true })
  }

  /** Whether the account refused bulk calls and records go one by one. */
  get usesSingleRequests(): boolean {
    return this.bulkRefused
  }

  get pausedForAuth(): boolean {
    return this.authPausedSince !== null
  }

  /** Whether Sell refused its token: Sell deliveries park, Support ones go on. */
  get pausedForSellAuth(): boolean {
    return this.sellPause !== null
  }

  /** Whether the worker delivers now: its node holds the delivery lease and it took over the jobs. */
  get delivers(): boolean {
    // The lease is checked too: a worker blocked in a round notices the loss only at its next send.
    return this.delivering && (this.deps.lease?.holds() ?? true)
  }

  start(): void {
    if (this.loop === null) {
      this.loop = this.run()
      this.pollerLoop = this.poller()
      this.heartbeatLoop = this.heartbeat()
    }
  }

  /**
   * Stops claiming; lets the round under way and the bulk jobs in flight settle for up to
   * `graceMs`; then cancels what still waits on Zendesk and ends the leases of the jobs not
   * settled (they are claimable at once, with their attempts unchanged).
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.loop === null || this.stopping) {
      return
    }
    this.stopping = true
    this.stopSleeps.abort()
    this.wakePoller()
    const started = this.deps.clock.now()
    const graceTimer = new AbortController()
    const graceOver = this.deps.sleep(graceMs, graceTimer.signal).then(() => {
      if (!graceTimer.signal.aborted) {
        this.cancel.abort()
      }
    })
    await this.loop
    await this.pollerLoop
    await Promise.all(this.eagerSends)
    if (!this.cancel.signal.aborted && this.authPausedSince === null) {
      await this.flushCarry(true)
    }
    while (
      (this.inFlight.length > 0 || this.performing.size > 0) &&
      this.authPausedSince === null &&
      !this.cancel.signal.aborted &&
      this.deps.clock.now() - started < graceMs
    ) {
      if (this.inFlight.length > 0) {
        await this.poll()
        await this.settleAll()
      }
      if (this.inFlight.length > 0 || this.performing.size > 0) {
        await this.deps.sleep(this.opts.pollIntervalMs, this.cancel.signal)
      }
    }
    if (!this.cancel.signal.aborted) {
      await this.settleAll()
    }
    // Cancelled: the settlement under way gives up; its jobs are released below.
    await this.settlementWritten()
    graceTimer.abort()
    await graceOver
    this.stopHeartbeat.abort()
    await this.heartbeatLoop
    if (this.held.size > 0) {
      const ids = [...this.held.keys()]
      try {
        // A lease that ends now: the next claim takes these jobs back, attempts unchanged. Unless
        // the delivery lease ran out meanwhile: then the next holder takes them back itself.
        if (this.isExclusive()) {
          await this.deps.queue.extendLease(ids, 0)
        }
      } catch (err) {
        this.deps.log.warn({ err, destination: this.d.id }, 'could not release leases at shutdown')
      }
      this.deps.log.info(
        { destination: this.d.id, released: ids.length, bulkJobsInFlight: this.inFlight.length },
        'delivery stopped; unsettled jobs released for the next start',
      )
      this.held.clear()
    }
    this.rejectWaiters()
    this.inFlight = []
    this.finishedUnpolled = 0
  }

  private async run(): Promise<void> {
    // Get a token and the list of user fields before the first event needs them (best effort:
    // a failure here is met again, and handled, by the first round that has records).
    await this.customFields.catalog('user').catch(() => undefined)
    // Rounds that failed in a row (the queue's database away, say): the pause before the next one
    // doubles, 1 s to 8 s, so that an outage is logged a few times, not hundreds.
    let failures = 0
    while (!this.stopping) {
      try {
        const worked = await this.tick()
        failures = 0
        if (!worked) {
          await this.pause(
            this.pausedForAuth ? Math.min(this.opts.authProbeMs, 1000) : this.opts.batchWindowMs,
          )
        }
      } catch (err) {
        failures += 1
        this.deps.log.error({ err, destination: this.d.id, failures }, 'delivery round failed')
        await this.pause(Math.min(1000 * 2 ** (failures - 1), 8_000))
      }
    }
  }

  /** A sleep that `stop()` ends early. */
  private async pause(ms: number): Promise<void> {
    this.pausing = true
    try {
      await this.deps.sleep(ms, AbortSignal.any([this.stopSleeps.signal, this.wakeUp.signal]))
    } finally {
      this.pausing = false
    }
  }

  /**
   * New jobs are ready: ends an idle pause now instead of at its end. Outside a pause there is
   * nothing to end (the next round claims them): no abort then, whose AbortError and its stack
   * cost ~0.3 ms on each ingest request.
   */
  wake(): void {
    if (!this.pausing) {
      return
    }
    this.wakeUp.abort()
    this.wakeUp = new AbortController()
  }

  /**
   * Polls the job statuses of the bulk jobs in flight, each poll when `pollDueAt` says, on its
   * own: not between the round's claims and settlements, which wait on the queue (tens of
   * milliseconds while ingest writes), so a finished job's slot is seen free when it finishes.
   * A poll that frees slots sends the bulk calls built ahead at once and wakes the round, which
   * settles what the poll found and claims more. Nothing is polled while the credentials are
   * refused (the round probes them); polling goes on while the delivery lease is lost, so that the
   * work under way settles.
   */
  private async poller(): Promise<void> {
    while (!this.stopping) {
      const now = this.deps.clock.now()
      const idle = this.inFlight.length === 0 || this.authPausedSince !== null
      // While jobs are in flight the due time is looked at again every poll gap at least: it
      // moves earlier when calls start waiting for a slot.
      const wait = idle ? this.opts.authProbeMs : Math.min(this.pollDueAt() - now, this.opts.minPollGapMs)
      if (wait > 0) {
        await this.deps.sleep(wait, this.pollerWake.signal)
        if (this.pollerWake.signal.aborted) {
          this.pollerWake = new AbortController()
        }
        continue
      }
      try {
        if (await this.poll()) {
          this.useFreedSlots()
        }
      } catch (err) {
        this.deps.log.error({ err, destination: this.d.id }, 'job status poll failed unexpectedly')
        await this.deps.sleep(this.opts.pollIntervalMs, this.stopSleeps.signal)
      }
    }
  }

  /** Ends the poller's wait: it times its next poll again (or stops). */
  private wakePoller(): void {
    this.pollerWake.abort()
  }

  /** A job joins the flight; the first one ends the poller's idle wait, so it is polled when due. */
  private joinFlight(job: InFlight): void {
    this.inFlight.push(job)
    if (this.inFlight.length === 1) {
      this.wakePoller()
    }
  }

  /**
   * Ends the leases of the destination's jobs left leased by a previous process: at start this
   * worker holds nothing, and no other worker delivers this destination (see the header).
   */
  private async releaseOrphanedLeases(): Promise<void> {
    // A worker never holds more than a claim plus the bulk jobs in flight; the bound is generous.
    const leased = await this.deps.queue.list(this.d.id, 'leased', 1_000_000)
    const ids = leased.map((j) => j.id).filter((id) => !this.held.has(id))
    if (ids.length > 0) {
      await this.deps.queue.extendLease(ids, 0)
      this.deps.log.info(
        { destination: this.d.id, released: ids.length },
        'released jobs leased by a previous run (crash or kill); they are delivered again',
      )
    }
  }

  /** Renews the leases of held jobs until the worker has stopped. */
  private async heartbeat(): Promise<void> {
    const every = Math.max(1, Math.floor(this.opts.leaseMs / 3))
    const stopped = this.stopHeartbeat.signal
    while (!stopped.aborted) {
      await this.deps.sleep(every, stopped)
      if (stopped.aborted || this.held.size === 0) {
        continue
      }
      try {
        await this.deps.queue.extendLease([...this.held.keys()], this.opts.leaseMs)
      } catch (err) {
        this.deps.log.warn({ err, destination: this.d.id }, 'could not renew leases; will try again')
      }
    }
  }

  /**
   * Follows the destination's delivery lease (see the header); returns whether the worker may
   * claim and send now. A failure to release jobs throws: the round is tried again.
   */
  private async followLease(): Promise<boolean> {
    if (this.mayDeliver()) {
      return true
    }
    const holds = this.deps.lease?.holds() ?? true
    const now = this.deps.clock.now()
    const exclusive = this.isExclusive()
    const underWay =
      this.inFlight.length > 0 ||
      this.performing.size > 0 ||
      this.toSettle.length > 0 ||
      this.settling !== null
    if (underWay && exclusive && now - (this.leaseLostAt ?? now) < LEASE_LOST_DRAIN_MS) {
      return false
    }
    if (this.held.size > 0 || underWay) {
      // A settlement being written finishes first (as when settling was a step of the round):
      // nothing is written for these jobs once they are let go.
      await this.settlementWritten()
      const ids = [...this.held.keys()]
      if (exclusive && ids.length > 0) {
        // Attempts unchanged: the next holder takes these jobs at its first claim.
        await this.deps.queue.extendLease(ids, 0)
      }
      this.held.clear()
      this.rejectWaiters()
      this.inFlight = []
      this.finishedUnpolled = 0
      this.waiting = []
      this.toSettle = []
      this.deps.log.info(
        { destination: this.d.id, jobs: ids.length },
        exclusive
          ? 'delivery lease lost: jobs not settled released for the node that holds it now'
          : 'delivery lease expired before the work under way settled: its jobs are left alone (the next holder takes them back at once)',
      )
    }
    if (!holds) {
      return false
    }
    await this.releaseOrphanedLeases()
    this.delivering = true
    this.leaseLostAt = null
    if (this.deps.lease) {
      this.deps.log.info({ destination: this.d.id }, 'delivery lease held: delivering this destination')
    }
    return true
  }

  /**
   * Whether no other node can hold the destination's delivery lease now, so that this worker may
   * still write its jobs' outcomes: while it holds the lease, and after losing it until its last
   * renewal would have run out. Past that, the next holder may have taken the jobs back already.
   */
  private isExclusive(): boolean {
    const lease = this.deps.lease
    return !lease || lease.holds() || this.deps.clock.now() < lease.exclusiveUntil()
  }

  /** Whether the worker delivers now; notices a delivery lease that ended since the round began. */
  private mayDeliver(): boolean {
    if (this.delivering && !(this.deps.lease?.holds() ?? true)) {
      this.delivering = false
      this.leaseLostAt = this.deps.clock.now()
      // Records waiting for the batching window or for a slot were never sent: their jobs go back
      // with the rest.
      this.carry.clear()
      this.waiting = []
      this.deps.log.info(
        { destination: this.d.id, bulkJobsInFlight: this.inFlight.length, held: this.held.size },
        'delivery lease lost: claiming and sending stop; work under way settles',
      )
    }
    return this.delivering
  }

  /** One round; returns whether anything was done (no sleep needed). */
  async tick(): Promise<boolean> {
    if (!(await this.followLease())) {
      // Not delivering (lease lost or not held): bulk jobs already sent still settle (the poller
      // goes on polling them).
      const worked = this.toSettle.length > 0
      await this.settleAll()
      return worked
    }
    if (this.sellPause !== null) {
      await this.probeSellAuth()
    }
    if (this.authPausedSince !== null) {
      await this.probeAuth()
      return false
    }
    let worked = false
    if (this.authPausedSince !== null || this.stopping) {
      await this.settleAll()
      return worked
    }
    // Free slots go first to the bulk calls built ahead.
    worked = (await this.drainWaiting()) || worked
    // Room: the free slots, and (in bulk mode) a wave of calls built ahead while jobs run.
    const room = this.freeSlots() - this.waiting.length + (this.bulkRefused ? 0 : this.opts.prefetchBulkCalls)
    // No room: jobs may be waiting for one.
    this.drained = false
    if (room > 0) {
      const limit = this.bulkRefused
        ? Math.min(this.opts.claimLimit, SINGLE_MODE_CLAIM_LIMIT)
        : Math.min(this.opts.claimLimit, room * RECORDS_PER_BULK_CALL)
      const jobs = await this.deps.queue.claim({
        destinationId: this.d.id,
        limit,
        leaseMs: this.opts.leaseMs,
      })
      this.drained = jobs.length < limit
      if (jobs.length > 0) {
        for (const job of jobs) {
          this.held.set(job.id, { job, pending: 0, error: null, notes: null, subs: null })
        }
        await this.process(jobs)
        worked = true
      }
    }
    worked = (await this.flushCarry(false)) || worked
    if (!worked && (this.inFlight.length > 0 || this.carry.size > 0 || this.performing.size > 0)) {
      // The poller wakes the round when a poll frees slots or finds jobs to settle.
      const now = this.deps.clock.now()
      const next = Math.min(
        ...[...this.carry.values()].map((c) => c.since + this.opts.batchWindowMs),
        now + this.opts.batchWindowMs,
      )
      await this.pause(Math.max(5, next - now))
      return true
    }
    return worked
  }

  /**
   * Job slots not taken: a bulk call in flight or on its way holds one, and so does a perform
   * however many jobs it runs (its jobs are polled with the others).
   */
  private freeSlots(): number {
    const bulkCalls = this.bulkFlight().length
    const running = bulkCalls - Math.min(this.finishedUnpolled, bulkCalls)
    return this.opts.maxBulkJobsInFlight - running - this.sending - this.performing.size
  }

  /** Bulk calls' jobs in flight (a perform's jobs, which have a waiter, hold the perform's slot). */
  private bulkFlight(): InFlight[] {
    return this.inFlight.filter((f) => f.waiter === undefined)
  }

  /**
   * Learns from a bulk call's answer how many of our jobs in flight are finished already (see
   * `finishedUnpolled`), and sends the bulk calls built ahead into the slots that frees. Only
   * while no perform runs: a perform's job is in flight too but holds its slot until the perform
   * ends, so its end must not free a bulk call's slot. The count is a lower bound whatever else
   * happens meanwhile: other integrations' jobs and our calls still on their way only make the
   * account's count larger, and a job a poll removes is taken off it (`poll`). It also tells how
   * long jobs take, as a poll does.
   */
  private learnJobsInFlight(header: string | undefined): void {
    const account = accountJobsInFlight(header)
    if (account === null || this.performing.size > 0) {
      return
    }
    const bulk = this.bulkFlight()
    const finished = Math.min(bulk.length, this.inFlight.length - account)
    if (finished <= this.finishedUnpolled) {
      return
    }
    this.finishedUnpolled = finished
    // At least `finished` of our jobs are done, so one of them is no older than the
    // `finished`-th oldest: that age bounds a job's time as a poll's sighting does. Learnt here,
    // the first polls need not wait for the first guess (`pollIntervalMs`).
    const sentAts = bulk.map((f) => f.sentAt).sort((a, b) => a - b)
    const nth = sentAts[finished - 1]
    const expected = this.expectedJobMs()
    if (nth !== undefined) {
      this.learnFinishedAge(this.deps.clock.now() - nth)
    }
    this.useFreedSlots()
    if (this.expectedJobMs() < expected) {
      // The next poll may be due sooner (after the calls the freed slots take).
      this.wakePoller()
    }
  }

  /**
   * Slots were freed outside the round (by a poll, or an answer's in-flight count): the bulk calls
   * built ahead go into them now, without waiting for the round (which may be in a claim or a
   * settlement on the queue's thread), and a round pausing may claim the next batches.
   */
  private useFreedSlots(): void {
    if (this.waiting.length > 0 && this.freeSlots() > 0 && this.delivering && !this.stopping) {
      const sends = this.drainWaiting()
        .then(() => undefined)
        .catch((err: unknown) =>
          this.deps.log.error({ err, destination: this.d.id }, 'sending a bulk call built ahead failed'),
        )
      this.eagerSends.add(sends)
      void sends.finally(() => this.eagerSends.delete(sends))
    }
    this.wake()
  }

  /** Sends bulk calls built ahead while slots are free; returns whether any went. */
  private async drainWaiting(): Promise<boolean> {
    const n = Math.min(this.waiting.length, Math.max(0, this.freeSlots()))
    if (n === 0) {
      return false
    }
    const calls = this.waiting.splice(0, n)
    await Promise.all(calls.map((c) => this.send(c.action, c.items)))
    return true
  }

  /**
   * Settles the jobs the polls found finished, apart from the round: their queue writes must not
   * hold up its next claim (the slots a poll frees want new calls at once). Once they are written
   * the round is woken: a person's next job may be claimable now.
   */
  private kickSettler(): void {
    if (this.settling !== null || this.toSettle.length === 0) {
      return
    }
    this.settling = this.settleFinished()
      .catch((err: unknown) => this.deps.log.error({ err, destination: this.d.id }, 'settling jobs failed'))
      .finally(() => {
        this.settling = null
        this.kickSettler()
        this.wake()
      })
  }

  /** Settles everything the polls found finished, and waits until it is written. */
  private async settleAll(): Promise<void> {
    this.kickSettler()
    await this.settlementWritten()
  }

  /** Waits until no settlement is being written, including those the settler chains after it. */
  private async settlementWritten(): Promise<void> {
    while (this.settling !== null) {
      await this.settling
    }
  }

  /** Settles the records of the bulk jobs the last polls found finished. */
  private async settleFinished(): Promise<void> {
    while (this.toSettle.length > 0) {
      const batch = this.toSettle
      this.toSettle = []
      for (const settle of batch) {
        await settle()
      }
    }
  }

  /**
   * When the next job-status poll is worth a request: when the oldest bulk job in flight should
   * be done (by the shortest recent finished age). When nothing waits for a slot (the last claim
   * took every ready job, no built call waits, and a quarter of the slots are free for new work),
   * up to one job's duration later, or when the last job in flight should be done if that is
   * sooner: jobs sent over time (events that arrive slowly, performs that each hold a slot until
   * their job is seen) are then seen by fewer polls, at no cost to other work (ticket-sync: 6–7
   * polls for 50 jobs instead of 6–9). Never before the poll back-off allows.
   */
  private pollDueAt(): number {
    const expected = this.expectedJobMs()
    const due = this.inFlight.map((f) => f.sentAt + expected).sort((a, b) => a - b)
    const first = due[0] ?? this.deps.clock.now()
    const last = due[due.length - 1] ?? first
    // Waiting for more jobs to finish pays only while slots are plentiful: when they run short,
    // every slot a poll frees is wanted at once.
    const unhurried =
      this.drained && this.waiting.length === 0 && this.freeSlots() >= this.opts.maxBulkJobsInFlight / 4
    return Math.max(this.nextPollAt, unhurried ? Math.min(last, first + expected) : first)
  }

  /** How long a bulk job is expected to take: the shortest recent finished age, or a first guess. */
  private expectedJobMs(): number {
    return this.finishedAges.length > 0 ? Math.min(...this.finishedAges) : this.opts.pollIntervalMs
  }

  /** Sends carried partial batches whose window is over (all of them when `all`). */
  private async flushCarry(all: boolean): Promise<boolean> {
    const now = this.deps.clock.now()
    const due = [...this.carry.entries()].filter(([, c]) => all || now - c.since >= this.opts.batchWindowMs)
    for (const [id] of due) {
      this.carry.delete(id)
    }
    await Promise.all(due.map(([, c]) => this.send(c.action, c.items)))
    return due.length > 0
  }

  /**
   * Maps a claimed round and sends what fills bulk calls. The loops over the round's jobs are
   * plain methods (`route`, `build`, `group`), not part of this async one: V8 optimises each
   * on its own, smaller compiles than one of the whole async function (bench/README.md).
   */
  private async process(jobs: Job[]): Promise<void> {
    const routed = this.route(jobs)
    // No subscription takes the event: done (skipped).
    await this.settleJobs(
      routed.filter((r) => r.subs.length === 0).map((r) => r.job),
      null,
    )
    const toSend = routed.filter((r) => r.subs.length > 0)
    if (toSend.length === 0) {
      return
    }
    const local: Local[] = []
    const round = this.build(toSend, local)
    // Without asynchronous mappings every entry is a payload (refusals went to `local`).
    const built = round.later ? await this.awaitMappings(round.built, local) : (round.built as Built[])
    // The custom fields of the round's values, before any record is built (so that fields
    // created now carry this round's values). A payload whose list cannot be read settles with
    // that error; the others go on.
    const prepared = await this.customFields.prepare(built)
    if (this.cancel.signal.aborted) {
      // Shutting down: the jobs stay held and `stop()` ends their leases.
      return
    }
    const byAction = this.group(built, prepared, local)
    for (const { job, error } of local) {
      await this.note([job], error)
    }
    const sends: Promise<void>[] = []
    const now = this.deps.clock.now()
    for (const { action, items } of byAction.values()) {
      // A partial batch left from the last round goes first: its jobs are older.
      const carried = this.carry.get(action.id)
      this.carry.delete(action.id)
      const list = [...(carried?.items ?? []), ...items.values()]
      let i = 0
      for (; i + action.bulk.maxSize <= list.length; i += action.bulk.maxSize) {
        sends.push(this.send(action, list.slice(i, i + action.bulk.maxSize)))
      }
      if (i < list.length) {
        // Wait up to the batching window for more records of this action (unless stopping).
        this.carry.set(action.id, { action, items: list.slice(i), since: carried?.since ?? now })
      }
    }
    await Promise.all(sends)
  }

  /** Each job's subscriptions (its settlement, `apply`, reuses them). */
  private route(jobs: Job[]): Routed[] {
    return jobs.map((job) => {
      const event = job.payload as SpecEvent
      const subs = this.d.subscriptions.filter((s) => takes(s, event))
      const held = this.held.get(job.id)
      if (held) {
        held.subs = subs
      }
      return { job, event, subs }
    })
  }

  /**
   * Each subscription's payload, in the round's order; a payload the mapping refuses goes to
   * `local`. A plain function: mappings that answer asynchronously (JSONata) come back as
   * promises, which `awaitMappings` settles after the round is built.
   */
  private build(toSend: Routed[], local: Local[]): { built: Building[]; later: boolean } {
    const built: Building[] = []
    let later = false
    for (const { job, event, subs } of toSend) {
      const held = this.held.get(job.id)
      if (held) {
        held.pending = subs.length
      }
      for (const sub of subs) {
        try {
          const payload = buildPayload(
            sub.action.fields,
            sub.mapping,
            sub.prepare ? sub.prepare(event) : event,
          )
          if (payload instanceof Promise) {
            // Its outcome is taken at once, so that a refusal never goes unhandled meanwhile.
            const mapped = payload.then(
              (value): Mapped => ({ payload: value }),
              (error: unknown): Mapped => ({ error }),
            )
            built.push({ job, action: sub.action, later: mapped })
            later = true
          } else {
            built.push({ job, action: sub.action, payload })
          }
        } catch (err) {
          // In its place among the payloads still to come, once one is asynchronous.
          const error = mappingError(err)
          if (later) {
            built.push({ job, error })
          } else {
            local.push({ job, error })
          }
        }
      }
    }
    return { built, later }
  }

  /** The round's payloads once its asynchronous mappings have answered; refusals go to `local` in order. */
  private async awaitMappings(built: Building[], local: Local[]): Promise<Built[]> {
    const out: Built[] = []
    for (const b of built) {
      if ('later' in b) {
        const mapped = await b.later
        if ('error' in mapped) {
          local.push({ job: b.job, error: mappingError(mapped.error) })
        } else {
          out.push({ job: b.job, action: b.action, payload: mapped.payload })
        }
      } else if ('error' in b) {
        local.push(b)
      } else {
        out.push(b)
      }
    }
    return out
  }

  /**
   * The round's records by action, keyed by person: several updates of one person in a round
   * merge in order (the later wins); a record whose custom-field list could not be read, or
   * that its action refuses, goes to `local`.
   */
  private group(
    built: Built[],
    prepared: PreparedFields,
    local: Local[],
  ): Map<string, { action: AnyAction; items: Map<string, Item> }> {
    const ctx: ActionContext = {
      userFieldKeys: prepared.catalogs.user?.activeKeys() ?? null,
      fields: prepared.catalogs,
      settings: this.d.settings,
    }
    const byAction = new Map<string, { action: AnyAction; items: Map<string, Item> }>()
    for (const { job, action, payload } of built) {
      const kind = action.customFields?.kind
      const listError = kind !== undefined ? prepared.failed.get(kind) : undefined
      if (listError !== undefined && Object.keys(action.customFields?.candidates(payload) ?? {}).length > 0) {
        local.push({ job, error: listError })
        continue
      }
      let record: unknown
      const notes: string[] = []
      try {
        record = action.bulk.item(payload, { ...ctx, note: (reason) => notes.push(reason) })
      } catch (err) {
        local.push({ job, error: mappingError(err) })
        continue
      }
      const held = this.held.get(job.id)
      if (held && notes.length > 0) {
        held.notes = new Set([...(held.notes ?? []), ...notes])
      }
      let group = byAction.get(action.id)
      if (!group) {
        group = { action, items: new Map() }
        byAction.set(action.id, group)
      }
      const key = action.bulk.key(record) ?? `job:${job.id}`
      const existing = group.items.get(key)
      if (!existing) {
        group.items.set(key, { action, record, jobs: [job] })
      } else {
        // Jobs come in id order, which is each person's order: the later record wins.
        existing.record = action.bulk.merge(existing.record, record)
        if (existing.jobs.includes(job)) {
          // Two subscriptions of one action gave the same person: one record carries both.
          local.push({ job, error: null })
        } else {
          existing.jobs.push(job)
        }
      }
    }
    return byAction
  }

  private async send(action: AnyAction, items: Item[]): Promise<void> {
    if (!this.mayDeliver()) {
      // The delivery lease ended since the claim: the jobs stay held until followLease releases them.
      return
    }
    if (this.freeSlots() <= 0 && !this.bulkRefused) {
      // Every job slot is taken: the batch goes as soon as a poll frees one (drainWaiting).
      this.waiting.push({ action, items })
      if (this.waiting.length === 1) {
        // A call waits for a slot now: polls are wanted as soon as a job is due.
        this.wakePoller()
      }
      return
    }
    const spec = action.bulk
    if (isPerform(spec)) {
      this.startPerform(spec, items)
      return
    }
    // The slot is taken from here: a lookup before the call (prepare) must not let another
    // batch through the gate meanwhile.
    this.sending += 1
    const slot = { onItsWay: true }
    try {
      if (spec.prepare) {
        items = await this.prepare(spec, items)
        if (items.length === 0) {
          return
        }
      }
      if (this.bulkRefused) {
        await this.sendSingly(items)
        return
      }
      await this.sendBulk(spec, items, slot)
    } finally {
      if (slot.onItsWay) {
        this.sending -= 1
      }
    }
  }

  /**
   * One bulk call; its job status joins the jobs in flight, and its slot is then held by the job
   * (no longer by a call on its way: `slot.onItsWay` false), before the answer's in-flight count
   * is read, so that every slot it shows free is taken at once.
   */
  private async sendBulk(
    spec: BulkSpec<PayloadOf<Fields>, unknown>,
    items: Item[],
    slot: { onItsWay: boolean },
  ): Promise<void> {
    try {
      const r = await this.d.zendesk.send<{ job_status: JobStatus }>(
        spec.request(items.map((i) => i.record)),
        { signal: this.cancel.signal },
      )
      this.joinFlight({ jobStatusId: r.body.job_status.id, items, sentAt: r.sentAt ?? this.deps.clock.now() })
      slot.onItsWay = false
      this.sending -= 1
      this.learnJobsInFlight(r.headers['zendesk-ratelimit-inflight-jobs'])
    } catch (err) {
      if (this.cancel.signal.aborted) {
        return
      }
      if (statusOf(err) === 403) {
        await this.checkBulkRefused(items)
        return
      }
      await this.settleItems(items, err)
    }
  }

  /** Zendesk as actions see it: through this worker's client, cancelled at shutdown. */
  private actionZendesk(): ActionZendesk {
    return {
      send: (request) => {
        if (!this.mayDeliver()) {
          return Promise.reject(leaseLostError())
        }
        if (request.api === 'sell' && this.sellPause !== null) {
          // Sell refused the token: no call until a probe says it works (its job parks again).
          return Promise.reject(this.sellPause.error)
        }
        return this.d.zendesk.send(request, { signal: this.cancel.signal })
      },
      runJob: (request) => (this.mayDeliver() ? this.runJob(request) : Promise.reject(leaseLostError())),
    }
  }

  /**
   * Runs an action's lookups before its bulk call (`prepare`): settles the items they decide and
   * returns the others, to be sent. A failed lookup settles them all (retried when transient).
   */
  private async prepare(spec: BulkSpec<PayloadOf<Fields>, unknown>, items: Item[]): Promise<Item[]> {
    let outcomes: unknown[]
    try {
      outcomes =
        (await spec.prepare?.(
          items.map((i) => i.record),
          this.actionZendesk(),
          this.d.settings,
        )) ?? []
    } catch (err) {
      if (!this.cancel.signal.aborted) {
        await this.settleItems(items, err)
      }
      return []
    }
    const rest: Item[] = []
    for (const [i, item] of items.entries()) {
      if (outcomes[i] === undefined) {
        rest.push(item)
      } else {
        await this.settleItems([item], outcomes[i])
      }
    }
    return rest
  }

  /** Runs a `perform` action's batch in the background; its items settle from its outcomes. */
  private startPerform(spec: PerformSpec<PayloadOf<Fields>, unknown>, items: Item[]): void {
    const actionId = items[0]?.action.id
    const memory = actionId !== undefined ? this.deps.actionMemory?.of(this.d.id, actionId) : undefined
    this.startTask(items, (zendesk) =>
      spec.perform(
        items.map((i) => i.record),
        zendesk,
        { memory: memory ?? null, now: () => this.deps.clock.now() },
      ),
    )
  }

  /**
   * Runs the follow-up of the records of a bulk call whose results need one, in the background;
   * they settle from its outcomes.
   */
  private startFollowUp(spec: FollowUpSpec<unknown>, entries: { item: Item; result: JobResult }[]): void {
    this.startTask(
      entries.map((e) => e.item),
      (zendesk) =>
        spec.run(
          entries.map((e) => ({ item: e.item.record, result: e.result })),
          zendesk,
          this.d.settings,
        ),
    )
  }

  /** Multi-step work in the background (one slot of the job window); `items` settle from its outcomes. */
  private startTask(items: Item[], work: (zendesk: ActionZendesk) => Promise<unknown[]>): void {
    const zendesk = this.actionZendesk()
    const task = (async () => {
      let outcomes: unknown[]
      try {
        outcomes = await work(zendesk)
      } catch (err) {
        if (!this.cancel.signal.aborted) {
          await this.settleItems(items, err)
        }
        return
      }
      // The delivered records settle together (one queue write), the others each with its outcome.
      await this.settleItems(
        items.filter((_, i) => (outcomes[i] ?? null) === null),
        null,
      )
      for (const [i, item] of items.entries()) {
        if ((outcomes[i] ?? null) !== null) {
          await this.settleItems([item], outcomes[i])
        }
      }
    })()
      .catch((err: unknown) =>
        this.deps.log.error({ err, destination: this.d.id }, 'settling a delivery failed'),
      )
      .finally(() => {
        this.performing.delete(task)
        // Its slot is free: a worker pausing between rounds may claim the next batch now.
        this.wake()
      })
    this.performing.add(task)
  }

  /**
   * Sends a bulk request for a `perform` action and waits for its job status to finish. The job
   * joins the bulk calls in flight: one `show_many` polls every job of every batch and step at
   * once, instead of one poll per job.
   */
  private async runJob(request: ZendeskRequest): Promise<JobResult[]> {
    const signal = this.cancel.signal
    const sent = await this.d.zendesk.send<{ job_status: JobStatus }>(request, { signal })
    if (signal.aborted) {
      throw stoppedError()
    }
    return new Promise<JobResult[]>((resolve, reject) => {
      this.joinFlight({
        jobStatusId: sent.body.job_status.id,
        items: [],
        sentAt: sent.sentAt ?? this.deps.clock.now(),
        waiter: { resolve, reject },
      })
    })
  }

  /** Ends the waits of `perform`s whose jobs will not be polled any more (stop's grace is over). */
  private rejectWaiters(): void {
    for (const f of this.inFlight) {
      f.waiter?.reject(stoppedError())
    }
    this.inFlight = this.bulkFlight()
  }

  /**
   * A 403 on a bulk call may mean "bulk import is not enabled" (facts §0.3), or credentials that
   * may not write users. The single-record endpoint tells which: if it answers for the first
   * record (even refusing that record), bulk import is off: remember it and go on singly. If it
   * refuses the credentials too, the items park (auth); if it fails otherwise (429, 5xx), nothing
   * is known yet and the items are retried, bulk first again.
   */
  private async checkBulkRefused(items: Item[]): Promise<void> {
    const [first, ...rest] = items
    if (!first) {
      return
    }
    let error: unknown = null
    let response: ZendeskResponse | null = null
    try {
      response = await this.d.zendesk.send(bulkOf(first.action).single(first.record), {
        signal: this.cancel.signal,
      })
    } catch (err) {
      if (this.cancel.signal.aborted) {
        return
      }
      error = err
    }
    if (error !== null && kindOf(error) !== ERROR_KINDS.rejected) {
      await this.settleItems(items, error)
      return
    }
    if (!this.bulkRefused) {
      this.bulkRefused = true
      this.deps.log.warn(
        { destination: this.d.id },
        'Zendesk refused the bulk endpoint (403: bulk import not enabled on this account); sending records one by one',
      )
    }
    await this.settleSingle(first, response, error)
    await this.sendSingly(rest)
  }

  private async sendSingly(items: Item[]): Promise<void> {
    for (const item of items) {
      if (this.cancel.signal.aborted || !this.mayDeliver()) {
        // Shutting down, or the delivery lease is gone: the jobs stay held and are released
        // (by `stop()`, or once the worker has let go of the destination).
        return
      }
      if (this.authError !== null) {
        await this.settleItems([item], this.authError)
        continue
      }
      try {
        const response = await this.d.zendesk.send(bulkOf(item.action).single(item.record), {
          signal: this.cancel.signal,
        })
        await this.settleSingle(item, response, null)
      } catch (err) {
        if (this.cancel.signal.aborted) {
          return
        }
        await this.settleSingle(item, null, err)
      }
    }
  }

  /**
   * Settles a record sent on its own, after its action's follow-up when the answer needs one (as
   * a bulk result would). Only Zendesk's answers count: a refused record is one, a 429 or an auth
   * failure is not and settles as it is.
   */
  private async settleSingle(item: Item, response: ZendeskResponse | null, error: unknown): Promise<void> {
    const spec = item.action.bulk
    const followUp = isPerform(spec) ? undefined : spec.followUp
    let result: JobResult | null = null
    if (followUp?.singleResult && response !== null && error === null) {
      result = followUp.singleResult(item.record, response)
    } else if (followUp?.singleResult && kindOf(error) === ERROR_KINDS.rejected) {
      result = { status: 'Failed', error: zendeskCodeOf(error), details: (error as Error).message }
    }
    if (!followUp || result === null || !followUp.needed(item.record, result, this.d.settings)) {
      await this.settleItems([item], error)
      return
    }
    let outcome: unknown
    try {
      const outcomes = await followUp.run(
        [{ item: item.record, result, ...(error !== null ? { error } : {}) }],
        this.actionZendesk(),
        this.d.settings,
      )
      outcome = outcomes[0]
    } catch (err) {
      outcome = err
    }
    if (this.cancel.signal.aborted) {
      return
    }
    await this.settleItems([item], outcome === undefined ? error : outcome)
  }

  /** Reads the job statuses of bulk calls in flight and settles the finished ones. */
  private async poll(): Promise<boolean> {
    const ids = this.inFlight.slice(0, 100).map((f) => f.jobStatusId)
    let statuses: JobStatus[]
    try {
      const r = await this.d.zendesk.send<{ job_statuses: JobStatus[] }>(showMany(ids), {
        signal: this.cancel.signal,
      })
      statuses = r.body.job_statuses
    } catch (err) {
      if (this.cancel.signal.aborted) {
        return false
      }
      // The jobs stay in flight (Zendesk has them); poll again later, less often while it fails.
      this.pollFailures += 1
      this.nextPollAt =
        this.deps.clock.now() +
        Math.min(MAX_POLL_BACKOFF_MS, this.opts.pollIntervalMs * 2 ** Math.min(this.pollFailures, 16))
      if (err instanceof AppError && err.kind === ERROR_KINDS.authFailed) {
        this.pauseForAuth(err)
      }
      this.deps.log.warn(
        { err, destination: this.d.id, failures: this.pollFailures },
        'job status poll failed; will poll again',
      )
      return false
    }
    this.pollFailures = 0
    const polledAt = this.deps.clock.now()
    const byId = new Map(statuses.map((s) => [s.id, s]))
    const done: InFlight[] = []
    for (const f of this.inFlight) {
      const status = byId.get(f.jobStatusId)
      if (status && isFinished(status)) {
        this.learnFinishedAge(polledAt - f.sentAt)
        done.push(f)
        if (f.waiter) {
          if (status.status === 'completed' && Array.isArray(status.results)) {
            f.waiter.resolve(status.results)
          } else {
            f.waiter.reject(
              new AppError(
                ERROR_KINDS.transient,
                'ZD_JOB_FAILED',
                `Zendesk job ${status.id} ended ${status.status}`,
              ),
            )
          }
        } else {
          this.toSettle.push(() => this.settleJob(f, status))
        }
      } else if (!status && ids.includes(f.jobStatusId)) {
        // Expired or unknown: Zendesk keeps job statuses for a limited time (facts §7).
        done.push(f)
        f.waiter?.reject(
          new AppError(
            ERROR_KINDS.transient,
            'ZD_JOB_STATUS_LOST',
            `job status ${f.jobStatusId} is no longer available`,
          ),
        )
        this.toSettle.push(() =>
          this.settleItems(
            f.items,
            new AppError(
              ERROR_KINDS.transient,
              'ZD_JOB_STATUS_LOST',
              `job status ${f.jobStatusId} is no longer available`,
            ),
          ),
        )
      }
    }
    // A poll that found nothing finished came too early (jobs slower than they were): the gap to
    // the next one doubles each time, so slow jobs never cost a request every few milliseconds.
    this.fruitlessPolls = done.length > 0 ? 0 : this.fruitlessPolls + 1
    this.nextPollAt =
      polledAt +
      Math.min(MAX_POLL_BACKOFF_MS, this.opts.minPollGapMs * 2 ** Math.min(this.fruitlessPolls, 16))
    this.inFlight = this.inFlight.filter((f) => !done.includes(f))
    this.kickSettler()
    const doneBulk = done.filter((f) => f.waiter === undefined).length
    this.finishedUnpolled = Math.max(0, this.finishedUnpolled - doneBulk)
    return done.length > 0
  }

  /** Remembers the age at which a job was seen finished (the last `FINISHED_AGES_KEPT` count). */
  private learnFinishedAge(ageMs: number): void {
    this.finishedAges.push(Math.min(Math.max(ageMs, 1), 5 * 60_000))
    if (this.finishedAges.length > FINISHED_AGES_KEPT) {
      this.finishedAges.shift()
    }
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
    const succeeded: Item[] = []
    const missing: Item[] = []
    // The records of one bulk call are of one action; a few results may need a follow-up.
    const first = f.items[0]
    const followUp = first && !isPerform(first.action.bulk) ? first.action.bulk.followUp : undefined
    const toFollow: { item: Item; result: JobResult }[] = []
    for (const [position, item] of f.items.entries()) {
      const result = resultAt(results, position)
      if (!result) {
        missing.push(item)
      } else if (followUp?.needed(item.record, result, this.d.settings)) {
        toFollow.push({ item, result })
      } else if (isFailedResult(result)) {
        await this.settleItems([item], failedResultError(result))
      } else {
        succeeded.push(item)
      }
    }
    if (followUp && toFollow.length > 0) {
      this.startFollowUp(followUp, toFollow)
    }
    await this.settleItems(succeeded, null)
    if (missing.length > 0) {
      await this.settleItems(
        missing,
        new AppError(
          ERROR_KINDS.transient,
          'ZD_JOB_RESULT_MISSING',
          `job ${status.id} has ${results.length} results for ${f.items.length} records`,
        ),
      )
    }
  }

  /** One result for records and every job they carry. */
  private async settleItems(items: Item[], error: unknown): Promise<void> {
    await this.note(
      items.flatMap((i) => i.jobs),
      error,
    )
  }

  /** Settles jobs at once, whatever their records (skipped, or the round could not be mapped). */
  private async settleJobs(jobs: Job[], error: unknown): Promise<void> {
    for (const job of jobs) {
      const held = this.held.get(job.id)
      if (held) {
        held.pending = 1
      }
    }
    await this.note(jobs, error)
  }

  /** Records one record's result for its jobs; jobs with nothing left out are settled. */
  private async note(jobs: Job[], error: unknown): Promise<void> {
    const ready: Held[] = []
    for (const job of jobs) {
      const held = this.held.get(job.id)
      if (!held) {
        continue
      }
      if (severity(error) > severity(held.error)) {
        held.error = error
      }
      held.pending -= 1
      if (held.pending <= 0) {
        this.held.delete(job.id)
        if (held.notes && (held.error === null || held.error instanceof DeliveryNote)) {
          // Delivered, with what its records left out.
          const earlier = held.error instanceof DeliveryNote ? [held.error.reason] : []
          held.error = new DeliveryNote([...earlier, ...held.notes].join('; '))
        }
        ready.push(held)
      }
    }
    if (ready.length > 0) {
      await this.apply(ready)
    }
  }

  private async apply(settled: Held[]): Promise<void> {
    const now = this.deps.clock.now()
    const delivered: number[] = []
    const parked = new Map<string, number[]>()
    // Jobs that failed together (one bulk call, one error) get one outcome, so that they come back
    // at the same moment and go out together again: jitter spreads calls, not a call's records.
    const outcomes = new Map<unknown, Map<number, Outcome>>()
    const outcomeOf = (error: unknown, attempt: number): Outcome => {
      const byAttempt = outcomes.get(error) ?? new Map<number, Outcome>()
      outcomes.set(error, byAttempt)
      const known = byAttempt.get(attempt)
      if (known) {
        return known
      }
      const outcome = classifyOutcome({ error, attempt, now }, this.deps.outcome)
      byAttempt.set(attempt, outcome)
      return outcome
    }
    // One delivery-log row per settled job: what it carried, where it went, its outcome and why.
    const entries: NewDeliveryLogEntry[] = []
    const reported: SettledJob[] = []
    for (const { job, error, subs: routed } of settled) {
      const outcome = outcomeOf(error instanceof DeliveryNote ? null : error, job.attempts + 1)
      const event = job.payload as SpecEvent
      const subs = routed ?? this.d.subscriptions.filter((s) => takes(s, event))
      reported.push({ job, error, outcome, subscriptions: subs })
      const actions = [...new Set(subs.map((s) => s.action.id))]
      const missed = subs.length === 0 ? missesOf(this.d.subscriptions, event) : []
      entries.push(
        deliveryLogEntry({ destinationId: this.d.id, job, actions, missed, error, outcome, at: now }),
      )
      switch (outcome.kind) {
        case 'delivered':
          delivered.push(job.id)
          break
        case 'retry':
          await this.persist(() =>
            this.deps.queue.retry(job.id, outcome.at, outcome.reason, outcome.spendAttempt),
          )
          break
        case 'failed':
          await this.persist(() => this.deps.queue.fail(job.id, outcome.reason))
          break
        case 'parked': {
          parked.set(outcome.reason, [...(parked.get(outcome.reason) ?? []), job.id])
          if (error instanceof AppError && error.kind === ERROR_KINDS.authFailed) {
            this.pauseForAuth(error)
          }
          break
        }
      }
    }
    if (delivered.length > 0) {
      await this.persist(() => this.deps.queue.complete(delivered))
    }
    for (const [reason, ids] of parked) {
      await this.persist(() => this.deps.queue.park(ids, reason))
    }
    try {
      this.deps.deliveryLog?.add(entries)
    } catch (err) {
      this.deps.log.warn({ err, destination: this.d.id }, 'could not write the delivery log')
    }
    try {
      this.deps.onSettled?.(reported)
    } catch (err) {
      this.deps.log.warn({ err, destination: this.d.id }, 'could not record activation data')
    }
  }

  /**
   * Writes a settlement to the queue, again and again while the queue cannot take it (a database
   * outage): the outcome is known, and delivery goes on from it once the write succeeds instead
   * of waiting for the jobs' leases to run out. Gives up only when `stop()` cancels the work
   * (the leases then bring the jobs back).
   */
  private async persist(write: () => Promise<void>): Promise<void> {
    for (let failures = 1; ; failures++) {
      try {
        return await write()
      } catch (err) {
        if (this.cancel.signal.aborted) {
          throw err
        }
        this.deps.log.warn(
          { err, destination: this.d.id, failures },
          'could not record a settlement in the queue; trying again',
        )
        await this.deps.sleep(Math.min(250 * 2 ** failures, 5_000), this.cancel.signal)
      }
    }
  }

  private pauseForAuth(error: AppError): void {
    if ((error as { api?: unknown }).api === 'sell') {
      this.pauseSell(error)
      return
    }
    if (this.authPausedSince !== null) {
      return
    }
    this.authPausedSince = this.deps.clock.now()
    this.authError = error
    // The first probe waits a whole interval: the credentials were refused just now.
    this.lastProbe = this.authPausedSince
    this.deps.log.error(
      { destination: this.d.id, code: error.code },
      'Zendesk refused the credentials: destination paused, its jobs are parked until the credentials work',
    )
  }

  private pauseSell(error: AppError): void {
    if (this.sellPause !== null) {
      return
    }
    // The first probe waits a whole interval: the token was refused just now.
    this.sellPause = { error, lastProbe: this.deps.clock.now() }
    this.deps.log.error(
      { destination: this.d.id, code: error.code },
      'Zendesk Sell refused the Sell token: Sell deliveries paused, their jobs are parked until the token works; Support deliveries go on',
    )
  }

  private async probeSellAuth(): Promise<void> {
    const pause = this.sellPause
    const now = this.deps.clock.now()
    if (pause === null || now - pause.lastProbe < this.opts.authProbeMs) {
      return
    }
    pause.lastProbe = now
    const zendesk = this.d.zendesk
    const ok = zendesk.testSellConnection ? await zendesk.testSellConnection().catch(() => false) : false
    if (ok) {
      this.sellPause = null
      const n = await this.deps.queue.unpark(this.d.id)
      this.deps.log.info(
        { destination: this.d.id, unparked: n },
        'the Zendesk Sell token works again: Sell deliveries resumed',
      )
    }
  }

  private async probeAuth(): Promise<void> {
    const now = this.deps.clock.now()
    if (now - this.lastProbe < this.opts.authProbeMs) {
      return
    }
    this.lastProbe = now
    const ok = await this.d.zendesk.testConnection().catch(() => false)
    if (ok) {
      this.authPausedSince = null
      this.authError = null
      this.nextPollAt = -Infinity
      this.wakePoller()
      const n = await this.deps.queue.unpark(this.d.id)
      this.deps.log.info(
        { destination: this.d.id, unparked: n },
        'Zendesk credentials work again: destination resumed',
      )
    }
  }
}
