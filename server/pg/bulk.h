#pragma once

// Bulk methods: many calls of one kind in one statement, for group commit
// (server/pg/batching.h). The PostgreSQL stores implement them next to their plain
// methods and own all their SQL; the batching decorators only gather calls and hand them
// over.
//
// The contract of every XxxMany:
// - the requests have already passed their Validate* function (core/*_rules.h,
//   core/event_store.h) and are not validated again;
// - one result per request, in order, as the plain method would have answered it;
// - a status instead of the results when the statement failed as a whole: nothing was
//   written, and the caller may run each request alone (XxxMany of one) so that a bad
//   request fails only itself — unless IsBatchWideFailure (server/pg/errors.h) says the
//   failure is the connection's, which a replay could turn into a double write;
// - a single request runs the plain method's statement (nothing to coalesce).

#include <vector>

#include "absl/status/statusor.h"
#include "flowmonkey/v1/event.pb.h"
#include "flowmonkey/v1/execution.pb.h"
#include "flowmonkey/v1/job.pb.h"
#include "flowmonkey/v1/transaction.pb.h"

namespace flowmonkey::pg {

template <typename Response>
using ManyResults = std::vector<absl::StatusOr<Response>>;

template <typename Request>
using Requests = std::vector<const Request*>;

class BulkExecutionStore {
 public:
  virtual ~BulkExecutionStore() = default;
  // One upsert for every save. No two requests may name the same execution; a request with
  // expected_version (a compare-and-set, which wants its own answer) runs alone.
  virtual absl::StatusOr<ManyResults<v1::SaveExecutionResponse>> SaveMany(
      const Requests<v1::SaveExecutionRequest>& requests) = 0;
  // One `WHERE id = ANY(...)`; the same id may be asked more than once.
  virtual absl::StatusOr<ManyResults<v1::GetExecutionResponse>> GetMany(
      const Requests<v1::GetExecutionRequest>& requests) = 0;
};

class BulkEventStore {
 public:
  virtual ~BulkEventStore() = default;
  // Single events, one insert; ids follow request order.
  virtual absl::StatusOr<ManyResults<v1::RecordEventResponse>> RecordMany(
      const Requests<v1::RecordEventRequest>& requests) = 0;
  // Whole non-empty batches, merged into one insert; each call's events keep their order and
  // get their ids. A request id repeated among the calls: the first call is merged, the
  // repeats run alone after it (and are answered as repeats).
  virtual absl::StatusOr<ManyResults<v1::RecordEventBatchResponse>> RecordBatchMany(
      const Requests<v1::RecordEventBatchRequest>& requests) = 0;
};

class BulkJobStore {
 public:
  virtual ~BulkJobStore() = default;
  // One fenced update for every completion; no two requests may name the same job. A
  // completion the fence turns away is run alone, for the plain method's exact answer.
  virtual absl::StatusOr<ManyResults<v1::CompleteJobResponse>> CompleteMany(
      const Requests<v1::CompleteJobRequest>& requests) = 0;
};

class BulkTransactions {
 public:
  virtual ~BulkTransactions() = default;
  // Whole commits in one transaction, a savepoint each: a commit that fails is rolled back
  // to its savepoint and answered alone; the others commit together. Later commits see the
  // writes of earlier ones, as if run one after the other. No two requests may carry the
  // same request_id.
  virtual absl::StatusOr<ManyResults<v1::CommitResponse>> CommitMany(
      const Requests<v1::CommitRequest>& requests) = 0;
};

}  // namespace flowmonkey::pg
