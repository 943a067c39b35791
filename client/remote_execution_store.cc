#include "client/remote_execution_store.h"

namespace flowmonkey::client {

RemoteExecutionStore::RemoteExecutionStore(std::shared_ptr<grpc::Channel> channel,
                                           CallOptions options)
    : stub_(v1::ExecutionStore::NewStub(std::move(channel))), options_(std::move(options)) {}

absl::StatusOr<v1::CreateExecutionResponse> RemoteExecutionStore::Create(
    const v1::CreateExecutionRequest& request) {
  return UnaryCall<v1::CreateExecutionRequest, v1::CreateExecutionResponse>(
      options_, request.execution().has_idempotency_key() ? Retry::kIdempotent : Retry::kOnce,
      request,
      [this](grpc::ClientContext* c, const v1::CreateExecutionRequest& r,
             v1::CreateExecutionResponse* out) { return stub_->Create(c, r, out); });
}

absl::StatusOr<v1::GetExecutionResponse> RemoteExecutionStore::Get(
    const v1::GetExecutionRequest& request) {
  return UnaryCall<v1::GetExecutionRequest, v1::GetExecutionResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::GetExecutionRequest& r,
             v1::GetExecutionResponse* out) { return stub_->Get(c, r, out); });
}

absl::StatusOr<v1::SaveExecutionResponse> RemoteExecutionStore::Save(
    const v1::SaveExecutionRequest& request) {
  return UnaryCall<v1::SaveExecutionRequest, v1::SaveExecutionResponse>(
      options_, Retry::kOnce, request,
      [this](grpc::ClientContext* c, const v1::SaveExecutionRequest& r,
             v1::SaveExecutionResponse* out) { return stub_->Save(c, r, out); });
}

absl::StatusOr<v1::UpdateExecutionResponse> RemoteExecutionStore::Update(
    const v1::UpdateExecutionRequest& request) {
  return UnaryCall<v1::UpdateExecutionRequest, v1::UpdateExecutionResponse>(
      options_, Retry::kOnce, request,
      [this](grpc::ClientContext* c, const v1::UpdateExecutionRequest& r,
             v1::UpdateExecutionResponse* out) { return stub_->Update(c, r, out); });
}

absl::StatusOr<v1::DeleteExecutionResponse> RemoteExecutionStore::Delete(
    const v1::DeleteExecutionRequest& request) {
  return UnaryCall<v1::DeleteExecutionRequest, v1::DeleteExecutionResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::DeleteExecutionRequest& r,
             v1::DeleteExecutionResponse* out) { return stub_->Delete(c, r, out); });
}

absl::StatusOr<v1::FindByStatusResponse> RemoteExecutionStore::FindByStatus(
    const v1::FindByStatusRequest& request) {
  return UnaryCall<v1::FindByStatusRequest, v1::FindByStatusResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::FindByStatusRequest& r,
             v1::FindByStatusResponse* out) { return stub_->FindByStatus(c, r, out); });
}

absl::StatusOr<v1::ListWakeReadyResponse> RemoteExecutionStore::ListWakeReady(
    const v1::ListWakeReadyRequest& request) {
  return UnaryCall<v1::ListWakeReadyRequest, v1::ListWakeReadyResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::ListWakeReadyRequest& r,
             v1::ListWakeReadyResponse* out) { return stub_->ListWakeReady(c, r, out); });
}

absl::StatusOr<v1::FindByTenantResponse> RemoteExecutionStore::FindByTenant(
    const v1::FindByTenantRequest& request) {
  return UnaryCall<v1::FindByTenantRequest, v1::FindByTenantResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::FindByTenantRequest& r,
             v1::FindByTenantResponse* out) { return stub_->FindByTenant(c, r, out); });
}

absl::StatusOr<v1::FindByIdempotencyKeyResponse> RemoteExecutionStore::FindByIdempotencyKey(
    const v1::FindByIdempotencyKeyRequest& request) {
  return UnaryCall<v1::FindByIdempotencyKeyRequest, v1::FindByIdempotencyKeyResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::FindByIdempotencyKeyRequest& r,
             v1::FindByIdempotencyKeyResponse* out) {
        return stub_->FindByIdempotencyKey(c, r, out);
      });
}

absl::StatusOr<v1::FindChildrenResponse> RemoteExecutionStore::FindChildren(
    const v1::FindChildrenRequest& request) {
  return UnaryCall<v1::FindChildrenRequest, v1::FindChildrenResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::FindChildrenRequest& r,
             v1::FindChildrenResponse* out) { return stub_->FindChildren(c, r, out); });
}

absl::StatusOr<v1::FindTimedOutExecutionsResponse> RemoteExecutionStore::FindTimedOutExecutions(
    const v1::FindTimedOutExecutionsRequest& request) {
  return UnaryCall<v1::FindTimedOutExecutionsRequest, v1::FindTimedOutExecutionsResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::FindTimedOutExecutionsRequest& r,
             v1::FindTimedOutExecutionsResponse* out) {
        return stub_->FindTimedOutExecutions(c, r, out);
      });
}

absl::StatusOr<v1::FindTimedOutWaitsResponse> RemoteExecutionStore::FindTimedOutWaits(
    const v1::FindTimedOutWaitsRequest& request) {
  return UnaryCall<v1::FindTimedOutWaitsRequest, v1::FindTimedOutWaitsResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::FindTimedOutWaitsRequest& r,
             v1::FindTimedOutWaitsResponse* out) { return stub_->FindTimedOutWaits(c, r, out); });
}

absl::StatusOr<v1::AcquireLockResponse> RemoteExecutionStore::AcquireLock(
    const v1::AcquireLockRequest& request) {
  return UnaryCall<v1::AcquireLockRequest, v1::AcquireLockResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::AcquireLockRequest& r,
             v1::AcquireLockResponse* out) { return stub_->AcquireLock(c, r, out); });
}

absl::StatusOr<v1::ExtendLockResponse> RemoteExecutionStore::ExtendLock(
    const v1::ExtendLockRequest& request) {
  return UnaryCall<v1::ExtendLockRequest, v1::ExtendLockResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::ExtendLockRequest& r, v1::ExtendLockResponse* out) {
        return stub_->ExtendLock(c, r, out);
      });
}

absl::StatusOr<v1::ReleaseLockResponse> RemoteExecutionStore::ReleaseLock(
    const v1::ReleaseLockRequest& request) {
  return UnaryCall<v1::ReleaseLockRequest, v1::ReleaseLockResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::ReleaseLockRequest& r,
             v1::ReleaseLockResponse* out) { return stub_->ReleaseLock(c, r, out); });
}

}  // namespace flowmonkey::client
