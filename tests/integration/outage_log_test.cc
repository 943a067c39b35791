// Logging while the database is unreachable: the state change is logged once, and the
// per-call connection failures as a rate-limited summary, not several lines per call.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/client.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"
#include "tests/support/backends.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

// Captures everything logged through spdlog's default logger while it lives.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()), previous_level_(spdlog::get_level()) {
    auto logger = std::make_shared<spdlog::logger>(
        "captured", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
    logger->set_pattern("%l %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::info);
  }
  ~CapturedLog() {
    spdlog::set_default_logger(previous_);
    spdlog::set_level(previous_level_);
  }
  // Lines containing `text`.
  int Count(absl::string_view text) {
    spdlog::default_logger()->flush();
    int n = 0;
    for (absl::string_view line : absl::StrSplit(out_.str(), '\n'))
      n += absl::StrContains(line, text);
    return n;
  }
  std::string Text() { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
  spdlog::level::level_enum previous_level_;
};

TEST(OutageLog, FailedCallsAreSummarisedNotLoggedOneByOne) {
  setenv("PGCONNECT_TIMEOUT", "2", 0);
  CapturedLog log;
  ServerOptions options = TestServerOptions(TestDatabase::Instance().NewPrefix());
  options.database_url = "host=127.0.0.1 port=1 user=postgres dbname=postgres";
  options.migrate_on_start = false;
  const absl::Time start = absl::Now();
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  client::ClientOptions client_options;
  client_options.target = absl::StrCat("127.0.0.1:", (*server)->port());
  client_options.max_attempts = 1;
  auto stores = client::Connect(client_options);
  ASSERT_TRUE(stores.ok());

  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 50;
  std::atomic<int> unavailable{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      v1::GetExecutionRequest get;
      get.set_execution_id("anything");
      for (int i = 0; i < kCallsPerThread; ++i) {
        if (stores->executions->Get(get).status().code() == absl::StatusCode::kUnavailable) {
          ++unavailable;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  (*server)->Shutdown();
  const absl::Duration elapsed = absl::Now() - start;
  ASSERT_EQ(unavailable.load(), kThreads * kCallsPerThread);

  // One line per 5 s at most (the health check's pings fail too), however many calls.
  const int allowed = 2 + static_cast<int>(elapsed / absl::Seconds(5));
  EXPECT_GE(log.Count("database connection failed"), 1);
  EXPECT_LE(log.Count("database connection failed"), allowed) << log.Text().substr(0, 3000);
  EXPECT_EQ(log.Count("Is the server running"), log.Count("database connection failed"))
      << "libpq's message must stay on its line";
  EXPECT_EQ(log.Count("NOT_SERVING (database unreachable)"), 1) << log.Text().substr(0, 3000);
}

}  // namespace
}  // namespace flowmonkey::testing
