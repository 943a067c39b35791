#pragma once

// Transactions on PostgreSQL: a commit's conditions and operations in one pqxx::work on one
// pooled connection. Conditions read their rows FOR UPDATE, so what they checked still holds
// at COMMIT; operations are the stores' own writes (operations.h), run in request order. The
// commit is answered only after COMMIT; a COMMIT whose outcome is lost is UNKNOWN (ADR 0006).
// With a request_id the commit first claims a row of fm_commit_requests (a concurrent commit
// with the same id waits for it), and stores its response there before COMMIT. Concurrent
// commits can share one transaction (CommitMany, for group commit): each runs under its own
// savepoint, so one that fails rolls back alone, and one COMMIT makes the others durable.

#include "core/transactions.h"
#include "server/pg/bulk.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

class PgTransactions : public Transactions, public BulkTransactions {
 public:
  // Uses the statements of the PostgreSQL stores: they must be built on the same `pool`
  // (StoreStack does), which must outlive this.
  explicit PgTransactions(ConnectionPool& pool);

  absl::StatusOr<v1::CommitResponse> Commit(const v1::CommitRequest& request) override;
  // Group commit (bulk.h): one transaction, a savepoint per commit.
  absl::StatusOr<ManyResults<v1::CommitResponse>> CommitMany(
      const Requests<v1::CommitRequest>& requests) override;

 private:
  // Commit of a request that passed ValidateCommit.
  absl::StatusOr<v1::CommitResponse> CommitValid(const v1::CommitRequest& request);

  ConnectionPool& pool_;
};

}  // namespace flowmonkey::pg
