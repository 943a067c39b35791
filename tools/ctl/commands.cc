#include "tools/ctl/commands.h"

#include <algorithm>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "flowmonkey/v1/execution.grpc.pb.h"
#include "flowmonkey/v1/job.grpc.pb.h"
#include "flowmonkey/v1/resume_token.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tools/ctl/output.h"

namespace flowmonkey::ctl {
namespace {

namespace fm = flowmonkey::v1;

std::string Synopsis(const CommandSpec& command) {
  std::string synopsis = absl::StrJoin(command.words, " ");
  if (!command.operands.empty()) absl::StrAppend(&synopsis, " ", command.operands);
  return synopsis;
}

template <typename T>
void PrintExecutions(const T& executions, bool json) {
  if (json) {
    for (const auto& e : executions) std::cout << ToJson(e) << "\n";
    return;
  }
  Table table({"ID", "FLOW", "VERSION", "STATUS", "STEP", "UPDATED"});
  for (const auto& e : executions) {
    table.Add({e.id(), e.flow_id(), e.flow_version(),
               ShortName(fm::ExecutionStatus_Name(e.status())), e.current_step_id(),
               FormatTime(e.updated_at())});
  }
  std::cout << table.Format();
}

template <typename T>
void PrintJobs(const T& jobs, bool json) {
  if (json) {
    for (const auto& j : jobs) std::cout << ToJson(j) << "\n";
    return;
  }
  Table table({"ID", "EXECUTION", "STEP", "HANDLER", "STATUS", "RUNNER", "ATTEMPTS", "HEARTBEAT"});
  for (const auto& j : jobs) {
    table.Add({j.id(), j.execution_id(), j.step_id(), j.handler(),
               ShortName(fm::JobStatus_Name(j.status())), j.has_runner_id() ? j.runner_id() : "-",
               absl::StrCat(j.attempts(), "/", j.max_attempts()),
               FormatTime(j.has_heartbeat_at() ? j.heartbeat_at() : 0)});
  }
  std::cout << table.Format();
}

}  // namespace

int Fail(const std::string& what) {
  std::cerr << "flowmonkeyctl: " << what << "\n";
  return 1;
}

const std::vector<CommandSpec>& Commands() {
  using C = CommandId;
  static const auto* commands = new std::vector<CommandSpec>{
      {C::kHealth, {"health"}, "", 0, 0, "grpc.health.v1 Check; exit 0 only when SERVING"},
      {C::kExecutionsGet, {"executions", "get"}, "ID", 1, 1, "one execution"},
      {C::kExecutionsList,
       {"executions", "list"},
       "STATUS",
       1,
       1,
       "pending|running|waiting|cancelling|cancelled|completed|failed"},
      {C::kJobsList,
       {"jobs", "list"},
       "STATUS",
       1,
       1,
       "pending|running|completed|failed|cancelled"},
      {C::kJobsStalled,
       {"jobs", "stalled"},
       "",
       0,
       0,
       "running jobs whose heartbeat is older than --stalled_ms"},
      {C::kEventsTail,
       {"events", "tail"},
       "EXECUTION",
       1,
       1,
       "latest --limit events, oldest first; --follow: keep polling"},
      {C::kFlowsList, {"flows", "list"}, "", 0, 0, "newest non-archived version of each flow"},
      {C::kFlowsGet,
       {"flows", "get"},
       "ID [VERSION]",
       1,
       2,
       "summary (--json: the flow); no VERSION: newest non-archived"},
      {C::kFlowsSave,
       {"flows", "save"},
       "-f FILE",
       0,
       0,
       "a FlowMonkey flow definition, or a flowmonkey.v1.Flow, in JSON"},
      {C::kTokensCleanup,
       {"tokens", "cleanup"},
       "",
       0,
       0,
       "marks pending resume tokens past expiry as expired"},
  };
  return *commands;
}

std::string Usage() {
  std::string usage =
      "usage: flowmonkeyctl [--target=HOST:PORT] [--json] [flags] COMMAND\n\ncommands:\n";
  Table table({"", ""});
  for (const CommandSpec& command : Commands()) table.Add({"  " + Synopsis(command), command.help});
  absl::StrAppend(
      &usage, table.Format(/*with_header=*/false),
      "\nflags (also --flag VALUE; env in brackets):\n"
      "  --target=HOST:PORT      server [FM_TARGET] (default 127.0.0.1:50051)\n"
      "  --json                  JSON lines (proto field names) instead of tables\n"
      "  --timeout_ms=N          per-call deadline and connect timeout (default 10000)\n"
      "  --limit=N               list size (default 100)\n"
      "  --stalled_ms=N          jobs stalled: heartbeat older than N ms (default 60000)\n"
      "  --follow                events tail: keep polling every --poll_ms (default 1000)\n"
      "  --status=S, --tags=A,B  flows save of a plain definition: status (default\n"
      "                          published; or draft) and tags\n"
      "  --tls, --tls_ca=FILE, --tls_cert=FILE, --tls_key=FILE, --tls_server_name=NAME\n"
      "                          TLS [FM_TLS_CA, FM_TLS_CLIENT_CERT, FM_TLS_CLIENT_KEY]\n"
      "  --api_key=KEY           sent as a bearer token [FM_API_KEY]\n"
      "  --help                  this text; --helpfull lists every flag\n"
      "\nErrors go to stderr as 'flowmonkeyctl: CODE: message' (NOT_FOUND, UNAVAILABLE, ...),\n"
      "exit code 1.\n");
  return usage;
}

absl::StatusOr<Invocation> ParseInvocation(const std::vector<std::string>& args) {
  for (const CommandSpec& command : Commands()) {
    if (args.size() < command.words.size() ||
        !std::equal(command.words.begin(), command.words.end(), args.begin())) {
      continue;
    }
    Invocation invocation{&command, {args.begin() + command.words.size(), args.end()}};
    if (invocation.operands.size() < command.min_operands ||
        invocation.operands.size() > command.max_operands) {
      return absl::InvalidArgumentError(absl::StrCat("usage: flowmonkeyctl ", Synopsis(command)));
    }
    return invocation;
  }
  return absl::InvalidArgumentError(
      args.empty() ? Usage()
                   : absl::StrCat("unknown command '", absl::StrJoin(args, " "), "'\n", Usage()));
}

std::unique_ptr<grpc::ClientContext> Ctl::Context() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(options_.timeout));
  if (!options_.api_key.empty())
    context->AddMetadata("authorization", "Bearer " + options_.api_key);
  return context;
}

int Ctl::Run(const Invocation& invocation) {
  const std::vector<std::string>& operands = invocation.operands;
  switch (invocation.command->id) {
    case CommandId::kHealth:
      return Health();
    case CommandId::kExecutionsGet:
      return ExecutionsGet(operands[0]);
    case CommandId::kExecutionsList:
      return ExecutionsList(operands[0]);
    case CommandId::kJobsList:
      return JobsList(operands[0]);
    case CommandId::kJobsStalled:
      return JobsStalled();
    case CommandId::kEventsTail:
      return EventsTail(operands[0]);
    case CommandId::kFlowsList:
      return FlowsList();
    case CommandId::kFlowsGet:
      return FlowsGet(operands);
    case CommandId::kFlowsSave:
      return FlowsSave();
    case CommandId::kTokensCleanup:
      return TokensCleanup();
  }
  return Fail("unknown command");
}

int Ctl::Health() {
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status =
      grpc::health::v1::Health::NewStub(channel_)->Check(Context().get(), request, &response);
  if (!status.ok()) return Fail(StatusText(status));
  if (options_.json) {
    std::cout << ToJson(response) << "\n";
  } else {
    std::cout << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status())
              << "\n";
  }
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}

int Ctl::ExecutionsGet(const std::string& id) {
  fm::GetExecutionRequest request;
  request.set_execution_id(id);
  fm::GetExecutionResponse response;
  grpc::Status status =
      fm::ExecutionStore::NewStub(channel_)->Get(Context().get(), request, &response);
  if (!status.ok()) return Fail(StatusText(status));
  if (options_.json) {
    std::cout << ToJson(response.execution()) << "\n";
  } else {
    std::cout << response.execution().DebugString();
  }
  return 0;
}

int Ctl::ExecutionsList(const std::string& status_name) {
  fm::FindByStatusRequest request;
  fm::ExecutionStatus value;
  if (!fm::ExecutionStatus_Parse("EXECUTION_STATUS_" + absl::AsciiStrToUpper(status_name),
                                 &value)) {
    return Fail("unknown status " + status_name);
  }
  request.set_status(value);
  request.set_limit(options_.limit);
  fm::FindByStatusResponse response;
  grpc::Status status =
      fm::ExecutionStore::NewStub(channel_)->FindByStatus(Context().get(), request, &response);
  if (!status.ok()) return Fail(StatusText(status));
  PrintExecutions(response.executions(), options_.json);
  return 0;
}

int Ctl::JobsList(const std::string& status_name) {
  fm::ListJobsByStatusRequest request;
  fm::JobStatus value;
  if (!fm::JobStatus_Parse("JOB_STATUS_" + absl::AsciiStrToUpper(status_name), &value)) {
    return Fail("unknown status " + status_name);
  }
  request.set_status(value);
  request.set_limit(options_.limit);
  fm::ListJobsByStatusResponse response;
  grpc::Status status =
      fm::JobStore::NewStub(channel_)->ListByStatus(Context().get(), request, &response);
  if (!status.ok()) return Fail(StatusText(status));
  PrintJobs(response.jobs(), options_.json);
  return 0;
}

int Ctl::JobsStalled() {
  fm::FindStalledJobsRequest request;
  request.set_stalled_before(absl::ToUnixMillis(absl::Now()) - options_.stalled_ms);
  request.set_limit(options_.limit);
  fm::FindStalledJobsResponse response;
  grpc::Status status =
      fm::JobStore::NewStub(channel_)->FindStalled(Context().get(), request, &response);
  if (!status.ok()) return Fail(StatusText(status));
  PrintJobs(response.jobs(), options_.json);
  return 0;
}

int Ctl::TokensCleanup() {
  fm::CleanupExpiredResumeTokensRequest request;
  fm::CleanupExpiredResumeTokensResponse response;
  grpc::Status status =
      fm::ResumeTokens::NewStub(channel_)->CleanupExpired(Context().get(), request, &response);
  if (!status.ok()) return Fail(StatusText(status));
  if (options_.json) {
    std::cout << ToJson(response) << "\n";
  } else {
    std::cout << "resume tokens marked expired: " << response.count() << "\n";
  }
  return 0;
}

}  // namespace flowmonkey::ctl
