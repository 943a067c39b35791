-- Job scheduling (proto/flowmonkey/v1/job.proto): a job is claimable once run_at has passed,
-- ClaimNext takes the highest priority first and the earliest run_at within a priority, and
-- a job with a retry policy (retry_initial_ms and retry_max_ms, both set or both NULL) goes
-- back to pending on Fail with run_at moved by an exponential backoff with jitter.
--
-- Runs on a live table: the columns are added with constant defaults (no table rewrite).
-- Rows from before this migration keep run_at = 0, which reads as created_at (job_codec.cc)
-- and sorts them, already due, ahead of later jobs of their priority: FIFO as before. A
-- replica from before this migration still works (its claims ORDER BY created_at read
-- idx_jobs_status) but ignores run_at, priority and retries (docs/operations.md).
-- Decisions: docs/adr/0011-job-scheduling.md.
-- The two indexes are built in the migration's transaction, which blocks writes to fm_jobs
-- while they are built (a scan of the pending rows: small in a healthy queue).
ALTER TABLE {fm_}jobs ADD COLUMN run_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE {fm_}jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {fm_}jobs ADD COLUMN retry_initial_ms BIGINT;
ALTER TABLE {fm_}jobs ADD COLUMN retry_max_ms BIGINT;

-- ClaimNext without and with a handler filter reads these in order (priority DESC, run_at)
-- and stops after max_jobs rows; they replace the (created_at) and (handler, created_at)
-- indexes of 0001, which no statement orders by any more.
CREATE INDEX idx_{fm_}jobs_due ON {fm_}jobs (priority DESC, run_at) WHERE status = 'pending';
CREATE INDEX idx_{fm_}jobs_due_handler ON {fm_}jobs (handler, priority DESC, run_at)
  WHERE status = 'pending';
DROP INDEX idx_{fm_}jobs_pending;
DROP INDEX idx_{fm_}jobs_claimable;
