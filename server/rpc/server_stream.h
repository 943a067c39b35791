#pragma once

// A server-streaming RPC fed by a blocking producer: `produce` runs on the Executor (never
// on gRPC's callback threads) and hands messages to `push`, which blocks while kMaxQueued
// messages wait to be written (flow control for slow clients) and returns false once the
// call is over (client gone, cancelled, or a write failed), so the producer can stop. The
// status `produce` returns finishes the call.
//
// Lifetime: the reactor deletes itself when both gRPC (OnDone) and the producer are done
// with it, so a producer still running after a cancellation never touches freed memory.

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>

#include "absl/status/status.h"
#include "common/grpc_status.h"
#include "server/rpc/executor.h"
#include "server/rpc/method.h"
#include "spdlog/spdlog.h"

namespace flowmonkey::rpc {

template <typename Response>
class ServerStream final : public grpc::ServerWriteReactor<Response> {
 public:
  using Push = std::function<bool(Response)>;
  using Producer = std::function<absl::Status(const Push& push)>;

  static grpc::ServerWriteReactor<Response>* Start(grpc::CallbackServerContext* context,
                                                   Executor& executor, const Method& method,
                                                   Producer produce) {
    auto* stream = new ServerStream(method.name);
    executor.Submit([stream, context, produce = std::move(produce)] {
      absl::Status status;
      if (context->IsCancelled() || context->deadline() < std::chrono::system_clock::now()) {
        status = absl::DeadlineExceededError("deadline passed before the call was served");
      } else {
        status = produce([stream](Response r) { return stream->Enqueue(std::move(r)); });
      }
      stream->ProducerDone(status);
    });
    return stream;
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mu_);
    if (!ok) {
      over_ = true;
      queue_.clear();
    }
    if (!queue_.empty()) {
      current_ = std::move(queue_.front());
      queue_.pop_front();
      space_.notify_all();
      lock.unlock();
      this->StartWrite(&current_);
      return;
    }
    writing_ = false;
    space_.notify_all();
    MaybeFinishLocked(lock);
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    over_ = true;
    queue_.clear();
    space_.notify_all();
  }

  void OnDone() override { Unref(); }

 private:
  static constexpr size_t kMaxQueued = 8;

  explicit ServerStream(std::string_view rpc) : rpc_(rpc) {}

  bool Enqueue(Response response) {
    std::unique_lock lock(mu_);
    space_.wait(lock, [this] { return over_ || queue_.size() < kMaxQueued; });
    if (over_) return false;
    if (writing_) {
      queue_.push_back(std::move(response));
      return true;
    }
    writing_ = true;
    current_ = std::move(response);
    lock.unlock();
    this->StartWrite(&current_);
    return true;
  }

  void ProducerDone(const absl::Status& status) {
    if (status.code() == absl::StatusCode::kInternal) {
      spdlog::error("{} {}", rpc_, status.ToString());
    } else {
      spdlog::debug("{} {}", rpc_, status.ok() ? "OK" : status.ToString());
    }
    {
      std::unique_lock lock(mu_);
      producer_done_ = true;
      status_ = status;
      MaybeFinishLocked(lock);
    }
    Unref();
  }

  // Finishes once the producer is done and nothing is being written; unlocks `lock`.
  void MaybeFinishLocked(std::unique_lock<std::mutex>& lock) {
    if (!producer_done_ || writing_ || finished_) return;
    finished_ = true;
    const grpc::Status status = ToGrpcStatus(status_);
    lock.unlock();
    this->Finish(status);
  }

  void Unref() {
    bool last;
    {
      std::lock_guard lock(mu_);
      last = --refs_ == 0;
    }
    if (last) delete this;
  }

  const std::string rpc_;
  std::mutex mu_;
  std::condition_variable space_;
  std::deque<Response> queue_;
  Response current_;
  bool writing_ = false;
  bool over_ = false;
  bool producer_done_ = false;
  bool finished_ = false;
  absl::Status status_;
  int refs_ = 2;  // gRPC (until OnDone) and the producer
};

}  // namespace flowmonkey::rpc
