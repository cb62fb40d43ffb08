/**
 * Activation data and audience membership (docs/audiences.md): per destination, activation and
 * audience, how many profiles were received, activated, excluded (with the reasons) and failed
 * (with the last error); and which people are members now, for mirror syncs.
 *
 * `ActivationStore` is the interface the service uses (db/open-backend.ts opens it with the other
 * stores); `openSqliteActivationStore` keeps it in the service's SQLite database
 * (`zendesk-destination.sqlite`), and store/pg-activations.ts in PostgreSQL (several nodes) over
 * the same tables (db/migrations/pg/0002). The contract suite (activations.contract.ts) runs
 * against both.
 *
 * - Counters are one row per (destination, activation, audience): increments, so the store stays
 *   small whatever the traffic. Exclusion reasons are counted per reason (at most
 *   `MAX_REASONS` distinct reasons per audience; more are counted under "other reasons").
 * - Members are one row per (destination, audience, person): the identities and attributes last
 *   delivered, so that a mirror sync can send an exit for a member the snapshot lacks. A person
 *   whose realized/existing profile was accepted but not yet delivered is a row of status
 *   `pending` (`acceptMembers`, at ingest): a mirror counts it as a member, the `members` count
 *   does not; its job settling activated makes it a member, excluded or failed removes it.
 * - Snapshot marks are one row per (snapshot, audience, person) seen by a mirror sync; they go
 *   when the snapshot completes.
 */
import type Database from 'better-sqlite3'

export const ACTIVATION_OUTCOMES = ['activated', 'excluded', 'failed'] as const
export type ActivationOutcome = (typeof ACTIVATION_OUTCOMES)[number]

/** A member as remembered: enough to send it an exit later. */
export interface Member {
  personKey: string
  userId: string | null
  email: string | null
  attributes: Record<string, unknown>
}

/** One profile's final result for one audience of an activation. */
export interface ActivationEntry {
  destinationId: string
  activationId: string
  audienceId: string
  /** The first time this profile's job settled (counted as received). */
  received: boolean
  /** Null while the job is retried (only received counts then). */
  outcome: ActivationOutcome | null
  /** realized, existing or exited. */
  status: string
  /** Excluded: why; failed: the error. */
  reason: string | null
  /**
   * Activated: the member as delivered (status realized/existing adds it, exited removes it).
   * Excluded or failed: the person, whose `pending` row (if still pending) goes.
   */
  member: Member | null
  /** Epoch ms. */
  at: number
}

/** A person accepted into an audience of a destination (realized or existing), not delivered yet. */
export interface AcceptedMember {
  destinationId: string
  audienceId: string
  member: Member
  /** Epoch ms. */
  at: number
}

/** The `status` of a member row whose profile is accepted but not delivered yet. */
export const PENDING_STATUS = 'pending'

export interface ActivationSummary {
  activationId: string
  audienceId: string
  received: number
  activated: number
  excluded: number
  failed: number
  /** Activated profiles by the status written. */
  statuses: { realized: number; existing: number; exited: number }
  /** Most frequent first. */
  excludedReasons: { reason: string; count: number }[]
  lastError: { message: string; time: string } | null
  /** People who are members now (as last delivered). */
  members: number
  /** ISO 8601; null before anything settled. */
  updatedAt: string | null
}

/** Asynchronous, so that a PostgreSQL implementation fits the same interface. */
export interface ActivationStore {
  record(entries: ActivationEntry[]): Promise<void>
  /** Every audience of the destination's activations that has data, by activation then audience. */
  summary(destinationId: string): Promise<ActivationSummary[]>
  /**
   * Remembers people whose realized/existing profile was just accepted (before delivery), so that
   * a mirror completing before their delivery still knows them; a person already remembered is
   * left as is.
   */
  acceptMembers(entries: AcceptedMember[]): Promise<void>
  /** Marks people as members in a mirror snapshot. */
  markSeen(snapshotId: string, audienceId: string, personKeys: string[]): Promise<void>
  /** The destination's members of the audience that the snapshot did not mark. */
  unseenMembers(destinationId: string, audienceId: string, snapshotId: string): Promise<Member[]>
  /** Forgets a completed snapshot's marks. */
  endSnapshot(snapshotId: string): Promise<void>
}

export const MAX_REASONS = 50
const MAX_REASON_CHARS = 500
/** Where exclusions beyond `MAX_REASONS` distinct reasons are counted. */
export const OTHER_REASONS = 'other reasons'
const OTHER = OTHER_REASONS

/** A reason as stored: at most `MAX_REASON_CHARS` characters. */
export function cut(s: string): string {
  return s.length > MAX_REASON_CHARS ? `${s.slice(0, MAX_REASON_CHARS - 1)}…` : s
}

/**
 * One counter row's increments from a settlement, under the named parameters of the SQLite upsert:
 * both backends sum a settlement's entries per (destination, activation, audience) first.
 */
export interface CountSums {
  d: string
  a: string
  u: string
  received: number
  activated: number
  excluded: number
  failed: number
  realized: number
  existing: number
  exited: number
  err: string | null
  errAt: number | null
  at: number
}

/** Adds `e` to its audience's sums in `sums` (created at zero); returns the audience's key. */
export function addToSums(sums: Map<string, CountSums>, e: ActivationEntry): string {
  const key = JSON.stringify([e.destinationId, e.activationId, e.audienceId])
  let sum = sums.get(key)
  if (!sum) {
    sum = {
      d: e.destinationId,
      a: e.activationId,
      u: e.audienceId,
      received: 0,
      activated: 0,
      excluded: 0,
      failed: 0,
      realized: 0,
      existing: 0,
      exited: 0,
      err: null,
      errAt: null,
      at: e.at,
    }
    sums.set(key, sum)
  }
  const activated = e.outcome === 'activated'
  const failed = e.outcome === 'failed'
  sum.received += e.received ? 1 : 0
  sum.activated += activated ? 1 : 0
  sum.excluded += e.outcome === 'excluded' ? 1 : 0
  sum.failed += failed ? 1 : 0
  sum.realized += activated && e.status === 'realized' ? 1 : 0
  sum.existing += activated && e.status === 'existing' ? 1 : 0
  sum.exited += activated && e.status === 'exited' ? 1 : 0
  sum.at = Math.max(sum.at, e.at)
  // A failure, or a park (no outcome yet): its error is the last error.
  if (e.reason !== null && (failed || e.outcome === null)) {
    sum.err = cut(e.reason)
    sum.errAt = e.at
  }
  return key
}

/**
 * A row of `activation_counts` as the summary shows it, with its exclusion reasons and member
 * count (numbers as SQLite gives them, or PostgreSQL's bigints as strings).
 */
export function summaryOfRow(
  r: Record<string, unknown>,
  excludedReasons: { reason: string; count: number }[],
  members: number,
): ActivationSummary {
  return {
    activationId: r.activation_id as string,
    audienceId: r.audience_id as string,
    received: Number(r.received),
    activated: Number(r.activated),
    excluded: Number(r.excluded),
    failed: Number(r.failed),
    statuses: { realized: Number(r.realized), existing: Number(r.existing), exited: Number(r.exited) },
    excludedReasons,
    lastError:
      typeof r.last_error === 'string'
        ? { message: r.last_error, time: new Date(Number(r.last_error_at)).toISOString() }
        : null,
    members,
    updatedAt: new Date(Number(r.updated_at)).toISOString(),
  }
}

/** Runs a synchronous SQLite step as the interface's promise (a throw becomes a rejection). */
function settle<T>(step: () => T): Promise<T> {
  try {
    return Promise.resolve(step())
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)))
  }
}

export function openSqliteActivationStore(db: Database.Database): ActivationStore {
  db.exec(`CREATE TABLE IF NOT EXISTS activation_counts (
    destination_id TEXT NOT NULL,
    activation_id TEXT NOT NULL,
    audience_id TEXT NOT NULL,
    received INTEGER NOT NULL DEFAULT 0,
    activated INTEGER NOT NULL DEFAULT 0,
    excluded INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    realized INTEGER NOT NULL DEFAULT 0,
    existing INTEGER NOT NULL DEFAULT 0,
    exited INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_error_at INTEGER,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (destination_id, activation_id, audience_id)
  );
  CREATE TABLE IF NOT EXISTS activation_excluded_reasons (
    destination_id TEXT NOT NULL,
    activation_id TEXT NOT NULL,
    audience_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (destination_id, activation_id, audience_id, reason)
  );
  CREATE TABLE IF NOT EXISTS audience_members (
    destination_id TEXT NOT NULL,
    audience_id TEXT NOT NULL,
    person_key TEXT NOT NULL,
    user_id TEXT,
    email TEXT,
    attributes TEXT NOT NULL,
    status TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (destination_id, audience_id, person_key)
  );
  CREATE TABLE IF NOT EXISTS audience_snapshot_marks (
    snapshot_id TEXT NOT NULL,
    audience_id TEXT NOT NULL,
    person_key TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, audience_id, person_key)
  )`)
  const upsertCounts = db.prepare(`INSERT INTO activation_counts
    (destination_id, activation_id, audience_id, received, activated, excluded, failed, realized, existing, exited, last_error, last_error_at, updated_at)
    VALUES (@d, @a, @u, @received, @activated, @excluded, @failed, @realized, @existing, @exited, @err, @errAt, @at)
    ON CONFLICT (destination_id, activation_id, audience_id) DO UPDATE SET
      received = received + excluded.received,
      activated = activated + excluded.activated,
      excluded = activation_counts.excluded + excluded.excluded,
      failed = failed + excluded.failed,
      realized = realized + excluded.realized,
      existing = existing + excluded.existing,
      exited = exited + excluded.exited,
      last_error = COALESCE(excluded.last_error, last_error),
      last_error_at = COALESCE(excluded.last_error_at, last_error_at),
      updated_at = excluded.updated_at`)
  const reasonCount = db.prepare(
    'SELECT COUNT(*) AS n FROM activation_excluded_reasons WHERE destination_id = ? AND activation_id = ? AND audience_id = ?',
  )
  const reasonExists = db.prepare(
    'SELECT 1 FROM activation_excluded_reasons WHERE destination_id = ? AND activation_id = ? AND audience_id = ? AND reason = ?',
  )
  const addReason =
    db.prepare(`INSERT INTO activation_excluded_reasons (destination_id, activation_id, audience_id, reason, count)
    VALUES (?, ?, ?, ?, 1)
    ON CONFLICT (destination_id, activation_id, audience_id, reason) DO UPDATE SET count = count + 1`)
  const putMember =
    db.prepare(`INSERT INTO audience_members (destination_id, audience_id, person_key, user_id, email, attributes, status, at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (destination_id, audience_id, person_key) DO UPDATE SET
      user_id = excluded.user_id, email = excluded.email, attributes = excluded.attributes,
      status = excluded.status, at = excluded.at`)
  const dropMember = db.prepare(
    'DELETE FROM audience_members WHERE destination_id = ? AND audience_id = ? AND person_key = ?',
  )
  const dropPending = db.prepare(
    `DELETE FROM audience_members WHERE destination_id = ? AND audience_id = ? AND person_key = ? AND status = '${PENDING_STATUS}'`,
  )
  const putPending =
    db.prepare(`INSERT INTO audience_members (destination_id, audience_id, person_key, user_id, email, attributes, status, at)
    VALUES (?, ?, ?, ?, ?, ?, '${PENDING_STATUS}', ?)
    ON CONFLICT (destination_id, audience_id, person_key) DO NOTHING`)
  const putPendingAll = db.transaction((entries: AcceptedMember[]) => {
    for (const e of entries) {
      putPending.run(
        e.destinationId,
        e.audienceId,
        e.member.personKey,
        e.member.userId,
        e.member.email,
        JSON.stringify(e.member.attributes),
        e.at,
      )
    }
  })
  // Counters are summed per audience first: a settlement of many profiles is one row update each.
  const write = db.transaction((entries: ActivationEntry[]) => {
    const sums = new Map<string, CountSums>()
    for (const e of entries) {
      addToSums(sums, e)
      if (e.outcome === 'excluded') {
        let reason = cut(e.reason ?? 'excluded')
        const k = [e.destinationId, e.activationId, e.audienceId] as const
        if (!reasonExists.get(...k, reason) && (reasonCount.get(...k) as { n: number }).n >= MAX_REASONS) {
          reason = OTHER
        }
        addReason.run(...k, reason)
      }
      if ((e.outcome === 'excluded' || e.outcome === 'failed') && e.member) {
        dropPending.run(e.destinationId, e.audienceId, e.member.personKey)
      }
      if (e.outcome === 'activated' && e.member) {
        if (e.status === 'exited') {
          dropMember.run(e.destinationId, e.audienceId, e.member.personKey)
        } else {
          putMember.run(
            e.destinationId,
            e.audienceId,
            e.member.personKey,
            e.member.userId,
            e.member.email,
            JSON.stringify(e.member.attributes),
            e.status,
            e.at,
          )
        }
      }
    }
    for (const sum of sums.values()) {
      upsertCounts.run(sum)
    }
  })
  const countsOf = db.prepare(
    'SELECT * FROM activation_counts WHERE destination_id = ? ORDER BY activation_id, audience_id',
  )
  const reasonsOf = db.prepare(
    'SELECT reason, count FROM activation_excluded_reasons WHERE destination_id = ? AND activation_id = ? AND audience_id = ? ORDER BY count DESC, reason',
  )
  const membersOf = db.prepare(
    `SELECT COUNT(*) AS n FROM audience_members WHERE destination_id = ? AND audience_id = ? AND status <> '${PENDING_STATUS}'`,
  )
  const mark = db.prepare(
    'INSERT OR IGNORE INTO audience_snapshot_marks (snapshot_id, audience_id, person_key) VALUES (?, ?, ?)',
  )
  const markAll = db.transaction((snapshotId: string, audienceId: string, keys: string[]) => {
    for (const k of keys) {
      mark.run(snapshotId, audienceId, k)
    }
  })
  const unseen = db.prepare(`SELECT person_key, user_id, email, attributes FROM audience_members m
    WHERE m.destination_id = ? AND m.audience_id = ? AND NOT EXISTS (
      SELECT 1 FROM audience_snapshot_marks s
      WHERE s.snapshot_id = ? AND s.audience_id = m.audience_id AND s.person_key = m.person_key)
    ORDER BY person_key`)
  const clearSnapshot = db.prepare('DELETE FROM audience_snapshot_marks WHERE snapshot_id = ?')

  return {
    record: (entries) =>
      settle(() => {
        if (entries.length > 0) {
          write.immediate(entries)
        }
      }),
    summary: (destinationId) => settle(() => summaryOf(destinationId)),
    acceptMembers: (entries) =>
      settle(() => {
        if (entries.length > 0) {
          putPendingAll.immediate(entries)
        }
      }),
    markSeen: (snapshotId, audienceId, personKeys) =>
      settle(() => {
        if (personKeys.length > 0) {
          markAll.immediate(snapshotId, audienceId, personKeys)
        }
      }),
    unseenMembers: (destinationId, audienceId, snapshotId) =>
      settle(() =>
        (unseen.all(destinationId, audienceId, snapshotId) as Record<string, unknown>[]).map((r) => ({
          personKey: r.person_key as string,
          userId: r.user_id as string | null,
          email: r.email as string | null,
          attributes: JSON.parse(r.attributes as string) as Record<string, unknown>,
        })),
      ),
    endSnapshot: (snapshotId) =>
      settle(() => {
        clearSnapshot.run(snapshotId)
      }),
  }

  function summaryOf(destinationId: string): ActivationSummary[] {
    return (countsOf.all(destinationId) as Record<string, unknown>[]).map((r) => {
      const [a, u] = [r.activation_id as string, r.audience_id as string]
      const reasons = reasonsOf.all(destinationId, a, u) as { reason: string; count: number }[]
      return summaryOfRow(r, reasons, (membersOf.get(destinationId, u) as { n: number }).n)
    })
  }
}
