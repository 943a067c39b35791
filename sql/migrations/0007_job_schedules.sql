-- Recurring jobs (JobStore.SaveSchedule, job.proto JobSchedule): one row per schedule of an
-- execution. The maintenance pass creates each occurrence's job ahead of time (up to two
-- minutes: server/pg/job_schedules.h) and moves next_run_at on; NULL means no further
-- occurrence. A new, empty table: no lock on existing ones beyond the foreign key's.
CREATE TABLE {fm_}job_schedules (
  execution_id      TEXT NOT NULL REFERENCES {fm_}executions (id) ON DELETE CASCADE,
  name              TEXT NOT NULL,
  cron              TEXT NOT NULL,
  time_zone         TEXT NOT NULL,
  handler           TEXT NOT NULL,
  input             JSONB NOT NULL,
  max_attempts      INTEGER,
  heartbeat_ms      INTEGER,
  priority          INTEGER NOT NULL DEFAULT 0,
  retry_initial_ms  BIGINT,
  retry_max_ms      BIGINT,
  next_run_at       BIGINT,
  created_at        BIGINT NOT NULL,
  updated_at        BIGINT NOT NULL,
  PRIMARY KEY (execution_id, name)
);
CREATE INDEX idx_{fm_}job_schedules_due ON {fm_}job_schedules (next_run_at)
  WHERE next_run_at IS NOT NULL;
