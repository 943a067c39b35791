#pragma once

// The two kinds of step of a commit (PgTransactions), each run inside the commit's
// transaction: checking one condition and applying one operation.

#include <string>

#include "absl/status/status.h"
#include "flowmonkey/v1/transaction.pb.h"
#include "server/pg/operations.h"

namespace flowmonkey::pg {

// Registers the condition statements (the operations use the stores').
void RegisterConditionStatements(ConnectionPool& pool);

// OK when `condition` holds; it then stays true until the transaction ends (its row is
// locked). ABORTED for another execution version, NOT_FOUND for a missing record,
// FAILED_PRECONDITION otherwise.
absl::Status CheckCondition(Session& s, Tx& tx, const v1::Condition& condition);

// Applies a validated operation and sets `result` to what it did. `token_request_id`, when
// not empty, is the request id under which a generate_resume_token operation stores its
// token (so that a replay of the commit can issue it again). A failed statement throws.
absl::Status ApplyOperation(Session& s, Tx& tx, const v1::Operation& op,
                            const std::string& token_request_id, v1::OperationResult& result);

}  // namespace flowmonkey::pg
