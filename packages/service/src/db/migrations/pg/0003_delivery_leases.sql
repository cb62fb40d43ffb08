-- Delivery leases (cluster/pg-leases.ts, docs/deployment.md): one row per destination, held by
-- one node at a time until expires_at (epoch ms), renewed by heartbeats; and one row per live node,
-- so that each node takes its fair share of the destinations.
CREATE TABLE IF NOT EXISTS delivery_leases (
  destination_id text PRIMARY KEY,
  holder text NOT NULL,
  expires_at bigint NOT NULL,
  acquired_at bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS cluster_nodes (
  node_id text PRIMARY KEY,
  expires_at bigint NOT NULL,
  started_at bigint NOT NULL
);
