-- A job failed for good tells its execution: the execution's event log gets a 'job.failed'
-- event (step_id: the job's step; data: jobId, handler, attempts, error), in the
-- transaction that failed the job, whichever way that happened: Fail out of attempts or
-- with permanent=true, a failing Fail of a job with no retry policy, the reaper finding a
-- stalled job out of attempts (error STALLED), a Transactions.Commit. A row trigger that
-- runs only for a status change to 'failed': other job writes pay the WHEN test only.
-- Creates a function and a trigger: no lock beyond a brief one on {fm_}jobs.
CREATE FUNCTION {fm_}jobs_failed_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The events' insert gate (server/pg/event_sql.h), so that Query's horizon waits for it.
  PERFORM pg_advisory_xact_lock_shared(4664, hashtext('{fm_}events'));
  INSERT INTO {fm_}events (execution_id, event_type, step_id, data, created_at)
  VALUES (NEW.execution_id, 'job.failed', NEW.step_id,
          jsonb_build_object('jobId', NEW.id, 'handler', NEW.handler,
                             'attempts', NEW.attempts, 'error', NEW.error),
          NEW.updated_at);
  RETURN NULL;
END
$$;
CREATE TRIGGER {fm_}jobs_failed_event AFTER UPDATE OF status ON {fm_}jobs
  FOR EACH ROW WHEN (NEW.status = 'failed' AND OLD.status IS DISTINCT FROM 'failed')
  EXECUTE FUNCTION {fm_}jobs_failed_event();
