// PostgreSQL array literals: every element quoted, '"' and '\' escaped with a backslash,
// NULL unquoted; runs between escapes are copied whole.

#include "server/pg/array_literal.h"

#include <gtest/gtest.h>

#include <string>

#include "server/pg/params.h"

namespace flowmonkey::pg {
namespace {

TEST(ArrayLiteral, QuotesEveryElementAndEscapesQuotesAndBackslashes) {
  ArrayLiteral literal;
  literal.Add(R"({"a":"b\"c"})").AddNull().Add("").Add(R"(\)").Add("plain").Add(R"("")");
  EXPECT_EQ(literal.str(), R"({"{\"a\":\"b\\\"c\"}",NULL,"","\\","plain","\"\""})");
  EXPECT_EQ(std::move(literal).Take(), R"({"{\"a\":\"b\\\"c\"}",NULL,"","\\","plain","\"\""})");
}

TEST(ArrayLiteral, EmptyAndLargeElements) {
  EXPECT_EQ(ArrayLiteral().str(), "{}");
  std::string large(5000, 'x');
  large[0] = '"';
  large[4999] = '\\';
  ArrayLiteral literal;
  literal.Add(large);
  const std::string text = literal.str();
  EXPECT_EQ(text.size(), 5000u + 2 + 2 + 2);  // braces, quotes, two backslashes
  EXPECT_EQ(text.substr(0, 4), R"({"\")");
  EXPECT_EQ(text.substr(text.size() - 5), R"(x\\"})");
}

TEST(Params, AStringMovedInKeepsItsValue) {
  Params params;
  std::string value(3000, 'v');
  params.Add(std::move(value)).Add(int64_t{42}).AddNull().Add("text");
  ASSERT_EQ(params.values().size(), 4u);
  EXPECT_EQ(std::string(params.values()[0]), std::string(3000, 'v'));
  EXPECT_STREQ(params.values()[1], "42");
  EXPECT_EQ(params.values()[2], nullptr);
  EXPECT_STREQ(params.values()[3], "text");
}

}  // namespace
}  // namespace flowmonkey::pg
