// Recurring jobs (JobStore.SaveSchedule/DeleteSchedule/ListSchedules, job_schedules.cc) on
// every backend, and the maintenance pass that creates occurrences (PostgreSQL store):
// each occurrence becomes one job, with run_at = the occurrence, even when passes race.
// Times are derived from the clock at the start of each test and compared by value; nothing
// asserts on elapsed time. The cron arithmetic itself (DST included) is tests/unit/cron_test.cc.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "server/pg/job_schedules.h"
#include "tests/support/backends.h"
#include "tests/support/sql.h"

namespace flowmonkey::testing {
namespace {

using ::absl::StatusCode;
using ::testing::HasSubstr;

constexpr const char* kCronExecution = "cron-exec";
constexpr int64_t kMinute = 60'000;

v1::JobSchedule Every(const std::string& name, const std::string& cron = "* * * * *") {
  v1::JobSchedule s;
  s.set_execution_id(kCronExecution);
  s.set_name(name);
  s.set_cron(cron);
  s.set_handler("digest");
  s.set_input_json(R"({"type":"daily"})");
  return s;
}

template <typename Backend>
class JobScheduleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(CreateRunningExecution(backend_.executions(), kCronExecution).ok());
  }

  absl::StatusOr<v1::SaveJobScheduleResponse> Save(const v1::JobSchedule& schedule) {
    v1::SaveJobScheduleRequest request;
    *request.mutable_schedule() = schedule;
    return backend_.jobs().SaveSchedule(request);
  }
  // The run_at of every pending job of schedule `name`, by SQL.
  std::set<int64_t> Occurrences(const std::string& name) {
    std::set<int64_t> runs;
    v1::ListJobsByExecutionRequest list;
    list.set_execution_id(kCronExecution);
    list.set_limit(1000);
    auto jobs = backend_.jobs().ListByExecution(list);
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    if (!jobs.ok()) return runs;
    for (const auto& job : jobs->jobs()) {
      if (job.step_id().rfind(name + "@", 0) != 0) continue;
      EXPECT_EQ(job.step_id(), absl::StrCat(name, "@", job.run_at()));
      EXPECT_EQ(job.handler(), "digest");
      EXPECT_EQ(job.status(), v1::JOB_STATUS_PENDING);
      runs.insert(job.run_at());
    }
    return runs;
  }

  Backend backend_;
};

TYPED_TEST_SUITE(JobScheduleTest, Backends, BackendNames);

// Every minute mark in (after, until].
std::set<int64_t> MinuteMarks(int64_t after, int64_t until) {
  std::set<int64_t> marks;
  for (int64_t t = (after / kMinute + 1) * kMinute; t <= until; t += kMinute) marks.insert(t);
  return marks;
}

TYPED_TEST(JobScheduleTest, SaveCreatesTheJobsOfTheNextOccurrencesWithRunAtTheOccurrence) {
  const int64_t before = NowMs();
  auto saved = this->Save(Every("tick"));
  const int64_t after = NowMs();
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_TRUE(saved->created());
  const std::set<int64_t> runs = this->Occurrences("tick");
  // The minute marks of the lookahead window, measured from the save's own clock reading
  // (somewhere between before and after).
  EXPECT_THAT(MinuteMarks(after, before + pg::kScheduleLookaheadMs), ::testing::IsSubsetOf(runs));
  EXPECT_THAT(runs, ::testing::IsSubsetOf(MinuteMarks(before, after + pg::kScheduleLookaheadMs)));
  ASSERT_TRUE(saved->schedule().has_next_run_at());
  EXPECT_EQ(saved->schedule().next_run_at(), *runs.rbegin() + kMinute);
  // Saving the same definition again changes nothing: one job per occurrence.
  auto again = this->Save(Every("tick"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created());
  EXPECT_EQ(this->Occurrences("tick"), runs);
}

TYPED_TEST(JobScheduleTest, SavingAnotherDefinitionReplacesTheOccurrencesNotYetDue) {
  ASSERT_TRUE(this->Save(Every("tick")).ok());
  ASSERT_FALSE(this->Occurrences("tick").empty());
  // The next leap day: nothing within the lookahead.
  auto saved = this->Save(Every("tick", "0 0 29 2 *"));
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_TRUE(this->Occurrences("tick").empty());
  EXPECT_GT(saved->schedule().next_run_at(), NowMs() + pg::kScheduleLookaheadMs);
}

TYPED_TEST(JobScheduleTest, DeleteRemovesTheScheduleAndTheJobsOfItsFutureOccurrences) {
  ASSERT_TRUE(this->Save(Every("tick")).ok());
  ASSERT_TRUE(this->Save(Every("tock", "*/2 * * * *")).ok());
  v1::ListJobSchedulesRequest list;
  list.set_execution_id(kCronExecution);
  auto listed = this->backend_.jobs().ListSchedules(list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->schedules_size(), 2);
  EXPECT_EQ(listed->schedules(0).name(), "tick");
  EXPECT_EQ(listed->schedules(1).cron(), "*/2 * * * *");
  EXPECT_EQ(listed->schedules(1).input_json(), R"({"type": "daily"})");  // as jsonb prints it
  v1::DeleteJobScheduleRequest remove;
  remove.set_execution_id(kCronExecution);
  remove.set_name("tick");
  auto deleted = this->backend_.jobs().DeleteSchedule(remove);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_TRUE(deleted->deleted());
  EXPECT_TRUE(this->Occurrences("tick").empty());
  deleted = this->backend_.jobs().DeleteSchedule(remove);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_FALSE(deleted->deleted());
  listed = this->backend_.jobs().ListSchedules(list);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->schedules_size(), 1);
  EXPECT_EQ(listed->schedules(0).name(), "tock");
}

TYPED_TEST(JobScheduleTest, InvalidSchedulesAreRefusedNamingTheField) {
  struct Case {
    v1::JobSchedule schedule;
    StatusCode code;
    const char* text;
  };
  std::vector<Case> cases;
  cases.push_back({Every("bad", "61 * * * *"), StatusCode::kInvalidArgument, "schedule.cron"});
  cases.push_back({Every("bad", "* * * *"), StatusCode::kInvalidArgument, "schedule.cron"});
  v1::JobSchedule zone = Every("bad");
  zone.set_time_zone("Mars/Olympus_Mons");
  cases.push_back({zone, StatusCode::kInvalidArgument, "time zone"});
  cases.push_back({Every("a@b"), StatusCode::kInvalidArgument, "schedule.name"});
  v1::JobSchedule handler = Every("bad");
  handler.clear_handler();
  cases.push_back({handler, StatusCode::kInvalidArgument, "handler"});
  v1::JobSchedule input = Every("bad");
  input.set_input_json("{not json");
  cases.push_back({input, StatusCode::kInvalidArgument, "input_json"});
  v1::JobSchedule missing = Every("fine");
  missing.set_execution_id("no-such-execution");
  cases.push_back({missing, StatusCode::kNotFound, "no-such-execution"});
  for (const Case& c : cases) {
    auto saved = this->Save(c.schedule);
    EXPECT_EQ(saved.status().code(), c.code) << c.text << ": " << saved.status();
    EXPECT_THAT(saved.status().message(), HasSubstr(c.text));
  }
  v1::ListJobSchedulesRequest list;
  list.set_execution_id(kCronExecution);
  auto listed = this->backend_.jobs().ListSchedules(list);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->schedules_size(), 0);  // nothing half-written
}

// ---- the maintenance pass (PostgreSQL store) -------------------------------------------

// Passes run by many replicas at once, as time moves on: every occurrence gets exactly
// one job, and the schedule's next_run_at moves past the window.
TEST(JobSchedulePassTest, ConcurrentPassesCreateEachOccurrenceOnce) {
  PgBackend backend;
  ASSERT_TRUE(CreateRunningExecution(backend.executions(), kCronExecution).ok());
  for (int i = 0; i < 20; ++i) {
    v1::SaveJobScheduleRequest save;
    *save.mutable_schedule() = Every(absl::StrCat("s", i));
    ASSERT_TRUE(backend.jobs().SaveSchedule(save).ok());
  }
  const int64_t start = NowMs();
  constexpr int kPasses = 10;  // each 1 minute later than the one before
  constexpr int kThreads = 6;  // replicas running the same pass
  std::atomic<int64_t> created{0};
  std::atomic<int> errors{0};
  for (int pass = 1; pass <= kPasses; ++pass) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        auto n = pg::CreateScheduledJobs(backend.pool(), start + pass * kMinute);
        if (!n.ok()) {
          errors++;
          return;
        }
        created += *n;
      });
    }
    for (auto& t : threads) t.join();
  }
  EXPECT_EQ(errors.load(), 0);
  const int64_t jobs = RunSql(backend.prefix(), "SELECT count(*) FROM fm_jobs");
  const int64_t distinct =
      RunSql(backend.prefix(), "SELECT count(DISTINCT (step_id, run_at)) FROM fm_jobs");
  EXPECT_EQ(jobs, distinct);  // no occurrence twice
  // Per schedule: every minute mark up to the last pass's lookahead.
  const int64_t per_schedule = jobs / 20;
  EXPECT_EQ(jobs % 20, 0);
  EXPECT_GE(per_schedule, kPasses + pg::kScheduleLookaheadMs / kMinute - 1);
  EXPECT_LE(per_schedule, kPasses + pg::kScheduleLookaheadMs / kMinute + 1);
  // What the passes reported creating is what exists beyond what SaveSchedule created.
  const int64_t at_save =
      20 * static_cast<int64_t>(MinuteMarks(start, start + pg::kScheduleLookaheadMs).size());
  EXPECT_NEAR(static_cast<double>(created.load()), static_cast<double>(jobs - at_save), 20);
  EXPECT_EQ(RunSql(backend.prefix(),
                   absl::StrCat("SELECT count(*) FROM fm_job_schedules WHERE next_run_at <= ",
                                start + kPasses * kMinute + pg::kScheduleLookaheadMs)),
            0);
}

// A pass reaching a schedule whose occurrences were missed long ago (servers down) skips
// them instead of creating a job for each.
TEST(JobSchedulePassTest, OccurrencesMissedLongAgoAreSkipped) {
  PgBackend backend;
  ASSERT_TRUE(CreateRunningExecution(backend.executions(), kCronExecution).ok());
  v1::SaveJobScheduleRequest save;
  *save.mutable_schedule() = Every("tick");
  ASSERT_TRUE(backend.jobs().SaveSchedule(save).ok());
  const int64_t before = RunSql(backend.prefix(), "SELECT count(*) FROM fm_jobs");
  // A day later.
  const int64_t later = NowMs() + 24 * 60 * kMinute;
  auto created = pg::CreateScheduledJobs(backend.pool(), later);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_LE(*created, 2 * pg::kScheduleLookaheadMs / kMinute + 1);
  EXPECT_GE(*created, pg::kScheduleLookaheadMs / kMinute);
  EXPECT_EQ(RunSql(backend.prefix(), "SELECT count(*) FROM fm_jobs"), before + *created);
  EXPECT_EQ(
      RunSql(backend.prefix(), absl::StrCat("SELECT count(*) FROM fm_jobs WHERE run_at < ",
                                            later - pg::kScheduleLookaheadMs, " AND run_at > ",
                                            NowMs() + pg::kScheduleLookaheadMs)),
      0);
}

}  // namespace
}  // namespace flowmonkey::testing
