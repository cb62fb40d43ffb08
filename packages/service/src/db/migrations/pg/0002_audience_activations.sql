-- Audience activation data and memberships on PostgreSQL (store/pg-activations.ts;
-- docs/audiences.md), the same three tables as the SQLite store (store/activations.ts), shared by
-- every node: the counts add up what all nodes delivered, and a mirror sync sees every member
-- whichever node delivered it. Times are epoch milliseconds, as in 0001.

-- Counters: one row per (destination, activation, audience), incremented.
CREATE TABLE activation_counts (
  destination_id text   NOT NULL,
  activation_id  text   NOT NULL,
  audience_id    text   NOT NULL,
  received       bigint NOT NULL DEFAULT 0,
  activated      bigint NOT NULL DEFAULT 0,
  excluded       bigint NOT NULL DEFAULT 0,
  failed         bigint NOT NULL DEFAULT 0,
  realized       bigint NOT NULL DEFAULT 0,
  existing       bigint NOT NULL DEFAULT 0,
  exited         bigint NOT NULL DEFAULT 0,
  last_error     text,
  last_error_at  bigint,
  updated_at     bigint NOT NULL,
  PRIMARY KEY (destination_id, activation_id, audience_id)
);

-- Exclusion reasons, counted per reason (a bounded number of distinct reasons per audience).
CREATE TABLE activation_excluded_reasons (
  destination_id text   NOT NULL,
  activation_id  text   NOT NULL,
  audience_id    text   NOT NULL,
  reason         text   NOT NULL,
  count          bigint NOT NULL,
  PRIMARY KEY (destination_id, activation_id, audience_id, reason)
);

-- Members as last delivered: one row per (destination, audience, person).
CREATE TABLE audience_members (
  destination_id text   NOT NULL,
  audience_id    text   NOT NULL,
  person_key     text   NOT NULL,
  user_id        text,
  email          text,
  attributes     json   NOT NULL,
  status         text   NOT NULL,
  at             bigint NOT NULL,
  PRIMARY KEY (destination_id, audience_id, person_key)
);

-- People a mirror sync's snapshot has seen; removed when the snapshot completes.
CREATE TABLE audience_snapshot_marks (
  snapshot_id text NOT NULL,
  audience_id text NOT NULL,
  person_key  text NOT NULL,
  PRIMARY KEY (snapshot_id, audience_id, person_key)
);
