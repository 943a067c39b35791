#include "client/remote_context_storage.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace flowmonkey::client {

RemoteContextStorage::RemoteContextStorage(std::shared_ptr<grpc::Channel> channel,
                                           CallOptions options)
    : stub_(v1::ContextStorage::NewStub(std::move(channel))), options_(std::move(options)) {}

grpc::Status RemoteContextStorage::WithRetry(
    const std::function<grpc::Status(grpc::ClientContext*)>& attempt) {
  absl::Duration backoff = options_.initial_backoff;
  for (int n = 1;; ++n) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(options_.timeout));
    if (!options_.api_key.empty()) {
      context.AddMetadata("authorization", "Bearer " + options_.api_key);
    }
    const grpc::Status status = attempt(&context);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE || n >= options_.max_attempts) {
      return status;
    }
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(backoff));
    backoff *= 2;
  }
}

absl::StatusOr<v1::ContextReference> RemoteContextStorage::Set(const v1::ContextValue& value) {
  v1::SetContextResponse response;
  const std::string& text = value.value_json();
  const grpc::Status status = WithRetry([&](grpc::ClientContext* context) {
    response.Clear();
    std::unique_ptr<grpc::ClientWriter<v1::SetContextRequest>> writer =
        stub_->Set(context, &response);
    v1::SetContextRequest message;
    message.set_execution_id(value.execution_id());
    message.set_key(value.key());
    message.set_total_size_bytes(static_cast<int64_t>(text.size()));
    size_t offset = 0;
    do {  // at least one message, even for an empty value
      const size_t n = std::min(kContextChunkBytes, text.size() - offset);
      message.set_value_json_chunk(text.data() + offset, n);
      offset += n;
      if (!writer->Write(message)) break;  // the server has answered already
      message.clear_execution_id();
      message.clear_key();
      message.clear_total_size_bytes();
    } while (offset < text.size());
    writer->WritesDone();
    return writer->Finish();
  });
  if (!status.ok()) return FromGrpcStatus(status);
  return response.reference();
}

absl::StatusOr<v1::ContextValue> RemoteContextStorage::Get(const v1::GetContextRequest& request) {
  v1::ContextValue value;
  const grpc::Status status = WithRetry([&](grpc::ClientContext* context) {
    value.Clear();
    std::unique_ptr<grpc::ClientReader<v1::GetContextResponse>> reader =
        stub_->Get(context, request);
    v1::GetContextResponse message;
    bool first = true;
    while (reader->Read(&message)) {
      if (first) {
        first = false;
        *value.mutable_reference() = message.reference();
        value.mutable_value_json()->reserve(
            static_cast<size_t>(std::max<int64_t>(0, message.reference().size_bytes())));
      }
      value.mutable_value_json()->append(message.value_json_chunk());
    }
    grpc::Status finished = reader->Finish();
    if (finished.ok() && first) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "Get: the server sent no reference");
    }
    return finished;
  });
  if (!status.ok()) return FromGrpcStatus(status);
  value.set_execution_id(request.execution_id());
  value.set_key(request.key());
  return value;
}

absl::StatusOr<v1::DeleteContextResponse> RemoteContextStorage::Delete(
    const v1::DeleteContextRequest& request) {
  return UnaryCall<v1::DeleteContextRequest, v1::DeleteContextResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::DeleteContextRequest& r,
             v1::DeleteContextResponse* out) { return stub_->Delete(c, r, out); });
}

absl::StatusOr<v1::ListContextResponse> RemoteContextStorage::List(
    const v1::ListContextRequest& request) {
  return UnaryCall<v1::ListContextRequest, v1::ListContextResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::ListContextRequest& r,
             v1::ListContextResponse* out) { return stub_->List(c, r, out); });
}

absl::StatusOr<v1::ClearExecutionContextResponse> RemoteContextStorage::ClearExecution(
    const v1::ClearExecutionContextRequest& request) {
  return UnaryCall<v1::ClearExecutionContextRequest, v1::ClearExecutionContextResponse>(
      options_, Retry::kIdempotent, request,
      [this](grpc::ClientContext* c, const v1::ClearExecutionContextRequest& r,
             v1::ClearExecutionContextResponse* out) { return stub_->ClearExecution(c, r, out); });
}

}  // namespace flowmonkey::client
