// The summary ContextStorage keeps beside each value, and its reference text.

#include <gtest/gtest.h>

#include <string>

#include "core/context_storage.h"

namespace flowmonkey {
namespace {

TEST(ContextSummary, StringsAreCutTo200Characters) {
  EXPECT_EQ(ContextSummary(R"("short")"), "short");
  const std::string exact(200, 'x');
  EXPECT_EQ(ContextSummary("\"" + exact + "\""), exact);
  EXPECT_EQ(ContextSummary("\"" + exact + "y\""), exact + "...");
  // Characters, not bytes: a multi-byte character is never split.
  std::string snowmen;
  for (int i = 0; i < 201; ++i) snowmen += "\u2603";
  const std::string summary = ContextSummary("\"" + snowmen + "\"");
  EXPECT_EQ(summary, snowmen.substr(0, 200 * 3) + "...");
}

TEST(ContextSummary, ArraysShowTheirLength) {
  EXPECT_EQ(ContextSummary("[]"), "Array(0)");
  EXPECT_EQ(ContextSummary(R"([1,"a",{"b":2}])"), "Array(3)");
}

TEST(ContextSummary, ObjectsShowTheirFirstFiveKeysInTheOrderWritten) {
  EXPECT_EQ(ContextSummary("{}"), "Object {}");
  EXPECT_EQ(ContextSummary(R"({"z":1,"a":2})"), "Object {z, a}");
  EXPECT_EQ(ContextSummary(R"({"k1":1,"k2":2,"k3":3,"k4":4,"k5":5})"),
            "Object {k1, k2, k3, k4, k5}");
  EXPECT_EQ(ContextSummary(R"({"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6})"),
            "Object {k1, k2, k3, k4, k5...}");
}

TEST(ContextSummary, ScalarsAreTheirJsonText) {
  EXPECT_EQ(ContextSummary("42"), "42");
  EXPECT_EQ(ContextSummary("-1.5"), "-1.5");
  EXPECT_EQ(ContextSummary("true"), "true");
  EXPECT_EQ(ContextSummary("null"), "null");
}

TEST(ContextRef, IsAStorageUri) {
  EXPECT_EQ(ContextRef("exec-1", "largeData"), "storage://exec-1/largeData");
}

}  // namespace
}  // namespace flowmonkey
