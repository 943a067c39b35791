// Group commit (server/pg/batching.h: the batching decorators over the stores' bulk
// methods): coalesced saves, gets, event records and job completions give every caller exactly the
// answer it would get alone, and concurrent saves of one execution lose no update.

#include "server/pg/batching.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/pg/event_store.h"
#include "server/pg/execution_store.h"
#include "server/pg/job_store.h"
#include "server/pg/migrations.h"
#include "tests/support/backends.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

v1::SaveExecutionRequest SaveOf(const std::string& id, int step) {
  v1::SaveExecutionRequest request;
  auto* e = request.mutable_execution();
  e->set_id(id);
  e->set_flow_id("batch-flow");
  e->set_flow_version("1.0.0");
  e->set_current_step_id(absl::StrCat("step-", step));
  e->set_status(v1::EXECUTION_STATUS_RUNNING);
  e->set_context_json(absl::StrCat(R"({"step":)", step, R"(,"quote":"a \"b\" \\ c"})"));
  e->set_step_count(step);
  return request;
}

class BatchingTest : public ::testing::Test {
 protected:
  BatchingTest() : pool_(TestPool(TestDatabase::Instance().NewPrefix(), 16)) {
    EXPECT_TRUE(pg::ApplyMigrations(*pool_).ok());
    plain_ = std::make_unique<pg::PgExecutionStore>(*pool_);
    pg::BatchOptions options;
    options.flushers = 2;
    options.max_batch = 16;
    batched_ = std::make_unique<pg::BatchingExecutionStore>(*plain_, *plain_, options);
  }
  std::unique_ptr<pg::ConnectionPool> pool_;
  std::unique_ptr<pg::PgExecutionStore> plain_;
  std::unique_ptr<pg::BatchingExecutionStore> batched_;
};

TEST_F(BatchingTest, ConcurrentSavesOfOneExecutionEachGetTheirOwnVersion) {
  constexpr int kThreads = 32, kSavesEach = 20;
  std::mutex mu;
  std::vector<int64_t> versions;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSavesEach; ++i) {
        auto saved = batched_->Save(SaveOf("hot-execution", t * kSavesEach + i));
        if (!saved.ok()) {
          failures++;
          continue;
        }
        std::lock_guard lock(mu);
        versions.push_back(saved->version());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::sort(versions.begin(), versions.end());
  std::vector<int64_t> expected(kThreads * kSavesEach);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int64_t>(i) + 1;
  EXPECT_EQ(versions, expected);  // no two saves shared a version: none was lost
  v1::GetExecutionRequest get;
  get.set_execution_id("hot-execution");
  EXPECT_EQ(batched_->Get(get)->execution().version(), kThreads * kSavesEach);
}

TEST_F(BatchingTest, CoalescedSavesAndGetsAnswerEachCaller) {
  constexpr int kThreads = 48;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string id = absl::StrCat("exec-", t);
      auto first = batched_->Save(SaveOf(id, t));
      if (!first.ok() || !first->created() || first->version() != 1) wrong++;
      auto second = batched_->Save(SaveOf(id, t + 1000));
      if (!second.ok() || second->created() || second->version() != 2) wrong++;
      v1::GetExecutionRequest get;
      get.set_execution_id(id);
      auto got = batched_->Get(get);
      if (!got.ok() || got->execution().id() != id || got->execution().step_count() != t + 1000 ||
          got->execution().current_step_id() != absl::StrCat("step-", t + 1000)) {
        wrong++;
      }
      get.set_execution_id(absl::StrCat("missing-", t));
      if (batched_->Get(get).status().code() != absl::StatusCode::kNotFound) wrong++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(BatchingTest, InvalidRequestsFailAloneBeforeBatching) {
  v1::SaveExecutionRequest bad = SaveOf("bad", 1);
  bad.mutable_execution()->set_context_json("[not an object]");
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back(
        [&, t] { ok += batched_->Save(SaveOf(absl::StrCat("good-", t), t)).ok(); });
  }
  EXPECT_EQ(batched_->Save(bad).status().code(), absl::StatusCode::kInvalidArgument);
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
}

// Group commit of EventStore.Record and RecordBatch (BatchingEventStore).
class EventBatchingTest : public ::testing::Test {
 protected:
  EventBatchingTest() : pool_(TestPool(TestDatabase::Instance().NewPrefix(), 16)) {
    EXPECT_TRUE(pg::ApplyMigrations(*pool_).ok());
    plain_ = std::make_unique<pg::PgEventStore>(*pool_);
    pg::EventBatchOptions options;
    options.flushers = 2;
    options.max_records = 16;
    options.max_rows = 40;
    options.on_batch = [this](const char* op, size_t n) {
      std::atomic<size_t>& largest =
          std::string_view(op) == "record_event_batch" ? largest_merged_ : largest_;
      size_t seen = largest.load();
      while (n > seen && !largest.compare_exchange_weak(seen, n)) {
      }
    };
    batched_ = std::make_unique<pg::BatchingEventStore>(*plain_, *plain_, options);
  }

  static v1::RecordEventRequest RecordOf(int thread, int n) {
    v1::RecordEventRequest request;
    request.mutable_event()->set_execution_id(absl::StrCat("exec-", thread));
    request.mutable_event()->set_event_type("batched");
    request.mutable_event()->set_data_json(absl::StrCat(R"({"n": )", n, "}"));
    return request;
  }

  // Every thread's `count` events are stored in its order ({"n": 0..count-1}), under ids
  // the callers were given.
  void ExpectStoredInOrder(int threads, int count, const std::set<int64_t>& ids) {
    for (int t = 0; t < threads; ++t) {
      v1::GetEventsByExecutionRequest get;
      get.set_execution_id(absl::StrCat("exec-", t));
      get.set_limit(1000);
      auto events = plain_->GetByExecution(get);
      ASSERT_TRUE(events.ok()) << events.status();
      ASSERT_EQ(events->events_size(), count);
      for (int n = 0; n < count; ++n) {
        EXPECT_EQ(events->events(n).data_json(), absl::StrCat(R"({"n": )", n, "}"));
        EXPECT_TRUE(ids.contains(events->events(n).id()));
      }
    }
  }

  std::unique_ptr<pg::ConnectionPool> pool_;
  std::unique_ptr<pg::PgEventStore> plain_;
  std::unique_ptr<pg::BatchingEventStore> batched_;
  std::atomic<size_t> largest_{0};         // Record batches
  std::atomic<size_t> largest_merged_{0};  // RecordBatch calls merged into one insert
};

TEST_F(EventBatchingTest, RepeatedRequestIdsInMergedCallsWriteOnceAndFailNothing) {
  // Threads t and t + 8 make the same calls with the same request ids, at the same time.
  constexpr int kPairs = 8, kEach = 20;
  std::mutex mu;
  std::map<std::string, std::set<int64_t>> ids_by_request;
  std::set<int64_t> ids;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kPairs; ++t) {
    threads.emplace_back([&, t] {
      const int pair = t % kPairs;
      for (int n = 0; n < kEach; ++n) {
        const std::string record_id = absl::StrCat("record-", pair, "-", n);
        v1::RecordEventRequest record = RecordOf(pair, n);
        record.set_request_id(record_id);
        auto recorded = batched_->Record(record);
        const std::string batch_id = absl::StrCat("batch-", pair, "-", n);
        v1::RecordEventBatchRequest batch;
        *batch.add_events() = RecordOf(kPairs + pair, 2 * n).event();
        *batch.add_events() = RecordOf(kPairs + pair, 2 * n + 1).event();
        batch.set_request_id(batch_id);
        auto batched = batched_->RecordBatch(batch);
        std::lock_guard lock(mu);
        if (!recorded.ok() || !batched.ok() || batched->events_size() != 2) {
          ++failed;
          continue;
        }
        ids_by_request[record_id].insert(recorded->event().id());
        ids.insert(recorded->event().id());
        for (const auto& event : batched->events()) {
          ids_by_request[absl::StrCat(batch_id, "/", event.data_json())].insert(event.id());
          ids.insert(event.id());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  for (const auto& [request, request_ids] : ids_by_request) {
    EXPECT_EQ(request_ids.size(), 1u) << request << ": both callers get the same event";
  }
  ExpectStoredInOrder(kPairs, kEach, ids);  // one event per request id
  for (int pair = 0; pair < kPairs; ++pair) {
    v1::GetEventsByExecutionRequest get;
    get.set_execution_id(absl::StrCat("exec-", kPairs + pair));
    get.set_limit(1000);
    EXPECT_EQ(plain_->GetByExecution(get)->events_size(), 2 * kEach);
  }
}

// One merged insert of calls with and without request ids, one of them already recorded and
// one repeated among the calls: each call gets its own events, in its order, and a recorded
// request id answers with what it stored the first time.
TEST_F(EventBatchingTest, MergedCallsWithAndWithoutRequestIdsEachGetTheirOwnEvents) {
  auto call = [](const std::string& request_id, int execution, int first, int count) {
    v1::RecordEventBatchRequest batch;
    for (int n = first; n < first + count; ++n)
      *batch.add_events() = RecordOf(execution, n).event();
    if (!request_id.empty()) batch.set_request_id(request_id);
    return batch;
  };
  auto earlier = plain_->RecordBatch(call("mixed-earlier", 2, 0, 1));
  ASSERT_TRUE(earlier.ok()) << earlier.status();
  const std::vector<v1::RecordEventBatchRequest> calls = {
      call("", 0, 0, 2),               // no request id
      call("mixed-new", 1, 0, 3),      // a new request id
      call("mixed-earlier", 2, 0, 1),  // recorded above: writes nothing
      call("", 0, 2, 1),               // no request id
      call("mixed-new", 1, 0, 3),      // repeated among the calls: runs after the first
  };
  pg::Requests<v1::RecordEventBatchRequest> requests;
  for (const auto& c : calls) requests.push_back(&c);
  auto results = plain_->RecordBatchMany(requests);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), calls.size());
  std::vector<std::vector<int64_t>> ids;
  for (size_t c = 0; c < calls.size(); ++c) {
    ASSERT_TRUE((*results)[c].ok()) << c << ": " << (*results)[c].status();
    const v1::RecordEventBatchResponse& response = *(*results)[c];
    ASSERT_EQ(response.events_size(), calls[c].events_size()) << c;
    ids.emplace_back();
    for (int i = 0; i < response.events_size(); ++i) {
      EXPECT_EQ(response.events(i).data_json(), calls[c].events(i).data_json()) << c;
      ids.back().push_back(response.events(i).id());
    }
  }
  // Ids are drawn in call order, one per event written.
  const std::vector<int64_t> written = {ids[0][0], ids[0][1], ids[1][0],
                                        ids[1][1], ids[1][2], ids[3][0]};
  EXPECT_TRUE(std::is_sorted(written.begin(), written.end()));
  EXPECT_EQ(std::set<int64_t>(written.begin(), written.end()).size(), written.size());
  EXPECT_EQ(ids[2], std::vector<int64_t>{earlier->events(0).id()});
  EXPECT_EQ(ids[4], ids[1]);
  // Stored once each: exec-0 has its 3 events in order, exec-1 the new call's 3, exec-2 one.
  for (const auto& [execution, count] : {std::pair{0, 3}, std::pair{1, 3}, std::pair{2, 1}}) {
    v1::GetEventsByExecutionRequest get;
    get.set_execution_id(absl::StrCat("exec-", execution));
    get.set_limit(100);
    auto stored = plain_->GetByExecution(get);
    ASSERT_TRUE(stored.ok()) << stored.status();
    ASSERT_EQ(stored->events_size(), count) << execution;
    for (int n = 0; n < count; ++n) {
      EXPECT_EQ(stored->events(n).data_json(), absl::StrCat(R"({"n": )", n, "}")) << execution;
    }
    EXPECT_EQ(stored->events(0).id(), execution == 0   ? ids[0][0]
                                      : execution == 1 ? ids[1][0]
                                                       : ids[2][0]);
  }
}

TEST_F(EventBatchingTest, ConcurrentRecordsEachGetTheirOwnStoredEvent) {
  constexpr int kThreads = 32, kEach = 25;
  std::mutex mu;
  std::set<int64_t> ids;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < kEach; ++n) {
        auto recorded = batched_->Record(RecordOf(t, n));
        if (!recorded.ok() || recorded->event().execution_id() != absl::StrCat("exec-", t) ||
            recorded->event().data_json() != absl::StrCat(R"({"n": )", n, "}")) {
          ++wrong;
          continue;
        }
        std::lock_guard lock(mu);
        ids.insert(recorded->event().id());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kEach));  // distinct ids
  EXPECT_GT(largest_.load(), 1u);  // the records were in fact coalesced
  ExpectStoredInOrder(kThreads, kEach, ids);
}

TEST_F(EventBatchingTest, AnInvalidRecordFailsAloneBeforeBatching) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] { ok += batched_->Record(RecordOf(t, 0)).ok(); });
  }
  v1::RecordEventRequest bad = RecordOf(99, 0);
  bad.mutable_event()->set_data_json("{not json");
  EXPECT_EQ(batched_->Record(bad).status().code(), absl::StatusCode::kInvalidArgument);
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
}

// Concurrent RecordBatch calls are merged into one insert (max_event_rows 40: up to 8 calls
// of 5); each caller gets back its own events, in its order, with ids that are stored.
TEST_F(EventBatchingTest, MergedRecordBatchesAnswerEachCaller) {
  constexpr int kThreads = 16, kCalls = 10, kPerCall = 5;
  std::mutex mu;
  std::set<int64_t> ids;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCalls; ++c) {
        v1::RecordEventBatchRequest request;
        for (int i = 0; i < kPerCall; ++i) {
          *request.add_events() = RecordOf(t, c * kPerCall + i).event();
        }
        auto recorded = batched_->RecordBatch(request);
        if (!recorded.ok() || recorded->events_size() != kPerCall) {
          ++wrong;
          continue;
        }
        std::lock_guard lock(mu);
        for (int i = 0; i < kPerCall; ++i) {
          const v1::Event& e = recorded->events(i);
          if (e.execution_id() != absl::StrCat("exec-", t) ||
              e.data_json() != absl::StrCat(R"({"n": )", c * kPerCall + i, "}") ||
              (i > 0 && e.id() <= recorded->events(i - 1).id())) {
            ++wrong;
          }
          ids.insert(e.id());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kCalls * kPerCall));
  EXPECT_GT(largest_merged_.load(), 1u);  // calls were in fact merged
  EXPECT_LE(largest_merged_.load(), 8u);  // and no insert took more than 40 events
  ExpectStoredInOrder(kThreads, kCalls * kPerCall, ids);
}

TEST_F(EventBatchingTest, AnInvalidRecordBatchFailsAloneAndWritesNothing) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      v1::RecordEventBatchRequest request;
      for (int i = 0; i < 3; ++i) *request.add_events() = RecordOf(t, i).event();
      ok += batched_->RecordBatch(request).ok();
    });
  }
  v1::RecordEventBatchRequest bad;
  *bad.add_events() = RecordOf(99, 0).event();
  *bad.add_events() = RecordOf(99, 1).event();
  bad.mutable_events(1)->set_data_json("{not json");
  const absl::Status status = batched_->RecordBatch(bad).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("events[1]"), std::string_view::npos) << status;
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  v1::GetEventsByExecutionRequest get;
  get.set_execution_id("exec-99");
  auto events = plain_->GetByExecution(get);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(events->events_size(), 0);  // all or nothing
}

// Batched completions keep the fence: 40 claimed jobs, each completed by two threads of
// its runner and once by a wrong runner, all at once: exactly one success per job, and
// the losers get the plain store's FAILED_PRECONDITION.
TEST(JobBatching, ConcurrentCompletionsKeepTheFenceAndOneWinnerPerJob) {
  auto pool = TestPool(TestDatabase::Instance().NewPrefix(), 16);
  ASSERT_TRUE(pg::ApplyMigrations(*pool).ok());
  pg::PgExecutionStore executions(*pool);
  std::atomic<size_t> largest{0};
  pg::BatchOptions options;
  options.flushers = 2;
  options.on_batch = [&largest](const char*, size_t n) {
    size_t seen = largest.load();
    while (n > seen && !largest.compare_exchange_weak(seen, n)) {
    }
  };
  pg::PgJobStore plain_jobs(*pool);
  pg::BatchingJobStore jobs(plain_jobs, plain_jobs, options);
  v1::CreateExecutionRequest create;
  v1::Execution& e = *create.mutable_execution();
  e.set_id("job-batch");
  e.set_flow_id("flow");
  e.set_flow_version("1.0.0");
  e.set_current_step_id("step");
  e.set_status(v1::EXECUTION_STATUS_RUNNING);
  ASSERT_TRUE(executions.Create(create).ok());
  constexpr int kJobs = 40;
  for (int i = 0; i < kJobs; ++i) {
    v1::CreateJobRequest job;
    job.set_execution_id("job-batch");
    job.set_step_id(absl::StrCat("step-", i));
    job.set_handler("h");
    job.set_input_json(R"({"n":1})");
    ASSERT_TRUE(jobs.Create(job).ok());
  }
  v1::ClaimNextJobsRequest claim;
  claim.set_runner_id("runner-a");
  claim.add_handlers("h");
  claim.set_max_jobs(kJobs);
  auto claimed = jobs.ClaimNext(claim);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->jobs_size(), kJobs);
  std::vector<std::atomic<int>> wins(kJobs);
  std::atomic<int> wrong_runner_ok{0}, other_failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kJobs; ++i) {
    for (const char* runner : {"runner-a", "runner-a", "runner-b"}) {
      threads.emplace_back([&, i, runner] {
        v1::CompleteJobRequest complete;
        complete.set_job_id(claimed->jobs(i).id());
        complete.set_runner_id(runner);
        complete.set_result_json(absl::StrCat(R"({"i":)", i, "}"));
        auto done = jobs.Complete(complete);
        if (done.ok()) {
          std::string_view(runner) == "runner-a" ? ++wins[i] : ++wrong_runner_ok;
        } else if (done.status().code() != absl::StatusCode::kFailedPrecondition) {
          ++other_failures;
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kJobs; ++i) EXPECT_EQ(wins[i].load(), 1) << "job " << i;
  EXPECT_EQ(wrong_runner_ok.load(), 0);
  EXPECT_EQ(other_failures.load(), 0);
  EXPECT_GT(largest.load(), 1u);  // completions were in fact batched
  for (int i = 0; i < kJobs; ++i) {
    v1::GetJobRequest get;
    get.set_job_id(claimed->jobs(i).id());
    auto job = jobs.Get(get);
    ASSERT_TRUE(job.ok()) << job.status();
    EXPECT_EQ(job->job().status(), v1::JOB_STATUS_COMPLETED);
    EXPECT_EQ(job->job().result_json(), absl::StrCat(R"({"i": )", i, "}"));
  }
}

}  // namespace
}  // namespace flowmonkey::testing
