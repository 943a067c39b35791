#pragma once

// The writes that a store method and a transaction (PgTransactions, Transactions.Commit)
// share. Each runs one request that passed its core validator, with the owning store's
// statements, inside a transaction the caller owns: the store runs it alone (autocommit, see
// RunAlone), a commit runs several in one pqxx::work. Each is defined in its store's file,
// next to the SQL it runs, and needs that store's statements registered on the pool (the
// store's constructor does it; ReleaseLockIn needs RegisterLockStatements too).
//
// They return the store method's status codes and never commit nor abort `tx`; a failed
// statement throws (pqxx::sql_error), after which `tx` can only be rolled back.

#include <pqxx/nontransaction>
#include <pqxx/transaction_base>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "flowmonkey/v1/context.pb.h"
#include "flowmonkey/v1/event.pb.h"
#include "flowmonkey/v1/execution.pb.h"
#include "flowmonkey/v1/job.pb.h"
#include "flowmonkey/v1/resume_token.pb.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

using Tx = pqxx::transaction_base;

// Executions (execution_store.cc, execution_locks.cc).
absl::StatusOr<v1::CreateExecutionResponse> CreateExecutionIn(
    Session& s, Tx& tx, const v1::CreateExecutionRequest& request);
absl::StatusOr<v1::SaveExecutionResponse> SaveExecutionIn(Session& s, Tx& tx,
                                                          const v1::SaveExecutionRequest& request);
absl::StatusOr<v1::UpdateExecutionResponse> UpdateExecutionIn(
    Session& s, Tx& tx, const v1::UpdateExecutionRequest& request);
absl::StatusOr<v1::DeleteExecutionResponse> DeleteExecutionIn(
    Session& s, Tx& tx, const v1::DeleteExecutionRequest& request);
absl::StatusOr<v1::ReleaseLockResponse> ReleaseLockIn(Session& s, Tx& tx,
                                                      const v1::ReleaseLockRequest& request);
// The lease statements, registered lazily by the store's lease calls.
void RegisterLockStatements(ConnectionPool& pool);

// Events (event_store.cc): a non-empty batch without request_id.
absl::StatusOr<v1::RecordEventBatchResponse> RecordEventsIn(
    Session& s, Tx& tx, const v1::RecordEventBatchRequest& request);

// Jobs (job_store.cc).
absl::StatusOr<v1::CreateJobResponse> CreateJobIn(Session& s, Tx& tx,
                                                  const v1::CreateJobRequest& request);
absl::StatusOr<v1::CompleteJobResponse> CompleteJobIn(Session& s, Tx& tx,
                                                      const v1::CompleteJobRequest& request);
absl::StatusOr<v1::FailJobResponse> FailJobIn(Session& s, Tx& tx,
                                              const v1::FailJobRequest& request);
absl::StatusOr<v1::CancelJobResponse> CancelJobIn(Session& s, Tx& tx,
                                                  const v1::CancelJobRequest& request);

// Resume tokens (resume_token_store.cc). With a request_id, a repeat of the request issues
// the token it stored under a new value (GenerateResumeTokenRequest.request_id).
absl::StatusOr<v1::GenerateResumeTokenResponse> GenerateResumeTokenIn(
    Session& s, Tx& tx, const v1::GenerateResumeTokenRequest& request);
absl::StatusOr<v1::MarkResumeTokenUsedResponse> MarkResumeTokenUsedIn(
    Session& s, Tx& tx, const v1::MarkResumeTokenUsedRequest& request);
absl::StatusOr<v1::RevokeResumeTokenResponse> RevokeResumeTokenIn(
    Session& s, Tx& tx, const v1::RevokeResumeTokenRequest& request);

// Context values (context_storage.cc). `summary` is what ValidateContextValue returned; the
// value's text is moved to the driver.
absl::StatusOr<v1::ContextReference> SetContextIn(Session& s, Tx& tx, v1::ContextValue&& value,
                                                  std::string summary);
absl::StatusOr<v1::DeleteContextResponse> DeleteContextIn(Session& s, Tx& tx,
                                                          const v1::DeleteContextRequest& request);

// Runs one of the above alone, in autocommit, on a pooled connection.
template <typename Response, typename Request>
absl::StatusOr<Response> RunAlone(ConnectionPool& pool, std::string_view what,
                                  absl::StatusOr<Response> (*in)(Session&, Tx&, const Request&),
                                  const Request& request) {
  return pool.Run<Response>(what, [&](Session& s) -> absl::StatusOr<Response> {
    pqxx::nontransaction tx(s.connection());
    return in(s, tx, request);
  });
}

}  // namespace flowmonkey::pg
