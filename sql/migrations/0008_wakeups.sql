-- Wake-up delivery (ExecutionStore.ClaimWakeups / AckWakeups / WatchWakeups,
-- docs/adr/0015-wakeups.md). A wake-up is identified by the value it is for: the wake_at,
-- or the wait's deadline (wait_deadline_at), that was due. Acknowledging one records that
-- value; a claim leases the row until wake_lease_until (ms). Saving an execution never
-- writes these columns, so another wake_at or a new wait is a new wake-up by itself.
-- Nullable columns without defaults: no table rewrite, a brief ACCESS EXCLUSIVE lock.
ALTER TABLE {fm_}executions
  ADD COLUMN wake_acked_at    BIGINT,
  ADD COLUMN wait_acked_at    BIGINT,
  ADD COLUMN wake_lease_until BIGINT;
