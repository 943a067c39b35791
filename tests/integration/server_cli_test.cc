// The flowmonkey-server binary as a new user meets it: --help, --version, environment
// values that do not parse, and the start-up log line.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/version.h"
#include "tests/integration/harness.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `env ENV flowmonkey-server ARGS` to completion. The database URL points nowhere: none
// of these runs may get as far as connecting.
ProcessResult RunServer(const std::string& env, const std::string& args) {
  const std::string command = absl::StrCat("env ", env, " DATABASE_URL='host=127.0.0.1 port=1' ",
                                           FM_SERVER_BINARY, " ", args, " 2>&1 </dev/null");
  ProcessResult run;
  FILE* pipe = popen(command.c_str(), "r");
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) run.output.append(buffer, n);
  const int status = pclose(pipe);
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  return run;
}

TEST(ServerCli, HelpListsTheServerFlags) {
  const ProcessResult run = RunServer("", "--help");
  EXPECT_EQ(run.output.find("No flags matched"), std::string::npos) << run.output;
  for (const char* flag : {"--listen", "--database_url", "--pool_size", "--workers", "--batching",
                           "--metrics_listen", "--max_message_bytes"}) {
    EXPECT_NE(run.output.find(flag), std::string::npos) << flag << " missing:\n" << run.output;
  }
}

TEST(ServerCli, FlagHelpIsTrue) {
  const ProcessResult run = RunServer("", "--help");
  const size_t pool = run.output.find("--pool_size");
  ASSERT_NE(pool, std::string::npos) << run.output;
  const std::string pool_help = run.output.substr(pool, run.output.find("--", pool + 2) - pool);
  EXPECT_EQ(pool_help.find("thread"), std::string::npos) << pool_help;
  const size_t batching = run.output.find("--batching");
  ASSERT_NE(batching, std::string::npos);
  const std::string batching_help =
      run.output.substr(batching, run.output.find("--", batching + 2) - batching);
  for (const char* what : {"Saves", "Gets", "Records", "RecordBatches", "Completes"}) {
    EXPECT_NE(batching_help.find(what), std::string::npos) << what << ": " << batching_help;
  }
}

TEST(ServerCli, VersionPrintsTheBuildVersion) {
  const ProcessResult run = RunServer("", "--version");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, absl::StrCat("flowmonkey-server ", Version(), "\n"));
  EXPECT_EQ(std::string(Version()).rfind(FM_PROJECT_VERSION, 0), 0u) << Version();
}

TEST(ServerCli, UnparseableNumericEnvironmentStopsStartUp) {
  for (const char* env : {"FM_POOL_SIZE=abc", "FM_MAX_MESSAGE_BYTES=12x", "FM_WORKERS=4.5",
                          "FM_MAX_CONTEXT_BYTES=lots", "FM_DRAIN_TIMEOUT_MS=99999999999"}) {
    const ProcessResult run = RunServer(env, "");
    const std::string name(env, std::string(env).find('='));
    EXPECT_NE(run.exit_code, 0) << env << ": " << run.output;
    EXPECT_NE(run.output.find(absl::StrCat("invalid environment variable ", name)),
              std::string::npos)
        << env << ": " << run.output;
  }
}

TEST(ServerCli, UnparseableBooleanEnvironmentStopsStartUp) {
  const ProcessResult run = RunServer("FM_BATCHING=maybe", "");
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("FM_BATCHING"), std::string::npos) << run.output;
}

TEST(ServerCli, StartUpLogsVersionAndAddresses) {
  const std::string prefix = TestDatabase::Instance().NewPrefix();
  const int port = FreeLoopbackPort();
  const int metrics_port = FreeLoopbackPort();
  const std::string log = absl::StrCat(::testing::TempDir(), "/server-cli-", prefix, ".log");
  ServerProcess server(
      {absl::StrCat("--listen=127.0.0.1:", port),
       "--database-url=" + TestDatabase::Instance().url(), "--table-prefix=" + prefix,
       absl::StrCat("--metrics-listen=127.0.0.1:", metrics_port)},
      log);
  auto channel = InsecureChannelTo(port);
  for (int i = 0; i < 300 && !CheckHealth(*channel).serving(); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(CheckHealth(*channel).serving());
  server.Signal(SIGTERM);
  ASSERT_TRUE(server.WaitExit(absl::Seconds(60)).has_value());
  std::stringstream text;
  text << std::ifstream(log).rdbuf();
  EXPECT_NE(
      text.str().find(absl::StrCat("flowmonkey-server ", Version(), " serving on port ", port,
                                   " (--listen 127.0.0.1:", port,
                                   "), metrics on http://127.0.0.1:", metrics_port, "/metrics")),
      std::string::npos)
      << text.str();
}

}  // namespace
}  // namespace flowmonkey::testing
