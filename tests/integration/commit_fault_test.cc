// Transactions under a database crash: a stream of commits, each creating an execution with
// two events, a job and a context value, while PostgreSQL is SIGKILLed and restarted. Every
// commit acknowledged with OK must be fully present afterwards; every other one fully
// present (its COMMIT went through but the answer was lost: UNKNOWN) or fully absent, never
// partial. The database is the test's own (TestDatabase::CreateOwned).

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "client/transaction.h"
#include "server/server.h"
#include "tests/integration/harness.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

// `threads` threads commit back to back until Stop(); each commit creates "commit-<t>-<n>".
class CommitLoad {
 public:
  CommitLoad(Transactions& transactions, int threads) : transactions_(transactions) {
    for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { Run(t); });
  }
  ~CommitLoad() { Stop(); }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int Ok() const { return ok_.load(); }
  std::set<std::string> Acknowledged() const {
    std::lock_guard lock(mu_);
    return acknowledged_;
  }
  std::map<absl::StatusCode, int> Failures() const {
    std::lock_guard lock(mu_);
    return failures_;
  }

 private:
  void Run(int thread) {
    for (int n = 0; !stop_; ++n) {
      const std::string id = absl::StrCat("commit-", thread, "-", n);
      v1::Event event;
      event.set_execution_id(id);
      event.set_event_type("started");
      v1::CreateJobRequest job;
      job.set_execution_id(id);
      job.set_step_id("s");
      job.set_handler("h");
      job.set_input_json("{}");
      auto committed = client::Transaction(transactions_)
                           .CreateExecution(NewExecution(id))
                           .RecordEvents({event, event})
                           .CreateJob(job)
                           .SetContext(id, "k", R"({"n":1})")
                           .Commit();
      std::lock_guard lock(mu_);
      if (committed.ok()) {
        acknowledged_.insert(id);
        ++ok_;
      } else {
        ++failures_[committed.status().code()];
      }
    }
  }

  Transactions& transactions_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  mutable std::mutex mu_;
  std::set<std::string> acknowledged_;
  std::map<absl::StatusCode, int> failures_;
  std::vector<std::thread> threads_;
};

TEST(Faults, PostgresKilledDuringCommitsLeavesNoPartialCommit) {
  const std::string prefix = "txfault_";
  std::unique_ptr<TestDatabase> database = TestDatabase::CreateOwned();
  auto rig = StartServerAndClient(database->url(), prefix, 4);
  ASSERT_TRUE(rig.ok()) << rig.status();
  std::unique_ptr<Server>& server = rig->server;
  client::Stores* stores = &rig->stores;

  CommitLoad load(*stores->transactions, 4);
  for (int i = 0; i < 500 && load.Ok() < 100; ++i) absl::SleepFor(absl::Milliseconds(20));
  ASSERT_GE(load.Ok(), 100) << FormatFailures(load.Failures());

  database->KillPostmaster();
  absl::SleepFor(absl::Seconds(1));  // the commits keep hitting the outage meanwhile
  database->Start();
  const int ok_at_restart = load.Ok();
  for (int i = 0; i < 500 && load.Ok() < ok_at_restart + 50; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  load.Stop();
  EXPECT_GE(load.Ok(), ok_at_restart + 50) << "commits did not resume";
  server->Shutdown();

  std::map<absl::StatusCode, int> failures = load.Failures();
  EXPECT_GT(failures[absl::StatusCode::kUnavailable] + failures[absl::StatusCode::kUnknown], 0)
      << "the outage was never seen";
  failures.erase(absl::StatusCode::kUnavailable);
  failures.erase(absl::StatusCode::kUnknown);  // the connection died during COMMIT
  EXPECT_TRUE(failures.empty()) << "unexpected failures: " << FormatFailures(failures);

  // A commit is whole when its execution, both events, its job and its context value exist.
  const std::string& p = prefix;
  const std::set<std::string> whole = SelectIds(
      database->url(),
      absl::StrCat("SELECT e.id FROM ", p, "executions e WHERE (SELECT count(*) FROM ", p,
                   "events v WHERE v.execution_id = e.id) = 2 AND (SELECT count(*) FROM ", p,
                   "jobs j WHERE j.execution_id = e.id) = 1 AND (SELECT count(*) FROM ", p,
                   "context c WHERE c.execution_id = e.id) = 1"));
  const std::set<std::string> touched =
      SelectIds(database->url(),
                absl::StrCat("SELECT id FROM ", p, "executions UNION SELECT execution_id FROM ", p,
                             "events UNION SELECT execution_id FROM ", p,
                             "jobs UNION SELECT execution_id FROM ", p, "context"));
  int missing = 0;
  for (const std::string& id : load.Acknowledged()) {
    if (whole.count(id) == 0) {
      ADD_FAILURE() << "acknowledged commit " << id << " is not fully present";
      ++missing;
    }
  }
  EXPECT_EQ(missing, 0);
  for (const std::string& id : touched) {
    EXPECT_EQ(whole.count(id), 1u) << "commit " << id << " is partly present";
  }
  EXPECT_GE(whole.size(), load.Acknowledged().size());
}

}  // namespace
}  // namespace flowmonkey::testing
