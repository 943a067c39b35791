-- Flow ownership (docs/adr/0005-flow-ownership.md): a flow saved with a tenant API key
-- belongs to that tenant, and only that tenant or an operator key may write it. One row per
-- flow id, for all its versions; a NULL tenant marks a shared flow, writable by operator
-- keys only. Flows saved before this migration are shared. Flows stay readable by everyone.

CREATE TABLE {fm_}flow_owners (
  flow_id    TEXT PRIMARY KEY,
  tenant_id  TEXT,
  claimed_at BIGINT NOT NULL
);

INSERT INTO {fm_}flow_owners (flow_id, tenant_id, claimed_at)
SELECT DISTINCT id, NULL::TEXT, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT
FROM {fm_}flows;
