-- New jobs wake the servers that push jobs to workers (JobStore.Work, docs/adr/
-- 0013-work-stream.md): each server LISTENs on the channel '{fm_}jobs' on one dedicated
-- connection. A statement-level trigger, so one notification per inserting statement, and
-- PostgreSQL folds identical notifications of one transaction into one. Jobs that become
-- claimable otherwise (run_at reached, a retry's backoff over, a reset or a release by
-- another server) are found by the servers' polling (--work-poll-ms).
-- Creates a function and a trigger only: no lock beyond a brief one on {fm_}jobs.
CREATE FUNCTION {fm_}jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('{fm_}jobs', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER {fm_}jobs_notify AFTER INSERT ON {fm_}jobs
  FOR EACH STATEMENT EXECUTE FUNCTION {fm_}jobs_notify();
