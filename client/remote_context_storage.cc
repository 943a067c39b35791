#include "client/remote_context_storage.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace flowmonkey::client {

absl::StatusOr<v1::ContextReference> RemoteContextStorage::Set(const v1::ContextValue& value) {
  v1::SetContextResponse response;
  const std::string& text = value.value_json();
  const grpc::Status status = StreamCall(options_, [&](grpc::ClientContext* context) {
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
  const grpc::Status status = StreamCall(options_, [&](grpc::ClientContext* context) {
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

}  // namespace flowmonkey::client
