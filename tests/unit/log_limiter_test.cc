// The log rate limit used while the database is down, on an injected clock.

#include "server/pg/log_limiter.h"

#include <gtest/gtest.h>

#include <memory>
#include <sstream>

#include "spdlog/sinks/ostream_sink.h"

namespace flowmonkey::pg {
namespace {

TEST(LogLimiter, LetsOneThroughPerIntervalAndCountsTheRest) {
  absl::Time now = absl::FromUnixSeconds(1000);
  LogLimiter limiter(absl::Seconds(5), [&now] { return now; });
  int64_t suppressed = -1;
  EXPECT_TRUE(limiter.Allow(&suppressed));
  EXPECT_EQ(suppressed, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.Allow(&suppressed));
  now += absl::Milliseconds(4999);
  EXPECT_FALSE(limiter.Allow(&suppressed));
  now += absl::Milliseconds(1);
  EXPECT_TRUE(limiter.Allow(&suppressed));
  EXPECT_EQ(suppressed, 1001);
  EXPECT_FALSE(limiter.Allow(&suppressed));
  now += absl::Hours(1);
  EXPECT_TRUE(limiter.Allow(&suppressed));
  EXPECT_EQ(suppressed, 1);
  now += absl::Hours(1);
  EXPECT_TRUE(limiter.Allow(&suppressed));
  EXPECT_EQ(suppressed, 0);
}

TEST(LogLimiter, LogsOneLineWithTheCount) {
  std::ostringstream out;
  auto logger = std::make_shared<spdlog::logger>(
      "log_limiter_test", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  logger->set_pattern("%l %v");
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  absl::Time now = absl::FromUnixSeconds(1000);
  LogLimiter limiter(absl::Seconds(5), [&now] { return now; });
  const char* libpq = "connection to server failed: Connection refused\n\tIs the server running?\n";
  for (int i = 0; i < 100; ++i) limiter.Log(spdlog::level::warn, libpq);
  now += absl::Seconds(5);
  limiter.Log(spdlog::level::warn, libpq);
  spdlog::set_default_logger(previous);
  EXPECT_EQ(out.str(),
            "warning connection to server failed: Connection refused  Is the server running?\n"
            "warning connection to server failed: Connection refused  Is the server running? "
            "(99 similar messages suppressed since the previous one)\n");
}

}  // namespace
}  // namespace flowmonkey::pg
