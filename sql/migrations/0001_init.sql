-- FlowMonkey Store schema, version 1: the seed's {fm_} schema, what the upstream package grew
-- (context storage, locks, job checkpoint/progress, flow status/tags/visual) and our
-- additive columns. "{fm_}" is the table prefix; the server substitutes its --table-prefix.

CREATE TABLE {fm_}executions (
  id                     TEXT PRIMARY KEY,
  flow_id                TEXT NOT NULL,
  flow_version           TEXT NOT NULL,
  current_step           TEXT NOT NULL,
  status                 TEXT NOT NULL,
  context                JSONB NOT NULL DEFAULT '{}',
  wake_at                BIGINT,
  wait_reason            TEXT,
  error                  JSONB,
  step_count             INTEGER NOT NULL DEFAULT 0,
  history                JSONB,
  tenant_id              TEXT,
  metadata               JSONB,
  created_at             BIGINT NOT NULL,
  updated_at             BIGINT NOT NULL,
  idempotency_key        TEXT,
  idempotency_expires_at BIGINT,
  cancellation           JSONB,
  parent_execution_id    TEXT,
  wait_started_at        BIGINT,
  timeout_config         JSONB,
  -- Ours: per-step retry counters, optimistic-concurrency version and the deadlines that
  -- make the timeout queries index range scans (derived, so they can never disagree).
  retry_attempts         JSONB,
  version                BIGINT NOT NULL DEFAULT 1,
  execution_deadline_at  BIGINT GENERATED ALWAYS AS (
      created_at + COALESCE((timeout_config->>'executionTimeoutMs')::BIGINT, 86400000)) STORED,
  wait_deadline_at       BIGINT GENERATED ALWAYS AS (
      wait_started_at + COALESCE((timeout_config->>'waitTimeoutMs')::BIGINT, 604800000)) STORED
);
ALTER TABLE {fm_}executions ALTER COLUMN context SET COMPRESSION lz4;
ALTER TABLE {fm_}executions ALTER COLUMN history SET COMPRESSION lz4;

CREATE INDEX idx_{fm_}exec_status ON {fm_}executions (status, id);
CREATE INDEX idx_{fm_}exec_wake ON {fm_}executions (wake_at)
  WHERE status = 'waiting' AND wake_at IS NOT NULL;
CREATE INDEX idx_{fm_}exec_tenant ON {fm_}executions (tenant_id, id) WHERE tenant_id IS NOT NULL;
CREATE INDEX idx_{fm_}exec_idemp ON {fm_}executions (flow_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX idx_{fm_}exec_parent ON {fm_}executions (parent_execution_id, id)
  WHERE parent_execution_id IS NOT NULL;
CREATE INDEX idx_{fm_}exec_deadline ON {fm_}executions (execution_deadline_at)
  WHERE status IN ('pending', 'running', 'waiting', 'cancelling');
CREATE INDEX idx_{fm_}exec_wait_deadline ON {fm_}executions (wait_deadline_at)
  WHERE status = 'waiting' AND wait_started_at IS NOT NULL;

-- One live idempotency key per (flow_id, key): the row that makes Create atomic. An expired
-- key is taken over by the next Create; background maintenance deletes expired rows.
CREATE TABLE {fm_}idempotency_keys (
  flow_id         TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  -- Deferred: Create claims the key before it inserts the execution.
  execution_id    TEXT NOT NULL REFERENCES {fm_}executions (id) ON DELETE CASCADE
                  DEFERRABLE INITIALLY DEFERRED,
  expires_at      BIGINT NOT NULL,
  PRIMARY KEY (flow_id, idempotency_key)
);
CREATE INDEX idx_{fm_}idemp_exec ON {fm_}idempotency_keys (execution_id);
CREATE INDEX idx_{fm_}idemp_expires ON {fm_}idempotency_keys (expires_at);

-- Execution leases. The row outlives a release so that fencing tokens only ever grow.
CREATE TABLE {fm_}execution_locks (
  execution_id  TEXT PRIMARY KEY REFERENCES {fm_}executions (id) ON DELETE CASCADE,
  owner         TEXT,
  fencing_token BIGINT NOT NULL DEFAULT 0,
  expires_at    BIGINT NOT NULL DEFAULT 0,
  acquired_at   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE {fm_}flows (
  id          TEXT NOT NULL,
  version     TEXT NOT NULL,
  name        TEXT,
  description TEXT,
  status      TEXT NOT NULL DEFAULT 'published',
  tags        TEXT[] NOT NULL DEFAULT '{}',
  definition  JSONB NOT NULL,
  visual      JSONB,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL DEFAULT 0,
  -- Semantic-version precedence as a sort key: major, minor, patch, and the pre-release
  -- encoded so that its byte order is semver order ('~' for a release, above every
  -- pre-release; core/flow_rules.h PreReleaseSortKey), then the text for equal precedence.
  version_major   BIGINT NOT NULL,
  version_minor   BIGINT NOT NULL,
  version_patch   BIGINT NOT NULL,
  version_pre_key TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (id, version)
);
CREATE INDEX idx_{fm_}flows_semver ON {fm_}flows
  (id, version_major DESC, version_minor DESC, version_patch DESC, version_pre_key DESC,
   version DESC);

CREATE TABLE {fm_}jobs (
  id              TEXT PRIMARY KEY,
  execution_id    TEXT NOT NULL REFERENCES {fm_}executions (id) ON DELETE CASCADE,
  step_id         TEXT NOT NULL,
  handler         TEXT NOT NULL,
  status          TEXT NOT NULL,
  input           JSONB NOT NULL,
  result          JSONB,
  error           JSONB,
  runner_id       TEXT,
  heartbeat_at    BIGINT,
  heartbeat_ms    INTEGER NOT NULL DEFAULT 30000,
  attempts        INTEGER NOT NULL DEFAULT 0,
  max_attempts    INTEGER NOT NULL DEFAULT 3,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  instance_id     TEXT,
  checkpoint      JSONB,
  progress        JSONB
) WITH (fillfactor = 80);

CREATE INDEX idx_{fm_}jobs_status ON {fm_}jobs (status, created_at, id);
CREATE INDEX idx_{fm_}jobs_exec ON {fm_}jobs (execution_id, step_id);
CREATE INDEX idx_{fm_}jobs_claimable ON {fm_}jobs (handler, created_at) WHERE status = 'pending';
CREATE INDEX idx_{fm_}jobs_pending ON {fm_}jobs (created_at) WHERE status = 'pending';
CREATE INDEX idx_{fm_}jobs_stalled ON {fm_}jobs (heartbeat_at) WHERE status = 'running';

CREATE TABLE {fm_}events (
  id            BIGSERIAL PRIMARY KEY,
  execution_id  TEXT NOT NULL,
  event_type    TEXT NOT NULL,
  step_id       TEXT,
  data          JSONB,
  created_at    BIGINT NOT NULL
);
CREATE INDEX idx_{fm_}events_exec ON {fm_}events (execution_id, id);
CREATE INDEX idx_{fm_}events_type ON {fm_}events (event_type, id);
CREATE INDEX idx_{fm_}events_time ON {fm_}events (created_at, id);

-- Only a SHA-256 of each token is stored (hex); the token itself never reaches the database.
CREATE TABLE {fm_}resume_tokens (
  token_hash    TEXT PRIMARY KEY,
  execution_id  TEXT NOT NULL REFERENCES {fm_}executions (id) ON DELETE CASCADE,
  step_id       TEXT NOT NULL,
  status        TEXT NOT NULL,
  metadata      JSONB,
  created_at    BIGINT NOT NULL,
  expires_at    BIGINT NOT NULL,
  used_at       BIGINT,
  revoked_at    BIGINT
);
CREATE INDEX idx_{fm_}tokens_exec ON {fm_}resume_tokens (execution_id);
CREATE INDEX idx_{fm_}tokens_expires ON {fm_}resume_tokens (expires_at) WHERE status = 'pending';

CREATE TABLE {fm_}context (
  execution_id  TEXT NOT NULL REFERENCES {fm_}executions (id) ON DELETE CASCADE,
  key           TEXT NOT NULL,
  value         JSONB NOT NULL,
  summary       TEXT NOT NULL,
  size_bytes    BIGINT NOT NULL,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL,
  PRIMARY KEY (execution_id, key)
);
ALTER TABLE {fm_}context ALTER COLUMN value SET COMPRESSION lz4;
