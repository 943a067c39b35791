// Semantic-version parsing, precedence and the SQL sort key; flow definition checks.

#include "core/flow_rules.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace flowmonkey {
namespace {

int Cmp(const char* a, const char* b) { return CompareSemVer(*ParseSemVer(a), *ParseSemVer(b)); }

TEST(SemVer, ParsesEveryPart) {
  auto v = ParseSemVer("1.22.333-alpha.1+build.5");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->major, 1);
  EXPECT_EQ(v->minor, 22);
  EXPECT_EQ(v->patch, 333);
  EXPECT_EQ(v->pre_release, (std::vector<std::string>{"alpha", "1"}));
  EXPECT_EQ(v->build, "build.5");
}

TEST(SemVer, RejectsWhatIsNotASemanticVersion) {
  for (const char* bad :
       {"", "1", "1.0", "1.0.0.0", "v1.0.0", "01.0.0", "1.0.0-", "1.0.0-a..b", "1.0.0-01", "1.0.0+",
        "1.0.0-a_b", "1.-1.0", "1.0.x", "1234567890123456789.0.0"}) {
    EXPECT_FALSE(ParseSemVer(bad).ok()) << bad;
  }
}

TEST(SemVer, NumbersCompareNumerically) {
  EXPECT_GT(Cmp("1.10.0", "1.9.0"), 0);
  EXPECT_GT(Cmp("10.0.0", "9.99.99"), 0);
  EXPECT_LT(Cmp("1.0.9", "1.0.10"), 0);
  EXPECT_EQ(Cmp("1.2.3", "1.2.3"), 0);
}

TEST(SemVer, PreReleasesFollowTheSpec) {
  // semver.org's own example, in ascending order.
  const std::vector<std::string> ordered = {
      "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.2", "1.0.0-alpha.10", "1.0.0-alpha.beta",
      "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11", "1.0.0-rc.1",     "1.0.0"};
  for (size_t i = 0; i + 1 < ordered.size(); ++i) {
    EXPECT_LT(Cmp(ordered[i].c_str(), ordered[i + 1].c_str()), 0) << ordered[i];
    EXPECT_GT(Cmp(ordered[i + 1].c_str(), ordered[i].c_str()), 0) << ordered[i];
  }
  EXPECT_LT(Cmp("1.0.0-alpha", "1.0.0-alpha-x"), 0);
  EXPECT_LT(Cmp("1.0.0-9", "1.0.0-a"), 0);              // numeric below alphanumeric
  EXPECT_EQ(Cmp("1.0.0+a", "1.0.0+b"), 0);              // build metadata has no precedence
  EXPECT_LT(CompareVersions("1.0.0+a", "1.0.0+b"), 0);  // but the total order is fixed
}

TEST(SemVer, SortKeyByteOrderIsPrecedence) {
  std::vector<std::string> versions = {"1.0.0",          "1.0.0-rc.1",    "1.0.0-beta.11",
                                       "1.0.0-beta.2",   "1.0.0-beta",    "1.0.0-alpha.beta",
                                       "1.0.0-alpha.10", "1.0.0-alpha.2", "1.0.0-alpha.1",
                                       "1.0.0-alpha",    "1.0.0-alpha-x", "1.0.0-alpha.z",
                                       "1.0.0-9",        "1.0.0-10",      "1.0.0-a"};
  for (const auto& a : versions) {
    for (const auto& b : versions) {
      const SemVer va = *ParseSemVer(a), vb = *ParseSemVer(b);
      const int by_key = PreReleaseSortKey(va).compare(PreReleaseSortKey(vb));
      const int by_spec = CompareSemVer(va, vb);
      EXPECT_EQ(by_key < 0, by_spec < 0) << a << " vs " << b;
      EXPECT_EQ(by_key == 0, by_spec == 0) << a << " vs " << b;
    }
  }
}

TEST(FlowDefinition, AcceptsAValidDefinition) {
  EXPECT_TRUE(ValidateFlowDefinition(
                  R"({"id":"f","version":"1.0.0","initialStepId":"a","steps":{
                      "a":{"id":"a","type":"t","transitions":{"onSuccess":"b","onFailure":null}},
                      "b":{"id":"b","type":"t","transitions":{}}}})",
                  "f", "1.0.0")
                  .ok());
}

TEST(FlowDefinition, ListsEveryProblem) {
  const absl::Status status = ValidateFlowDefinition(
      R"({"id":"g","initialStepId":"x","steps":{
          "a":{"id":"b","transitions":{"onSuccess":"c","onFailure":1}}}})",
      "f", "1.0.0");
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  const std::string m(status.message());
  for (const char* part :
       {"6 problems", "id: \"g\" does not match the flow's \"f\"",
        "initialStepId: \"x\" is not a step", "steps.a.id: \"b\" does not match its key",
        "steps.a.type: required", "steps.a.transitions.onSuccess: \"c\" is not a step",
        "steps.a.transitions.onFailure: must be a step id or null"}) {
    EXPECT_NE(m.find(part), std::string::npos) << part << " missing from: " << m;
  }
}

}  // namespace
}  // namespace flowmonkey
