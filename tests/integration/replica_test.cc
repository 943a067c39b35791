// Reads from a read replica (--read-database-url, server/replica_reads.h) against a real
// streaming hot standby of the test's own PostgreSQL (pg_basebackup -R). Replay on the
// standby is paused to make it stale on purpose: a list then shows what the replica has,
// a Get what the primary has, and a server whose lag bound is exceeded reads the primary.

#include <gtest/gtest.h>

#include <memory>
#include <pqxx/nontransaction>
#include <pqxx/pqxx>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/client.h"
#include "server/server.h"
#include "tests/integration/harness.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

// A server reading `standby` for lists (lag bound `max_lag`) and writing `primary`, with
// /metrics, and a client that retries nothing (a list the server fails is seen failing).
MeteredServer StartRig(const TestDatabase& primary, const TestDatabase& standby,
                       absl::Duration max_lag) {
  setenv("PGCONNECT_TIMEOUT", "2", /*overwrite=*/0);  // as flowmonkey-server's main() does
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.database_url = primary.url();
  options.read_database_url = standby.url();
  options.read_pool_size = 2;
  options.read_max_lag = max_lag;
  options.pool_size = 4;
  options.health_interval = absl::Milliseconds(100);  // the replica is measured this often
  options.maintenance_interval = absl::ZeroDuration();
  client::ClientOptions client_options;
  client_options.max_attempts = 1;  // every failure is seen
  client_options.timeout = absl::Seconds(5);
  absl::StatusOr<MeteredServer> rig = StartMeteredServer(options, client_options);
  EXPECT_TRUE(rig.ok()) << rig.status();
  return rig.ok() ? *std::move(rig) : MeteredServer();
}

// The value of one series (`name{labels}` exactly as exported) in a /metrics scrape; -1
// when absent.
double Metric(int port, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(Scrape(port), '\n')) {
    if (!absl::StartsWith(line, series + " ")) continue;
    double value = 0;
    if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) return value;
  }
  return -1;
}

// Polls `condition` every 50 ms for up to 20 s.
template <typename Condition>
bool Eventually(Condition condition) {
  for (int i = 0; i < 400; ++i) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return condition();
}

// The first column of the first row of `sql`.
std::string Sql(const std::string& url, const std::string& sql) {
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  const pqxx::result result = tx.exec(sql);
  return result.empty() || result[0][0].is_null() ? "" : result[0][0].c_str();
}

v1::SaveExecutionResponse SaveRunning(ExecutionStore& store, const std::string& id) {
  v1::SaveExecutionRequest save;
  *save.mutable_execution() = NewExecution(id);
  absl::StatusOr<v1::SaveExecutionResponse> saved = store.Save(save);
  EXPECT_TRUE(saved.ok()) << saved.status();
  return saved.ok() ? *saved : v1::SaveExecutionResponse();
}

// The ids FindByStatus(RUNNING) answers (the call must succeed).
std::set<std::string> Running(ExecutionStore& store) {
  v1::FindByStatusRequest find;
  find.set_status(v1::EXECUTION_STATUS_RUNNING);
  find.set_limit(1000);
  absl::StatusOr<v1::FindByStatusResponse> found = store.FindByStatus(find);
  EXPECT_TRUE(found.ok()) << found.status();
  std::set<std::string> ids;
  if (found.ok()) {
    for (const v1::Execution& e : found->executions()) ids.insert(e.id());
  }
  return ids;
}

bool Gettable(ExecutionStore& store, const std::string& id) {
  v1::GetExecutionRequest get;
  get.set_execution_id(id);
  return store.Get(get).ok();
}

constexpr char kReplicaReads[] = "flowmonkey_replica_reads_total{served_by=\"replica\"}";
constexpr char kPrimaryReads[] = "flowmonkey_replica_reads_total{served_by=\"primary\"}";
constexpr char kUsable[] = "flowmonkey_replica_usable";

TEST(ReadReplica, ListsComeFromTheReplicaWithinTheLagBoundAndFromThePrimaryBeyondIt) {
  std::unique_ptr<TestDatabase> primary = TestDatabase::CreateOwned();
  std::unique_ptr<TestDatabase> standby = TestDatabase::CreateStandbyOf(*primary);
  // Two servers on the same pair: one tolerates a minute of lag, one none at all.
  MeteredServer tolerant = StartRig(*primary, *standby, absl::Minutes(1));
  MeteredServer strict = StartRig(*primary, *standby, absl::ZeroDuration());
  ASSERT_NE(tolerant.server, nullptr);
  ASSERT_NE(strict.server, nullptr);
  ExecutionStore& executions = *tolerant.stores.executions;
  ExecutionStore& strict_executions = *strict.stores.executions;

  // Caught up: the replica lists what was written.
  // (Until the first check has measured the replica, lists go to the primary.)
  SaveRunning(executions, "replica-a");
  ASSERT_TRUE(Eventually([&] { return Metric(tolerant.metrics_port, kUsable) == 1; }));
  ASSERT_TRUE(Eventually([&] { return Running(executions).contains("replica-a"); }));
  EXPECT_GT(Metric(tolerant.metrics_port, kReplicaReads), 0);

  // Stale: replay stops, a write is acknowledged by the primary.
  Sql(standby->url(), "SELECT pg_wal_replay_pause()");
  ASSERT_TRUE(Eventually(
      [&] { return Sql(standby->url(), "SELECT pg_get_wal_replay_pause_state()") == "paused"; }));
  SaveRunning(executions, "replica-b");
  EXPECT_TRUE(Gettable(executions, "replica-b")) << "Get reads the primary";
  // The tolerant server answers the list from the replica, which has not replayed it.
  const double replica_reads = Metric(tolerant.metrics_port, kReplicaReads);
  EXPECT_FALSE(Running(executions).contains("replica-b"));
  EXPECT_GT(Metric(tolerant.metrics_port, kReplicaReads), replica_reads);
  EXPECT_TRUE(Eventually([&] {
    return Metric(tolerant.metrics_port, "flowmonkey_replica_lag_bytes") > 0;
  })) << "the lag of a paused replica is exported";
  // The strict one finds the replica behind and lists from the primary.
  ASSERT_TRUE(Eventually([&] { return Metric(strict.metrics_port, kUsable) == 0; }));
  const double primary_reads = Metric(strict.metrics_port, kPrimaryReads);
  EXPECT_TRUE(Running(strict_executions).contains("replica-b"));
  EXPECT_GT(Metric(strict.metrics_port, kPrimaryReads), primary_reads);

  // Replay resumes: the replica catches up, and both servers read it again.
  Sql(standby->url(), "SELECT pg_wal_replay_resume()");
  EXPECT_TRUE(Eventually([&] { return Running(executions).contains("replica-b"); }));
  EXPECT_TRUE(Eventually([&] { return Metric(strict.metrics_port, kUsable) == 1; }));
  EXPECT_TRUE(Eventually(
      [&] { return Metric(tolerant.metrics_port, "flowmonkey_replica_lag_bytes") == 0; }));
}

TEST(ReadReplica, ListsFallBackToThePrimaryWhileTheReplicaIsDown) {
  std::unique_ptr<TestDatabase> primary = TestDatabase::CreateOwned();
  std::unique_ptr<TestDatabase> standby = TestDatabase::CreateStandbyOf(*primary);
  MeteredServer rig = StartRig(*primary, *standby, absl::Minutes(1));
  ASSERT_NE(rig.server, nullptr);
  ExecutionStore& executions = *rig.stores.executions;
  SaveRunning(executions, "down-a");
  ASSERT_TRUE(Eventually([&] { return Metric(rig.metrics_port, kUsable) == 1; }));
  ASSERT_TRUE(Eventually([&] { return Running(executions).contains("down-a"); }));
  EXPECT_GT(Metric(rig.metrics_port, kReplicaReads), 0);

  standby->Stop();
  // Every list still answers, with what the primary has, before and after the server
  // notices the replica is gone.
  SaveRunning(executions, "down-b");
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Running(executions).contains("down-b"));
  EXPECT_TRUE(Eventually([&] { return Metric(rig.metrics_port, kUsable) == 0; }));
  const double primary_reads = Metric(rig.metrics_port, kPrimaryReads);
  EXPECT_TRUE(Running(executions).contains("down-b"));
  EXPECT_GT(Metric(rig.metrics_port, kPrimaryReads), primary_reads);
  // The writes never noticed.
  SaveRunning(executions, "down-c");
  EXPECT_TRUE(Gettable(executions, "down-c"));

  // The replica comes back and catches up; reads return to it.
  standby->Start();
  EXPECT_TRUE(Eventually([&] { return Metric(rig.metrics_port, kUsable) == 1; }));
  const double replica_reads = Metric(rig.metrics_port, kReplicaReads);
  EXPECT_TRUE(Eventually([&] { return Running(executions).contains("down-c"); }));
  EXPECT_GT(Metric(rig.metrics_port, kReplicaReads), replica_reads);
}

}  // namespace
}  // namespace flowmonkey::testing
