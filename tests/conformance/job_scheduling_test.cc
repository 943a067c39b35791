// JobStore scheduling conformance (job.proto: run_at, priority, retries with backoff): every
// test runs against the PostgreSQL store, the batching decorators and the remote client.
// Times are relative to the server's clock (same host): due jobs have run_at in the past,
// the others an hour ahead; nothing sleeps and nothing asserts on elapsed time.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <pqxx/result>
#include <pqxx/transaction>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/job_rules.h"
#include "core/validation.h"
#include "nlohmann/json.hpp"
#include "tests/support/backends.h"
#include "tests/support/sql.h"

namespace flowmonkey::testing {
namespace {

using ::absl::StatusCode;
using ::testing::HasSubstr;

constexpr const char* kScheduledExecution = "sched-exec";
constexpr int64_t kHour = 60 * 60 * 1000;

v1::CreateJobRequest NewJob(const std::string& step, const std::string& handler = "h") {
  v1::CreateJobRequest request;
  request.set_execution_id(kScheduledExecution);
  request.set_step_id(step);
  request.set_handler(handler);
  request.set_input_json("{}");
  return request;
}

// The running execution every job here belongs to.
absl::Status CreateTheExecution(ExecutionStore& executions) {
  return CreateRunningExecution(executions, kScheduledExecution);
}

template <typename Backend>
class JobSchedulingTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(CreateTheExecution(backend_.executions()).ok()); }

  JobStore& jobs() { return backend_.jobs(); }

  v1::Job Create(const v1::CreateJobRequest& request) {
    auto response = jobs().Create(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->job() : v1::Job();
  }
  // A job due at `run_at` with `priority`, handler `handler`.
  v1::Job CreateAt(const std::string& step, int64_t run_at, int32_t priority = 0,
                   const std::string& handler = "h") {
    v1::CreateJobRequest request = NewJob(step, handler);
    request.set_run_at(run_at);
    request.set_priority(priority);
    return Create(request);
  }
  absl::StatusOr<v1::Job> Claim(const std::string& job_id) {
    v1::ClaimJobRequest request;
    request.set_job_id(job_id);
    request.set_runner_id("r");
    auto response = jobs().Claim(request);
    if (!response.ok()) return response.status();
    return response->job();
  }
  std::vector<std::string> ClaimNext(const std::vector<std::string>& handlers, int max_jobs) {
    v1::ClaimNextJobsRequest request;
    request.set_runner_id("r");
    request.set_max_jobs(max_jobs);
    for (const auto& h : handlers) request.add_handlers(h);
    auto response = jobs().ClaimNext(request);
    EXPECT_TRUE(response.ok()) << response.status();
    std::vector<std::string> ids;
    if (response.ok()) {
      for (const auto& job : response->jobs()) ids.push_back(job.id());
    }
    return ids;
  }
  v1::Job Get(const std::string& job_id) {
    v1::GetJobRequest request;
    request.set_job_id(job_id);
    auto response = jobs().Get(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->job() : v1::Job();
  }
  // The execution's 'job.failed' events (a job failed for good tells its execution).
  std::vector<v1::Event> FailedEvents() {
    v1::QueryEventsRequest query;
    query.set_execution_id(kScheduledExecution);
    query.add_event_types("job.failed");
    auto events = backend_.events().Query(query);
    EXPECT_TRUE(events.ok()) << events.status();
    if (!events.ok()) return {};
    return {events->events().begin(), events->events().end()};
  }
  absl::StatusOr<v1::FailJobResponse> Fail(const std::string& job_id, bool permanent = false) {
    v1::FailJobRequest request;
    request.set_job_id(job_id);
    request.set_runner_id("r");
    request.mutable_error()->set_code("SMTP_DOWN");
    request.mutable_error()->set_message("try later");
    request.set_permanent(permanent);
    return jobs().Fail(request);
  }
  // Moves a job's run_at to the past, as time passing would.
  void MakeDue(const std::string& job_id) {
    ASSERT_EQ(RunSql(backend_.prefix(),
                     absl::StrCat("UPDATE fm_jobs SET run_at = ", NowMs() - 1, " WHERE id = '",
                                  job_id, "'"),
                     /*affected=*/true),
              1);
  }

  Backend backend_;
};

TYPED_TEST_SUITE(JobSchedulingTest, Backends, BackendNames);

TYPED_TEST(JobSchedulingTest, DefaultsRunAtIsCreatedAtPriorityZeroNoRetry) {
  const v1::Job job = this->Create(NewJob("defaults"));
  EXPECT_EQ(job.run_at(), job.created_at());
  EXPECT_EQ(job.priority(), 0);
  EXPECT_FALSE(job.has_retry());
  v1::CreateJobRequest zero = NewJob("zero");
  zero.set_run_at(0);  // 0 is "now", like unset
  const v1::Job now = this->Create(zero);
  EXPECT_EQ(now.run_at(), now.created_at());

  v1::CreateJobRequest full = NewJob("full");
  full.set_run_at(NowMs() + kHour);
  full.set_priority(-1000);
  full.mutable_retry()->set_initial_backoff_ms(10);
  full.mutable_retry()->set_max_backoff_ms(20);
  const v1::Job stored = this->Get(this->Create(full).id());
  EXPECT_EQ(stored.run_at(), full.run_at());
  EXPECT_EQ(stored.priority(), -1000);
  EXPECT_EQ(stored.retry().initial_backoff_ms(), 10);
  EXPECT_EQ(stored.retry().max_backoff_ms(), 20);
}

TYPED_TEST(JobSchedulingTest, RowsFromBeforeMigration0005ReadRunAtAsCreatedAtAndAreDue) {
  const int64_t created = NowMs() - 10;
  // As a row written before the migration (or by an older replica): run_at and priority
  // left to their column defaults.
  ASSERT_EQ(RunSql(this->backend_.prefix(),
                   absl::StrCat("INSERT INTO fm_jobs (id, execution_id, step_id, handler, status,"
                                " input, created_at, updated_at) VALUES ('old-row', '",
                                kScheduledExecution, "', 'old', 'h', 'pending', '{}', ", created,
                                ", ", created, ")"),
                   /*affected=*/true),
            1);
  const v1::Job fresh = this->Create(NewJob("fresh"));
  const v1::Job old = this->Get("old-row");
  EXPECT_EQ(old.run_at(), created);
  EXPECT_EQ(old.priority(), 0);
  EXPECT_FALSE(old.has_retry());
  EXPECT_EQ(this->ClaimNext({"h"}, 1), std::vector<std::string>{"old-row"});
  EXPECT_EQ(this->ClaimNext({}, 1), std::vector<std::string>{fresh.id()});
}

TYPED_TEST(JobSchedulingTest, NotClaimableBeforeRunAt) {
  const int64_t now = NowMs();
  const v1::Job later = this->CreateAt("later", now + kHour);
  const v1::Job due = this->CreateAt("due", now - 1000);
  EXPECT_EQ(later.run_at(), now + kHour);
  EXPECT_EQ(due.run_at(), now - 1000);

  EXPECT_EQ(this->ClaimNext({}, 10), std::vector<std::string>{due.id()});
  EXPECT_EQ(this->Get(due.id()).status(), v1::JOB_STATUS_RUNNING);
  EXPECT_TRUE(this->ClaimNext({}, 10).empty());
  EXPECT_TRUE(this->ClaimNext({"h"}, 10).empty());
  EXPECT_TRUE(this->ClaimNext({"h", "x"}, 10).empty());
  const absl::Status early = this->Claim(later.id()).status();
  EXPECT_EQ(early.code(), StatusCode::kFailedPrecondition) << early;
  EXPECT_THAT(std::string(early.message()), HasSubstr("not due"));
  EXPECT_EQ(this->Get(later.id()).status(), v1::JOB_STATUS_PENDING);
  EXPECT_EQ(this->Get(later.id()).attempts(), 0);

  // Once run_at has passed, both claim it.
  this->MakeDue(later.id());
  EXPECT_EQ(this->ClaimNext({"h"}, 10), std::vector<std::string>{later.id()});
  const v1::Job other = this->CreateAt("other", NowMs() + kHour);
  this->MakeDue(other.id());
  EXPECT_TRUE(this->Claim(other.id()).ok());
}

TYPED_TEST(JobSchedulingTest, HighestPriorityFirstFifoWithinAPriority) {
  const int64_t now = NowMs();
  // One round per ClaimNext statement: no filter, one handler, several handlers.
  const std::vector<std::vector<std::string>> filters = {{}, {"one"}, {"two", "other"}};
  const std::vector<std::string> handlers = {"any", "one", "two"};
  for (size_t round = 0; round < filters.size(); ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const std::string& h = handlers[round];
    const std::string p = absl::StrCat("r", round, "-");
    const v1::Job low = this->CreateAt(p + "low", now - 5000, -3, h);
    const v1::Job mid_late = this->CreateAt(p + "mid-late", now - 3000, 0, h);
    const v1::Job high_late = this->CreateAt(p + "high-late", now - 1000, 5, h);
    const v1::Job mid_early = this->CreateAt(p + "mid-early", now - 4000, 0, h);
    const v1::Job high_early = this->CreateAt(p + "high-early", now - 2000, 5, h);
    const v1::Job high_not_due = this->CreateAt(p + "high-not-due", now + kHour, 1000, h);
    const std::vector<std::string> expected = {high_early.id(), high_late.id(), mid_early.id(),
                                               mid_late.id(), low.id()};
    // One at a time: the order of the claims.
    std::vector<std::string> one_by_one;
    for (int i = 0; i < 2; ++i) {
      const std::vector<std::string> one = this->ClaimNext(filters[round], 1);
      ASSERT_EQ(one.size(), 1u) << "claim " << i;
      one_by_one.push_back(one[0]);
    }
    // The rest at once: the order of the response.
    for (const auto& id : this->ClaimNext(filters[round], 10)) one_by_one.push_back(id);
    EXPECT_EQ(one_by_one, expected);
    EXPECT_EQ(this->Get(high_not_due.id()).status(), v1::JOB_STATUS_PENDING);
  }
}

TYPED_TEST(JobSchedulingTest, FailRetriesWithExponentialBackoffThenFailsForGood) {
  v1::CreateJobRequest request = NewJob("retry");
  request.set_max_attempts(4);
  request.mutable_retry()->set_initial_backoff_ms(kHour);
  request.mutable_retry()->set_max_backoff_ms(3 * kHour);
  const v1::Job job = this->Create(request);
  // Caps: 1 h, 2 h, then 3 h (4 h capped); the 4th failure is final.
  for (int attempt = 1; attempt <= 3; ++attempt) {
    SCOPED_TRACE(absl::StrCat("attempt ", attempt));
    ASSERT_TRUE(this->Claim(job.id()).ok());
    const int64_t cap = JobBackoffCapMs(request.retry(), attempt);
    EXPECT_EQ(cap, std::min<int64_t>(kHour << (attempt - 1), 3 * kHour));
    const int64_t before = NowMs();
    auto failed = this->Fail(job.id());
    const int64_t after = NowMs();
    ASSERT_TRUE(failed.ok()) << failed.status();
    EXPECT_TRUE(failed->will_retry());
    EXPECT_GE(failed->next_run_at(), before + cap / 2);
    EXPECT_LE(failed->next_run_at(), after + cap);
    const v1::Job pending = this->Get(job.id());
    EXPECT_EQ(pending.status(), v1::JOB_STATUS_PENDING);
    EXPECT_EQ(pending.run_at(), failed->next_run_at());
    EXPECT_EQ(pending.attempts(), attempt);
    EXPECT_FALSE(pending.has_runner_id());
    EXPECT_FALSE(pending.has_instance_id());
    EXPECT_EQ(pending.error().code(), "SMTP_DOWN");  // the last error
    // Not claimable until next_run_at, by id nor by ClaimNext.
    EXPECT_EQ(this->Claim(job.id()).status().code(), StatusCode::kFailedPrecondition);
    EXPECT_TRUE(this->ClaimNext({}, 10).empty());
    // The old runner is fenced off while the job waits.
    EXPECT_EQ(this->Fail(job.id()).status().code(), StatusCode::kFailedPrecondition);
    this->MakeDue(job.id());
  }
  // The retries told the execution nothing; the last failure does.
  EXPECT_TRUE(this->FailedEvents().empty());
  ASSERT_TRUE(this->Claim(job.id()).ok());
  auto last = this->Fail(job.id());
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_FALSE(last->will_retry());
  EXPECT_EQ(last->next_run_at(), 0);
  const std::vector<v1::Event> told = this->FailedEvents();
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].step_id(), job.step_id());
  const nlohmann::json data = nlohmann::json::parse(told[0].data_json());
  EXPECT_EQ(data["jobId"], job.id());
  EXPECT_EQ(data["handler"], job.handler());
  EXPECT_EQ(data["attempts"], 4);
  EXPECT_EQ(data["error"]["code"], "SMTP_DOWN");
  const v1::Job failed = this->Get(job.id());
  EXPECT_EQ(failed.status(), v1::JOB_STATUS_FAILED);
  EXPECT_EQ(failed.attempts(), 4);
  EXPECT_EQ(failed.error().code(), "SMTP_DOWN");
  EXPECT_EQ(this->Claim(job.id()).status().code(), StatusCode::kFailedPrecondition);
}

TYPED_TEST(JobSchedulingTest, PermanentFailureAndNoPolicyAreFinal) {
  v1::CreateJobRequest request = NewJob("permanent");
  request.mutable_retry()->set_initial_backoff_ms(1000);
  request.mutable_retry()->set_max_backoff_ms(1000);
  const v1::Job with_policy = this->Create(request);
  ASSERT_TRUE(this->Claim(with_policy.id()).ok());
  auto permanent = this->Fail(with_policy.id(), /*permanent=*/true);
  ASSERT_TRUE(permanent.ok()) << permanent.status();
  EXPECT_FALSE(permanent->will_retry());
  EXPECT_EQ(this->Get(with_policy.id()).status(), v1::JOB_STATUS_FAILED);

  EXPECT_EQ(this->FailedEvents().size(), 1u);

  const v1::Job plain = this->Create(NewJob("plain"));
  ASSERT_TRUE(this->Claim(plain.id()).ok());
  auto failed = this->Fail(plain.id());
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_FALSE(failed->will_retry());
  EXPECT_EQ(failed->next_run_at(), 0);
  EXPECT_GT(failed->updated_at(), 0);
  const v1::Job stored = this->Get(plain.id());
  EXPECT_EQ(stored.status(), v1::JOB_STATUS_FAILED);
  EXPECT_EQ(stored.run_at(), plain.run_at());  // untouched
  EXPECT_EQ(this->FailedEvents().size(), 2u);
  // A failed job stays failed: a second Fail is refused and tells nothing more.
  EXPECT_EQ(this->Fail(plain.id()).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->FailedEvents().size(), 2u);
}

TYPED_TEST(JobSchedulingTest, RetryingFailInsideATransaction) {
  v1::CreateJobRequest create = NewJob("txn");
  create.set_priority(7);
  create.mutable_retry()->set_initial_backoff_ms(kHour);
  create.mutable_retry()->set_max_backoff_ms(kHour);
  v1::CommitRequest commit;
  *commit.add_operations()->mutable_create_job() = create;
  auto created = this->backend_.transactions().Commit(commit);
  ASSERT_TRUE(created.ok()) << created.status();
  const v1::Job job = created->results(0).create_job().job();
  EXPECT_EQ(job.priority(), 7);
  EXPECT_EQ(job.retry().initial_backoff_ms(), kHour);

  ASSERT_TRUE(this->Claim(job.id()).ok());
  v1::CommitRequest fail;
  v1::FailJobRequest& f = *fail.add_operations()->mutable_fail_job();
  f.set_job_id(job.id());
  f.set_runner_id("r");
  f.mutable_error()->set_code("E");
  const int64_t before = NowMs();
  auto failed = this->backend_.transactions().Commit(fail);
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_TRUE(failed->results(0).fail_job().will_retry());
  EXPECT_GE(failed->results(0).fail_job().next_run_at(), before + kHour / 2);
  EXPECT_EQ(this->Get(job.id()).status(), v1::JOB_STATUS_PENDING);
}

TYPED_TEST(JobSchedulingTest, InvalidSchedulingFieldsAreInvalidArgumentNamingTheField) {
  struct Case {
    const char* field;
    std::function<void(v1::CreateJobRequest&)> edit;
  };
  const std::vector<Case> cases = {
      {"run_at", [](v1::CreateJobRequest& r) { r.set_run_at(-1); }},
      {"run_at", [](v1::CreateJobRequest& r) { r.set_run_at(kMaxTimestampMs + 1); }},
      {"priority", [](v1::CreateJobRequest& r) { r.set_priority(kMaxJobPriority + 1); }},
      {"priority", [](v1::CreateJobRequest& r) { r.set_priority(kMinJobPriority - 1); }},
      {"retry.initial_backoff_ms", [](v1::CreateJobRequest& r) { r.mutable_retry(); }},
      {"retry.initial_backoff_ms",
       [](v1::CreateJobRequest& r) {
         r.mutable_retry()->set_initial_backoff_ms(-5);
         r.mutable_retry()->set_max_backoff_ms(10);
       }},
      {"retry.max_backoff_ms",
       [](v1::CreateJobRequest& r) { r.mutable_retry()->set_initial_backoff_ms(1000); }},
      {"retry.max_backoff_ms",
       [](v1::CreateJobRequest& r) {
         r.mutable_retry()->set_initial_backoff_ms(1000);
         r.mutable_retry()->set_max_backoff_ms(999);
       }},
      {"retry.max_backoff_ms",
       [](v1::CreateJobRequest& r) {
         r.mutable_retry()->set_initial_backoff_ms(1000);
         r.mutable_retry()->set_max_backoff_ms(kMaxDurationMs + 1);
       }},
  };
  for (const Case& c : cases) {
    v1::CreateJobRequest request = NewJob("bad");
    c.edit(request);
    const absl::Status status = this->jobs().Create(request).status();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.field << ": " << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.field));
  }
  v1::ListJobsByExecutionRequest list;
  list.set_execution_id(kScheduledExecution);
  EXPECT_EQ(this->jobs().ListByExecution(list)->jobs_size(), 0);  // nothing half-written
}

TYPED_TEST(JobSchedulingTest, ConcurrentClaimersTakeEveryDueJobOnceAndNoneEarly) {
  constexpr int kDue = 3000;
  constexpr int kLater = 1000;
  constexpr int kWorkers = 16;
  const int64_t now = NowMs();
  // Mixed priorities (-3..3) and run_at values, seeded in one statement each.
  ASSERT_EQ(
      RunSql(this->backend_.prefix(),
             absl::StrCat("INSERT INTO fm_jobs (id, execution_id, step_id, handler, status,"
                          " input, created_at, updated_at, run_at, priority) SELECT 'due-' ||"
                          " g, '",
                          kScheduledExecution, "', 'bulk', 'h' || (g % 3), 'pending', '{}', g, g, ",
                          now, " - g, g % 7 - 3 FROM generate_series(1, ", kDue, ") AS g"),
             /*affected=*/true),
      kDue);
  ASSERT_EQ(RunSql(this->backend_.prefix(),
                   absl::StrCat("INSERT INTO fm_jobs (id, execution_id, step_id, handler, status,"
                                " input, created_at, updated_at, run_at, priority) SELECT 'later-'"
                                " || g, '",
                                kScheduledExecution,
                                "', 'bulk', 'h' || (g % 3), 'pending', '{}', g, g, ", now + kHour,
                                " + g, g % 7 - 3 FROM generate_series(1, ", kLater, ") AS g"),
                   /*affected=*/true),
            kLater);
  std::vector<std::vector<std::string>> claimed(kWorkers);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      v1::ClaimNextJobsRequest request;
      request.set_runner_id(absl::StrCat("worker-", w));
      request.set_max_jobs(10);
      if (w % 4 == 1) request.add_handlers("h1");  // the three statements race each other
      if (w % 4 == 2) {
        request.add_handlers("h0");
        request.add_handlers("h2");
      }
      for (;;) {
        auto response = this->jobs().ClaimNext(request);
        if (!response.ok()) {
          errors++;
          return;
        }
        if (response->jobs().empty()) return;
        EXPECT_LE(response->jobs_size(), request.max_jobs());
        for (const auto& job : response->jobs()) claimed[w].push_back(job.id());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  std::set<std::string> unique;
  size_t total = 0;
  int early = 0;
  for (const auto& ids : claimed) {
    total += ids.size();
    unique.insert(ids.begin(), ids.end());
    for (const auto& id : ids) early += id.rfind("later-", 0) == 0;
  }
  EXPECT_EQ(early, 0);                                  // none before its run_at
  EXPECT_EQ(total, static_cast<size_t>(kDue));          // nobody got a job twice
  EXPECT_EQ(unique.size(), static_cast<size_t>(kDue));  // every due job claimed
  EXPECT_EQ(RunSql(this->backend_.prefix(),
                   "SELECT count(*) FROM fm_jobs WHERE status = 'pending' AND id LIKE 'later-%'"),
            kLater);
}

// ---- slots (one claim for several workers) and Release --------------------------------

v1::ClaimNextJobsRequest SlotClaim(const std::vector<std::pair<std::string, std::string>>& slots) {
  v1::ClaimNextJobsRequest request;
  for (const auto& [runner, instance] : slots) {
    v1::ClaimSlot* slot = request.add_slots();
    slot->set_runner_id(runner);
    slot->set_instance_id(instance);
  }
  return request;
}

TYPED_TEST(JobSchedulingTest, EachClaimedJobTakesOneSlotItsRunnerAndInstance) {
  const int64_t now = NowMs();
  for (int i = 0; i < 5; ++i) this->CreateAt(absl::StrCat("s", i), now - 1000 + i);
  auto claimed = this->jobs().ClaimNext(SlotClaim({{"ra", "ia"}, {"rb", "ib"}, {"rc", "ic"}}));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->jobs_size(), 3);  // max_jobs 0: as many as slots
  std::set<std::string> instances;
  for (const v1::Job& job : claimed->jobs()) {
    instances.insert(job.instance_id());
    EXPECT_EQ(job.runner_id(), "r" + job.instance_id().substr(1));  // the slot's own pair
    const v1::Job stored = this->Get(job.id());
    EXPECT_EQ(stored.status(), v1::JOB_STATUS_RUNNING);
    EXPECT_EQ(stored.instance_id(), job.instance_id());
    EXPECT_EQ(stored.attempts(), 1);
  }
  EXPECT_EQ(instances, (std::set<std::string>{"ia", "ib", "ic"}));
  // Fenced by the slot's instance: another instance cannot complete it, its own can.
  const v1::Job& first = claimed->jobs(0);
  v1::CompleteJobRequest complete;
  complete.set_job_id(first.id());
  complete.set_runner_id(first.runner_id());
  complete.set_instance_id(first.instance_id() == "ia" ? "ib" : "ia");
  EXPECT_EQ(this->jobs().Complete(complete).status().code(), StatusCode::kFailedPrecondition);
  complete.set_instance_id(first.instance_id());
  EXPECT_TRUE(this->jobs().Complete(complete).ok());
  // max_jobs below the slots: only max_jobs jobs.
  v1::ClaimNextJobsRequest fewer = SlotClaim({{"rd", "id"}, {"re", "ie"}});
  fewer.set_max_jobs(1);
  auto one = this->jobs().ClaimNext(fewer);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->jobs_size(), 1);
}

TYPED_TEST(JobSchedulingTest, ReleaseGivesBackOnlyJobsStillRunningAsTheNamedInstance) {
  const int64_t now = NowMs();
  this->CreateAt("a", now - 2);
  this->CreateAt("b", now - 1);
  auto claimed = this->jobs().ClaimNext(SlotClaim({{"r", "i1"}, {"r", "i2"}}));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->jobs_size(), 2);
  const v1::Job& a = claimed->jobs(0);
  const v1::Job& b = claimed->jobs(1);
  v1::ReleaseJobsRequest release;
  release.add_job_ids(a.id());
  release.add_instance_ids(a.instance_id());
  release.add_job_ids(b.id());
  release.add_instance_ids("someone-else");
  auto released = this->jobs().Release(release);
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(released->released(), 1);
  const v1::Job back = this->Get(a.id());
  EXPECT_EQ(back.status(), v1::JOB_STATUS_PENDING);
  EXPECT_EQ(back.attempts(), 0);  // the attempt is given back
  EXPECT_FALSE(back.has_runner_id());
  EXPECT_FALSE(back.has_instance_id());
  EXPECT_EQ(this->Get(b.id()).status(), v1::JOB_STATUS_RUNNING);
  // Again: nothing is running as that instance any more.
  released = this->jobs().Release(release);
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(released->released(), 0);
  // Claimable again at once.
  EXPECT_EQ(this->ClaimNext({}, 5), std::vector<std::string>{a.id()});
}

TYPED_TEST(JobSchedulingTest, MalformedSlotsAndReleasesAreInvalidArgumentNamingTheField) {
  struct Case {
    v1::ClaimNextJobsRequest request;
    const char* field;
  };
  std::vector<Case> cases;
  cases.push_back({SlotClaim({{"r", "same"}, {"r", "same"}}), "slots[1].instance_id"});
  cases.push_back({SlotClaim({{"", "i"}}), "slots[0].runner_id"});
  cases.push_back({SlotClaim({{"r", ""}}), "slots[0].instance_id"});
  for (const Case& c : cases) {
    auto response = this->jobs().ClaimNext(c.request);
    EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(response.status().message(), HasSubstr(c.field));
  }
  v1::ReleaseJobsRequest release;
  release.add_job_ids("j");
  auto released = this->jobs().Release(release);
  EXPECT_EQ(released.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(released.status().message(), HasSubstr("instance_ids"));
}

// Many dispatchers claiming with slots at once: every job is handed out once, each with
// the instance of the slot it took, and no instance is used twice.
TYPED_TEST(JobSchedulingTest, ConcurrentSlotClaimsHandEachJobOnceToOneSlot) {
  constexpr int kJobs = 1500;
  constexpr int kThreads = 12;
  ASSERT_EQ(RunSql(this->backend_.prefix(),
                   absl::StrCat("INSERT INTO fm_jobs (id, execution_id, step_id, handler, status,"
                                " input, created_at, updated_at, run_at, priority) SELECT 'slot-'"
                                " || g, '",
                                kScheduledExecution,
                                "', 'bulk', 'h', 'pending', '{}', g, g, g, g % 3"
                                " FROM generate_series(1, ",
                                kJobs, ") AS g"),
                   /*affected=*/true),
            kJobs);
  std::vector<std::vector<std::pair<std::string, std::string>>> claimed(kThreads);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0;; ++round) {
        std::vector<std::pair<std::string, std::string>> slots;
        for (int i = 0; i < 7; ++i) {
          slots.emplace_back(absl::StrCat("r", t), absl::StrCat("t", t, "-", round, "-", i));
        }
        auto response = this->jobs().ClaimNext(SlotClaim(slots));
        if (!response.ok()) {
          errors++;
          return;
        }
        if (response->jobs().empty()) return;
        for (const auto& job : response->jobs()) {
          EXPECT_EQ(job.runner_id(), absl::StrCat("r", t));
          claimed[t].emplace_back(job.id(), job.instance_id());
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(errors.load(), 0);
  std::set<std::string> ids;
  std::set<std::string> instances;
  size_t total = 0;
  for (const auto& pairs : claimed) {
    total += pairs.size();
    for (const auto& [id, instance] : pairs) {
      ids.insert(id);
      instances.insert(instance);
    }
  }
  EXPECT_EQ(total, static_cast<size_t>(kJobs));       // nobody got a job twice
  EXPECT_EQ(ids.size(), static_cast<size_t>(kJobs));  // every job claimed
  EXPECT_EQ(instances.size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(RunSql(this->backend_.prefix(),
                   "SELECT count(*) FROM fm_jobs WHERE status = 'running' AND"
                   " instance_id IS NOT NULL"),
            kJobs);
}

// ---- the claim statements read the partial indexes of migration 0005 ----------------

// The plan of the store's own ClaimNext statement (registered by the Pg store) over a
// table of 5,000 pending jobs, most of them due, after ANALYZE: no Seq Scan on jobs, and
// an index scan on one of the claim indexes.
std::string ClaimNextPlan(PgBackend& backend, const std::string& statement,
                          const std::string& handlers) {
  pg::ConnectionPool& pool = backend.pool();
  const std::string sql = pool.SqlFor(statement);
  absl::StatusOr<std::string> plan =
      pool.Run<std::string>("explain", [&](pg::Session& s) -> absl::StatusOr<std::string> {
        pqxx::work tx(s.connection());
        pg::Params params;
        params.Add("r").Add(NowMs()).Add(int32_t{10});
        if (!handlers.empty()) params.Add(handlers);
        params.AddNull();            // no tenant filter
        params.Add("{}").Add("{}");  // no slots
        const pqxx::result rows =
            tx.exec_params("EXPLAIN " + sql, pqxx::prepare::make_dynamic_params(params.values()));
        std::string text;
        for (const auto& row : rows) absl::StrAppend(&text, row[0].c_str(), "\n");
        return text;
      });
  EXPECT_TRUE(plan.ok()) << plan.status();
  return plan.ok() ? *plan : "";
}

TEST(JobClaimPlanTest, ClaimNextUsesThePartialIndexes) {
  PgBackend backend;
  ASSERT_TRUE(CreateTheExecution(backend.executions()).ok());
  const int64_t now = NowMs();
  ASSERT_EQ(
      RunSql(backend.prefix(),
             absl::StrCat("INSERT INTO fm_jobs (id, execution_id, step_id, handler, status,"
                          " input, created_at, updated_at, run_at, priority) SELECT 'j-' || g,"
                          " '",
                          kScheduledExecution,
                          "', 'bulk', 'h' || (g % 20), CASE WHEN g % 10 = 0 THEN"
                          " 'completed' ELSE 'pending' END, '{}', g, g, ",
                          now, " - 5000 + g, g % 5 FROM generate_series(1, 5000) AS g"),
             /*affected=*/true),
      5000);
  RunSql(backend.prefix(), "ANALYZE fm_jobs");
  const std::string jobs = backend.prefix() + "jobs";
  const struct {
    const char* statement;
    const char* handlers;
    std::string index;
  } cases[] = {
      {"job_claim_next", "", "idx_" + jobs + "_due "},
      {"job_claim_next_handler", "h3", "idx_" + jobs + "_due_handler"},
      {"job_claim_next_handlers", "{h3,h4}", "idx_" + jobs + "_due"},
  };
  for (const auto& c : cases) {
    const std::string plan = ClaimNextPlan(backend, c.statement, c.handlers);
    SCOPED_TRACE(absl::StrCat(c.statement, "\n", plan));
    EXPECT_THAT(plan, HasSubstr("Index Scan using " + c.index));
    EXPECT_THAT(plan, ::testing::Not(HasSubstr("Seq Scan on " + jobs)));
  }
}

}  // namespace
}  // namespace flowmonkey::testing
