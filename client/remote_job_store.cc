#include "client/remote_job_store.h"

namespace flowmonkey::client {

RemoteJobStore::RemoteJobStore(std::shared_ptr<grpc::Channel> channel, CallOptions options)
    : stub_(v1::JobStore::NewStub(std::move(channel))), options_(std::move(options)) {}

absl::StatusOr<v1::CreateJobResponse> RemoteJobStore::Create(const v1::CreateJobRequest& request) {
  return UnaryCall<v1::CreateJobRequest, v1::CreateJobResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::CreateJobRequest& r, v1::CreateJobResponse* out) {
        return stub_->Create(c, r, out);
      });
}

absl::StatusOr<v1::GetJobResponse> RemoteJobStore::Get(const v1::GetJobRequest& request) {
  return UnaryCall<v1::GetJobRequest, v1::GetJobResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::GetJobRequest& r, v1::GetJobResponse* out) {
        return stub_->Get(c, r, out);
      });
}

absl::StatusOr<v1::GetJobForStepResponse> RemoteJobStore::GetForStep(
    const v1::GetJobForStepRequest& request) {
  return UnaryCall<v1::GetJobForStepRequest, v1::GetJobForStepResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::GetJobForStepRequest& r,
             v1::GetJobForStepResponse* out) { return stub_->GetForStep(c, r, out); });
}

absl::StatusOr<v1::ClaimJobResponse> RemoteJobStore::Claim(const v1::ClaimJobRequest& request) {
  return UnaryCall<v1::ClaimJobRequest, v1::ClaimJobResponse>(
      options_, Retry::kOnce, request,
      [this](grpc::ClientContext* c, const v1::ClaimJobRequest& r, v1::ClaimJobResponse* out) {
        return stub_->Claim(c, r, out);
      });
}

absl::StatusOr<v1::ClaimNextJobsResponse> RemoteJobStore::ClaimNext(
    const v1::ClaimNextJobsRequest& request) {
  return UnaryCall<v1::ClaimNextJobsRequest, v1::ClaimNextJobsResponse>(
      options_, Retry::kOnce, request,
      [this](grpc::ClientContext* c, const v1::ClaimNextJobsRequest& r,
             v1::ClaimNextJobsResponse* out) { return stub_->ClaimNext(c, r, out); });
}

absl::StatusOr<v1::ClaimJobWithInstanceResponse> RemoteJobStore::ClaimWithInstance(
    const v1::ClaimJobWithInstanceRequest& request) {
  return UnaryCall<v1::ClaimJobWithInstanceRequest, v1::ClaimJobWithInstanceResponse>(
      options_, Retry::kOnce, request,
      [this](grpc::ClientContext* c, const v1::ClaimJobWithInstanceRequest& r,
             v1::ClaimJobWithInstanceResponse* out) {
        return stub_->ClaimWithInstance(c, r, out);
      });
}

absl::StatusOr<v1::HeartbeatJobResponse> RemoteJobStore::Heartbeat(
    const v1::HeartbeatJobRequest& request) {
  return UnaryCall<v1::HeartbeatJobRequest, v1::HeartbeatJobResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::HeartbeatJobRequest& r,
             v1::HeartbeatJobResponse* out) { return stub_->Heartbeat(c, r, out); });
}

absl::StatusOr<v1::CompleteJobResponse> RemoteJobStore::Complete(
    const v1::CompleteJobRequest& request) {
  return UnaryCall<v1::CompleteJobRequest, v1::CompleteJobResponse>(
      options_, Retry::kOnce, request,
      [this](grpc::ClientContext* c, const v1::CompleteJobRequest& r,
             v1::CompleteJobResponse* out) { return stub_->Complete(c, r, out); });
}

absl::StatusOr<v1::FailJobResponse> RemoteJobStore::Fail(const v1::FailJobRequest& request) {
  return UnaryCall<v1::FailJobRequest, v1::FailJobResponse>(
      options_, Retry::kOnce, request,
      [this](grpc::ClientContext* c, const v1::FailJobRequest& r, v1::FailJobResponse* out) {
        return stub_->Fail(c, r, out);
      });
}

absl::StatusOr<v1::CancelJobResponse> RemoteJobStore::Cancel(const v1::CancelJobRequest& request) {
  return UnaryCall<v1::CancelJobRequest, v1::CancelJobResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::CancelJobRequest& r, v1::CancelJobResponse* out) {
        return stub_->Cancel(c, r, out);
      });
}

absl::StatusOr<v1::FindStalledJobsResponse> RemoteJobStore::FindStalled(
    const v1::FindStalledJobsRequest& request) {
  return UnaryCall<v1::FindStalledJobsRequest, v1::FindStalledJobsResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::FindStalledJobsRequest& r,
             v1::FindStalledJobsResponse* out) { return stub_->FindStalled(c, r, out); });
}

absl::StatusOr<v1::ResetStalledJobsResponse> RemoteJobStore::ResetStalled(
    const v1::ResetStalledJobsRequest& request) {
  return UnaryCall<v1::ResetStalledJobsRequest, v1::ResetStalledJobsResponse>(
      options_, Retry::kOnce, request,
      [this](grpc::ClientContext* c, const v1::ResetStalledJobsRequest& r,
             v1::ResetStalledJobsResponse* out) { return stub_->ResetStalled(c, r, out); });
}

absl::StatusOr<v1::ListJobsByStatusResponse> RemoteJobStore::ListByStatus(
    const v1::ListJobsByStatusRequest& request) {
  return UnaryCall<v1::ListJobsByStatusRequest, v1::ListJobsByStatusResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::ListJobsByStatusRequest& r,
             v1::ListJobsByStatusResponse* out) { return stub_->ListByStatus(c, r, out); });
}

absl::StatusOr<v1::ListJobsByExecutionResponse> RemoteJobStore::ListByExecution(
    const v1::ListJobsByExecutionRequest& request) {
  return UnaryCall<v1::ListJobsByExecutionRequest, v1::ListJobsByExecutionResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::ListJobsByExecutionRequest& r,
             v1::ListJobsByExecutionResponse* out) { return stub_->ListByExecution(c, r, out); });
}

absl::StatusOr<v1::SaveJobCheckpointResponse> RemoteJobStore::SaveCheckpoint(
    const v1::SaveJobCheckpointRequest& request) {
  return UnaryCall<v1::SaveJobCheckpointRequest, v1::SaveJobCheckpointResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::SaveJobCheckpointRequest& r,
             v1::SaveJobCheckpointResponse* out) { return stub_->SaveCheckpoint(c, r, out); });
}

absl::StatusOr<v1::GetJobCheckpointResponse> RemoteJobStore::GetCheckpoint(
    const v1::GetJobCheckpointRequest& request) {
  return UnaryCall<v1::GetJobCheckpointRequest, v1::GetJobCheckpointResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::GetJobCheckpointRequest& r,
             v1::GetJobCheckpointResponse* out) { return stub_->GetCheckpoint(c, r, out); });
}

absl::StatusOr<v1::UpdateJobProgressResponse> RemoteJobStore::UpdateProgress(
    const v1::UpdateJobProgressRequest& request) {
  return UnaryCall<v1::UpdateJobProgressRequest, v1::UpdateJobProgressResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::UpdateJobProgressRequest& r,
             v1::UpdateJobProgressResponse* out) { return stub_->UpdateProgress(c, r, out); });
}

absl::StatusOr<v1::IsJobInstanceActiveResponse> RemoteJobStore::IsInstanceActive(
    const v1::IsJobInstanceActiveRequest& request) {
  return UnaryCall<v1::IsJobInstanceActiveRequest, v1::IsJobInstanceActiveResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::IsJobInstanceActiveRequest& r,
             v1::IsJobInstanceActiveResponse* out) { return stub_->IsInstanceActive(c, r, out); });
}

absl::StatusOr<v1::GetJobInstanceIdResponse> RemoteJobStore::GetInstanceId(
    const v1::GetJobInstanceIdRequest& request) {
  return UnaryCall<v1::GetJobInstanceIdRequest, v1::GetJobInstanceIdResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::GetJobInstanceIdRequest& r,
             v1::GetJobInstanceIdResponse* out) { return stub_->GetInstanceId(c, r, out); });
}

absl::StatusOr<v1::DeleteOldJobsResponse> RemoteJobStore::DeleteOld(
    const v1::DeleteOldJobsRequest& request) {
  return UnaryCall<v1::DeleteOldJobsRequest, v1::DeleteOldJobsResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::DeleteOldJobsRequest& r,
             v1::DeleteOldJobsResponse* out) { return stub_->DeleteOld(c, r, out); });
}

}  // namespace flowmonkey::client
