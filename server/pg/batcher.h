#pragma once

// Group commit. Callers submit requests without blocking; a few flusher threads each take
// everything queued at that moment (up to a weight limit) and run it as one statement, then
// settle each request through its callback. A lone request wakes an idle flusher and runs
// at once; under load, batches grow by themselves while the previous ones run, and one
// thread wake-up serves a whole batch. An optional key keeps two requests with the same key
// out of one batch (the later one waits for the next), so per-row semantics survive.

#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"

namespace flowmonkey::pg {

template <typename Request, typename Response>
class Batcher {
 public:
  using Done = std::function<void(absl::StatusOr<Response>)>;
  struct Item {
    const Request* request;
    absl::StatusOr<Response> result = absl::UnknownError("not flushed");
    Done done;
  };
  // Runs one batch; must settle every item (its `result`).
  using Flush = std::function<void(std::vector<Item*>& batch)>;
  // The key requests must not share within one batch.
  using Key = std::function<std::string(const Request&)>;
  // A request's share of `max_weight` (e.g. its rows).
  using Weight = std::function<size_t(const Request&)>;

  struct Options {
    // The flushers' thread name ("fm-" and this, at most 15 bytes in all): what top and
    // perf show.
    std::string name = "batch";
    int flushers = 4;         // threads, each with at most one batch in flight
    size_t max_weight = 64;   // per batch; a heavier request still runs, alone
    Key key = nullptr;        // none: no constraint
    Weight weight = nullptr;  // none: 1 per request
  };

  Batcher(Options options, Flush flush) : options_(std::move(options)), flush_(std::move(flush)) {
    const std::string thread_name = ("fm-" + options_.name).substr(0, 15);
    for (int i = 0; i < std::max(1, options_.flushers); ++i) {
      threads_.emplace_back([this] { Loop(); });
      pthread_setname_np(threads_.back().native_handle(), thread_name.c_str());
    }
  }
  // Flushes everything still queued, then joins the flushers.
  ~Batcher() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();
  }
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues `request` (valid until `done` has run); `done` runs on a flusher thread.
  void Submit(const Request& request, Done done) {
    auto item = std::make_unique<Item>();
    item->request = &request;
    item->done = std::move(done);
    bool wake;
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(item));
      wake = idle_ > 0;
    }
    if (wake) ready_.notify_one();
  }

  // Submits `request` and waits for its result.
  absl::StatusOr<Response> Run(const Request& request) {
    std::promise<absl::StatusOr<Response>> settled;
    std::future<absl::StatusOr<Response>> result = settled.get_future();
    Submit(request, [&settled](absl::StatusOr<Response> r) { settled.set_value(std::move(r)); });
    return result.get();
  }

 private:
  std::vector<std::unique_ptr<Item>> TakeBatch() {
    std::vector<std::unique_ptr<Item>> batch;
    std::unordered_set<std::string> keys;
    size_t weight = 0;
    for (auto it = queue_.begin(); it != queue_.end();) {
      const size_t w = options_.weight ? options_.weight(*(*it)->request) : 1;
      if (!batch.empty() && weight + w > options_.max_weight) break;
      if (options_.key && !keys.insert(options_.key(*(*it)->request)).second) {
        ++it;  // same key as a request already in this batch: next batch
        continue;
      }
      weight += w;
      batch.push_back(std::move(*it));
      it = queue_.erase(it);
    }
    return batch;
  }

  void Loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      if (queue_.empty()) {
        if (stopping_) return;
        ++idle_;
        ready_.wait(lock);
        --idle_;
        continue;
      }
      std::vector<std::unique_ptr<Item>> batch = TakeBatch();
      const bool more = !queue_.empty() && idle_ > 0;  // left behind by the limits
      lock.unlock();
      if (more) ready_.notify_one();
      std::vector<Item*> items;
      items.reserve(batch.size());
      for (auto& item : batch) items.push_back(item.get());
      flush_(items);
      for (auto& item : batch) item->done(std::move(item->result));
      batch.clear();
      lock.lock();
    }
  }

  const Options options_;
  const Flush flush_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::unique_ptr<Item>> queue_;
  int idle_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace flowmonkey::pg
