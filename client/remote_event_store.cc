#include "client/remote_event_store.h"

#include "client/request_id.h"

namespace flowmonkey::client {

RemoteEventStore::RemoteEventStore(std::shared_ptr<grpc::Channel> channel, CallOptions options)
    : stub_(v1::EventStore::NewStub(std::move(channel))), options_(std::move(options)) {}

absl::StatusOr<v1::RecordEventResponse> RemoteEventStore::Record(
    const v1::RecordEventRequest& request) {
  const v1::RecordEventRequest call = WithRequestId(request);
  return UnaryCall<v1::RecordEventRequest, v1::RecordEventResponse>(
      options_, call.has_request_id() ? Retry::kIdempotent : Retry::kOnce, call,
      [this](grpc::ClientContext* c, const v1::RecordEventRequest& r,
             v1::RecordEventResponse* out) { return stub_->Record(c, r, out); });
}

absl::StatusOr<v1::RecordEventBatchResponse> RemoteEventStore::RecordBatch(
    const v1::RecordEventBatchRequest& request) {
  const v1::RecordEventBatchRequest call = WithRequestId(request);
  return UnaryCall<v1::RecordEventBatchRequest, v1::RecordEventBatchResponse>(
      options_, call.has_request_id() ? Retry::kIdempotent : Retry::kOnce, call,
      [this](grpc::ClientContext* c, const v1::RecordEventBatchRequest& r,
             v1::RecordEventBatchResponse* out) { return stub_->RecordBatch(c, r, out); });
}

absl::StatusOr<v1::QueryEventsResponse> RemoteEventStore::Query(
    const v1::QueryEventsRequest& request) {
  return UnaryCall<v1::QueryEventsRequest, v1::QueryEventsResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::QueryEventsRequest& r,
             v1::QueryEventsResponse* out) { return stub_->Query(c, r, out); });
}

absl::StatusOr<v1::GetEventsByExecutionResponse> RemoteEventStore::GetByExecution(
    const v1::GetEventsByExecutionRequest& request) {
  return UnaryCall<v1::GetEventsByExecutionRequest, v1::GetEventsByExecutionResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::GetEventsByExecutionRequest& r,
             v1::GetEventsByExecutionResponse* out) { return stub_->GetByExecution(c, r, out); });
}

absl::StatusOr<v1::DeleteOldEventsResponse> RemoteEventStore::DeleteOld(
    const v1::DeleteOldEventsRequest& request) {
  return UnaryCall<v1::DeleteOldEventsRequest, v1::DeleteOldEventsResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::DeleteOldEventsRequest& r,
             v1::DeleteOldEventsResponse* out) { return stub_->DeleteOld(c, r, out); });
}

}  // namespace flowmonkey::client
