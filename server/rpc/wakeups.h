#pragma once

// ExecutionStore.WatchWakeups: push delivery of wake-ups (proto/flowmonkey/v1/execution.proto,
// docs/adr/0015-wakeups.md), built like JobStore.Work (work.h) on ClaimWakeups/AckWakeups.
//
// WakeupDispatcher owns one thread ("fm-wakeups") that claims for every open stream with
// room: streams with the same subscription (tenant, ids_only, ack timeout) form a group,
// and one claim serves all of them. Wake-ups become due with time, not with a write, so it
// runs a pass every poll interval, and at once when a stream gains room (subscribe, acks)
// or a claim came back full.
//
// WakeupStream is one call: it reads the subscriber's acks (one AckWakeups per message,
// on the Executor) and writes wake-ups. Bounded: a stream holds at most max_unacked
// (≤ 10,000) wake-ups, and the server at most WakeupOptions::max_held over all streams. A
// wake-up whose lease runs out unacknowledged leaves the stream that held it (its room comes
// back) and is claimed again like any due one, by this stream or another.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "core/execution_store.h"
#include "server/rpc/executor.h"

namespace flowmonkey::rpc {

struct WakeupOptions {
  // A pass over every stream with room this often: the longest a due wake-up waits.
  absl::Duration poll = absl::Milliseconds(500);
  // Wake-ups all streams of this server may hold at once.
  int max_held = 10'000;
  // Reports wake-ups pushed (metrics); may be empty.
  std::function<void(size_t)> on_push;
};

class WakeupStream;

class WakeupDispatcher {
 public:
  WakeupDispatcher(ExecutionStore& executions, Executor& executor, WakeupOptions options);
  ~WakeupDispatcher();
  WakeupDispatcher(const WakeupDispatcher&) = delete;
  WakeupDispatcher& operator=(const WakeupDispatcher&) = delete;

  // Starts the call's stream (ExecutionStore.WatchWakeups).
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Open(
      grpc::CallbackServerContext* context);

  // Runs a pass soon.
  void Wake();
  // No more pushes; each stream ends with UNAVAILABLE once its subscriber has acknowledged
  // what it holds (gRPC's drain timeout cancels the rest); new streams are refused.
  void Shutdown();
  int held() const { return held_.load(std::memory_order_relaxed); }

 private:
  friend class WakeupStream;

  bool Add(const std::shared_ptr<WakeupStream>& stream);  // false once shut down
  void Remove(const WakeupStream* stream);
  void Held(int delta) { held_.fetch_add(delta, std::memory_order_relaxed); }
  void Loop();
  // One claim for the streams of one group; true when it filled every slot.
  bool Claim(const std::vector<std::shared_ptr<WakeupStream>>& group);
  // Gives back wake-ups no stream took (logged on failure: their leases run out).
  void Release(const std::vector<v1::Wakeup>& wakeups);

  ExecutionStore& executions_;
  Executor& executor_;
  const WakeupOptions options_;
  std::atomic<int> held_{0};

  mutable std::mutex mu_;
  std::condition_variable wake_cv_;
  bool wake_ = false;
  bool stop_ = false;
  bool shut_down_ = false;
  absl::flat_hash_map<std::string, std::vector<std::shared_ptr<WakeupStream>>> groups_;
  std::thread thread_;
};

}  // namespace flowmonkey::rpc
