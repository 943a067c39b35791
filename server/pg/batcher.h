#pragma once

// Group commit: concurrent callers hand in one item each and block; a few flusher threads
// each take everything queued at that moment (up to max_batch) and run it as one statement.
// Under light load a batch is a single item and adds no wait; under load, batches grow by
// themselves while the previous one runs. An optional key keeps two items with the same key
// out of one batch (the later one waits for the next), so per-row semantics survive.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace flowmonkey::pg {

template <typename Item>
class Batcher {
 public:
  // Runs one batch; must settle every item (its own result fields).
  using Flush = std::function<void(std::vector<Item*>& batch)>;
  // The key items must not share within one batch; empty function = no constraint.
  using Key = std::function<std::string(const Item&)>;

  Batcher(int flushers, size_t max_batch, Flush flush, Key key = nullptr)
      : max_batch_(max_batch), flush_(std::move(flush)), key_(std::move(key)) {
    for (int i = 0; i < flushers; ++i) threads_.emplace_back([this] { Loop(); });
  }

  ~Batcher() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    queued_.notify_all();
    for (auto& t : threads_) t.join();
  }

  // Blocks until the batch holding `item` has been flushed.
  void Run(Item& item) {
    Pending pending;
    pending.item = &item;
    std::unique_lock lock(mu_);
    queue_.push_back(&pending);
    queued_.notify_one();
    pending.settled.wait(lock, [&] { return pending.done; });
  }

 private:
  struct Pending {
    Item* item = nullptr;
    bool done = false;
    std::condition_variable settled;
  };

  std::vector<Pending*> TakeBatch() {
    std::vector<Pending*> batch;
    std::unordered_set<std::string> keys;
    for (auto it = queue_.begin(); it != queue_.end() && batch.size() < max_batch_;) {
      if (key_ && !keys.insert(key_(*(*it)->item)).second) {
        ++it;  // same key as an item already in this batch: next batch
        continue;
      }
      batch.push_back(*it);
      it = queue_.erase(it);
    }
    return batch;
  }

  void Loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      std::vector<Pending*> batch = TakeBatch();
      if (!queue_.empty()) queued_.notify_one();  // leftovers: let another flusher start
      lock.unlock();
      std::vector<Item*> items;
      items.reserve(batch.size());
      for (Pending* p : batch) items.push_back(p->item);
      flush_(items);
      lock.lock();
      for (Pending* p : batch) {
        p->done = true;
        p->settled.notify_one();
      }
    }
  }

  const size_t max_batch_;
  const Flush flush_;
  const Key key_;
  std::mutex mu_;
  std::condition_variable queued_;
  std::deque<Pending*> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace flowmonkey::pg
