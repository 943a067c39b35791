// Database faults: a server under a steady write load while its PostgreSQL is SIGKILLed
// and restarted. Checks that every acknowledged write survives, that calls during the
// outage fail fast with UNAVAILABLE (never INTERNAL, never past their deadline), that
// health follows the database, and that the server serves again on its own.
//
// The database here is the test's own (TestDatabase::CreateOwned), never the shared one.

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>

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

absl::StatusCode GetCode(ExecutionStore& store, const std::string& id) {
  v1::GetExecutionRequest get;
  get.set_execution_id(id);
  return store.Get(get).status().code();
}

TEST(Faults, PostgresKilledAndRestartedUnderLoad) {
  setenv("PGCONNECT_TIMEOUT", "2", /*overwrite=*/0);  // as flowmonkey-server's main() does
  std::unique_ptr<TestDatabase> database = TestDatabase::CreateOwned();
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.database_url = database->url();
  options.pool_size = 8;
  options.table_prefix = "fault_";
  options.health_interval = absl::Milliseconds(200);
  options.drain_timeout = absl::Seconds(5);
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();

  client::ClientOptions client_options;
  client_options.target = absl::StrCat("127.0.0.1:", (*server)->port());
  client_options.max_attempts = 1;  // every failure is seen, none retried away
  client_options.timeout = kCallTimeout;
  auto stores = client::Connect(client_options);
  ASSERT_TRUE(stores.ok()) << stores.status();
  ExecutionStore& executions = *stores->executions;
  auto health_channel = InsecureChannelTo((*server)->port());
  ASSERT_TRUE(CheckHealth(*health_channel).serving());

  SaveLoad load(executions, "fault-", 6);
  for (int i = 0; i < 500 && load.Ok() < 300; ++i) absl::SleepFor(absl::Milliseconds(20));
  ASSERT_GE(load.Ok(), 300) << FormatFailures(load.Failures());
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
  load.Stop();
  EXPECT_GE(load.Ok(), ok_at_recovery + 100) << "writes did not resume";
  (*server)->Shutdown();

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

  const std::set<std::string> acknowledged = load.Acknowledged();
  const std::set<std::string> stored = StoredExecutionIds(database->url(), options.table_prefix);
  int present = 0;
  for (const auto& id : acknowledged) present += stored.count(id);
  EXPECT_EQ(present, static_cast<int>(acknowledged.size()));
  std::cout << "faults: attempts=" << load.Attempts() << " acknowledged=" << acknowledged.size()
            << " present=" << present << " failed_unavailable=" << unavailable
            << " failed_unknown_outcome=" << unknown << " (ok before kill " << ok_at_kill
            << ", recovery after " << tries << " retries of " << absl::FormatDuration(kRetryPause)
            << ")\n";
}

}  // namespace
}  // namespace flowmonkey::testing
