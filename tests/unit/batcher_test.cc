#include "server/pg/batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace flowmonkey::pg {
namespace {

struct FakeRequest {
  int id = 0;
  std::string key;
  size_t weight = 1;
};

FakeRequest MakeRequest(int id, std::string key = "", size_t weight = 1) {
  return FakeRequest{.id = id, .key = std::move(key), .weight = weight};
}

using TestBatcher = Batcher<FakeRequest, int>;

// Every batch the flush function saw, as request ids, in the order they ran.
class Recorder {
 public:
  void Add(const std::vector<TestBatcher::Item*>& batch) {
    std::vector<int> ids;
    ids.reserve(batch.size());
    for (const auto* item : batch) ids.push_back(item->request->id);
    std::lock_guard lock(mu_);
    batches_.push_back(std::move(ids));
  }
  std::vector<std::vector<int>> batches() const {
    std::lock_guard lock(mu_);
    return batches_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::vector<int>> batches_;
};

// Holds the first batch in its flush until Open(): everything submitted meanwhile queues up,
// so the next batches are formed from a known queue.
class Gate {
 public:
  void WaitIfFirst() {
    if (first_.exchange(false)) {
      entered_.set_value();
      opened_.wait();
    }
  }
  void WaitEntered() { entered_.get_future().wait(); }
  void Open() { open_.set_value(); }

 private:
  std::atomic<bool> first_{true};
  std::promise<void> entered_;
  std::promise<void> open_;
  std::shared_future<void> opened_ = open_.get_future().share();
};

TEST(BatcherTest, ConcurrentSubmittersAreEachSettledExactlyOnceWithTheirOwnResult) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 400;
  std::vector<FakeRequest> requests(kThreads * kPerThread);
  for (int i = 0; i < static_cast<int>(requests.size()); ++i) requests[i].id = i;
  std::vector<std::atomic<int>> settled(requests.size());
  std::vector<int> results(requests.size(), -1);
  std::atomic<int> flushed{0};
  {
    TestBatcher batcher({.flushers = 3, .max_weight = 16}, [&](std::vector<TestBatcher::Item*>& b) {
      flushed += static_cast<int>(b.size());
      for (auto* item : b) item->result = item->request->id * 2;
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t * kPerThread; i < (t + 1) * kPerThread; ++i) {
          batcher.Submit(requests[i], [&, i](absl::StatusOr<int> r) {
            results[i] = r.ok() ? *r : -2;  // written once, on a flusher thread
            settled[i]++;
          });
        }
      });
    }
    for (auto& t : threads) t.join();
  }  // the destructor flushes what is still queued and joins the flushers
  EXPECT_EQ(flushed.load(), static_cast<int>(requests.size()));
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_EQ(settled[i].load(), 1) << "request " << i;
    ASSERT_EQ(results[i], static_cast<int>(i) * 2) << "request " << i;
  }
}

TEST(BatcherTest, RunReturnsTheResultTheFlushSetForThatRequest) {
  TestBatcher batcher({.flushers = 2}, [](std::vector<TestBatcher::Item*>& batch) {
    for (auto* item : batch) {
      if (item->request->id % 2 == 0) {
        item->result = item->request->id + 1000;
      } else {
        item->result = absl::AbortedError(absl::StrCat("odd ", item->request->id));
      }
    }
  });
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const FakeRequest request = MakeRequest(t * 100 + i);
        absl::StatusOr<int> r = batcher.Run(request);
        const bool right = request.id % 2 == 0
                               ? r.ok() && *r == request.id + 1000
                               : r.status().message() == absl::StrCat("odd ", request.id);
        if (!right) wrong++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(BatcherTest, AnUnsettledItemReportsThatItWasNotFlushed) {
  TestBatcher batcher({.flushers = 1}, [](std::vector<TestBatcher::Item*>&) {});
  absl::StatusOr<int> r = batcher.Run(MakeRequest(1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnknown);
}

TEST(BatcherTest, RequestsWithTheSameKeyNeverShareABatch) {
  Gate gate;
  Recorder recorder;
  std::vector<FakeRequest> requests = {
      MakeRequest(0, "a"), MakeRequest(1, "a"), MakeRequest(2, "b"),
      MakeRequest(3, "a"), MakeRequest(4, "c"), MakeRequest(5, "b"),
  };
  {
    TestBatcher batcher(
        {.flushers = 1, .max_weight = 64, .key = [](const FakeRequest& r) { return r.key; }},
        [&](std::vector<TestBatcher::Item*>& batch) {
          gate.WaitIfFirst();
          recorder.Add(batch);
          for (auto* item : batch) item->result = 0;
        });
    batcher.Submit(requests[0], [](absl::StatusOr<int>) {});
    gate.WaitEntered();  // request 0 is in flight alone; the rest queue behind it
    for (size_t i = 1; i < requests.size(); ++i) batcher.Submit(requests[i], [](auto) {});
    gate.Open();
  }
  // In queue order, each batch takes the first request of each key; the rest wait.
  const std::vector<std::vector<int>> expected = {{0}, {1, 2, 4}, {3, 5}};
  EXPECT_EQ(recorder.batches(), expected);
}

TEST(BatcherTest, KeysStayUniqueWithinEveryBatchUnderConcurrentSubmitters) {
  Recorder recorder;
  std::vector<FakeRequest> requests(2000);
  for (int i = 0; i < static_cast<int>(requests.size()); ++i) {
    requests[i] = MakeRequest(i, absl::StrCat("k", i % 7));
  }
  std::atomic<int> settled{0};
  {
    TestBatcher batcher(
        {.flushers = 3, .max_weight = 64, .key = [](const FakeRequest& r) { return r.key; }},
        [&](std::vector<TestBatcher::Item*>& batch) {
          recorder.Add(batch);
          for (auto* item : batch) item->result = 0;
        });
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (size_t i = t; i < requests.size(); i += 4) {
          batcher.Submit(requests[i], [&](absl::StatusOr<int>) { settled++; });
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  EXPECT_EQ(settled.load(), static_cast<int>(requests.size()));
  size_t total = 0;
  for (const auto& batch : recorder.batches()) {
    std::set<std::string> keys;
    for (int id : batch) {
      EXPECT_TRUE(keys.insert(requests[id].key).second) << "key " << requests[id].key;
    }
    EXPECT_LE(batch.size(), 7u);  // seven distinct keys
    total += batch.size();
  }
  EXPECT_EQ(total, requests.size());
}

TEST(BatcherTest, ABatchStaysWithinTheWeightLimitAndAHeavierRequestRunsAlone) {
  Gate gate;
  Recorder recorder;
  std::vector<FakeRequest> requests = {
      MakeRequest(0, "", 1), MakeRequest(1, "", 2), MakeRequest(2, "", 2), MakeRequest(3, "", 2),
      MakeRequest(4, "", 9), MakeRequest(5, "", 1), MakeRequest(6, "", 4),
  };
  {
    TestBatcher batcher(
        {.flushers = 1, .max_weight = 5, .weight = [](const FakeRequest& r) { return r.weight; }},
        [&](std::vector<TestBatcher::Item*>& batch) {
          gate.WaitIfFirst();
          recorder.Add(batch);
          for (auto* item : batch) item->result = 0;
        });
    batcher.Submit(requests[0], [](absl::StatusOr<int>) {});
    gate.WaitEntered();
    for (size_t i = 1; i < requests.size(); ++i) batcher.Submit(requests[i], [](auto) {});
    gate.Open();
  }
  // 2+2 (a third 2 would make 6 > 5), then 2 (2+9 > 5), 9 alone (over the limit by
  // itself), then 1+4.
  const std::vector<std::vector<int>> expected = {{0}, {1, 2}, {3}, {4}, {5, 6}};
  EXPECT_EQ(recorder.batches(), expected);
}

TEST(BatcherTest, TheDestructorFlushesEverythingStillQueued) {
  Gate gate;
  std::vector<FakeRequest> requests(50);
  for (int i = 0; i < 50; ++i) requests[i].id = i;
  std::vector<std::atomic<int>> settled(requests.size());
  std::atomic<int> ok{0};
  auto batcher = std::make_unique<TestBatcher>(TestBatcher::Options{.flushers = 1, .max_weight = 4},
                                               [&](std::vector<TestBatcher::Item*>& batch) {
                                                 gate.WaitIfFirst();
                                                 for (auto* item : batch)
                                                   item->result = item->request->id;
                                               });
  auto settle = [&](int i) {
    return [&, i](absl::StatusOr<int> r) {
      if (r.ok() && *r == i) ok++;
      settled[i]++;
    };
  };
  batcher->Submit(requests[0], settle(0));
  gate.WaitEntered();
  for (int i = 1; i < 50; ++i) batcher->Submit(requests[i], settle(i));
  // The destructor starts while the first batch is held and the rest may still be queued;
  // it must not return before every request was flushed and settled.
  std::thread destroy([&] { batcher.reset(); });
  gate.Open();
  destroy.join();
  EXPECT_EQ(ok.load(), 50);
  for (size_t i = 0; i < requests.size(); ++i) EXPECT_EQ(settled[i].load(), 1) << i;
}

}  // namespace
}  // namespace flowmonkey::pg
