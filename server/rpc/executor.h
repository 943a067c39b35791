#pragma once

// A fixed set of worker threads that run blocking store calls off gRPC's callback threads.
// Sized like the connection pool, so a worker never waits long for a connection.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "server/rpc/call_guard.h"

namespace flowmonkey::rpc {

class Executor {
 public:
  explicit Executor(int threads);
  // Runs every task already queued, then joins the threads.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  void Submit(std::function<void()> task);
  size_t Queued() const;

  // The guard of every call run here (null: none); set before the server starts.
  void set_guard(CallGuard* guard) { guard_ = guard; }
  // Runs on every Submit (metrics: calls served on a worker); set before the server starts.
  void set_on_submit(std::function<void()> on_submit) { on_submit_ = std::move(on_submit); }
  CallGuard* guard() const { return guard_; }

 private:
  void Loop();

  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  CallGuard* guard_ = nullptr;
  std::function<void()> on_submit_;
};

}  // namespace flowmonkey::rpc
