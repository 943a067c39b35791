#pragma once

// ContextStorage: large context values kept apart from the execution record (seed:
// PgContextStorage). Implemented by the PostgreSQL store (server/pg) and the gRPC client
// (client/); both pass tests/conformance/context_storage_test.cc. The interface deals in
// whole values; only the RPC adapter and the remote client cut them into chunks. The
// proto comments of proto/flowmonkey/v1/context.proto are the contract. No method throws.
//
// Status codes: INVALID_ARGUMENT for malformed input (the message names the field),
// NOT_FOUND (unknown execution on Set, unknown value on Get), RESOURCE_EXHAUSTED (value
// over the maximum), UNAVAILABLE, DEADLINE_EXCEEDED.

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "flowmonkey/v1/context.pb.h"

namespace flowmonkey {

inline constexpr int64_t kDefaultMaxContextBytes = 64LL * 1024 * 1024;
// jsonb holds at most 256 MiB; the server refuses a larger configured maximum.
inline constexpr int64_t kMaxContextBytesLimit = 256LL * 1024 * 1024;
inline constexpr size_t kContextChunkBytes = 1024 * 1024;
inline constexpr size_t kContextSummaryChars = 200;

class ContextStorage {
 public:
  virtual ~ContextStorage() = default;

  // Stores or overwrites value.value_json under (execution_id, key).
  virtual absl::StatusOr<v1::ContextReference> Set(const v1::ContextValue& value) = 0;
  // Set, unless still_wanted() answers false just before the value would be committed:
  // then nothing is stored (the previous value stays) and the answer is CANCELLED. The
  // gRPC adapter passes "the call was not cancelled", so a stream that failed while the
  // value was written is never acknowledged nor stored. The default checks before Set;
  // the PostgreSQL store checks inside its transaction, after the write, before COMMIT.
  // The value is taken by value so that a large one can be moved, not copied, to the
  // database driver.
  virtual absl::StatusOr<v1::ContextReference> SetUnlessCancelled(
      v1::ContextValue value,  // NOLINT(performance-unnecessary-value-param): see above
      absl::FunctionRef<bool()> still_wanted) {
    if (!still_wanted()) return absl::CancelledError("the call ended before the value was stored");
    return Set(value);
  }
  // The value with its reference; NOT_FOUND when absent.
  virtual absl::StatusOr<v1::ContextValue> Get(const v1::GetContextRequest& request) = 0;
  virtual absl::StatusOr<v1::DeleteContextResponse> Delete(
      const v1::DeleteContextRequest& request) = 0;
  virtual absl::StatusOr<v1::ListContextResponse> List(const v1::ListContextRequest& request) = 0;
  virtual absl::StatusOr<v1::ClearExecutionContextResponse> ClearExecution(
      const v1::ClearExecutionContextRequest& request) = 0;
};

// "storage://<execution_id>/<key>"
std::string ContextRef(absl::string_view execution_id, absl::string_view key);
// The summary of a valid JSON value (see ContextReference.summary in context.proto).
std::string ContextSummary(absl::string_view value_json);
// Checks execution_id, key and the JSON text (size limit: RESOURCE_EXHAUSTED; must parse,
// nest at most kMaxJsonDepth deep, no \u0000) and returns the value's summary.
absl::StatusOr<std::string> ValidateContextValue(const v1::ContextValue& value, int64_t max_bytes);
// execution_id and key of one value (Get, Delete).
absl::Status ValidateContextKey(absl::string_view execution_id, absl::string_view key);

}  // namespace flowmonkey
