#pragma once

// ExecutionStore over gRPC: the same interface as the PostgreSQL store, served remotely.
// Reads, Delete, Create with an idempotency key and Save without expected_version are
// retried on UNAVAILABLE (repeating them cannot change the outcome); version-checked
// writes and key-less Create are not. The lease calls are retried too: for the same owner,
// acquiring or extending again is idempotent (same fencing token).

#include <memory>

#include <grpcpp/grpcpp.h>

#include "client/call.h"
#include "core/execution_store.h"
#include "flowmonkey/v1/execution.grpc.pb.h"

namespace flowmonkey::client {

class RemoteExecutionStore : public ExecutionStore {
 public:
  RemoteExecutionStore(std::shared_ptr<grpc::Channel> channel, CallOptions options);

  absl::StatusOr<v1::CreateExecutionResponse> Create(
      const v1::CreateExecutionRequest& request) override;
  absl::StatusOr<v1::GetExecutionResponse> Get(const v1::GetExecutionRequest& request) override;
  absl::StatusOr<v1::SaveExecutionResponse> Save(const v1::SaveExecutionRequest& request) override;
  absl::StatusOr<v1::UpdateExecutionResponse> Update(
      const v1::UpdateExecutionRequest& request) override;
  absl::StatusOr<v1::DeleteExecutionResponse> Delete(
      const v1::DeleteExecutionRequest& request) override;
  absl::StatusOr<v1::FindByStatusResponse> FindByStatus(
      const v1::FindByStatusRequest& request) override;
  absl::StatusOr<v1::ListWakeReadyResponse> ListWakeReady(
      const v1::ListWakeReadyRequest& request) override;
  absl::StatusOr<v1::FindByTenantResponse> FindByTenant(
      const v1::FindByTenantRequest& request) override;
  absl::StatusOr<v1::FindByIdempotencyKeyResponse> FindByIdempotencyKey(
      const v1::FindByIdempotencyKeyRequest& request) override;
  absl::StatusOr<v1::FindChildrenResponse> FindChildren(
      const v1::FindChildrenRequest& request) override;
  absl::StatusOr<v1::FindTimedOutExecutionsResponse> FindTimedOutExecutions(
      const v1::FindTimedOutExecutionsRequest& request) override;
  absl::StatusOr<v1::FindTimedOutWaitsResponse> FindTimedOutWaits(
      const v1::FindTimedOutWaitsRequest& request) override;
  absl::StatusOr<v1::AcquireLockResponse> AcquireLock(const v1::AcquireLockRequest& request) override;
  absl::StatusOr<v1::ExtendLockResponse> ExtendLock(const v1::ExtendLockRequest& request) override;
  absl::StatusOr<v1::ReleaseLockResponse> ReleaseLock(const v1::ReleaseLockRequest& request) override;

 private:
  std::unique_ptr<v1::ExecutionStore::Stub> stub_;
  CallOptions options_;
};

}  // namespace flowmonkey::client
