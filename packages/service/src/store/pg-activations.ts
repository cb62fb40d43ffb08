/**
 * The activation store (store/activations.ts: what it keeps and its bounds) in PostgreSQL, tables
 * of db/migrations/pg/0002_audience_activations.sql. Every node writes to the same tables, so the
 * counts add up what the whole cluster delivered, and a mirror sync sees every member whichever
 * node delivered it (and whichever node takes the snapshot's requests).
 *
 * - `record` is one transaction. A settlement's entries are summed in memory first (one counter
 *   row per audience, one reason row per reason, the last state of each member), then written
 *   with `unnest` arrays, in key order so that concurrent writers cannot deadlock.
 * - The counter rows are written first: their row locks queue the writers of one audience, so the
 *   bound on distinct exclusion reasons holds across nodes.
 * - Counters are bigint (read back as numbers); times are epoch ms from the service's clock.
 * - Text sorts byte-wise (`COLLATE "C"`), as in SQLite, so both backends list alike.
 */
import { withTransaction, type PgClient, type PgPool } from '../db/pg.js'
import {
  addToSums,
  cut,
  MAX_REASONS,
  OTHER_REASONS,
  PENDING_STATUS,
  summaryOfRow,
  type ActivationEntry,
  type ActivationStore,
  type CountSums,
  type Member,
} from './activations.js'

const UPSERT_COUNTS = `
  INSERT INTO activation_counts AS c
    (destination_id, activation_id, audience_id, received, activated, excluded, failed, realized,
     existing, exited, last_error, last_error_at, updated_at)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[],
                       $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::text[],
                       $12::bigint[], $13::bigint[])
  ON CONFLICT (destination_id, activation_id, audience_id) DO UPDATE SET
    received = c.received + excluded.received,
    activated = c.activated + excluded.activated,
    excluded = c.excluded + excluded.excluded,
    failed = c.failed + excluded.failed,
    realized = c.realized + excluded.realized,
    existing = c.existing + excluded.existing,
    exited = c.exited + excluded.exited,
    -- The newest error wins, whichever node wrote it first.
    last_error = CASE WHEN excluded.last_error_at IS NOT NULL
                       AND (c.last_error_at IS NULL OR excluded.last_error_at >= c.last_error_at)
                      THEN excluded.last_error ELSE c.last_error END,
    last_error_at = GREATEST(c.last_error_at, excluded.last_error_at),
    updated_at = GREATEST(c.updated_at, excluded.updated_at)`

const REASONS_OF = `
  SELECT reason FROM activation_excluded_reasons
  WHERE destination_id = $1 AND activation_id = $2 AND audience_id = $3`

const ADD_REASONS = `
  INSERT INTO activation_excluded_reasons AS r (destination_id, activation_id, audience_id, reason, count)
  SELECT $1, $2, $3, x.reason, x.n FROM unnest($4::text[], $5::bigint[]) AS x(reason, n)
  ORDER BY x.reason COLLATE "C"
  ON CONFLICT (destination_id, activation_id, audience_id, reason)
    DO UPDATE SET count = r.count + excluded.count`

const PUT_MEMBERS = `
  INSERT INTO audience_members (destination_id, audience_id, person_key, user_id, email, attributes, status, at)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::json[],
                       $7::text[], $8::bigint[])
  ON CONFLICT (destination_id, audience_id, person_key) DO UPDATE SET
    user_id = excluded.user_id, email = excluded.email, attributes = excluded.attributes,
    status = excluded.status, at = excluded.at`

const DROP_MEMBERS = `
  DELETE FROM audience_members m
  USING unnest($1::text[], $2::text[], $3::text[]) AS x(d, u, p)
  WHERE m.destination_id = x.d AND m.audience_id = x.u AND m.person_key = x.p`

/** A settled excluded/failed profile: the person's row goes if it is still only pending. */
const DROP_PENDING = `
  DELETE FROM audience_members m
  USING unnest($1::text[], $2::text[], $3::text[]) AS x(d, u, p)
  WHERE m.destination_id = x.d AND m.audience_id = x.u AND m.person_key = x.p
    AND m.status = '${PENDING_STATUS}'`

/** Accepted, not delivered: a pending row, unless the person already has one. */
const PUT_PENDING = `
  INSERT INTO audience_members (destination_id, audience_id, person_key, user_id, email, attributes, status, at)
  SELECT x.d, x.u, x.p, x.uid, x.e, x.a, '${PENDING_STATUS}', x.t
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::json[], $7::bigint[])
    AS x(d, u, p, uid, e, a, t)
  ORDER BY x.d COLLATE "C", x.u COLLATE "C", x.p COLLATE "C"
  ON CONFLICT (destination_id, audience_id, person_key) DO NOTHING`

const COUNTS_OF = `
  SELECT * FROM activation_counts WHERE destination_id = $1
  ORDER BY activation_id COLLATE "C", audience_id COLLATE "C"`

const ALL_REASONS_OF = `
  SELECT activation_id, audience_id, reason, count FROM activation_excluded_reasons
  WHERE destination_id = $1
  ORDER BY count DESC, reason COLLATE "C"`

const MEMBER_COUNTS = `
  SELECT audience_id, count(*) AS n FROM audience_members
  WHERE destination_id = $1 AND status <> '${PENDING_STATUS}' GROUP BY audience_id`

const MARK = `
  INSERT INTO audience_snapshot_marks (snapshot_id, audience_id, person_key)
  SELECT $1, $2, k FROM unnest($3::text[]) AS k
  ORDER BY k COLLATE "C"
  ON CONFLICT DO NOTHING`

const UNSEEN = `
  SELECT person_key, user_id, email, attributes FROM audience_members m
  WHERE m.destination_id = $1 AND m.audience_id = $2 AND NOT EXISTS (
    SELECT 1 FROM audience_snapshot_marks s
    WHERE s.snapshot_id = $3 AND s.audience_id = m.audience_id AND s.person_key = m.person_key)
  ORDER BY person_key COLLATE "C"`

const END_SNAPSHOT = 'DELETE FROM audience_snapshot_marks WHERE snapshot_id = $1'

/** What one settlement adds: summed counters, exclusions per reason, each member's last state. */
interface Tally {
  counts: Map<string, CountSums>
  /** Per audience key, reasons in the order they first came, with their counts. */
  reasons: Map<string, Map<string, number>>
  /** Per (destination, audience, person): the last activated entry. */
  members: Map<string, { entry: ActivationEntry; member: Member }>
}

/** Sorts keys byte-wise, as `COLLATE "C"` does (lock order). */
const byKey = <T>(m: Map<string, T>): [string, T][] =>
  [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

function tally(entries: ActivationEntry[]): Tally {
  const t: Tally = { counts: new Map(), reasons: new Map(), members: new Map() }
  for (const e of entries) {
    const key = addToSums(t.counts, e)
    if (e.outcome === 'excluded') {
      const reasons = t.reasons.get(key) ?? new Map<string, number>()
      t.reasons.set(key, reasons)
      const reason = cut(e.reason ?? 'excluded')
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
    }
    if (e.outcome === 'activated' && e.member) {
      t.members.set(JSON.stringify([e.destinationId, e.audienceId, e.member.personKey]), {
        entry: e,
        member: e.member,
      })
    }
  }
  return t
}

async function writeReasons(c: PgClient, key: string, reasons: Map<string, number>): Promise<void> {
  const [d, a, u] = JSON.parse(key) as [string, string, string]
  const { rows } = await c.query<{ reason: string }>(REASONS_OF, [d, a, u])
  const known = new Set(rows.map((r) => r.reason))
  let distinct = known.size
  // As the SQLite store: a new reason is kept while fewer than MAX_REASONS are; the rest are
  // counted under "other reasons".
  const add = new Map<string, number>()
  for (const [reason, n] of reasons) {
    let as = reason
    if (!known.has(reason)) {
      if (distinct >= MAX_REASONS) {
        as = OTHER_REASONS
      } else {
        known.add(reason)
        distinct += 1
      }
    }
    add.set(as, (add.get(as) ?? 0) + n)
  }
  await c.query(ADD_REASONS, [d, a, u, [...add.keys()], [...add.values()]])
}

export function openPgActivationStore(pool: PgPool): ActivationStore {
  return {
    async record(entries) {
      if (entries.length === 0) {
        return
      }
      const t = tally(entries)
      const counts = byKey(t.counts).map(([, c]) => c)
      const members = byKey(t.members).map(([, m]) => m)
      const puts = members.filter((m) => m.entry.status !== 'exited')
      const drops = members.filter((m) => m.entry.status === 'exited')
      await withTransaction(pool, async (c) => {
        await c.query(UPSERT_COUNTS, [
          counts.map((x) => x.d),
          counts.map((x) => x.a),
          counts.map((x) => x.u),
          counts.map((x) => x.received),
          counts.map((x) => x.activated),
          counts.map((x) => x.excluded),
          counts.map((x) => x.failed),
          counts.map((x) => x.realized),
          counts.map((x) => x.existing),
          counts.map((x) => x.exited),
          counts.map((x) => x.err),
          counts.map((x) => x.errAt),
          counts.map((x) => x.at),
        ])
        for (const [key, reasons] of byKey(t.reasons)) {
          await writeReasons(c, key, reasons)
        }
        const unpend = entries.filter(
          (e) => (e.outcome === 'excluded' || e.outcome === 'failed') && e.member !== null,
        )
        if (unpend.length > 0) {
          await c.query(DROP_PENDING, [
            unpend.map((e) => e.destinationId),
            unpend.map((e) => e.audienceId),
            unpend.map((e) => e.member?.personKey ?? ''),
          ])
        }
        if (puts.length > 0) {
          await c.query(PUT_MEMBERS, [
            puts.map((m) => m.entry.destinationId),
            puts.map((m) => m.entry.audienceId),
            puts.map((m) => m.member.personKey),
            puts.map((m) => m.member.userId),
            puts.map((m) => m.member.email),
            puts.map((m) => JSON.stringify(m.member.attributes)),
            puts.map((m) => m.entry.status),
            puts.map((m) => m.entry.at),
          ])
        }
        if (drops.length > 0) {
          await c.query(DROP_MEMBERS, [
            drops.map((m) => m.entry.destinationId),
            drops.map((m) => m.entry.audienceId),
            drops.map((m) => m.member.personKey),
          ])
        }
      })
    },

    async summary(destinationId) {
      const [counts, reasons, members] = await Promise.all([
        pool.query<Record<string, unknown>>(COUNTS_OF, [destinationId]),
        pool.query<{ activation_id: string; audience_id: string; reason: string; count: string }>(
          ALL_REASONS_OF,
          [destinationId],
        ),
        pool.query<{ audience_id: string; n: string }>(MEMBER_COUNTS, [destinationId]),
      ])
      const membersOf = new Map(members.rows.map((r) => [r.audience_id, Number(r.n)]))
      const reasonsOf = new Map<string, { reason: string; count: number }[]>()
      for (const r of reasons.rows) {
        const key = JSON.stringify([r.activation_id, r.audience_id])
        reasonsOf.set(key, [...(reasonsOf.get(key) ?? []), { reason: r.reason, count: Number(r.count) }])
      }
      return counts.rows.map((r) => {
        const [a, u] = [r.activation_id as string, r.audience_id as string]
        return summaryOfRow(r, reasonsOf.get(JSON.stringify([a, u])) ?? [], membersOf.get(u) ?? 0)
      })
    },

    async acceptMembers(entries) {
      if (entries.length > 0) {
        await pool.query(PUT_PENDING, [
          entries.map((e) => e.destinationId),
          entries.map((e) => e.audienceId),
          entries.map((e) => e.member.personKey),
          entries.map((e) => e.member.userId),
          entries.map((e) => e.member.email),
          entries.map((e) => JSON.stringify(e.member.attributes)),
          entries.map((e) => e.at),
        ])
      }
    },

    async markSeen(snapshotId, audienceId, personKeys) {
      if (personKeys.length > 0) {
        await pool.query(MARK, [snapshotId, audienceId, personKeys])
      }
    },

    async unseenMembers(destinationId, audienceId, snapshotId) {
      const { rows } = await pool.query<{
        person_key: string
        user_id: string | null
        email: string | null
        attributes: Record<string, unknown>
      }>(UNSEEN, [destinationId, audienceId, snapshotId])
      return rows.map((r) => ({
        personKey: r.person_key,
        userId: r.user_id,
        email: r.email,
        attributes: r.attributes,
      }))
    },

    async endSnapshot(snapshotId) {
      await pool.query(END_SNAPSHOT, [snapshotId])
    },
  }
}
