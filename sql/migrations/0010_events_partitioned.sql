-- Events partitioned by created_at (docs/adr/0017-partitioned-events.md). The parent is
-- PARTITION BY RANGE (created_at); the server creates partitions ahead of time and on
-- demand (server/pg/event_partitions.h) and drops whole ones for retention and DeleteOld.
--
-- The primary key becomes (id, created_at): a partitioned table's unique keys must contain
-- the partition key. Ids still come from the same sequence, which is kept (ids are never
-- reused). The created_at index becomes BRIN: created_at follows insert order, so a BRIN
-- index answers the time filters at a fraction of a B-tree's cost per insert.
--
-- An existing table becomes the first partition, {fm_}events_legacy, covering everything
-- before the first month boundary after both now and its newest created_at. The whole
-- block holds an ACCESS EXCLUSIVE lock on the events table (inserts and queries of events
-- wait; nothing else does) while it builds the (id, created_at) key and a BRIN index and
-- checks the partition bound (one read of the table): measured ~1 s per million events
-- (tests/integration/events_migration_test.cc; docs/operations.md for large tables).
DO $$
DECLARE
  newest BIGINT;
  month_start TIMESTAMP;  -- UTC
  bound BIGINT;
  lo BIGINT;
  hi BIGINT;
BEGIN
  LOCK TABLE {fm_}events IN ACCESS EXCLUSIVE MODE;
  ALTER SEQUENCE {fm_}events_id_seq OWNED BY NONE;
  IF EXISTS (SELECT 1 FROM {fm_}events) THEN
    SELECT max(created_at) INTO newest FROM {fm_}events;
    bound := (extract(epoch FROM date_trunc('month', greatest(now(),
                to_timestamp(newest / 1000.0)) AT TIME ZONE 'UTC') + interval '1 month') * 1000)::BIGINT;
    ALTER TABLE {fm_}events RENAME TO {fm_}events_legacy;
    ALTER TABLE {fm_}events_legacy DROP CONSTRAINT {fm_}events_pkey;
    -- A unique index on (id, created_at) built beforehand with CREATE UNIQUE INDEX
    -- CONCURRENTLY under this name is used as it is (docs/operations.md).
    IF to_regclass('{fm_}events_id_created') IS NOT NULL THEN
      ALTER TABLE {fm_}events_legacy ADD CONSTRAINT {fm_}events_legacy_pkey
        PRIMARY KEY USING INDEX {fm_}events_id_created;
    ELSE
      ALTER TABLE {fm_}events_legacy ADD CONSTRAINT {fm_}events_legacy_pkey
        PRIMARY KEY (id, created_at);
    END IF;
    ALTER INDEX idx_{fm_}events_exec RENAME TO idx_{fm_}events_legacy_exec;
    ALTER INDEX idx_{fm_}events_type RENAME TO idx_{fm_}events_legacy_type;
    ALTER INDEX idx_{fm_}events_request RENAME TO idx_{fm_}events_legacy_request;
    DROP INDEX idx_{fm_}events_time;
    CREATE INDEX idx_{fm_}events_legacy_time ON {fm_}events_legacy USING brin (created_at);
    EXECUTE format('ALTER TABLE {fm_}events_legacy ADD CONSTRAINT {fm_}events_legacy_bound'
                   ' CHECK (created_at < %s)', bound);
  ELSE
    DROP TABLE {fm_}events;
  END IF;

  CREATE TABLE {fm_}events (
    id            BIGINT NOT NULL DEFAULT nextval('{fm_}events_id_seq'),
    execution_id  TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    step_id       TEXT,
    data          JSONB,
    created_at    BIGINT NOT NULL,
    request_id    TEXT,
    CONSTRAINT {fm_}events_pkey PRIMARY KEY (id, created_at)
  ) PARTITION BY RANGE (created_at);
  ALTER SEQUENCE {fm_}events_id_seq OWNED BY {fm_}events.id;
  CREATE INDEX idx_{fm_}events_exec ON {fm_}events (execution_id, id);
  CREATE INDEX idx_{fm_}events_type ON {fm_}events (event_type, id);
  CREATE INDEX idx_{fm_}events_time ON {fm_}events USING brin (created_at);
  CREATE INDEX idx_{fm_}events_request ON {fm_}events (request_id) WHERE request_id IS NOT NULL;

  IF bound IS NOT NULL THEN
    -- The validated CHECK lets ATTACH skip its own read of the table; the indexes match
    -- the parent's, so they are attached, not built.
    EXECUTE format('ALTER TABLE {fm_}events ATTACH PARTITION {fm_}events_legacy'
                   ' FOR VALUES FROM (MINVALUE) TO (%s)', bound);
    ALTER TABLE {fm_}events_legacy DROP CONSTRAINT {fm_}events_legacy_bound;
  ELSE
    -- Last month, this month and the next (UTC), named after their first day, as the
    -- server names them: events can be written before the server's own maintenance runs.
    FOR i IN -1..1 LOOP
      month_start := date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i);
      lo := (extract(epoch FROM month_start) * 1000)::BIGINT;
      hi := (extract(epoch FROM month_start + interval '1 month') * 1000)::BIGINT;
      EXECUTE format('CREATE TABLE {fm_}events_p%s PARTITION OF {fm_}events'
                     ' FOR VALUES FROM (%s) TO (%s)', to_char(month_start, 'YYYYMMDD'), lo, hi);
    END LOOP;
  END IF;
END $$;
