#pragma once

// A builder of one Transactions.Commit: conditions and operations added in order, sent as
// one request, applied all or nothing (proto/flowmonkey/v1/transaction.proto).
//
//   auto committed = flowmonkey::client::Transaction(*stores.transactions)
//                        .IfTokenPending(token)
//                        .MarkResumeTokenUsed(token)
//                        .SaveExecution(execution, /*expected_version=*/7)
//                        .RecordEvents({resumed})
//                        .Commit();
//   // committed->results(1).save_execution().version() is the new version.
//
// It works over any Transactions (the remote client, which fills request_id for its
// retries, or the PostgreSQL store in process). Nothing is checked before Commit: the
// answer of a malformed commit is INVALID_ARGUMENT naming "operations[i]" or "conditions[i]".

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/transactions.h"

namespace flowmonkey::client {

class Transaction {
 public:
  // `transactions` must outlive the builder.
  explicit Transaction(Transactions& transactions) : transactions_(transactions) {}

  // Conditions (Condition in transaction.proto).
  Transaction& IfVersion(const std::string& execution_id, int64_t version);
  Transaction& IfAbsent(const std::string& execution_id);
  Transaction& IfJobRunning(const std::string& job_id, const std::string& runner_id,
                            const std::string& instance_id = "");
  Transaction& IfTokenPending(const std::string& token);
  Transaction& IfLeaseHeld(const std::string& execution_id, const std::string& owner,
                           int64_t fencing_token);

  // Operations, each as the RPC of the same name; results come back at the same index.
  Transaction& CreateExecution(const v1::Execution& execution);
  Transaction& SaveExecution(const v1::Execution& execution,
                             std::optional<int64_t> expected_version = std::nullopt);
  Transaction& UpdateExecution(const v1::Execution& execution,
                               std::optional<int64_t> expected_version = std::nullopt);
  Transaction& DeleteExecution(const std::string& execution_id);
  Transaction& RecordEvents(const std::vector<v1::Event>& events);
  Transaction& CreateJob(const v1::CreateJobRequest& job);
  Transaction& CompleteJob(const v1::CompleteJobRequest& completion);
  Transaction& FailJob(const v1::FailJobRequest& failure);
  Transaction& CancelJob(const std::string& job_id, const std::string& reason = "");
  Transaction& GenerateResumeToken(const v1::GenerateResumeTokenRequest& token);
  Transaction& MarkResumeTokenUsed(const std::string& token);
  Transaction& RevokeResumeToken(const std::string& token);
  Transaction& SetContext(const std::string& execution_id, const std::string& key,
                          const std::string& value_json);
  Transaction& DeleteContext(const std::string& execution_id, const std::string& key);
  Transaction& ReleaseLock(const std::string& execution_id, const std::string& owner,
                           int64_t fencing_token);

  // The commit's request id (the remote client sets a fresh one when none is given).
  Transaction& WithRequestId(const std::string& request_id);

  const v1::CommitRequest& request() const { return request_; }
  // Sends the commit; one result per operation, in the order they were added.
  absl::StatusOr<v1::CommitResponse> Commit() const { return transactions_.Commit(request_); }

 private:
  Transactions& transactions_;
  v1::CommitRequest request_;
};

}  // namespace flowmonkey::client
