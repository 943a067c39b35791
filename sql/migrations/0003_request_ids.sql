-- Client request ids (docs/adr/0006-in-doubt-writes.md): a write whose outcome is unknown
-- (the connection was lost after it was sent) can be retried with the same request id and
-- answers with the first result instead of writing again. Kept at least 24 h; the
-- maintenance pass forgets older ones.

-- EventStore.Record / RecordBatch: one row per request id, claimed in the statement that
-- inserts the request's events, which carry the id so a retry can answer with them.
CREATE TABLE {fm_}request_ids (
  request_id TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL
);
CREATE INDEX idx_{fm_}request_ids_time ON {fm_}request_ids (created_at);
ALTER TABLE {fm_}events ADD COLUMN request_id TEXT;
CREATE INDEX idx_{fm_}events_request ON {fm_}events (request_id) WHERE request_id IS NOT NULL;

-- ResumeTokens.Generate: at most one token per request id.
ALTER TABLE {fm_}resume_tokens ADD COLUMN request_id TEXT;
CREATE UNIQUE INDEX idx_{fm_}resume_tokens_request ON {fm_}resume_tokens (request_id)
  WHERE request_id IS NOT NULL;
