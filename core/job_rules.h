#pragma once

// What a valid job request is, how a job's id is derived, and the text form of its status
// in storage: shared by every JobStore implementation so they reject, derive and store
// exactly the same things.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "flowmonkey/v1/job.pb.h"

namespace flowmonkey {

inline constexpr int32_t kDefaultJobMaxAttempts = 3;
inline constexpr int32_t kMaxJobMaxAttempts = 1000;
inline constexpr int32_t kDefaultJobHeartbeatMs = 30'000;
inline constexpr int32_t kMaxJobHeartbeatMs = 24 * 60 * 60 * 1000;
inline constexpr int32_t kMinJobPriority = -1000;
inline constexpr int32_t kMaxJobPriority = 1000;
// The error code ResetStalled records on a job that ran out of attempts.
inline constexpr std::string_view kStalledErrorCode = "STALLED";

// JSON text in canonical form: parsed and dumped again, object keys sorted, no whitespace.
// Empty text is the empty object. `text` must already have passed ValidateJson.
std::string NormalizeJson(absl::string_view text);

// The job id: hex SHA-256 of (execution_id, step_id, handler, normalised input), encoded
// unambiguously. Same logical job → same id.
std::string DeriveJobId(absl::string_view execution_id, absl::string_view step_id,
                        absl::string_view handler, absl::string_view normalized_input);

absl::Status ValidateCreateJob(const v1::CreateJobRequest& request);
// initial_backoff_ms 1..kMaxDurationMs, max_backoff_ms initial_backoff_ms..kMaxDurationMs.
absl::Status ValidateRetryPolicy(const v1::RetryPolicy& policy, absl::string_view field);

// The delay cap after failed attempt `attempt` (1 = the first run) under a valid `policy`:
// min(max_backoff_ms, initial_backoff_ms * 2^(attempt-1)). The backoff a retrying Fail
// applies is uniformly random in [cap / 2, cap] (equal jitter; job.proto). The PostgreSQL
// store computes the same in SQL (server/pg/job_store.cc, kFailRetry).
int64_t JobBackoffCapMs(const v1::RetryPolicy& policy, int32_t attempt);
// job_id, plus the worker naming a fenced write: runner_id and/or instance_id (at least one).
absl::Status ValidateWorker(absl::string_view job_id, absl::string_view runner_id,
                            absl::string_view instance_id);
absl::Status ValidateJobError(const v1::JobError& error, absl::string_view field);
absl::Status ValidateJobProgress(const v1::JobProgress& progress, absl::string_view field);
absl::Status ValidateResetStalled(const v1::ResetStalledJobsRequest& request);
// ClaimNext's max_jobs: 0 → 1; negative or above kMaxLimit → INVALID_ARGUMENT.
absl::StatusOr<int32_t> EffectiveMaxJobs(int32_t max_jobs);

// "pending", "running", ... as stored; nullopt for UNSPECIFIED or unknown values.
std::optional<std::string_view> JobStatusName(v1::JobStatus status);
// UNSPECIFIED for an unknown name.
v1::JobStatus JobStatusFromName(std::string_view name);
absl::Status ValidateJobStatus(v1::JobStatus status, absl::string_view field);

// A whole Complete request: the worker, then result_json.
absl::Status ValidateCompleteJob(const v1::CompleteJobRequest& request);
// Fail: the worker, then the error. Cancel: job_id and the reason text.
absl::Status ValidateFailJob(const v1::FailJobRequest& request);
absl::Status ValidateCancelJob(const v1::CancelJobRequest& request);

}  // namespace flowmonkey
