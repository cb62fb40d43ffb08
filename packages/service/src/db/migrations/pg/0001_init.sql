-- The queue and the persisted destination state on PostgreSQL (docs/adr/0005-postgresql.md).
-- Times are epoch milliseconds from the service's clock (bigint), as in the SQLite schema, so
-- that every node and every test compares them the same way.

-- Jobs: one per (event, destination); the state machine is in queue/queue.ts.
CREATE TABLE jobs (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- never reused: orders enqueues
  destination_id text    NOT NULL,
  ordering_key   text    NOT NULL,
  dedupe_key     text,
  payload        json    NOT NULL,  -- json, not jsonb: kept as received (jsonb refuses \u0000)
  state          text    NOT NULL CHECK (state IN ('ready', 'leased', 'done', 'dead', 'parked')),
  attempts       integer NOT NULL DEFAULT 0,
  available_at   bigint  NOT NULL,
  leased_until   bigint,
  last_error     text,
  created_at     bigint  NOT NULL,
  updated_at     bigint  NOT NULL
);
-- The claim scan (ready jobs of a destination in id order), list() and counts().
CREATE INDEX jobs_by_state ON jobs (destination_id, state, id);
-- What blocks a person's later jobs by state: leased and parked jobs (few: in flight or paused).
-- Ready jobs waiting for a retry time block too; the claim scan meets those on its way.
CREATE INDEX jobs_blockers ON jobs (destination_id, ordering_key, id) WHERE state IN ('leased', 'parked');
CREATE INDEX jobs_leases ON jobs (leased_until) WHERE state = 'leased';
CREATE INDEX jobs_finished ON jobs (updated_at) WHERE state IN ('done', 'dead');

-- Dedupe keys (messageIds) per destination, for the dedupe window from their first enqueue.
CREATE TABLE dedupe (
  destination_id text   NOT NULL,
  dedupe_key     text   NOT NULL,
  seen_at        bigint NOT NULL,
  PRIMARY KEY (destination_id, dedupe_key)
);
CREATE INDEX dedupe_by_age ON dedupe (seen_at);

-- The backlog (jobs ready, leased or parked) as 16 counters that add up: each transaction
-- updates the slot of its connection, so concurrent enqueues and completions on several
-- connections seldom wait for one another on a single hot row.
CREATE TABLE queue_totals (
  slot    smallint PRIMARY KEY CHECK (slot BETWEEN 0 AND 15),
  backlog bigint   NOT NULL
);
INSERT INTO queue_totals (slot, backlog) SELECT s, 0 FROM generate_series(0, 15) AS s;

-- The delivery log: one row per settlement (store/delivery-log.ts).
CREATE TABLE delivery_log (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  destination_id text    NOT NULL,
  job_id         bigint  NOT NULL,
  message_id     text,
  type           text,
  event          text,
  actions        json    NOT NULL,
  outcome        text    NOT NULL,
  reason         text,
  attempt        integer NOT NULL,
  at             bigint  NOT NULL
);
CREATE INDEX delivery_log_job ON delivery_log (job_id);
CREATE INDEX delivery_log_message ON delivery_log (message_id);
CREATE INDEX delivery_log_destination_at ON delivery_log (destination_id, at);
CREATE INDEX delivery_log_at ON delivery_log (at);

-- Events refused at ingest, for the operator (store/rejected-events.ts).
CREATE TABLE rejected_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source_id   text    NOT NULL,
  received_at text    NOT NULL,
  idx         integer NOT NULL,
  reasons     json    NOT NULL,
  event       text    NOT NULL
);

-- The latest rotated OAuth pair of each destination (store/oauth-tokens.ts).
CREATE TABLE oauth_tokens (
  destination_id            text   PRIMARY KEY,
  access_token              text   NOT NULL,
  refresh_token             text   NOT NULL,
  access_expires_at         bigint,
  refresh_expires_at        bigint,
  configured_refresh_sha256 text   NOT NULL,
  rotated_at                bigint NOT NULL
);

-- What `perform` actions remember between deliveries (store/pg-action-memory.ts).
CREATE TABLE action_memory (
  destination_id text   NOT NULL,
  action_id      text   NOT NULL,
  key            text   NOT NULL,
  value          text   NOT NULL,
  updated_at     bigint NOT NULL,
  PRIMARY KEY (destination_id, action_id, key)
);
