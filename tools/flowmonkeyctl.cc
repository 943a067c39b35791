// flowmonkeyctl: operator CLI for FlowMonkey Store. Tables by default, --json for JSON
// (one object per line, protobuf's canonical JSON mapping). `flowmonkeyctl --help` lists
// the commands (tools/ctl/commands.h).

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/client.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/output.h"

namespace {
const char* EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}
}  // namespace

ABSL_FLAG(std::string, target, EnvOr("FM_TARGET", "127.0.0.1:50051"), "server address");
ABSL_FLAG(bool, json, false, "print JSON (one object per line) instead of tables");
ABSL_FLAG(int, timeout_ms, 10000, "per-call deadline, and how long to wait to connect");
ABSL_FLAG(int, limit, 100, "list size");
ABSL_FLAG(int64_t, stalled_ms, 60000, "jobs stalled: heartbeat older than this");
ABSL_FLAG(std::string, file, "",
          "flows save: a FlowMonkey flow definition, or a flowmonkey.v1.Flow, in JSON (-f)");
ABSL_FLAG(std::string, status, "published",
          "flows save of a plain flow definition: its status, published or draft");
ABSL_FLAG(std::string, tags, "", "flows save of a plain flow definition: tags, comma-separated");
ABSL_FLAG(bool, follow, false, "events tail: keep polling for new events until interrupted");
ABSL_FLAG(int, poll_ms, 1000, "events tail --follow: how often to poll");
ABSL_FLAG(std::string, tls_ca, EnvOr("FM_TLS_CA", ""), "TLS: CA certificates (PEM file)");
ABSL_FLAG(std::string, tls_cert, EnvOr("FM_TLS_CLIENT_CERT", ""), "mutual TLS: certificate");
ABSL_FLAG(std::string, tls_key, EnvOr("FM_TLS_CLIENT_KEY", ""), "mutual TLS: private key");
ABSL_FLAG(bool, tls, false, "use TLS with the system's roots (implied by --tls_ca)");
ABSL_FLAG(std::string, tls_server_name, "", "TLS: expected server name");
ABSL_FLAG(std::string, api_key, EnvOr("FM_API_KEY", ""), "API key (sent as a bearer token)");

namespace {

using flowmonkey::ctl::Fail;

// --help, -h (and `help` as the command) print the usage and succeed, without a server.
// abseil's own --help would exit 1 and list no commands.
bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") return false;
    if (arg == "--help" || arg == "-help" || arg == "-h") return true;
  }
  return false;
}

// "-f FILE" is spelled --file=FILE for absl.
std::vector<std::string> RewriteShortFile(int argc, char** argv) {
  std::vector<std::string> args = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "-f" && i + 1 < argc) {
      args.push_back(absl::StrCat("--file=", argv[++i]));
    } else {
      args.emplace_back(argv[i]);
    }
  }
  return args;
}

absl::StatusOr<flowmonkey::ctl::CtlOptions> CtlOptionsFromFlags() {
  flowmonkey::ctl::CtlOptions options;
  options.json = absl::GetFlag(FLAGS_json);
  options.limit = absl::GetFlag(FLAGS_limit);
  options.stalled_ms = absl::GetFlag(FLAGS_stalled_ms);
  options.file = absl::GetFlag(FLAGS_file);
  options.follow = absl::GetFlag(FLAGS_follow);
  options.poll_interval = absl::Milliseconds(absl::GetFlag(FLAGS_poll_ms));
  options.timeout = absl::Milliseconds(absl::GetFlag(FLAGS_timeout_ms));
  options.api_key = absl::GetFlag(FLAGS_api_key);
  const std::string status = absl::AsciiStrToLower(absl::GetFlag(FLAGS_status));
  if (status == "published") {
    options.flow_file.status = flowmonkey::v1::FLOW_STATUS_PUBLISHED;
  } else if (status == "draft") {
    options.flow_file.status = flowmonkey::v1::FLOW_STATUS_DRAFT;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--status=", status, ": must be published or draft"));
  }
  for (absl::string_view tag : absl::StrSplit(absl::GetFlag(FLAGS_tags), ',', absl::SkipEmpty())) {
    options.flow_file.tags.emplace_back(absl::StripAsciiWhitespace(tag));
  }
  return options;
}

absl::StatusOr<flowmonkey::client::ClientOptions> ClientOptionsFromFlags() {
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
  if (WantsHelp(argc, argv)) {
    std::cout << flowmonkey::ctl::Usage();
    return 0;
  }
  absl::SetProgramUsageMessage(flowmonkey::ctl::Usage());
  std::vector<std::string> storage = RewriteShortFile(argc, argv);
  std::vector<char*> rewritten;
  for (auto& s : storage) rewritten.push_back(s.data());
  std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(rewritten.size()), rewritten.data());
  const std::vector<std::string> args(positional.begin() + 1, positional.end());
  if (args.size() == 1 && args[0] == "help") {
    std::cout << flowmonkey::ctl::Usage();
    return 0;
  }

  // Everything that can be checked without a server is, first: usage errors need none.
  absl::StatusOr<flowmonkey::ctl::Invocation> invocation = flowmonkey::ctl::ParseInvocation(args);
  if (!invocation.ok()) {
    return Fail(std::string(absl::StripTrailingAsciiWhitespace(invocation.status().message())));
  }
  absl::StatusOr<flowmonkey::ctl::CtlOptions> ctl_options = CtlOptionsFromFlags();
  if (!ctl_options.ok()) return Fail(std::string(ctl_options.status().message()));
  absl::StatusOr<flowmonkey::client::ClientOptions> client_options = ClientOptionsFromFlags();
  if (!client_options.ok()) return Fail(flowmonkey::ctl::StatusText(client_options.status()));

  auto stores = flowmonkey::client::Connect(*client_options);
  if (!stores.ok()) return Fail(flowmonkey::ctl::StatusText(stores.status()));
  return flowmonkey::ctl::Ctl(stores->channel, *std::move(ctl_options)).Run(*invocation);
}
