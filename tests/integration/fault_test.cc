// Database faults: a server under a steady write load (execution saves, event records, job
// create/claim/complete cycles) while its PostgreSQL is SIGKILLed
// and restarted. Checks that every acknowledged write survives, that calls during the
// outage fail fast with UNAVAILABLE (never INTERNAL, never past their deadline), that
// health follows the database, and that the server serves again on its own.
//
// The database here is the test's own (TestDatabase::CreateOwned), never the shared one.

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "server/server.h"
#include "tests/integration/harness.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

constexpr int kRetries = 50;  // a bound on recovery, not a speed claim
constexpr absl::Duration kRetryPause = absl::Milliseconds(100);
constexpr absl::Duration kCallTimeout = absl::Seconds(5);

// Event records and job cycles (Create -> ClaimNext -> Complete), `threads` of each, until
// Stop(). Keeps the ids of events and job completions acknowledged with OK, and counts
// every failure by code.
class JobAndEventLoad {
 public:
  JobAndEventLoad(client::Stores& stores, int threads) : stores_(stores) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, t] { RecordEvents(t); });
      threads_.emplace_back([this, t] { RunJobs(t); });
    }
  }
  ~JobAndEventLoad() { Stop(); }

  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  std::set<std::string> Events() const { return Locked(events_); }
  std::set<std::string> Completed() const { return Locked(completed_); }
  std::map<absl::StatusCode, int> Failures() const { return Locked(failures_); }

 private:
  template <typename T>
  T Locked(const T& value) const {
    std::lock_guard lock(mu_);
    return value;
  }

  // Records the outcome of one call; true when it succeeded.
  bool Count(const absl::Status& status) {
    if (status.ok()) return true;
    std::lock_guard lock(mu_);
    ++failures_[status.code()];
    return false;
  }

  void RecordEvents(int thread) {
    for (int n = 0; !stop_; ++n) {
      v1::RecordEventRequest record;
      record.mutable_event()->set_execution_id("fault-jobs");
      record.mutable_event()->set_event_type(absl::StrCat("load.", thread));
      record.mutable_event()->set_data_json(absl::StrCat(R"({"n": )", n, "}"));
      auto recorded = stores_.events->Record(record);
      if (Count(recorded.status())) {
        std::lock_guard lock(mu_);
        events_.insert(absl::StrCat(recorded->event().id()));
      }
    }
  }

  void RunJobs(int thread) {
    const std::string handler = absl::StrCat("handler-", thread);
    for (int n = 0; !stop_; ++n) {
      v1::CreateJobRequest create;
      create.set_execution_id("fault-jobs");
      create.set_step_id(absl::StrCat("step-", thread, "-", n));
      create.set_handler(handler);
      create.set_input_json("{}");
      if (!Count(stores_.jobs->Create(create).status())) continue;
      v1::ClaimNextJobsRequest claim;
      claim.set_runner_id(handler);
      claim.add_handlers(handler);
      claim.set_max_jobs(1);
      auto claimed = stores_.jobs->ClaimNext(claim);
      if (!Count(claimed.status()) || claimed->jobs_size() == 0) continue;
      v1::CompleteJobRequest complete;
      complete.set_job_id(claimed->jobs(0).id());
      complete.set_runner_id(handler);
      complete.set_result_json("{}");
      if (Count(stores_.jobs->Complete(complete).status())) {
        std::lock_guard lock(mu_);
        completed_.insert(claimed->jobs(0).id());
      }
    }
  }

  client::Stores& stores_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::set<std::string> events_, completed_;
  std::map<absl::StatusCode, int> failures_;
  std::vector<std::thread> threads_;
};

// How many of `acknowledged` are in `stored`.
int CountPresent(const std::set<std::string>& acknowledged, const std::set<std::string>& stored) {
  int present = 0;
  for (const auto& id : acknowledged) present += static_cast<int>(stored.count(id));
  return present;
}

// Failures other than the two an outage may honestly cause: UNAVAILABLE, and UNKNOWN when
// the connection died during COMMIT (the outcome is unknown).
std::map<absl::StatusCode, int> Unexpected(std::map<absl::StatusCode, int> failures) {
  failures.erase(absl::StatusCode::kUnavailable);
  failures.erase(absl::StatusCode::kUnknown);
  return failures;
}

absl::StatusCode GetCode(ExecutionStore& store, const std::string& id) {
  v1::GetExecutionRequest get;
  get.set_execution_id(id);
  return store.Get(get).status().code();
}

TEST(Faults, PostgresKilledAndRestartedUnderLoad) {
  const std::string prefix = "fault_";
  std::unique_ptr<TestDatabase> database = TestDatabase::CreateOwned();
  auto rig = StartServerAndClient(database->url(), prefix, 8);
  ASSERT_TRUE(rig.ok()) << rig.status();
  std::unique_ptr<Server>& server = rig->server;
  client::Stores* stores = &rig->stores;
  ExecutionStore& executions = *stores->executions;
  auto health_channel = InsecureChannelTo(server->port());
  ASSERT_TRUE(CheckHealth(*health_channel).serving());

  v1::SaveExecutionRequest jobs_execution;
  *jobs_execution.mutable_execution() = NewExecution("fault-jobs");
  ASSERT_TRUE(executions.Save(jobs_execution).ok());

  SaveLoad load(executions, "fault-", 4);
  JobAndEventLoad jobs_and_events(*stores, 2);
  for (int i = 0; i < 500 && (load.Ok() < 300 || jobs_and_events.Completed().size() < 50); ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_GE(load.Ok(), 300) << FormatFailures(load.Failures());
  ASSERT_GE(jobs_and_events.Completed().size(), 50u) << FormatFailures(jobs_and_events.Failures());
  const std::string known_id = *load.Acknowledged().begin();

  // The crash.
  database->KillPostmaster();
  const int ok_at_kill = load.Ok();
  bool not_serving = false;
  for (int i = 0; i < kRetries && !not_serving; ++i) {
    not_serving = CheckHealth(*health_channel).not_serving();
    if (!not_serving) absl::SleepFor(kRetryPause);
  }
  EXPECT_TRUE(not_serving) << "health never reported NOT_SERVING during the outage";

  // During the outage reads fail fast, with UNAVAILABLE.
  std::map<absl::StatusCode, int> outage_gets;
  for (int i = 0; i < 10; ++i) {
    const absl::Time start = absl::Now();
    ++outage_gets[GetCode(executions, known_id)];
    EXPECT_LT(absl::Now() - start, kCallTimeout);
  }
  EXPECT_EQ(outage_gets.size(), 1u) << FormatFailures(outage_gets);
  EXPECT_EQ(outage_gets[absl::StatusCode::kUnavailable], 10) << FormatFailures(outage_gets);
  absl::SleepFor(absl::Seconds(1));  // the write load keeps hitting the outage meanwhile
  const std::map<absl::StatusCode, int> outage_failures = load.Failures();

  // PostgreSQL comes back (crash recovery); the server follows without a restart.
  database->Start();
  int tries = 0;
  while (tries < kRetries && GetCode(executions, known_id) != absl::StatusCode::kOk) {
    ++tries;
    absl::SleepFor(kRetryPause);
  }
  EXPECT_LT(tries, kRetries) << "no successful Get after PostgreSQL came back";
  bool serving = false;
  for (int i = 0; i < kRetries && !serving; ++i) {
    serving = CheckHealth(*health_channel).serving();
    if (!serving) absl::SleepFor(kRetryPause);
  }
  EXPECT_TRUE(serving) << "health never reported SERVING after PostgreSQL came back";
  const int ok_at_recovery = load.Ok();
  for (int i = 0; i < 250 && load.Ok() < ok_at_recovery + 100; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const size_t completed_at_recovery = jobs_and_events.Completed().size();
  for (int i = 0; i < 250 && jobs_and_events.Completed().size() < completed_at_recovery + 20; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  load.Stop();
  jobs_and_events.Stop();
  EXPECT_GE(load.Ok(), ok_at_recovery + 100) << "writes did not resume";
  EXPECT_GE(jobs_and_events.Completed().size(), completed_at_recovery + 20)
      << "jobs did not resume";
  server->Shutdown();

  std::map<absl::StatusCode, int> failures = load.Failures();
  const int unavailable = failures[absl::StatusCode::kUnavailable];
  const int unknown = failures[absl::StatusCode::kUnknown];
  EXPECT_EQ(failures.count(absl::StatusCode::kInternal), 0u);
  EXPECT_EQ(failures.count(absl::StatusCode::kDeadlineExceeded), 0u);
  failures.erase(absl::StatusCode::kUnavailable);
  // UNKNOWN: the connection died during COMMIT, so the outcome is honestly unknown.
  failures.erase(absl::StatusCode::kUnknown);
  EXPECT_TRUE(failures.empty()) << "unexpected failures: " << FormatFailures(failures);
  EXPECT_GT(outage_failures.count(absl::StatusCode::kUnavailable), 0u);
  const std::map<absl::StatusCode, int> job_and_event_failures = jobs_and_events.Failures();
  EXPECT_TRUE(Unexpected(job_and_event_failures).empty())
      << "unexpected job/event failures: " << FormatFailures(job_and_event_failures);

  const std::set<std::string> acknowledged = load.Acknowledged();
  const int present = CountPresent(acknowledged, StoredExecutionIds(database->url(), prefix));
  EXPECT_EQ(present, static_cast<int>(acknowledged.size()));
  const std::set<std::string> events = jobs_and_events.Events();
  const int events_present =
      CountPresent(events, SelectIds(database->url(), "SELECT id FROM fault_events"));
  EXPECT_EQ(events_present, static_cast<int>(events.size()));
  const std::set<std::string> completed = jobs_and_events.Completed();
  const int completed_present = CountPresent(
      completed,
      SelectIds(database->url(), "SELECT id FROM fault_jobs WHERE status = 'completed'"));
  EXPECT_EQ(completed_present, static_cast<int>(completed.size()));
  std::cout << "faults: attempts=" << load.Attempts() << " acknowledged=" << acknowledged.size()
            << " present=" << present << " failed_unavailable=" << unavailable
            << " failed_unknown_outcome=" << unknown << "; events acknowledged=" << events.size()
            << " present=" << events_present
            << "; job completions acknowledged=" << completed.size()
            << " present=" << completed_present
            << "; job/event failures: " << FormatFailures(job_and_event_failures)
            << " (ok before kill " << ok_at_kill << ", recovery after " << tries << " retries of "
            << absl::FormatDuration(kRetryPause) << ")\n";
}

}  // namespace
}  // namespace flowmonkey::testing
