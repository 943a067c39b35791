#pragma once

// JobStore: background jobs for stateful handlers (seed: PgJobStore). Implemented by the
// PostgreSQL store (server/pg) and the gRPC client (client/); both pass
// tests/conformance/job_store_test.cc. Requests and responses are the generated messages of
// proto/flowmonkey/v1/job.proto, whose comments are the contract of each method. No method
// throws.
//
// Status codes, beyond those named per method: INVALID_ARGUMENT for malformed input (the
// message names the field), UNAVAILABLE when the database cannot be reached,
// DEADLINE_EXCEEDED. Fenced worker writes (Heartbeat, Complete, Fail, SaveCheckpoint,
// UpdateProgress): FAILED_PRECONDITION unless the job is running for the named
// runner/instance, NOT_FOUND when the job does not exist.

#include "absl/status/statusor.h"
#include "flowmonkey/v1/job.pb.h"

namespace flowmonkey {

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Idempotent; created=false when the same logical job already exists. NOT_FOUND: no such
  // execution.
  virtual absl::StatusOr<v1::CreateJobResponse> Create(const v1::CreateJobRequest& request) = 0;
  virtual absl::StatusOr<v1::GetJobResponse> Get(const v1::GetJobRequest& request) = 0;
  virtual absl::StatusOr<v1::GetJobForStepResponse> GetForStep(
      const v1::GetJobForStepRequest& request) = 0;

  // FAILED_PRECONDITION when the job is not pending or out of attempts.
  virtual absl::StatusOr<v1::ClaimJobResponse> Claim(const v1::ClaimJobRequest& request) = 0;
  // Never hands one job to two callers; may return fewer jobs than asked for.
  virtual absl::StatusOr<v1::ClaimNextJobsResponse> ClaimNext(
      const v1::ClaimNextJobsRequest& request) = 0;
  virtual absl::StatusOr<v1::ClaimJobWithInstanceResponse> ClaimWithInstance(
      const v1::ClaimJobWithInstanceRequest& request) = 0;

  virtual absl::StatusOr<v1::HeartbeatJobResponse> Heartbeat(
      const v1::HeartbeatJobRequest& request) = 0;
  virtual absl::StatusOr<v1::CompleteJobResponse> Complete(
      const v1::CompleteJobRequest& request) = 0;
  virtual absl::StatusOr<v1::FailJobResponse> Fail(const v1::FailJobRequest& request) = 0;
  // FAILED_PRECONDITION when completed/failed; cancelled=false when already cancelled.
  virtual absl::StatusOr<v1::CancelJobResponse> Cancel(const v1::CancelJobRequest& request) = 0;

  virtual absl::StatusOr<v1::FindStalledJobsResponse> FindStalled(
      const v1::FindStalledJobsRequest& request) = 0;
  virtual absl::StatusOr<v1::ResetStalledJobsResponse> ResetStalled(
      const v1::ResetStalledJobsRequest& request) = 0;
  // A failed job back to pending with attempts 0; FAILED_PRECONDITION unless failed.
  virtual absl::StatusOr<v1::RetryJobResponse> Retry(const v1::RetryJobRequest& request) = 0;
  virtual absl::StatusOr<v1::ListJobsByStatusResponse> ListByStatus(
      const v1::ListJobsByStatusRequest& request) = 0;
  virtual absl::StatusOr<v1::ListJobsByExecutionResponse> ListByExecution(
      const v1::ListJobsByExecutionRequest& request) = 0;

  virtual absl::StatusOr<v1::SaveJobCheckpointResponse> SaveCheckpoint(
      const v1::SaveJobCheckpointRequest& request) = 0;
  virtual absl::StatusOr<v1::GetJobCheckpointResponse> GetCheckpoint(
      const v1::GetJobCheckpointRequest& request) = 0;
  virtual absl::StatusOr<v1::UpdateJobProgressResponse> UpdateProgress(
      const v1::UpdateJobProgressRequest& request) = 0;
  virtual absl::StatusOr<v1::IsJobInstanceActiveResponse> IsInstanceActive(
      const v1::IsJobInstanceActiveRequest& request) = 0;
  virtual absl::StatusOr<v1::GetJobInstanceIdResponse> GetInstanceId(
      const v1::GetJobInstanceIdRequest& request) = 0;

  virtual absl::StatusOr<v1::DeleteOldJobsResponse> DeleteOld(
      const v1::DeleteOldJobsRequest& request) = 0;
  // Recurring jobs (job.proto, JobSchedule).
  virtual absl::StatusOr<v1::SaveJobScheduleResponse> SaveSchedule(
      const v1::SaveJobScheduleRequest& request) = 0;
  virtual absl::StatusOr<v1::DeleteJobScheduleResponse> DeleteSchedule(
      const v1::DeleteJobScheduleRequest& request) = 0;
  virtual absl::StatusOr<v1::ListJobSchedulesResponse> ListSchedules(
      const v1::ListJobSchedulesRequest& request) = 0;

  // Fenced by instance: only jobs still running as the given instance go back to pending,
  // their attempt not counted.
  virtual absl::StatusOr<v1::ReleaseJobsResponse> Release(
      const v1::ReleaseJobsRequest& request) = 0;
};

}  // namespace flowmonkey
