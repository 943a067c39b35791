#pragma once

// What a valid execution is, and the text form of its status in storage: shared by every
// ExecutionStore implementation so they reject and store exactly the same things.

#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "flowmonkey/v1/execution.pb.h"

namespace flowmonkey {

inline constexpr int64_t kDefaultExecutionTimeoutMs = 24LL * 60 * 60 * 1000;
inline constexpr int64_t kDefaultWaitTimeoutMs = 7LL * 24 * 60 * 60 * 1000;
inline constexpr int64_t kDefaultIdempotencyWindowMs = 24LL * 60 * 60 * 1000;

// Every field of an execution sent for Create/Save/Update; the message names the field.
absl::Status ValidateExecution(const v1::Execution& execution);
absl::Status ValidateExpectedVersion(const std::optional<int64_t>& expected_version);

// "pending", "running", ... as stored; nullopt for UNSPECIFIED or unknown values.
std::optional<std::string_view> ExecutionStatusName(v1::ExecutionStatus status);
// UNSPECIFIED for an unknown name.
v1::ExecutionStatus ExecutionStatusFromName(std::string_view name);
absl::Status ValidateExecutionStatus(v1::ExecutionStatus status, absl::string_view field);

std::optional<std::string_view> CancellationSourceName(v1::CancellationSource source);
v1::CancellationSource CancellationSourceFromName(std::string_view name);

// A whole Save request (execution required, expected_version if set) and a Get request:
// what every implementation checks, once, at the entry of its stack.
absl::Status ValidateSaveExecution(const v1::SaveExecutionRequest& request);
absl::Status ValidateGetExecution(const v1::GetExecutionRequest& request);
// Create (execution required; idempotency_window_ms a duration if set), Update (execution
// required; expected_version >= 1 if set), Delete (execution_id).
absl::Status ValidateCreateExecution(const v1::CreateExecutionRequest& request);
absl::Status ValidateUpdateExecution(const v1::UpdateExecutionRequest& request);
absl::Status ValidateDeleteExecution(const v1::DeleteExecutionRequest& request);
// execution_id and owner of a lease; ReleaseLock adds a non-negative fencing_token.
absl::Status ValidateLease(absl::string_view execution_id, absl::string_view owner);
absl::Status ValidateReleaseLock(const v1::ReleaseLockRequest& request);

}  // namespace flowmonkey
