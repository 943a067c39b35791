#include "core/validation.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/event_store.h"
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
      {"[1] 2", JsonKind::kAny},
      {"1 2", JsonKind::kAny},
      {R"("a" "b")", JsonKind::kAny},
      {"truex", JsonKind::kAny},
      {"nul", JsonKind::kAny},
      {"[01]", JsonKind::kAny},
      {"[1.]", JsonKind::kAny},
      {"[.5]", JsonKind::kAny},
      {"[1e]", JsonKind::kAny},
      {"[-]", JsonKind::kAny},
      {"[+1]", JsonKind::kAny},
      {"[1,]", JsonKind::kAny},
      {R"({"a" 1})", JsonKind::kAny},
      {R"(["\x"])", JsonKind::kAny},
      {R"(["\u12"])", JsonKind::kAny},
      {R"(["\ud800"])", JsonKind::kAny},
      {R"(["\udc00"])", JsonKind::kAny},
      {R"(["\ud800\u0041"])", JsonKind::kAny},
      {"[\"a\nb\"]", JsonKind::kAny},
      {"[NaN]", JsonKind::kAny},
      {"   ", JsonKind::kAny},
  };
  for (const auto& c : cases) {
    const absl::Status s = ValidateJson(c.text, "context_json", c.kind);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(s.message().find("context_json"), std::string::npos) << s;
  }
  EXPECT_FALSE(ValidateJson("", "f", JsonKind::kObject, /*allow_empty=*/false).ok());
}

// jsonb stores any JSON number exactly: numbers a double cannot hold are valid JSON.
TEST(ValidateJson, AcceptsNumbersBeyondDoubleAndEveryEscape) {
  EXPECT_TRUE(ValidateJson("[1e400, -1E-400, 0.5e+10, -0, 123456789012345678901234567890]", "f",
                           JsonKind::kArray)
                  .ok());
  EXPECT_TRUE(ValidateJson(R"({"n":)" + std::string(5000, '9') + "}", "f", JsonKind::kObject).ok());
  EXPECT_TRUE(
      ValidateJson(R"(["\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "\\u0000"])", "f", JsonKind::kArray)
          .ok());
  EXPECT_TRUE(ValidateJson(" {\"a\" : [ true , false , null ] } \n", "f", JsonKind::kObject).ok());
}

// The message names the field and the reason, never the input: a 200 kB number that is
// not valid JSON must not come back in a 200 kB status message.
TEST(ValidateJson, MessagesDoNotQuoteTheInput) {
  const std::string bad = R"({"n":)" + std::string(200000, '9') + "x}";
  const absl::Status s = ValidateJson(bad, "context_json", JsonKind::kObject);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(s.message().size(), 200u) << s.message().substr(0, 300);
}

TEST(InspectJson, DescribesTheTopLevelValue) {
  absl::StatusOr<JsonShape> object = InspectJson(R"({"b\u00e9":1,"a":{"x":2},"c":3})", "f", 10);
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ(object->type, JsonShape::kObject);
  EXPECT_EQ(object->size, 3u);
  EXPECT_EQ(object->keys, (std::vector<std::string>{"b\u00e9", "a", "c"}));
  absl::StatusOr<JsonShape> text = InspectJson(R"("a\nb\ud83d\ude00cd")", "f", 3);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->text, "a\nb");
  EXPECT_TRUE(text->cut);
  EXPECT_EQ(InspectJson("1e400", "f", 3)->text, "1e400");
  EXPECT_EQ(InspectJson("[1,[2,3]]", "f", 3)->size, 2u);
  EXPECT_EQ(InspectJson("[1,", "f", 3).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateJson, LimitsNestingDepth) {
  const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ValidateJson(ok, "f", JsonKind::kAny).ok());
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(ValidateJson(deep, "f", JsonKind::kAny).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateTimes, BoundTimestampsAndDurationsSoSumsCannotOverflow) {
  EXPECT_TRUE(ValidateTimestamp(0, "t").ok());
  EXPECT_TRUE(ValidateTimestamp(kMaxTimestampMs, "t").ok());
  EXPECT_EQ(ValidateTimestamp(-1, "t").code(), absl::StatusCode::kInvalidArgument);
  const absl::Status over = ValidateTimestamp(kMaxTimestampMs + 1, "execution.wake_at");
  EXPECT_EQ(over.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(over.message().find("execution.wake_at"), std::string::npos);
  EXPECT_TRUE(ValidateDuration(kMaxDurationMs, "d").ok());
  EXPECT_EQ(ValidateDuration(0, "d").code(), absl::StatusCode::kInvalidArgument);
  const absl::Status huge = ValidateDuration(INT64_MAX, "idempotency_window_ms");
  EXPECT_NE(huge.message().find("idempotency_window_ms"), std::string::npos);
  EXPECT_LT(kMaxTimestampMs, INT64_MAX - kMaxDurationMs);
  EXPECT_EQ(SaturatingAdd(INT64_MAX, 1), INT64_MAX);
  EXPECT_EQ(SaturatingAdd(INT64_MIN, -1), INT64_MIN);
  EXPECT_EQ(SaturatingAdd(5, -7), -2);
}

TEST(ValidateExecution, RejectsTimesOutOfRange) {
  v1::Execution e;
  e.set_id("e");
  e.set_flow_id("f");
  e.set_flow_version("1");
  e.set_current_step_id("s");
  e.set_status(v1::EXECUTION_STATUS_RUNNING);
  ASSERT_TRUE(ValidateExecution(e).ok());
  v1::Execution late = e;
  late.set_idempotency_expires_at(INT64_MAX);
  EXPECT_EQ(ValidateExecution(late).code(), absl::StatusCode::kInvalidArgument);
  v1::Execution long_wait = e;
  long_wait.mutable_timeout_config()->set_wait_timeout_ms(INT64_MAX);
  EXPECT_EQ(ValidateExecution(long_wait).code(), absl::StatusCode::kInvalidArgument);
  v1::Execution error_time = e;
  error_time.mutable_error()->set_timestamp(INT64_MAX);
  EXPECT_EQ(ValidateExecution(error_time).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateId, RejectsEmptyLongControlAndInvalidUtf8) {
  EXPECT_TRUE(ValidateId("exec-1", "id").ok());
  EXPECT_TRUE(ValidateId("\xc3\xa9t\xc3\xa9", "id").ok());
  for (const std::string& bad : {std::string(), std::string(256, 'a'), std::string("a\0b", 3),
                                 std::string("a\nb"), std::string("\xc3(")}) {
    EXPECT_EQ(ValidateId(bad, "id").code(), absl::StatusCode::kInvalidArgument);
  }
}

// Events are checked under their bare field names; the message gets the event's place
// ("event.", "events[2].") only when a check fails.
TEST(ValidateEvents, MessagesNameTheEventAndItsField) {
  v1::Event good;
  good.set_execution_id("e-1");
  good.set_event_type("step.completed");
  good.set_data_json(R"({"ok":true})");
  v1::RecordEventRequest record;
  *record.mutable_event() = good;
  EXPECT_TRUE(ValidateRecordEvent(record).ok());
  record.mutable_event()->clear_execution_id();
  EXPECT_EQ(ValidateRecordEvent(record).message(), "event.execution_id: required");

  v1::RecordEventBatchRequest batch;
  for (int i = 0; i < 4; ++i) *batch.add_events() = good;
  EXPECT_TRUE(ValidateRecordEventBatch(batch).ok());
  batch.mutable_events(2)->set_data_json("{not json");
  const absl::Status bad_json = ValidateRecordEventBatch(batch);
  EXPECT_EQ(bad_json.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_json.message().rfind("events[2].data_json: not valid JSON (", 0), 0u) << bad_json;
  batch.mutable_events(2)->set_data_json("{}");
  batch.mutable_events(3)->set_step_id("");
  EXPECT_EQ(ValidateRecordEventBatch(batch).message(), "events[3].step_id: required");
  batch.mutable_events(3)->clear_step_id();
  batch.mutable_events(0)->set_created_at(-1);
  EXPECT_EQ(ValidateRecordEventBatch(batch).message().rfind("events[0].created_at: ", 0), 0u);
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
