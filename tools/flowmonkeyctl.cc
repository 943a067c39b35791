// flowmonkeyctl: operator CLI for FlowMonkey Store. Tables by default, --json for JSON
// (one object per line, protobuf's canonical JSON mapping).
//
//   flowmonkeyctl [--target=HOST:PORT] [--json] COMMAND ...
//     health | executions get ID | executions list STATUS | jobs list STATUS |
//     jobs stalled [--stalled_ms=N] | events tail EXECUTION | flows list |
//     flows get ID [VERSION] | flows save -f FILE | tokens cleanup

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/client.h"
#include "flowmonkey/v1/event.grpc.pb.h"
#include "flowmonkey/v1/execution.grpc.pb.h"
#include "flowmonkey/v1/flow.grpc.pb.h"
#include "flowmonkey/v1/job.grpc.pb.h"
#include "flowmonkey/v1/resume_token.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace {
const char* EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}
}  // namespace

ABSL_FLAG(std::string, target, EnvOr("FM_TARGET", "127.0.0.1:50051"), "server address");
ABSL_FLAG(bool, json, false, "print JSON (one object per line) instead of tables");
ABSL_FLAG(int, timeout_ms, 10000, "per-call deadline");
ABSL_FLAG(int, limit, 100, "list size");
ABSL_FLAG(int64_t, stalled_ms, 60000, "jobs stalled: heartbeat older than this");
ABSL_FLAG(std::string, file, "", "flows save: the flow as JSON (flowmonkey.v1.Flow)");
ABSL_FLAG(std::string, tls_ca, EnvOr("FM_TLS_CA", ""), "TLS: CA certificates (PEM file)");
ABSL_FLAG(std::string, tls_cert, EnvOr("FM_TLS_CLIENT_CERT", ""), "mutual TLS: certificate");
ABSL_FLAG(std::string, tls_key, EnvOr("FM_TLS_CLIENT_KEY", ""), "mutual TLS: private key");
ABSL_FLAG(bool, tls, false, "use TLS with the system's roots (implied by --tls_ca)");
ABSL_FLAG(std::string, tls_server_name, "", "TLS: expected server name");
ABSL_FLAG(std::string, api_key, EnvOr("FM_API_KEY", ""), "API key (sent as a bearer token)");

namespace fm = flowmonkey::v1;
using google::protobuf::Message;

namespace {

int Fail(const std::string& what) {
  std::cerr << "flowmonkeyctl: " << what << "\n";
  return 1;
}

int Fail(const grpc::Status& status) {
  return Fail(absl::StrCat("error ", status.error_code(), ": ", status.error_message()));
}

std::string ToJson(const Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::string Time(int64_t ms) {
  if (ms == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

// Enum name without its prefix, lower case: EXECUTION_STATUS_RUNNING -> running.
std::string Short(const std::string& name) {
  size_t pos = name.find("_STATUS_");
  return absl::AsciiStrToLower(pos == std::string::npos ? name : name.substr(pos + 8));
}

// A plain-text table: column widths from the content.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print() const {
    std::vector<size_t> width(rows_[0].size(), 0);
    for (const auto& row : rows_) {
      for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    }
    for (const auto& row : rows_) {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) {
        line += row[i];
        if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
      }
      std::cout << line << "\n";
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

class Ctl {
 public:
  explicit Ctl(std::shared_ptr<grpc::Channel> channel) : channel_(std::move(channel)) {}

  std::unique_ptr<grpc::ClientContext> Context() const {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(absl::GetFlag(FLAGS_timeout_ms)));
    const std::string key = absl::GetFlag(FLAGS_api_key);
    if (!key.empty()) context->AddMetadata("authorization", "Bearer " + key);
    return context;
  }

  int Run(const std::vector<std::string>& args);

 private:
  int Health();
  int Executions(const std::vector<std::string>& args);
  int Jobs(const std::vector<std::string>& args);
  int EventsTail(const std::string& execution_id);
  int Flows(const std::vector<std::string>& args);
  int TokensCleanup();

  template <typename T>
  void PrintExecutions(const T& executions) {
    if (json_) {
      for (const auto& e : executions) std::cout << ToJson(e) << "\n";
      return;
    }
    Table table({"ID", "FLOW", "VERSION", "STATUS", "STEP", "UPDATED"});
    for (const auto& e : executions) {
      table.Add({e.id(), e.flow_id(), e.flow_version(), Short(fm::ExecutionStatus_Name(e.status())),
                 e.current_step_id(), Time(e.updated_at())});
    }
    table.Print();
  }

  template <typename T>
  void PrintJobs(const T& jobs) {
    if (json_) {
      for (const auto& j : jobs) std::cout << ToJson(j) << "\n";
      return;
    }
    Table table({"ID", "EXECUTION", "STEP", "HANDLER", "STATUS", "RUNNER", "ATTEMPTS", "HEARTBEAT"});
    for (const auto& j : jobs) {
      table.Add({j.id(), j.execution_id(), j.step_id(), j.handler(),
                 Short(fm::JobStatus_Name(j.status())), j.has_runner_id() ? j.runner_id() : "-",
                 absl::StrCat(j.attempts(), "/", j.max_attempts()),
                 Time(j.has_heartbeat_at() ? j.heartbeat_at() : 0)});
    }
    table.Print();
  }

  template <typename T>
  void PrintFlows(const T& flows) {
    if (json_) {
      for (const auto& f : flows) std::cout << ToJson(f) << "\n";
      return;
    }
    Table table({"ID", "VERSION", "NAME", "STATUS", "CREATED"});
    for (const auto& f : flows) {
      table.Add({f.id(), f.version(), f.has_name() ? f.name() : "-",
                 Short(fm::FlowStatus_Name(f.status())), Time(f.created_at())});
    }
    table.Print();
  }

  std::shared_ptr<grpc::Channel> channel_;
  bool json_ = absl::GetFlag(FLAGS_json);
};

int Ctl::Run(const std::vector<std::string>& a) {
  auto is = [&](size_t n, const char* cmd, const char* sub = nullptr) {
    return a.size() >= n && a[0] == cmd && (sub == nullptr || a[1] == sub);
  };
  if (is(1, "health")) return Health();
  if (a.size() >= 2 && a[0] == "executions") return Executions(a);
  if (a.size() >= 2 && a[0] == "jobs") return Jobs(a);
  if (is(3, "events", "tail")) return EventsTail(a[2]);
  if (a.size() >= 2 && a[0] == "flows") return Flows(a);
  if (is(2, "tokens", "cleanup")) return TokensCleanup();
  return Fail(absl::StrCat("unknown command; usage:\n", absl::ProgramUsageMessage()));
}

int Ctl::Health() {
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = grpc::health::v1::Health::NewStub(channel_)->Check(
      Context().get(), request, &response);
  if (!status.ok()) return Fail(status);
  const std::string name =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
  if (json_) {
    std::cout << ToJson(response) << "\n";
  } else {
    std::cout << name << "\n";
  }
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}

int Ctl::Executions(const std::vector<std::string>& a) {
  auto stub = fm::ExecutionStore::NewStub(channel_);
  if (a[1] == "get" && a.size() == 3) {
    fm::GetExecutionRequest request;
    request.set_execution_id(a[2]);
    fm::GetExecutionResponse response;
    grpc::Status status = stub->Get(Context().get(), request, &response);
    if (!status.ok()) return Fail(status);
    if (json_) {
      std::cout << ToJson(response.execution()) << "\n";
    } else {
      std::cout << response.execution().DebugString();
    }
    return 0;
  }
  if (a[1] == "list" && a.size() == 3) {
    fm::FindByStatusRequest request;
    fm::ExecutionStatus value;
    if (!fm::ExecutionStatus_Parse("EXECUTION_STATUS_" + absl::AsciiStrToUpper(a[2]), &value)) {
      return Fail("unknown status " + a[2]);
    }
    request.set_status(value);
    request.set_limit(absl::GetFlag(FLAGS_limit));
    fm::FindByStatusResponse response;
    grpc::Status status = stub->FindByStatus(Context().get(), request, &response);
    if (!status.ok()) return Fail(status);
    PrintExecutions(response.executions());
    return 0;
  }
  return Fail("usage: executions get ID | executions list STATUS");
}

int Ctl::Jobs(const std::vector<std::string>& a) {
  auto stub = fm::JobStore::NewStub(channel_);
  if (a[1] == "list" && a.size() == 3) {
    fm::ListJobsByStatusRequest request;
    fm::JobStatus value;
    if (!fm::JobStatus_Parse("JOB_STATUS_" + absl::AsciiStrToUpper(a[2]), &value)) {
      return Fail("unknown status " + a[2]);
    }
    request.set_status(value);
    request.set_limit(absl::GetFlag(FLAGS_limit));
    fm::ListJobsByStatusResponse response;
    grpc::Status status = stub->ListByStatus(Context().get(), request, &response);
    if (!status.ok()) return Fail(status);
    PrintJobs(response.jobs());
    return 0;
  }
  if (a[1] == "stalled" && a.size() == 2) {
    fm::FindStalledJobsRequest request;
    request.set_stalled_before(absl::ToUnixMillis(absl::Now()) - absl::GetFlag(FLAGS_stalled_ms));
    request.set_limit(absl::GetFlag(FLAGS_limit));
    fm::FindStalledJobsResponse response;
    grpc::Status status = stub->FindStalled(Context().get(), request, &response);
    if (!status.ok()) return Fail(status);
    PrintJobs(response.jobs());
    return 0;
  }
  return Fail("usage: jobs list STATUS | jobs stalled [--stalled_ms=N]");
}

int Ctl::EventsTail(const std::string& execution_id) {
  // The latest --limit events: newest first from the server, printed oldest first.
  fm::QueryEventsRequest request;
  request.set_execution_id(execution_id);
  request.set_limit(absl::GetFlag(FLAGS_limit));
  request.set_descending(true);
  fm::QueryEventsResponse response;
  grpc::Status status =
      fm::EventStore::NewStub(channel_)->Query(Context().get(), request, &response);
  if (!status.ok()) return Fail(status);
  std::reverse(response.mutable_events()->begin(), response.mutable_events()->end());
  if (json_) {
    for (const auto& e : response.events()) std::cout << ToJson(e) << "\n";
    return 0;
  }
  Table table({"ID", "TIME", "TYPE", "STEP", "DATA"});
  for (const auto& e : response.events()) {
    table.Add({absl::StrCat(e.id()), Time(e.created_at()), e.event_type(),
               e.has_step_id() ? e.step_id() : "-", e.data_json().empty() ? "-" : e.data_json()});
  }
  table.Print();
  return 0;
}

int Ctl::Flows(const std::vector<std::string>& a) {
  auto stub = fm::FlowStore::NewStub(channel_);
  if (a[1] == "list" && a.size() == 2) {
    fm::ListFlowsRequest request;
    request.set_limit(absl::GetFlag(FLAGS_limit));
    fm::ListFlowsResponse response;
    grpc::Status status = stub->List(Context().get(), request, &response);
    if (!status.ok()) return Fail(status);
    PrintFlows(response.flows());
    return 0;
  }
  if (a[1] == "get" && (a.size() == 3 || a.size() == 4)) {
    fm::GetFlowRequest request;
    request.set_flow_id(a[2]);
    if (a.size() == 4) request.set_version(a[3]);
    fm::GetFlowResponse response;
    grpc::Status status = stub->Get(Context().get(), request, &response);
    if (!status.ok()) return Fail(status);
    if (json_) {
      std::cout << ToJson(response.flow()) << "\n";
    } else {
      std::cout << response.flow().DebugString();
    }
    return 0;
  }
  if (a[1] == "save" && a.size() == 2) {
    std::ifstream in(absl::GetFlag(FLAGS_file));
    if (!in) return Fail("flows save: cannot read -f " + absl::GetFlag(FLAGS_file));
    std::stringstream text;
    text << in.rdbuf();
    fm::SaveFlowRequest request;
    auto parsed = google::protobuf::util::JsonStringToMessage(text.str(), request.mutable_flow());
    if (!parsed.ok()) return Fail("flows save: " + parsed.ToString());
    fm::SaveFlowResponse response;
    grpc::Status status = stub->Save(Context().get(), request, &response);
    if (!status.ok()) return Fail(status);
    if (json_) {
      std::cout << ToJson(response) << "\n";
    } else {
      std::cout << (response.created() ? "saved " : "unchanged ") << response.flow().id() << " "
                << response.flow().version() << "\n";
    }
    return 0;
  }
  return Fail("usage: flows list | flows get ID [VERSION] | flows save -f FILE");
}

int Ctl::TokensCleanup() {
  fm::CleanupExpiredResumeTokensRequest request;
  fm::CleanupExpiredResumeTokensResponse response;
  grpc::Status status =
      fm::ResumeTokens::NewStub(channel_)->CleanupExpired(Context().get(), request, &response);
  if (!status.ok()) return Fail(status);
  if (json_) {
    std::cout << ToJson(response) << "\n";
  } else {
    std::cout << "resume tokens marked expired: " << response.count() << "\n";
  }
  return 0;
}

absl::StatusOr<flowmonkey::client::ClientOptions> Options() {
  flowmonkey::client::ClientOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  options.timeout = absl::Milliseconds(absl::GetFlag(FLAGS_timeout_ms));
  options.connect_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_timeout_ms));
  options.api_key = absl::GetFlag(FLAGS_api_key);
  if (absl::GetFlag(FLAGS_tls) || !absl::GetFlag(FLAGS_tls_ca).empty()) {
    auto tls = flowmonkey::client::TlsOptionsFromFiles(
        absl::GetFlag(FLAGS_tls_ca), absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key));
    if (!tls.ok()) return tls.status();
    tls->server_name = absl::GetFlag(FLAGS_tls_server_name);
    options.tls = *tls;
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "flowmonkeyctl [--target=HOST:PORT] [--json] COMMAND\n"
      "  health\n  executions get ID\n  executions list STATUS\n  jobs list STATUS\n"
      "  jobs stalled [--stalled_ms=N]\n  events tail EXECUTION\n  flows list\n"
      "  flows get ID [VERSION]\n  flows save -f FILE\n  tokens cleanup");
  // "-f FILE" is spelled --file=FILE for absl.
  std::vector<std::string> storage;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "-f" && i + 1 < argc) {
      storage.push_back(absl::StrCat("--file=", argv[++i]));
    } else {
      storage.emplace_back(argv[i]);
    }
  }
  std::vector<char*> rewritten = {argv[0]};
  for (auto& s : storage) rewritten.push_back(s.data());
  std::vector<char*> positional = absl::ParseCommandLine(static_cast<int>(rewritten.size()),
                                                         rewritten.data());
  std::vector<std::string> args(positional.begin() + 1, positional.end());

  auto options = Options();
  if (!options.ok()) return Fail(options.status().ToString());
  auto stores = flowmonkey::client::Connect(*options);
  if (!stores.ok()) return Fail(stores.status().ToString());
  return Ctl(stores->channel).Run(args);
}
