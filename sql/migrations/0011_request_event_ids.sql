-- A client request id of EventStore.Record / RecordBatch keeps the ids of the events it wrote
-- (docs/adr/0021-request-ids-keep-event-ids.md). Until now each of those events carried the
-- request id itself: a batch of 100 events wrote the id 100 times and added 100 entries to
-- idx_{fm_}events_request, and forgetting the request id 24 h later rewrote all 100 rows.
-- Now the request id is written once, with its events' ids, and the events carry none.
-- Events written before this migration keep theirs until the maintenance pass forgets them
-- (at most 24 h); a retry finds those through idx_{fm_}events_request as before.
-- Adds a nullable column: a brief ACCESS EXCLUSIVE lock on {fm_}request_ids, no rewrite.
ALTER TABLE {fm_}request_ids ADD COLUMN event_ids BIGINT[];
