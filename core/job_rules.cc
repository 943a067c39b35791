#include "core/job_rules.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/digest.h"
#include "core/validation.h"
#include "nlohmann/json.hpp"

namespace flowmonkey {
namespace {

constexpr std::array<std::pair<v1::JobStatus, std::string_view>, 5> kJobStatusNames = {{
    {v1::JOB_STATUS_PENDING, "pending"},
    {v1::JOB_STATUS_RUNNING, "running"},
    {v1::JOB_STATUS_COMPLETED, "completed"},
    {v1::JOB_STATUS_FAILED, "failed"},
    {v1::JOB_STATUS_CANCELLED, "cancelled"},
}};

}  // namespace

std::string NormalizeJson(absl::string_view text) {
  if (text.empty()) return "{}";
  return nlohmann::json::parse(text.begin(), text.end()).dump();
}

std::string DeriveJobId(absl::string_view execution_id, absl::string_view step_id,
                        absl::string_view handler, absl::string_view normalized_input) {
  // A JSON array keeps the parts apart: no choice of ids can make two jobs collide.
  const nlohmann::json parts = {
      std::string(execution_id), std::string(step_id), std::string(handler),
      nlohmann::json::parse(normalized_input.begin(), normalized_input.end())};
  return Sha256Hex(parts.dump());
}

absl::Status ValidateCreateJob(const v1::CreateJobRequest& r) {
  if (auto s = ValidateId(r.execution_id(), "execution_id"); !s.ok()) return s;
  if (auto s = ValidateId(r.step_id(), "step_id"); !s.ok()) return s;
  if (auto s = ValidateId(r.handler(), "handler"); !s.ok()) return s;
  if (auto s = ValidateJson(r.input_json(), "input_json", JsonKind::kAny); !s.ok()) return s;
  if (r.has_max_attempts() && (r.max_attempts() < 1 || r.max_attempts() > kMaxJobMaxAttempts)) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_attempts: must be between 1 and ", kMaxJobMaxAttempts));
  }
  if (r.has_heartbeat_ms() && (r.heartbeat_ms() < 1 || r.heartbeat_ms() > kMaxJobHeartbeatMs)) {
    return absl::InvalidArgumentError(
        absl::StrCat("heartbeat_ms: must be between 1 and ", kMaxJobHeartbeatMs));
  }
  if (r.has_run_at()) {
    if (auto s = ValidateTimestamp(r.run_at(), "run_at"); !s.ok()) return s;
  }
  if (r.has_priority() && (r.priority() < kMinJobPriority || r.priority() > kMaxJobPriority)) {
    return absl::InvalidArgumentError(
        absl::StrCat("priority: must be between ", kMinJobPriority, " and ", kMaxJobPriority));
  }
  if (r.has_retry()) return ValidateRetryPolicy(r.retry(), "retry");
  return absl::OkStatus();
}

absl::Status ValidateRetryPolicy(const v1::RetryPolicy& policy, absl::string_view field) {
  if (auto s =
          ValidateDuration(policy.initial_backoff_ms(), absl::StrCat(field, ".initial_backoff_ms"));
      !s.ok()) {
    return s;
  }
  return ValidateDuration(policy.max_backoff_ms(), absl::StrCat(field, ".max_backoff_ms"),
                          policy.initial_backoff_ms());
}

int64_t JobBackoffCapMs(const v1::RetryPolicy& policy, int32_t attempt) {
  int64_t cap = policy.initial_backoff_ms();
  for (int32_t n = 1; n < attempt && cap < policy.max_backoff_ms(); ++n) cap *= 2;
  return std::min(cap, policy.max_backoff_ms());
}

absl::Status ValidateWorker(absl::string_view job_id, absl::string_view runner_id,
                            absl::string_view instance_id) {
  if (auto s = ValidateId(job_id, "job_id"); !s.ok()) return s;
  if (runner_id.empty() && instance_id.empty()) {
    return absl::InvalidArgumentError("runner_id: required (or instance_id)");
  }
  if (auto s = ValidateOptionalId(runner_id, "runner_id"); !s.ok()) return s;
  return ValidateOptionalId(instance_id, "instance_id");
}

absl::Status ValidateJobError(const v1::JobError& error, absl::string_view field) {
  if (error.code().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".code: required"));
  }
  if (auto s = ValidateText(error.code(), absl::StrCat(field, ".code"), kMaxIdBytes); !s.ok()) {
    return s;
  }
  if (auto s = ValidateText(error.message(), absl::StrCat(field, ".message"), 64 * 1024); !s.ok()) {
    return s;
  }
  return ValidateJson(error.details_json(), absl::StrCat(field, ".details_json"), JsonKind::kAny);
}

absl::Status ValidateJobProgress(const v1::JobProgress& progress, absl::string_view field) {
  if (progress.percent() < 0 || progress.percent() > 100) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".percent: must be between 0 and 100"));
  }
  return ValidateText(progress.message(), absl::StrCat(field, ".message"));
}

absl::Status ValidateResetStalled(const v1::ResetStalledJobsRequest& r) {
  if (r.job_ids().empty() && r.stalled_before() == 0) {
    return absl::InvalidArgumentError("job_ids: required (or stalled_before)");
  }
  if (r.job_ids_size() > kMaxLimit) {
    return absl::InvalidArgumentError(absl::StrCat("job_ids: at most ", kMaxLimit, " ids"));
  }
  for (const std::string& id : r.job_ids()) {
    if (auto s = ValidateId(id, "job_ids"); !s.ok()) return s;
  }
  if (auto s = ValidateNonNegative(r.stalled_before(), "stalled_before"); !s.ok()) return s;
  return EffectiveLimit(r.limit()).status();
}

absl::StatusOr<int32_t> EffectiveMaxJobs(int32_t max_jobs) {
  if (max_jobs == 0) return 1;
  if (max_jobs < 0 || max_jobs > kMaxLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_jobs: must be between 1 and ", kMaxLimit, " (got ", max_jobs, ")"));
  }
  return max_jobs;
}

std::optional<std::string_view> JobStatusName(v1::JobStatus status) {
  for (const auto& [value, name] : kJobStatusNames) {
    if (value == status) return name;
  }
  return std::nullopt;
}

v1::JobStatus JobStatusFromName(std::string_view name) {
  for (const auto& [value, n] : kJobStatusNames) {
    if (n == name) return value;
  }
  return v1::JOB_STATUS_UNSPECIFIED;
}

absl::Status ValidateJobStatus(v1::JobStatus status, absl::string_view field) {
  if (JobStatusName(status)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": must be a specified JobStatus (got ", static_cast<int>(status), ")"));
}

absl::Status ValidateCompleteJob(const v1::CompleteJobRequest& request) {
  if (auto s = ValidateWorker(request.job_id(), request.runner_id(), request.instance_id());
      !s.ok()) {
    return s;
  }
  return ValidateJson(request.result_json(), "result_json", JsonKind::kAny);
}

absl::Status ValidateFailJob(const v1::FailJobRequest& request) {
  if (auto s = ValidateWorker(request.job_id(), request.runner_id(), request.instance_id());
      !s.ok()) {
    return s;
  }
  return ValidateJobError(request.error(), "error");
}

absl::Status ValidateCancelJob(const v1::CancelJobRequest& request) {
  if (auto s = ValidateId(request.job_id(), "job_id"); !s.ok()) return s;
  return ValidateText(request.reason(), "reason");
}

}  // namespace flowmonkey
