-- Transactions.Commit request ids (docs/adr/0010-transactions.md): a commit sent with a
-- request_id is remembered with its response, inserted in the commit's own transaction, so
-- that a retry (after an UNKNOWN outcome) answers with the first response instead of
-- committing twice. fingerprint is the SHA-256 of the request without its request_id: a
-- different request under the same id is ALREADY_EXISTS. response is the serialized
-- CommitResponse without resume token values (only their hashes are stored). The
-- maintenance pass deletes rows past expires_at (24 h after the commit).
CREATE TABLE {fm_}commit_requests (
  request_id TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  response BYTEA NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX idx_{fm_}commit_requests_expiry ON {fm_}commit_requests (expires_at);
