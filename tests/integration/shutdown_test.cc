// Graceful shutdown of the real flowmonkey-server binary under load: on SIGTERM health
// turns NOT_SERVING while calls are still accepted (the grace period), then new calls are
// refused, in-flight calls finish, and the process exits 0. No call fails with anything
// but UNAVAILABLE or CANCELLED, and every acknowledged save is in the database.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "tests/integration/harness.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

TEST(Shutdown, SigtermUnderLoadDrainsAndExitsZero) {
  const std::string prefix = TestDatabase::Instance().NewPrefix();
  const std::string url = TestDatabase::Instance().url();
  const int port = FreeLoopbackPort();
  ServerProcess server({absl::StrCat("--listen=127.0.0.1:", port), "--database-url=" + url,
                        "--table-prefix=" + prefix, "--log-level=warn", "--shutdown-grace-ms=1500",
                        "--drain-timeout-ms=5000"});

  client::ClientOptions options;
  options.target = absl::StrCat("127.0.0.1:", port);
  options.max_attempts = 1;  // count every refusal; no client-side retries
  options.timeout = absl::Seconds(10);
  options.connect_timeout = absl::Seconds(30);  // start-up includes migrations
  auto stores = client::Connect(options);
  ASSERT_TRUE(stores.ok()) << stores.status();
  auto health_channel = InsecureChannelTo(port);
  for (int i = 0; i < 100 && !CheckHealth(*health_channel).serving(); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(CheckHealth(*health_channel).serving());

  SaveLoad load(*stores->executions, "shutdown-", 6);
  for (int i = 0; i < 300 && load.Ok() < 200; ++i) absl::SleepFor(absl::Milliseconds(20));
  ASSERT_GE(load.Ok(), 200) << FormatFailures(load.Failures());

  server.Signal(SIGTERM);
  // Health reports NOT_SERVING while the server still answers: load balancers notice
  // before the listener closes.
  bool saw_not_serving = false;
  for (int i = 0; i < 300 && !saw_not_serving; ++i) {
    const HealthResult health = CheckHealth(*health_channel);
    if (!health.rpc.ok()) break;
    saw_not_serving = health.not_serving();
    if (!saw_not_serving) absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE(saw_not_serving);
  const int ok_when_not_serving = load.Ok();

  const std::optional<int> exit_status = server.WaitExit(absl::Seconds(60));
  load.Stop();
  ASSERT_TRUE(exit_status.has_value()) << "server did not exit after SIGTERM";
  ASSERT_TRUE(WIFEXITED(*exit_status));
  EXPECT_EQ(WEXITSTATUS(*exit_status), 0);

  // Calls kept succeeding during the grace period, after NOT_SERVING was reported.
  EXPECT_GT(load.Ok(), ok_when_not_serving);
  std::map<absl::StatusCode, int> failures = load.Failures();
  const int refused = failures[absl::StatusCode::kUnavailable];
  failures.erase(absl::StatusCode::kUnavailable);
  failures.erase(absl::StatusCode::kCancelled);
  EXPECT_TRUE(failures.empty()) << "unexpected failures: " << FormatFailures(failures);
  EXPECT_GT(refused, 0);  // calls after the exit are refused, not hung

  const std::set<std::string> acknowledged = load.Acknowledged();
  const std::set<std::string> stored = StoredExecutionIds(url, prefix);
  int missing = 0;
  for (const auto& id : acknowledged) missing += stored.count(id) == 0;
  EXPECT_EQ(missing, 0);
  std::cout << "shutdown: attempts=" << load.Attempts() << " acknowledged=" << acknowledged.size()
            << " ok_after_not_serving=" << acknowledged.size() - ok_when_not_serving
            << " failures: " << FormatFailures(load.Failures()) << "\n";
}

}  // namespace
}  // namespace flowmonkey::testing
