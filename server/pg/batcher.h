#pragma once

// Group commit: concurrent callers hand in one item each; the callers themselves flush.
// A caller that finds fewer than `max_flushers` batches in flight takes everything queued
// at that moment (up to max_batch, its own item among the first) and runs it as one
// statement on its own thread; the others wait for their item to be settled. A lone
// request therefore runs at once on its caller's thread, with no hand-off and no wait, and
// under load batches grow by themselves while the previous ones run. An optional key keeps
// two items with the same key out of one batch (the later one waits for the next), so
// per-row semantics survive.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
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

  Batcher(int max_flushers, size_t max_batch, Flush flush, Key key = nullptr)
      : max_flushers_(max_flushers), max_batch_(max_batch), flush_(std::move(flush)),
        key_(std::move(key)) {}

  // Blocks until the batch holding `item` has been flushed (perhaps by this thread).
  void Run(Item& item) {
    Pending pending;
    pending.item = &item;
    std::unique_lock lock(mu_);
    queue_.push_back(&pending);
    while (!pending.done) {
      if (pending.queued && flushing_ < max_flushers_) {
        FlushOne(lock);
      } else {
        pending.wake.wait(lock);
      }
    }
  }

 private:
  struct Pending {
    Item* item = nullptr;
    bool queued = true;  // not yet taken into a batch
    bool done = false;
    std::condition_variable wake;  // settled, or a flusher slot is free
  };

  std::vector<Pending*> TakeBatch() {
    std::vector<Pending*> batch;
    std::unordered_set<std::string> keys;
    for (auto it = queue_.begin(); it != queue_.end() && batch.size() < max_batch_;) {
      if (key_ && !keys.insert(key_(*(*it)->item)).second) {
        ++it;  // same key as an item already in this batch: next batch
        continue;
      }
      (*it)->queued = false;
      batch.push_back(*it);
      it = queue_.erase(it);
    }
    return batch;
  }

  // Takes a batch and flushes it with `lock` released; settles its items.
  void FlushOne(std::unique_lock<std::mutex>& lock) {
    std::vector<Pending*> batch = TakeBatch();
    ++flushing_;
    lock.unlock();
    std::vector<Item*> items;
    items.reserve(batch.size());
    for (Pending* p : batch) items.push_back(p->item);
    flush_(items);
    lock.lock();
    --flushing_;
    for (Pending* p : batch) {
      p->done = true;
      p->wake.notify_one();
    }
    // Items still queued: the oldest waiter takes the free slot.
    if (!queue_.empty()) queue_.front()->wake.notify_one();
  }

  const int max_flushers_;
  const size_t max_batch_;
  const Flush flush_;
  const Key key_;
  std::mutex mu_;
  std::deque<Pending*> queue_;
  int flushing_ = 0;
};

}  // namespace flowmonkey::pg
