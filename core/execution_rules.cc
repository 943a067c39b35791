#include "core/execution_rules.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/validation.h"

namespace flowmonkey {
namespace {

constexpr std::array<std::pair<v1::ExecutionStatus, std::string_view>, 7> kExecutionStatusNames = {{
    {v1::EXECUTION_STATUS_PENDING, "pending"},
    {v1::EXECUTION_STATUS_RUNNING, "running"},
    {v1::EXECUTION_STATUS_WAITING, "waiting"},
    {v1::EXECUTION_STATUS_CANCELLING, "cancelling"},
    {v1::EXECUTION_STATUS_CANCELLED, "cancelled"},
    {v1::EXECUTION_STATUS_COMPLETED, "completed"},
    {v1::EXECUTION_STATUS_FAILED, "failed"},
}};

constexpr std::array<std::pair<v1::CancellationSource, std::string_view>, 4> kSourceNames = {{
    {v1::CANCELLATION_SOURCE_USER, "user"},
    {v1::CANCELLATION_SOURCE_TIMEOUT, "timeout"},
    {v1::CANCELLATION_SOURCE_PARENT, "parent"},
    {v1::CANCELLATION_SOURCE_SYSTEM, "system"},
}};

absl::Status ValidateError(const v1::ExecutionError& error) {
  if (auto s = ValidateText(error.code(), "execution.error.code", kMaxIdBytes); !s.ok()) return s;
  if (auto s = ValidateText(error.message(), "execution.error.message", 64 * 1024); !s.ok()) {
    return s;
  }
  if (auto s = ValidateOptionalId(error.step_id(), "execution.error.step_id"); !s.ok()) return s;
  if (auto s = ValidateJson(error.details_json(), "execution.error.details_json", JsonKind::kAny);
      !s.ok()) {
    return s;
  }
  return ValidateTimestamp(error.timestamp(), "execution.error.timestamp");
}

absl::Status ValidateCancellation(const v1::Cancellation& c) {
  if (!CancellationSourceName(c.source())) {
    return absl::InvalidArgumentError("execution.cancellation.source: must be specified");
  }
  if (auto s = ValidateText(c.reason(), "execution.cancellation.reason"); !s.ok()) return s;
  return ValidateTimestamp(c.cancelled_at(), "execution.cancellation.cancelled_at");
}

absl::Status ValidateTimeouts(const v1::TimeoutConfig& t) {
  if (t.has_execution_timeout_ms()) {
    if (auto s = ValidateDuration(t.execution_timeout_ms(),
                                  "execution.timeout_config.execution_timeout_ms");
        !s.ok()) {
      return s;
    }
  }
  if (t.has_wait_timeout_ms()) {
    return ValidateDuration(t.wait_timeout_ms(), "execution.timeout_config.wait_timeout_ms");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateExecution(const v1::Execution& e) {
  const std::pair<absl::string_view, absl::string_view> ids[] = {
      {e.id(), "execution.id"},
      {e.flow_id(), "execution.flow_id"},
      {e.flow_version(), "execution.flow_version"},
      {e.current_step_id(), "execution.current_step_id"},
  };
  for (const auto& [value, field] : ids) {
    if (auto s = ValidateId(value, field); !s.ok()) return s;
  }
  if (auto s = ValidateExecutionStatus(e.status(), "execution.status"); !s.ok()) return s;
  if (auto s = ValidateJson(e.context_json(), "execution.context_json", JsonKind::kObject);
      !s.ok()) {
    return s;
  }
  if (auto s = ValidateJson(e.history_json(), "execution.history_json", JsonKind::kArray);
      !s.ok()) {
    return s;
  }
  if (auto s = ValidateJson(e.metadata_json(), "execution.metadata_json", JsonKind::kObject);
      !s.ok()) {
    return s;
  }
  if (e.has_tenant_id()) {
    if (auto s = ValidateId(e.tenant_id(), "execution.tenant_id"); !s.ok()) return s;
  }
  if (e.has_idempotency_key()) {
    if (auto s = ValidateId(e.idempotency_key(), "execution.idempotency_key"); !s.ok()) return s;
  }
  if (e.has_parent_execution_id()) {
    if (auto s = ValidateId(e.parent_execution_id(), "execution.parent_execution_id"); !s.ok()) {
      return s;
    }
  }
  if (e.has_wait_reason()) {
    if (auto s = ValidateText(e.wait_reason(), "execution.wait_reason"); !s.ok()) return s;
  }
  const std::pair<int64_t, absl::string_view> times[] = {
      {e.wake_at(), "execution.wake_at"},
      {e.created_at(), "execution.created_at"},
      {e.updated_at(), "execution.updated_at"},
      {e.idempotency_expires_at(), "execution.idempotency_expires_at"},
      {e.wait_started_at(), "execution.wait_started_at"},
  };
  for (const auto& [value, field] : times) {
    if (auto s = ValidateTimestamp(value, field); !s.ok()) return s;
  }
  if (auto s = ValidateNonNegative(e.step_count(), "execution.step_count"); !s.ok()) return s;
  if (e.has_error()) {
    if (auto s = ValidateError(e.error()); !s.ok()) return s;
  }
  if (e.has_cancellation()) {
    if (auto s = ValidateCancellation(e.cancellation()); !s.ok()) return s;
  }
  if (auto s = ValidateTimeouts(e.timeout_config()); !s.ok()) return s;
  for (const auto& [step, attempts] : e.retry_attempts()) {
    if (auto s = ValidateId(step, "execution.retry_attempts key"); !s.ok()) return s;
    if (attempts < 0) {
      return absl::InvalidArgumentError("execution.retry_attempts: counts must not be negative");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateExpectedVersion(const std::optional<int64_t>& expected_version) {
  if (expected_version && *expected_version < 0) {
    return absl::InvalidArgumentError("expected_version: must not be negative");
  }
  return absl::OkStatus();
}

std::optional<std::string_view> ExecutionStatusName(v1::ExecutionStatus status) {
  for (const auto& [value, name] : kExecutionStatusNames) {
    if (value == status) return name;
  }
  return std::nullopt;
}

v1::ExecutionStatus ExecutionStatusFromName(std::string_view name) {
  for (const auto& [value, n] : kExecutionStatusNames) {
    if (n == name) return value;
  }
  return v1::EXECUTION_STATUS_UNSPECIFIED;
}

absl::Status ValidateExecutionStatus(v1::ExecutionStatus status, absl::string_view field) {
  if (ExecutionStatusName(status)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": must be a specified ExecutionStatus (got ", static_cast<int>(status), ")"));
}

std::optional<std::string_view> CancellationSourceName(v1::CancellationSource source) {
  for (const auto& [value, name] : kSourceNames) {
    if (value == source) return name;
  }
  return std::nullopt;
}

v1::CancellationSource CancellationSourceFromName(std::string_view name) {
  for (const auto& [value, n] : kSourceNames) {
    if (n == name) return value;
  }
  return v1::CANCELLATION_SOURCE_UNSPECIFIED;
}

absl::Status ValidateSaveExecution(const v1::SaveExecutionRequest& request) {
  if (!request.has_execution()) return absl::InvalidArgumentError("execution: required");
  if (auto s = ValidateExecution(request.execution()); !s.ok()) return s;
  return ValidateExpectedVersion(
      request.has_expected_version() ? std::optional(request.expected_version()) : std::nullopt);
}

absl::Status ValidateGetExecution(const v1::GetExecutionRequest& request) {
  return ValidateId(request.execution_id(), "execution_id");
}

absl::Status ValidateCreateExecution(const v1::CreateExecutionRequest& request) {
  if (!request.has_execution()) return absl::InvalidArgumentError("execution: required");
  if (auto s = ValidateExecution(request.execution()); !s.ok()) return s;
  if (!request.has_idempotency_window_ms()) return absl::OkStatus();
  return ValidateDuration(request.idempotency_window_ms(), "idempotency_window_ms");
}

absl::Status ValidateUpdateExecution(const v1::UpdateExecutionRequest& request) {
  if (!request.has_execution()) return absl::InvalidArgumentError("execution: required");
  if (request.has_expected_version() && request.expected_version() == 0) {
    return absl::InvalidArgumentError("expected_version: Update needs an existing version (>= 1)");
  }
  if (auto s = ValidateExecution(request.execution()); !s.ok()) return s;
  if (!request.has_expected_version()) return absl::OkStatus();
  return ValidateExpectedVersion(request.expected_version());
}

absl::Status ValidateDeleteExecution(const v1::DeleteExecutionRequest& request) {
  return ValidateId(request.execution_id(), "execution_id");
}

absl::Status ValidateLease(absl::string_view execution_id, absl::string_view owner) {
  if (auto s = ValidateId(execution_id, "execution_id"); !s.ok()) return s;
  return ValidateId(owner, "owner");
}

absl::Status ValidateReleaseLock(const v1::ReleaseLockRequest& request) {
  if (auto s = ValidateLease(request.execution_id(), request.owner()); !s.ok()) return s;
  return ValidateNonNegative(request.fencing_token(), "fencing_token");
}

}  // namespace flowmonkey
