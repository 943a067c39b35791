// flowmonkeyctl without a server: the flow files it accepts, how it names errors, its
// command table and the flow summary.

#include <gtest/gtest.h>

#include "tools/ctl/commands.h"
#include "tools/ctl/flow_file.h"
#include "tools/ctl/output.h"

namespace flowmonkey::ctl {
namespace {

constexpr char kPlainDefinition[] = R"({
  "id": "order-flow",
  "version": "1.2.0",
  "name": "Orders",
  "initialStepId": "charge",
  "steps": {
    "charge": {"id": "charge", "type": "http", "config": {}, "input": {"type": "full"},
               "transitions": {"onSuccess": "ship", "onFailure": null}},
    "ship": {"id": "ship", "type": "delay", "config": {"ms": 123456789012345678901234567890},
             "input": {"type": "key", "key": "order"}, "transitions": {"onSuccess": null}}
  }
}
)";

TEST(FlowFile, AcceptsAPlainFlowDefinition) {
  FlowFileOptions options;
  options.tags = {"shop", "v1"};
  absl::StatusOr<v1::Flow> flow = ParseFlowFile(kPlainDefinition, options);
  ASSERT_TRUE(flow.ok()) << flow.status();
  EXPECT_EQ(flow->id(), "order-flow");
  EXPECT_EQ(flow->version(), "1.2.0");
  EXPECT_EQ(flow->name(), "Orders");
  EXPECT_FALSE(flow->has_description());
  EXPECT_EQ(flow->status(), v1::FLOW_STATUS_PUBLISHED);
  EXPECT_EQ(flow->tags_size(), 2);
  // The definition is the file itself: numbers keep their digits.
  EXPECT_NE(flow->definition_json().find("123456789012345678901234567890"), std::string::npos);
  EXPECT_EQ(flow->definition_json().front(), '{');
  EXPECT_EQ(flow->definition_json().back(), '}');
}

TEST(FlowFile, AcceptsAProtoJsonFlow) {
  absl::StatusOr<v1::Flow> flow = ParseFlowFile(
      R"({"id": "f", "version": "1.0.0", "status": "FLOW_STATUS_DRAFT",
          "definitionJson": "{\"initialStepId\":\"a\",\"steps\":{}}"})",
      {});
  ASSERT_TRUE(flow.ok()) << flow.status();
  EXPECT_EQ(flow->status(), v1::FLOW_STATUS_DRAFT);
  EXPECT_EQ(flow->definition_json(), R"({"initialStepId":"a","steps":{}})");
}

TEST(FlowFile, RejectsWhatIsNeither) {
  for (const char* text : {"", "[1]", "{\"id\": \"x\"}", "{\"steps\": {}, \"version\": \"1\"}",
                           "{\"steps\": {}, \"id\": 7, \"version\": \"1\"}",
                           "{\"definitionJson\": 3}", "{\"steps\": "}) {
    absl::StatusOr<v1::Flow> flow = ParseFlowFile(text, {});
    EXPECT_EQ(flow.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(Output, StatusTextNamesTheCode) {
  EXPECT_EQ(StatusText(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such flow")),
            "NOT_FOUND: no such flow");
  EXPECT_EQ(StatusText(absl::UnavailableError("down")), "UNAVAILABLE: down");
}

TEST(Output, FlowSummary) {
  absl::StatusOr<v1::Flow> flow = ParseFlowFile(kPlainDefinition, {.tags = {"shop"}});
  ASSERT_TRUE(flow.ok());
  const std::string summary = FlowSummary(*flow);
  EXPECT_NE(summary.find("id:            order-flow\n"), std::string::npos) << summary;
  EXPECT_NE(summary.find("status:        published\n"), std::string::npos) << summary;
  EXPECT_NE(summary.find("tags:          shop\n"), std::string::npos) << summary;
  EXPECT_NE(summary.find("initial step:  charge\n"), std::string::npos) << summary;
  EXPECT_NE(summary.find("steps:         2\n"), std::string::npos) << summary;
}

TEST(Commands, ParsesCommandsAndTheirOperands) {
  absl::StatusOr<Invocation> get = ParseInvocation({"flows", "get", "f", "1.0.0"});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->command->id, CommandId::kFlowsGet);
  EXPECT_EQ(get->operands, (std::vector<std::string>{"f", "1.0.0"}));
  EXPECT_EQ(ParseInvocation({"health"})->command->id, CommandId::kHealth);
}

TEST(Commands, UsageErrorsCarryTheUsage) {
  absl::Status unknown = ParseInvocation({"frobnicate"}).status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("usage: flowmonkeyctl"), absl::string_view::npos);
  EXPECT_NE(unknown.message().find("events tail EXECUTION"), absl::string_view::npos);
  absl::Status missing = ParseInvocation({"executions", "get"}).status();
  EXPECT_EQ(missing.message(), "usage: flowmonkeyctl executions get ID");
  EXPECT_FALSE(ParseInvocation({}).ok());
  EXPECT_FALSE(ParseInvocation({"health", "extra"}).ok());
}

}  // namespace
}  // namespace flowmonkey::ctl
