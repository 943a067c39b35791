#include "core/validation.h"

#include <gtest/gtest.h>

#include <string>

#include "core/execution_rules.h"

namespace flowmonkey {
namespace {

TEST(ValidateJson, AcceptsWhatJsonbAccepts) {
  EXPECT_TRUE(ValidateJson("{}", "f", JsonKind::kObject).ok());
  EXPECT_TRUE(ValidateJson(R"({"a":[1,2,{"b":"\u00e9"}]})", "f", JsonKind::kObject).ok());
  EXPECT_TRUE(ValidateJson("[]", "f", JsonKind::kArray).ok());
  EXPECT_TRUE(ValidateJson("42", "f", JsonKind::kAny).ok());
  EXPECT_TRUE(ValidateJson("", "f", JsonKind::kObject).ok());
}

TEST(ValidateJson, RejectsWithTheFieldName) {
  const struct {
    std::string text;
    JsonKind kind;
  } cases[] = {
      {"{", JsonKind::kAny},
      {"{'a': 1}", JsonKind::kAny},
      {"[1,2]", JsonKind::kObject},
      {"{}", JsonKind::kArray},
      {R"({"a":"x\u0000y"})", JsonKind::kObject},
      {R"({"a\u0000":1})", JsonKind::kObject},
      {"\"\xff\xfe\"", JsonKind::kAny},
      {"{} {}", JsonKind::kObject},
  };
  for (const auto& c : cases) {
    const absl::Status s = ValidateJson(c.text, "context_json", c.kind);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(s.message().find("context_json"), std::string::npos) << s;
  }
  EXPECT_FALSE(ValidateJson("", "f", JsonKind::kObject, /*allow_empty=*/false).ok());
}

TEST(ValidateJson, LimitsNestingDepth) {
  const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ValidateJson(ok, "f", JsonKind::kAny).ok());
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(ValidateJson(deep, "f", JsonKind::kAny).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateId, RejectsEmptyLongControlAndInvalidUtf8) {
  EXPECT_TRUE(ValidateId("exec-1", "id").ok());
  EXPECT_TRUE(ValidateId("\xc3\xa9t\xc3\xa9", "id").ok());
  for (const std::string& bad : {std::string(), std::string(256, 'a'), std::string("a\0b", 3),
                                std::string("a\nb"), std::string("\xc3(")}) {
    EXPECT_EQ(ValidateId(bad, "id").code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(EffectiveLimit, DefaultsAndBounds) {
  EXPECT_EQ(*EffectiveLimit(0), kDefaultLimit);
  EXPECT_EQ(*EffectiveLimit(7), 7);
  EXPECT_EQ(*EffectiveLimit(kMaxLimit), kMaxLimit);
  EXPECT_FALSE(EffectiveLimit(-1).ok());
  EXPECT_FALSE(EffectiveLimit(kMaxLimit + 1).ok());
}

TEST(ExecutionStatusNames, RoundTripAndRejectUnknown) {
  for (int v = 1; v <= 7; ++v) {
    const auto status = static_cast<v1::ExecutionStatus>(v);
    ASSERT_TRUE(ExecutionStatusName(status).has_value());
    EXPECT_EQ(ExecutionStatusFromName(*ExecutionStatusName(status)), status);
  }
  EXPECT_FALSE(ExecutionStatusName(v1::EXECUTION_STATUS_UNSPECIFIED).has_value());
  EXPECT_FALSE(ExecutionStatusName(static_cast<v1::ExecutionStatus>(99)).has_value());
}

}  // namespace
}  // namespace flowmonkey
