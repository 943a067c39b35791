#pragma once

// JobStore on PostgreSQL (seed: PgJobStore). Every operation is one statement in
// autocommit, except that a write touching no row is followed by a read that tells
// NOT_FOUND from FAILED_PRECONDITION. Claims lock candidate rows with FOR UPDATE SKIP
// LOCKED, so concurrent claimers never wait on nor share a job.

#include "core/job_store.h"
#include "server/pg/bulk.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

class PgJobStore : public JobStore, public BulkJobStore {
 public:
  // Registers its statements with `pool`, which must outlive the store.
  explicit PgJobStore(ConnectionPool& pool);

  absl::StatusOr<v1::CreateJobResponse> Create(const v1::CreateJobRequest& request) override;
  absl::StatusOr<v1::GetJobResponse> Get(const v1::GetJobRequest& request) override;
  absl::StatusOr<v1::GetJobForStepResponse> GetForStep(
      const v1::GetJobForStepRequest& request) override;
  absl::StatusOr<v1::ClaimJobResponse> Claim(const v1::ClaimJobRequest& request) override;
  absl::StatusOr<v1::ClaimNextJobsResponse> ClaimNext(
      const v1::ClaimNextJobsRequest& request) override;
  absl::StatusOr<v1::ClaimJobWithInstanceResponse> ClaimWithInstance(
      const v1::ClaimJobWithInstanceRequest& request) override;
  absl::StatusOr<v1::HeartbeatJobResponse> Heartbeat(
      const v1::HeartbeatJobRequest& request) override;
  absl::StatusOr<v1::CompleteJobResponse> Complete(const v1::CompleteJobRequest& request) override;
  absl::StatusOr<v1::FailJobResponse> Fail(const v1::FailJobRequest& request) override;
  absl::StatusOr<v1::CancelJobResponse> Cancel(const v1::CancelJobRequest& request) override;
  absl::StatusOr<v1::FindStalledJobsResponse> FindStalled(
      const v1::FindStalledJobsRequest& request) override;
  absl::StatusOr<v1::ResetStalledJobsResponse> ResetStalled(
      const v1::ResetStalledJobsRequest& request) override;
  absl::StatusOr<v1::RetryJobResponse> Retry(const v1::RetryJobRequest& request) override;
  absl::StatusOr<v1::ListJobsByStatusResponse> ListByStatus(
      const v1::ListJobsByStatusRequest& request) override;
  absl::StatusOr<v1::ListJobsByExecutionResponse> ListByExecution(
      const v1::ListJobsByExecutionRequest& request) override;
  absl::StatusOr<v1::SaveJobCheckpointResponse> SaveCheckpoint(
      const v1::SaveJobCheckpointRequest& request) override;
  absl::StatusOr<v1::GetJobCheckpointResponse> GetCheckpoint(
      const v1::GetJobCheckpointRequest& request) override;
  absl::StatusOr<v1::UpdateJobProgressResponse> UpdateProgress(
      const v1::UpdateJobProgressRequest& request) override;
  absl::StatusOr<v1::IsJobInstanceActiveResponse> IsInstanceActive(
      const v1::IsJobInstanceActiveRequest& request) override;
  absl::StatusOr<v1::GetJobInstanceIdResponse> GetInstanceId(
      const v1::GetJobInstanceIdRequest& request) override;
  absl::StatusOr<v1::DeleteOldJobsResponse> DeleteOld(
      const v1::DeleteOldJobsRequest& request) override;
  absl::StatusOr<v1::ReleaseJobsResponse> Release(const v1::ReleaseJobsRequest& request) override;
  // Recurring jobs, in job_schedules.cc.
  absl::StatusOr<v1::SaveJobScheduleResponse> SaveSchedule(
      const v1::SaveJobScheduleRequest& request) override;
  absl::StatusOr<v1::DeleteJobScheduleResponse> DeleteSchedule(
      const v1::DeleteJobScheduleRequest& request) override;
  absl::StatusOr<v1::ListJobSchedulesResponse> ListSchedules(
      const v1::ListJobSchedulesRequest& request) override;

  // Group commit (bulk.h), in job_bulk.cc.
  absl::StatusOr<ManyResults<v1::CompleteJobResponse>> CompleteMany(
      const Requests<v1::CompleteJobRequest>& requests) override;

 private:
  void RegisterBulkStatements();  // job_bulk.cc
  // Complete of a request that passed ValidateCompleteJob.
  absl::StatusOr<v1::CompleteJobResponse> CompleteValid(const v1::CompleteJobRequest& request);
  absl::StatusOr<v1::Job> ClaimOne(const std::string& job_id, const std::string& runner_id,
                                   const std::string& instance_id);
  // Runs a fenced worker write ($1 job, $2 runner, $3 instance, ...); returns the first
  // column of the updated row.
  absl::StatusOr<int64_t> FencedWrite(std::string_view what, const Statement& statement,
                                      const std::string& job_id, const Params& params);

  ConnectionPool& pool_;
};

}  // namespace flowmonkey::pg
