#include "client/remote_flow_store.h"

#include <chrono>
#include <thread>

namespace flowmonkey::client {

RemoteFlowStore::RemoteFlowStore(std::shared_ptr<grpc::Channel> channel, CallOptions options)
    : stub_(v1::FlowStore::NewStub(std::move(channel))), options_(std::move(options)) {}

absl::StatusOr<v1::SaveFlowResponse> RemoteFlowStore::Save(const v1::SaveFlowRequest& request) {
  return UnaryCall<v1::SaveFlowRequest, v1::SaveFlowResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::SaveFlowRequest& r, v1::SaveFlowResponse* out) {
        return stub_->Save(c, r, out);
      });
}

absl::StatusOr<v1::GetFlowResponse> RemoteFlowStore::Get(const v1::GetFlowRequest& request) {
  return UnaryCall<v1::GetFlowRequest, v1::GetFlowResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::GetFlowRequest& r, v1::GetFlowResponse* out) {
        return stub_->Get(c, r, out);
      });
}

absl::StatusOr<v1::LatestFlowResponse> RemoteFlowStore::Latest(
    const v1::LatestFlowRequest& request) {
  return UnaryCall<v1::LatestFlowRequest, v1::LatestFlowResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::LatestFlowRequest& r, v1::LatestFlowResponse* out) {
        return stub_->Latest(c, r, out);
      });
}

absl::StatusOr<v1::FlowVersionsResponse> RemoteFlowStore::Versions(
    const v1::FlowVersionsRequest& request) {
  return UnaryCall<v1::FlowVersionsRequest, v1::FlowVersionsResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::FlowVersionsRequest& r,
             v1::FlowVersionsResponse* out) { return stub_->Versions(c, r, out); });
}

absl::StatusOr<v1::ListFlowsResponse> RemoteFlowStore::List(const v1::ListFlowsRequest& request) {
  return UnaryCall<v1::ListFlowsRequest, v1::ListFlowsResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::ListFlowsRequest& r, v1::ListFlowsResponse* out) {
        return stub_->List(c, r, out);
      });
}

absl::StatusOr<v1::SetFlowStatusResponse> RemoteFlowStore::SetStatus(
    const v1::SetFlowStatusRequest& request) {
  return UnaryCall<v1::SetFlowStatusRequest, v1::SetFlowStatusResponse>(
      options_, Retry::kOnce, request,
      [this](grpc::ClientContext* c, const v1::SetFlowStatusRequest& r,
             v1::SetFlowStatusResponse* out) { return stub_->SetStatus(c, r, out); });
}

absl::StatusOr<v1::DeleteFlowResponse> RemoteFlowStore::Delete(
    const v1::DeleteFlowRequest& request) {
  return UnaryCall<v1::DeleteFlowRequest, v1::DeleteFlowResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::DeleteFlowRequest& r, v1::DeleteFlowResponse* out) {
        return stub_->Delete(c, r, out);
      });
}

absl::Status RemoteFlowStore::ListAll(const v1::ListAllFlowsRequest& request,
                                      const std::function<bool(const v1::Flow&)>& each) {
  absl::Duration backoff = options_.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(options_.timeout));
    if (!options_.api_key.empty()) {
      context.AddMetadata("authorization", "Bearer " + options_.api_key);
    }
    std::unique_ptr<grpc::ClientReader<v1::ListAllFlowsResponse>> reader =
        stub_->ListAll(&context, request);
    v1::ListAllFlowsResponse message;
    bool delivered = false;
    while (reader->Read(&message)) {
      delivered = true;
      if (!each(message.flow())) {
        context.TryCancel();
        reader->Finish();
        return absl::OkStatus();
      }
    }
    const grpc::Status status = reader->Finish();
    if (status.ok() || status.error_code() != grpc::StatusCode::UNAVAILABLE || delivered ||
        attempt >= options_.max_attempts) {
      return FromGrpcStatus(status);
    }
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(backoff));
    backoff *= 2;
  }
}

}  // namespace flowmonkey::client
