#pragma once

// flowmonkeyctl's commands: the table of what may be typed, checked before any server is
// contacted (so that --help and usage errors never need one), and the calls each makes.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/ctl/flow_file.h"

namespace flowmonkey::ctl {

struct CtlOptions {
  bool json = false;           // JSON lines instead of tables and summaries
  int limit = 100;             // list size
  int64_t stalled_ms = 60000;  // jobs stalled: heartbeat older than this
  std::string file;            // flows save: the flow file
  FlowFileOptions flow_file;   // flows save: status and tags of a plain definition
  bool follow = false;         // events tail: keep polling for new events
  absl::Duration poll_interval = absl::Seconds(1);  // events tail --follow
  absl::Duration timeout = absl::Seconds(10);       // per call
  std::string api_key;                              // sent as a bearer token
};

enum class CommandId {
  kHealth,
  kExecutionsGet,
  kExecutionsList,
  kJobsList,
  kJobsStalled,
  kEventsTail,
  kFlowsList,
  kFlowsGet,
  kFlowsSave,
  kTokensCleanup,
};

struct CommandSpec {
  CommandId id;
  std::vector<std::string> words;  // the words that name it: {"flows", "get"}
  std::string operands;            // for the usage: "ID [VERSION]"
  size_t min_operands;
  size_t max_operands;
  std::string help;  // one line
};

const std::vector<CommandSpec>& Commands();

// The whole usage text: synopsis, every command, the common flags.
std::string Usage();

struct Invocation {
  const CommandSpec* command = nullptr;
  std::vector<std::string> operands;
};

// The command that the positional arguments `args` name, with its operands.
// INVALID_ARGUMENT carrying the usage when nothing matches, the usage of the command when
// its operand count is wrong.
absl::StatusOr<Invocation> ParseInvocation(const std::vector<std::string>& args);

class Ctl {
 public:
  Ctl(std::shared_ptr<grpc::Channel> channel, CtlOptions options)
      : channel_(std::move(channel)), options_(std::move(options)) {}

  // Runs the command, printing to stdout (errors to stderr); returns the exit code.
  // `events tail --follow` polls until the process is interrupted (Ctrl-C) or a call fails
  // with anything but UNAVAILABLE or DEADLINE_EXCEEDED (those are retried).
  int Run(const Invocation& invocation);

 private:
  std::unique_ptr<grpc::ClientContext> Context() const;
  int Health();
  int ExecutionsGet(const std::string& id);
  int ExecutionsList(const std::string& status);
  int JobsList(const std::string& status);
  int JobsStalled();
  int EventsTail(const std::string& execution_id);
  int FlowsList();
  int FlowsGet(const std::vector<std::string>& operands);
  int FlowsSave();
  int TokensCleanup();

  std::shared_ptr<grpc::Channel> channel_;
  const CtlOptions options_;
};

// Prints "flowmonkeyctl: WHAT" to stderr; returns 1.
int Fail(const std::string& what);

}  // namespace flowmonkey::ctl
