#pragma once

// The one place that turns what PostgreSQL / libpqxx report into absl::Status, keyed by
// SQLSTATE. SQL text never reaches a client; the SQLSTATE and message are logged here.

#include <exception>
#include <string_view>

#include "absl/status/status.h"

namespace flowmonkey::pg {

// 23505 → ALREADY_EXISTS, 23503 → NOT_FOUND (referenced row missing), 40001/40P01 → ABORTED,
// 08xxx/57P0x/53300 → UNAVAILABLE, 22xxx/2200x/23514 → INVALID_ARGUMENT, 57014 →
// DEADLINE_EXCEEDED, 54xxx → RESOURCE_EXHAUSTED, anything else → INTERNAL.
absl::Status StatusFromSqlState(std::string_view sqlstate, std::string_view what);

// What may have reached the server when an error was thrown, to tell "never ran" from
// "outcome unknown" (ADR 0006).
enum class Sent {
  // Nothing that can have committed: no statement, reads only, or writes inside a
  // transaction block whose COMMIT was not sent (PostgreSQL rolls those back).
  kNothingCommitted,
  // A write that commits on its own (autocommit) was sent.
  kWrite,
};

// Maps an exception thrown while running `what` (pqxx::broken_connection, pqxx::sql_error,
// pqxx::in_doubt_error, anything else) and logs it. A lost connection is UNAVAILABLE
// ("never ran; retry") only when `sent` is kNothingCommitted; after a write was sent, and
// for a lost COMMIT (pqxx::in_doubt_error), it is UNKNOWN ("outcome unknown: the write may
// have committed").
absl::Status StatusFromException(const std::exception& error, std::string_view what,
                                 Sent sent = Sent::kNothingCommitted);

// True when a failed batch statement's outcome is shared by every item in it: the database
// is down (UNAVAILABLE), or the outcome is unknown (UNKNOWN: connection lost after the
// statement or its COMMIT was sent), so
// replaying the items one by one could apply them twice. Other failures may be one item's
// fault, and nothing was written: the items are then replayed alone.
inline bool IsBatchWideFailure(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kUnknown;
}

// True for errors after which the connection must not be reused.
bool IsConnectionLoss(const std::exception& error);

}  // namespace flowmonkey::pg
