#include "server/rpc/context_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/rpc/server_stream.h"
#include "server/rpc/unary.h"

namespace flowmonkey::rpc {
namespace {

// Reads the chunks of one Set call, then stores the whole value on the executor.
class SetReactor final : public grpc::ServerReadReactor<v1::SetContextRequest> {
 public:
  SetReactor(grpc::CallbackServerContext* context, ContextStorage& store, Executor& executor,
             int64_t max_bytes, v1::SetContextResponse* response)
      : context_(context), store_(store), executor_(executor), max_bytes_(max_bytes),
        response_(response) {
    StartRead(&message_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client has sent everything (or is gone)
      Store();
      return;
    }
    if (absl::Status s = Take(); !s.ok()) {
      spdlog::debug("ContextStorage.Set {}", s.ToString());
      Finish(ToGrpcStatus(s));
      return;
    }
    StartRead(&message_);
  }

  void OnDone() override { delete this; }

 private:
  absl::Status Take() {
    if (first_) {
      first_ = false;
      value_.set_execution_id(message_.execution_id());
      value_.set_key(message_.key());
      if (message_.has_total_size_bytes()) {
        total_ = message_.total_size_bytes();
        if (total_ < 0) return absl::InvalidArgumentError("total_size_bytes: must not be negative");
        if (total_ > max_bytes_) return TooLarge(total_);
        value_.mutable_value_json()->reserve(static_cast<size_t>(total_));
      }
    } else if ((!message_.execution_id().empty() &&
                message_.execution_id() != value_.execution_id()) ||
               (!message_.key().empty() && message_.key() != value_.key())) {
      return absl::InvalidArgumentError("execution_id, key: must not change within one Set");
    }
    if (message_.value_json_chunk().size() > kContextChunkBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("value_json_chunk: at most ", kContextChunkBytes, " bytes"));
    }
    const int64_t size =
        static_cast<int64_t>(value_.value_json().size() + message_.value_json_chunk().size());
    if (size > max_bytes_) return TooLarge(size);
    if (total_ >= 0 && size > total_) {
      return absl::InvalidArgumentError("value_json_chunk: more bytes than total_size_bytes");
    }
    value_.mutable_value_json()->append(message_.value_json_chunk());
    return absl::OkStatus();
  }

  absl::Status TooLarge(int64_t size) const {
    return absl::ResourceExhaustedError(absl::StrCat(
        "value_json: ", size, " bytes or more, over the maximum of ", max_bytes_));
  }

  void Store() {
    if (context_->IsCancelled()) {  // never store what may be a truncated value
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
      return;
    }
    if (total_ >= 0 && static_cast<int64_t>(value_.value_json().size()) != total_) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "value_json_chunk: the stream ended before total_size_bytes arrived"));
      return;
    }
    executor_.Submit([this] {
      absl::StatusOr<v1::ContextReference> reference =
          Guarded<v1::ContextValue, v1::ContextReference>(
              executor_.guard(), *context_, "ContextStorage.Set", value_,
              [this](const v1::ContextValue& value) { return store_.Set(value); });
      if (reference.ok()) *response_->mutable_reference() = *std::move(reference);
      if (reference.status().code() == absl::StatusCode::kInternal) {
        spdlog::error("ContextStorage.Set {}", reference.status().ToString());
      } else {
        spdlog::debug("ContextStorage.Set {}", reference.status().ToString());
      }
      Finish(ToGrpcStatus(reference.status()));
    });
  }

  grpc::CallbackServerContext* context_;
  ContextStorage& store_;
  Executor& executor_;
  const int64_t max_bytes_;
  v1::SetContextResponse* response_;
  v1::SetContextRequest message_;
  v1::ContextValue value_;
  bool first_ = true;
  int64_t total_ = -1;
};

}  // namespace

grpc::ServerReadReactor<v1::SetContextRequest>* ContextService::Set(
    grpc::CallbackServerContext* c, v1::SetContextResponse* resp) {
  return new SetReactor(c, store_, executor_, max_bytes_, resp);
}

grpc::ServerWriteReactor<v1::GetContextResponse>* ContextService::Get(
    grpc::CallbackServerContext* c, const v1::GetContextRequest* req) {
  using Stream = ServerStream<v1::GetContextResponse>;
  return Stream::Start(c, executor_, "ContextStorage.Get",
                       [this, c, request = *req](const Stream::Push& push) -> absl::Status {
    absl::StatusOr<v1::ContextValue> value = Guarded<v1::GetContextRequest, v1::ContextValue>(
        executor_.guard(), *c, "ContextStorage.Get", request,
        [this](const v1::GetContextRequest& r) { return store_.Get(r); });
    if (!value.ok()) return value.status();
    v1::GetContextResponse head;
    *head.mutable_reference() = value->reference();
    if (!push(std::move(head))) return absl::OkStatus();
    const std::string& text = value->value_json();
    for (size_t offset = 0; offset < text.size(); offset += kContextChunkBytes) {
      v1::GetContextResponse chunk;
      chunk.set_value_json_chunk(text.substr(offset, kContextChunkBytes));
      if (!push(std::move(chunk))) break;
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContextService::Delete(grpc::CallbackServerContext* c,
                                                 const v1::DeleteContextRequest* req,
                                                 v1::DeleteContextResponse* resp) {
  return Serve(c, executor_, store_, &ContextStorage::Delete, req, resp, "ContextStorage.Delete");
}

grpc::ServerUnaryReactor* ContextService::List(grpc::CallbackServerContext* c,
                                               const v1::ListContextRequest* req,
                                               v1::ListContextResponse* resp) {
  return Serve(c, executor_, store_, &ContextStorage::List, req, resp, "ContextStorage.List");
}

grpc::ServerUnaryReactor* ContextService::ClearExecution(
    grpc::CallbackServerContext* c, const v1::ClearExecutionContextRequest* req,
    v1::ClearExecutionContextResponse* resp) {
  return Serve(c, executor_, store_, &ContextStorage::ClearExecution, req, resp,
               "ContextStorage.ClearExecution");
}

}  // namespace flowmonkey::rpc
