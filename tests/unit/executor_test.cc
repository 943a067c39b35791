#include "server/rpc/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

namespace flowmonkey::rpc {
namespace {

TEST(ExecutorTest, RunsEveryTaskFromConcurrentSubmittersExactlyOnce) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::vector<std::atomic<int>> ran(kThreads * kPerThread);
  {
    Executor executor(3);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t * kPerThread; i < (t + 1) * kPerThread; ++i) {
          executor.Submit([&ran, i] { ran[i]++; });
        }
      });
    }
    for (auto& t : threads) t.join();
  }  // runs what is still queued, then joins
  for (size_t i = 0; i < ran.size(); ++i) ASSERT_EQ(ran[i].load(), 1) << "task " << i;
}

TEST(ExecutorTest, QueuedTasksWaitForAFreeThreadAndAllRunBeforeDestruction) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ran{0};
  auto executor = std::make_unique<Executor>(1);
  executor->Submit([&] {
    entered.set_value();
    released.wait();
    ran++;
  });
  entered.get_future().wait();  // the only thread is busy: the rest stays queued
  for (int i = 0; i < 20; ++i) executor->Submit([&] { ran++; });
  EXPECT_EQ(executor->Queued(), 20u);
  EXPECT_EQ(ran.load(), 0);
  std::thread destroy([&] { executor.reset(); });
  release.set_value();
  destroy.join();
  EXPECT_EQ(ran.load(), 21);
}

TEST(ExecutorTest, RunsAsManyTasksAtOnceAsItHasThreads) {
  constexpr int kThreads = 3;
  Executor executor(kThreads);
  std::atomic<int> arrived{0};
  std::promise<void> all_arrived;
  std::shared_future<void> together = all_arrived.get_future().share();
  std::vector<std::future<bool>> met;
  for (int i = 0; i < kThreads; ++i) {
    auto done = std::make_shared<std::promise<bool>>();
    met.push_back(done->get_future());
    executor.Submit([&, done] {
      if (++arrived == kThreads) all_arrived.set_value();
      // A generous bound so a serialising executor fails instead of hanging the suite.
      done->set_value(together.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
    });
  }
  for (auto& m : met) EXPECT_TRUE(m.get());
}

}  // namespace
}  // namespace flowmonkey::rpc
