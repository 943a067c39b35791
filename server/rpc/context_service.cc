#include "server/rpc/context_service.h"

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "server/rpc/method.h"
#include "server/rpc/server_stream.h"
#include "server/rpc/unary.h"

namespace flowmonkey::rpc {
namespace {

// Looked up once, as the generated adapters do, not on every call.
const Method& SetMethod() {
  static const Method& method = Method::Named("flowmonkey.v1.ContextStorage.Set");
  return method;
}
const Method& GetMethod() {
  static const Method& method = Method::Named("flowmonkey.v1.ContextStorage.Get");
  return method;
}

// Reads the chunks of one Set call, then stores the whole value on the executor. The
// messages arrive as raw bytes and are parsed here, so a malformed one fails the call
// (gRPC would end the stream as if it were complete). The value is stored only when the
// stream ended cleanly: total_size_bytes (when given) arrived, and the call was not
// cancelled (a message over the size limit, a deadline, a client that vanished, shutdown)
// up to the moment of COMMIT (ContextStorage::SetUnlessCancelled).
class SetReactor final : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  SetReactor(grpc::CallbackServerContext* context, ContextStorage& store, Executor& executor,
             int64_t max_bytes, ByteBudget& budget, grpc::ByteBuffer* response)
      : context_(context),
        store_(store),
        executor_(executor),
        max_bytes_(max_bytes),
        budget_(budget),
        response_(response) {
    StartRead(&buffer_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // a clean half-close, or a broken stream: Settle tells them apart
      Settle();
      return;
    }
    ++messages_;
    v1::SetContextRequest message;
    absl::Status status;
    if (!grpc::SerializationTraits<v1::SetContextRequest>::Deserialize(&buffer_, &message).ok()) {
      status = absl::InvalidArgumentError(absl::StrCat(
          "request: message ", messages_,
          " of the stream cannot be parsed (malformed, or a string field that is not valid "
          "UTF-8); nothing was stored"));
    } else {
      status = Take(message);
    }
    if (!status.ok()) {
      spdlog::debug("ContextStorage.Set {}", status.ToString());
      Finish(ToGrpcStatus(status));
      return;
    }
    StartRead(&buffer_);
  }

  // The probe of Settle: a call that gRPC has failed (a message over the size limit, a
  // deadline, a reset stream, shutdown) refuses this send; a half-closed live one takes it.
  void OnSendInitialMetadataDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled; nothing was stored"));
      return;
    }
    Store();
  }

  void OnDone() override {
    budget_.Give(taken_);
    delete this;
  }

 private:
  absl::Status Take(v1::SetContextRequest& message) {
    if (messages_ == 1) {
      head_.set_execution_id(message.execution_id());
      head_.set_key(message.key());
      if (message.has_total_size_bytes()) {
        total_ = message.total_size_bytes();
        if (total_ < 0) return absl::InvalidArgumentError("total_size_bytes: must not be negative");
        if (total_ > max_bytes_) return TooLarge(total_);
        if (auto s = Charge(total_); !s.ok()) return s;
        // Room for the JSON validator's padding, so the value is checked in place.
        value_json_.reserve(static_cast<size_t>(total_) + kJsonPaddingBytes);
      }
    } else if ((!message.execution_id().empty() &&
                message.execution_id() != head_.execution_id()) ||
               (!message.key().empty() && message.key() != head_.key())) {
      return absl::InvalidArgumentError("execution_id, key: must not change within one Set");
    }
    const std::string& chunk = message.value_json_chunk();
    if (chunk.size() > kContextChunkBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("value_json_chunk: at most ", kContextChunkBytes, " bytes"));
    }
    const int64_t size = static_cast<int64_t>(value_json_.size() + chunk.size());
    if (size > max_bytes_) return TooLarge(size);
    if (total_ >= 0 && size > total_) {
      return absl::InvalidArgumentError("value_json_chunk: more bytes than total_size_bytes");
    }
    if (total_ < 0) {
      if (auto s = Charge(static_cast<int64_t>(chunk.size())); !s.ok()) return s;
    }
    value_json_.append(chunk);
    return absl::OkStatus();
  }

  absl::Status Charge(int64_t bytes) {
    if (!budget_.TryTake(bytes)) {
      return absl::ResourceExhaustedError(
          absl::StrCat("context values in flight: over the server's limit of ", budget_.limit(),
                       " bytes (--max-inflight-context-bytes); retry later"));
    }
    taken_ += bytes;
    return absl::OkStatus();
  }

  absl::Status TooLarge(int64_t size) const {
    return absl::ResourceExhaustedError(
        absl::StrCat("value_json: ", size, " bytes or more, over the maximum of ", max_bytes_));
  }

  // A failed read looks like a clean half-close here (OnReadDone(false) for both), and
  // IsCancelled() learns of a failure gRPC made itself (a message over the size limit)
  // only some time later. So the end of the stream is confirmed by one more operation on
  // the call: gRPC has already cancelled a failed call when it reports the failed read,
  // and refuses any later send on it. Only then is the value stored.
  void Settle() {
    if (context_->IsCancelled()) {  // never store what may be a truncated value
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled; nothing was stored"));
      return;
    }
    StartSendInitialMetadata();
  }

  void Store() {
    if (total_ >= 0 && static_cast<int64_t>(value_json_.size()) != total_) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "value_json_chunk: the stream ended before total_size_bytes arrived"));
      return;
    }
    executor_.Submit([this] {
      // The guard sees the value's address only: admitting a copy of a 64 MiB value
      // would double the memory it takes.
      absl::StatusOr<v1::ContextReference> reference =
          Guarded<v1::ContextValue, v1::ContextReference>(
              executor_.guard(), *context_, SetMethod(), head_,
              [this](const v1::ContextValue& admitted) {
                v1::ContextValue value = admitted;
                *value.mutable_value_json() = std::move(value_json_);
                return store_.SetUnlessCancelled(std::move(value),
                                                 [this] { return !context_->IsCancelled(); });
              });
      if (reference.status().code() == absl::StatusCode::kInternal) {
        spdlog::error("ContextStorage.Set {}", reference.status().ToString());
      } else {
        spdlog::debug("ContextStorage.Set {}", reference.status().ToString());
      }
      if (reference.ok()) {
        v1::SetContextResponse response;
        *response.mutable_reference() = *std::move(reference);
        bool own = false;
        if (!grpc::SerializationTraits<v1::SetContextResponse>::Serialize(response, response_, &own)
                 .ok()) {
          Finish(grpc::Status(grpc::StatusCode::INTERNAL, "cannot serialize the response"));
          return;
        }
      }
      Finish(ToGrpcStatus(reference.status()));
    });
  }

  // simdjson reads up to 64 bytes past the end of the text it validates.
  static constexpr size_t kJsonPaddingBytes = 64;

  grpc::CallbackServerContext* context_;
  ContextStorage& store_;
  Executor& executor_;
  const int64_t max_bytes_;
  ByteBudget& budget_;
  grpc::ByteBuffer* response_;
  grpc::ByteBuffer buffer_;
  int messages_ = 0;
  v1::ContextValue head_;  // execution_id and key
  std::string value_json_;
  int64_t total_ = -1;
  int64_t taken_ = 0;  // bytes of budget_ this call holds
};

}  // namespace

grpc::ServerReadReactor<grpc::ByteBuffer>* ContextStorageService::Set(
    grpc::CallbackServerContext* c, grpc::ByteBuffer* resp) {
  return new SetReactor(c, store_, executor_, max_bytes_, budget_, resp);
}

grpc::ServerWriteReactor<v1::GetContextResponse>* ContextStorageService::Get(
    grpc::CallbackServerContext* c, const v1::GetContextRequest* req) {
  using Stream = ServerStream<v1::GetContextResponse>;
  return Stream::Start(
      c, executor_, GetMethod(),
      [this, c, request = *req](const Stream::Push& push) -> absl::Status {
        absl::StatusOr<v1::ContextValue> value = Guarded<v1::GetContextRequest, v1::ContextValue>(
            executor_.guard(), *c, GetMethod(), request,
            [this](const v1::GetContextRequest& r) { return store_.Get(r); });
        if (!value.ok()) return value.status();
        // Held until the last chunk is written. The size is known only once the value is
        // loaded, so a refused Get has briefly held it; what it bounds is the time values wait
        // in memory for slow readers.
        const int64_t held = static_cast<int64_t>(value->value_json().size());
        if (!budget_.TryTake(held)) {
          return absl::ResourceExhaustedError(
              absl::StrCat("context values in flight: over the server's limit of ", budget_.limit(),
                           " bytes (--max-inflight-context-bytes); retry later"));
        }
        absl::Cleanup give_back = [this, held] { budget_.Give(held); };
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

}  // namespace flowmonkey::rpc
