#pragma once

// A server-wide bound on bytes held by calls in flight (context values being streamed in
// or out): a call takes bytes before it holds them and gives them back when done; when the
// bound would be passed it is refused (RESOURCE_EXHAUSTED) instead of growing the heap
// towards an OOM kill. Thread-safe.

#include <atomic>
#include <cstdint>

namespace flowmonkey::rpc {

class ByteBudget {
 public:
  explicit ByteBudget(int64_t limit) : limit_(limit) {}
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  // Takes n bytes, or nothing and false when that would pass the limit.
  bool TryTake(int64_t n) {
    int64_t used = used_.load(std::memory_order_relaxed);
    do {
      if (n > limit_ - used) return false;
    } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
    return true;
  }
  void Give(int64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }

  int64_t limit() const { return limit_; }
  int64_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  const int64_t limit_;
  std::atomic<int64_t> used_{0};
};

}  // namespace flowmonkey::rpc
