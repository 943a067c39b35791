// Environment fallbacks of the server's flags: a value that does not parse is an error that
// names the variable, never 0.

#include "server/env.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace flowmonkey {
namespace {

TEST(Env, ParsesIntegers) {
  EXPECT_EQ(*ParseEnvInt("FM_X", "16"), 16);
  EXPECT_EQ(*ParseEnvInt("FM_X", "-3"), -3);
  EXPECT_EQ(*ParseEnvInt("FM_X", "9223372036854775807"), INT64_MAX);
}

TEST(Env, RejectsWhatIsNotAnInteger) {
  for (const char* value : {"abc", "12x", "4.5", "", "0x10", "99999999999999999999"}) {
    absl::StatusOr<int64_t> parsed = ParseEnvInt("FM_POOL_SIZE", value);
    ASSERT_FALSE(parsed.ok()) << value;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find("FM_POOL_SIZE"), absl::string_view::npos);
  }
}

TEST(Env, ParsesBooleans) {
  for (const char* value : {"true", "TRUE", "yes", "on", "1"})
    EXPECT_TRUE(*ParseEnvBool("B", value));
  for (const char* value : {"false", "False", "no", "off", "0"}) {
    EXPECT_FALSE(*ParseEnvBool("B", value));
  }
  EXPECT_FALSE(ParseEnvBool("FM_BATCHING", "maybe").ok());
}

TEST(Env, QuotesAtMostAShortPrefixOfTheValue) {
  const std::string value(10000, '9');
  absl::StatusOr<int64_t> parsed = ParseEnvInt("FM_X", value + "x");
  ASSERT_FALSE(parsed.ok());
  EXPECT_LT(parsed.status().message().size(), 200u);
}

TEST(Env, RecordsProblemsAndFallsBack) {
  setenv("FM_ENV_TEST_INT", "12x", 1);
  setenv("FM_ENV_TEST_BIG", "3000000000", 1);
  setenv("FM_ENV_TEST_OK", "7", 1);
  EXPECT_EQ(EnvIntOr("FM_ENV_TEST_INT", 5), 5);
  EXPECT_EQ(EnvIntOr("FM_ENV_TEST_BIG", 5), 5);
  EXPECT_EQ(EnvInt64Or("FM_ENV_TEST_BIG", 5), 3000000000);
  EXPECT_EQ(EnvIntOr("FM_ENV_TEST_OK", 5), 7);
  EXPECT_EQ(EnvIntOr("FM_ENV_TEST_UNSET", 5), 5);
  const std::vector<std::string> problems = EnvProblems();
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].rfind("FM_ENV_TEST_INT=", 0), 0u) << problems[0];
  EXPECT_EQ(problems[1].rfind("FM_ENV_TEST_BIG=", 0), 0u) << problems[1];
}

}  // namespace
}  // namespace flowmonkey
