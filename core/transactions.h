#pragma once

// Transactions: writes of several stores done all or nothing, in one request of conditions
// and operations (docs/adr/0010-transactions.md). Implemented by the PostgreSQL store
// (server/pg/transactions.h) and the gRPC client (generated); both pass
// tests/conformance/transactions_test.cc. The comments of
// proto/flowmonkey/v1/transaction.proto are the contract. No method throws.
//
// Status codes: INVALID_ARGUMENT for a malformed request (the message starts
// "conditions[i]: ", "operations[i]: " or names the field); a condition that does not hold:
// FAILED_PRECONDITION, ABORTED (execution version), NOT_FOUND (its record is missing), with
// "conditions[i]: "; an operation that fails: its RPC's code, with "operations[i]: ";
// ALREADY_EXISTS for a request_id used by a different commit; UNAVAILABLE (nothing was
// written), UNKNOWN (the COMMIT was sent and its outcome is unknown), DEADLINE_EXCEEDED.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "flowmonkey/v1/transaction.pb.h"

namespace flowmonkey {

inline constexpr int kMaxCommitConditions = 100;
inline constexpr int kMaxCommitOperations = 100;
// A context value set in a commit; larger ones go through ContextStorage.Set.
inline constexpr int64_t kMaxCommitContextBytes = 1024 * 1024;

class Transactions {
 public:
  virtual ~Transactions() = default;

  // All of request.operations, if all of request.conditions hold; otherwise nothing.
  virtual absl::StatusOr<v1::CommitResponse> Commit(const v1::CommitRequest& request) = 0;
};

// The whole request, checked before anything runs: the limits, each condition and each
// operation with the validator of the RPC it mirrors (messages prefixed "conditions[i]: " /
// "operations[i]: "), no request_id inside an operation, the commit's request_id.
absl::Status ValidateCommit(const v1::CommitRequest& request);

// `status` with its message prefixed "<list>[<index>]: " ("operations[2]: ...").
absl::Status AtIndex(const absl::Status& status, absl::string_view list, int index);

// What a request_id stands for: hex SHA-256 of the request serialized deterministically,
// without its request_id.
std::string CommitFingerprint(const v1::CommitRequest& request);

}  // namespace flowmonkey
