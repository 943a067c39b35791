#pragma once

// JobStore over gRPC: the same interface as the PostgreSQL store, served remotely.
// Retried on UNAVAILABLE only where repeating cannot change the outcome: reads, Create (the
// id is derived, so a repeat finds the same job), Cancel, FindStalled, DeleteOld and
// Heartbeat/SaveCheckpoint/UpdateProgress (fenced overwrites). Claims, Complete, Fail and
// ResetStalled are never retried: a lost reply would be repeated against changed state.

#include <grpcpp/grpcpp.h>

#include <memory>

#include "client/call.h"
#include "core/job_store.h"
#include "flowmonkey/v1/job.grpc.pb.h"

namespace flowmonkey::client {

class RemoteJobStore : public JobStore {
 public:
  RemoteJobStore(std::shared_ptr<grpc::Channel> channel, CallOptions options);

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

 private:
  std::unique_ptr<v1::JobStore::Stub> stub_;
  CallOptions options_;
};

}  // namespace flowmonkey::client
