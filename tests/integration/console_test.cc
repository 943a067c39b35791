// The operator console's HTTP/JSON endpoints (server/console.h) on a real server with TLS
// and API keys, called over HTTPS with curl: keys required, a tenant key confined to its
// tenant, actions for operator keys only, bounded and well-formed errors, no resume token
// value in any answer. The page itself is driven in Chromium by tests/console/run.sh.

#include "server/console.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "nlohmann/json.hpp"
#include "server/rpc/auth.h"
#include "server/server.h"
#include "tests/integration/harness.h"
#include "tests/support/backends.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

struct Reply {
  int status = 0;
  std::string headers;
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

// A self-signed certificate for 127.0.0.1 and a keys file: an operator and two tenants.
class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/fm-console-test-XXXXXX";
    dir_ = mkdtemp(pattern);
    const std::string command = absl::StrCat(
        "cd '", dir_, "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 ",
        "-nodes -keyout server.key -out server.pem -days 2 -subj /CN=localhost ",
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 >make.log 2>&1");
    ASSERT_EQ(std::system(command.c_str()), 0) << "openssl failed";
    std::ofstream(dir_ + "/keys") << rpc::Sha256Hex("op-key") << " *\n"
                                  << rpc::Sha256Hex("a-key") << " tenant-a\n"
                                  << rpc::Sha256Hex("b-key") << " tenant-b\n";
    ServerOptions options = TestServerOptions(TestDatabase::Instance().NewPrefix());
    options.security.tls_cert_file = dir_ + "/server.pem";
    options.security.tls_key_file = dir_ + "/server.key";
    options.security.api_keys_file = dir_ + "/keys";
    options.console_listen = "127.0.0.1:0";
    auto server = Server::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->console_port(), 0);

    client::ClientOptions client;
    client.target = absl::StrCat("127.0.0.1:", server_->port());
    client.max_attempts = 1;
    client::TlsOptions tls;
    std::ifstream pem(dir_ + "/server.pem");
    tls.root_certs_pem.assign(std::istreambuf_iterator<char>(pem), {});
    client.tls = tls;
    client.api_key = "op-key";
    auto stores = client::Connect(client);
    ASSERT_TRUE(stores.ok()) << stores.status();
    op_ = *std::move(stores);
  }
  void TearDown() override {
    op_ = client::Stores();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // One HTTPS request with curl (trusting our certificate), its status, headers and body.
  Reply Http(const std::string& method, const std::string& path, const std::string& key,
             const std::string& body = "", const std::string& content_type = "application/json") {
    const std::string body_file = dir_ + "/body";
    std::ofstream(body_file, std::ios::trunc) << body;
    std::string command =
        absl::StrCat("curl -sS --max-time 20 --cacert '", dir_, "/server.pem' -X ", method, " -D '",
                     dir_, "/headers' -o '", dir_, "/out' -w '%{http_code}' ");
    if (!key.empty()) absl::StrAppend(&command, "-H 'Authorization: Bearer ", key, "' ");
    if (method == "POST") {
      absl::StrAppend(&command, "-H 'Content-Type: ", content_type, "' --data-binary @'", body_file,
                      "' ");
    }
    absl::StrAppend(&command, "'https://127.0.0.1:", server_->console_port(), path, "'");
    Reply reply;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return reply;
    char code[16] = {};
    if (fgets(code, sizeof(code), pipe) != nullptr) reply.status = std::atoi(code);
    pclose(pipe);
    std::ifstream out(dir_ + "/out");
    reply.body.assign(std::istreambuf_iterator<char>(out), {});
    std::ifstream headers(dir_ + "/headers");
    reply.headers.assign(std::istreambuf_iterator<char>(headers), {});
    return reply;
  }
  Reply Api(const std::string& method, const std::string& key, const nlohmann::json& body) {
    return Http("POST", "/api/" + method, key, body.dump());
  }

  void CreateExecution(const std::string& id, const std::string& tenant) {
    v1::CreateExecutionRequest create;
    *create.mutable_execution() = NewExecution(id);
    create.mutable_execution()->set_tenant_id(tenant);
    auto created = op_.executions->Create(create);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  std::string dir_;
  std::unique_ptr<Server> server_;
  client::Stores op_;
};

TEST_F(ConsoleTest, KeysAreRequiredAndATenantSeesOnlyItsOwnExecutions) {
  EXPECT_EQ(Http("GET", "/api/session", "").status, 401);
  EXPECT_EQ(Http("GET", "/api/session", "wrong-key").status, 401);
  const Reply session = Http("GET", "/api/session", "a-key");
  ASSERT_EQ(session.status, 200) << session.body;
  EXPECT_EQ(session.json()["tenant"], "tenant-a");
  EXPECT_EQ(session.json()["operator"], false);
  EXPECT_EQ(session.json()["keysRequired"], true);
  EXPECT_EQ(Http("GET", "/api/session", "op-key").json()["operator"], true);

  CreateExecution("console-a", "tenant-a");
  CreateExecution("console-b", "tenant-b");
  const nlohmann::json running = {{"status", "EXECUTION_STATUS_RUNNING"}};
  const Reply as_a = Api("ExecutionStore/FindByStatus", "a-key", running);
  ASSERT_EQ(as_a.status, 200) << as_a.body;
  ASSERT_EQ(as_a.json()["executions"].size(), 1u) << as_a.body;
  EXPECT_EQ(as_a.json()["executions"][0]["id"], "console-a");
  EXPECT_EQ(Api("ExecutionStore/FindByStatus", "op-key", running).json()["executions"].size(), 2u);
  // Asking for another tenant is refused; a read of its record is as for a missing one.
  EXPECT_EQ(Api("ExecutionStore/FindByStatus", "a-key",
                {{"status", "EXECUTION_STATUS_RUNNING"}, {"tenantId", "tenant-b"}})
                .status,
            403);
  const Reply other = Api("ExecutionStore/Get", "a-key", {{"executionId", "console-b"}});
  EXPECT_EQ(other.status, 404) << other.body;
  EXPECT_EQ(other.json()["code"], "NOT_FOUND");
  EXPECT_FALSE(absl::StrContains(other.body, "tenant-b"));
  const Reply counts = Api("ExecutionStore/CountByStatus", "a-key", nlohmann::json::object());
  ASSERT_EQ(counts.status, 200) << counts.body;
  ASSERT_EQ(counts.json()["counts"].size(), 1u) << counts.body;
  EXPECT_EQ(counts.json()["counts"][0]["count"], "1");  // int64: a string in proto3 JSON
  EXPECT_EQ(Api("EventStore/GetByExecution", "a-key", {{"executionId", "console-b"}}).status, 404);
}

TEST_F(ConsoleTest, ActionsNeedAnOperatorKeyAndChangeTheStoredState) {
  CreateExecution("console-cancel", "tenant-a");
  v1::CreateJobRequest job;
  job.set_execution_id("console-cancel");
  job.set_step_id("send");
  job.set_handler("email");
  job.set_input_json("{}");
  ASSERT_TRUE(op_.jobs->Create(job).ok());

  const nlohmann::json cancel = {{"executionId", "console-cancel"}, {"reason", "stuck"}};
  const Reply refused = Api("Console/CancelExecution", "a-key", cancel);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_TRUE(absl::StrContains(refused.json()["message"].get<std::string>(), "operator key"))
      << refused.body;
  v1::GetExecutionRequest get;
  get.set_execution_id("console-cancel");
  EXPECT_EQ(op_.executions->Get(get)->execution().status(), v1::EXECUTION_STATUS_RUNNING);

  const Reply cancelled = Api("Console/CancelExecution", "op-key", cancel);
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(cancelled.json()["jobsCancelled"], 1);
  const v1::Execution stored = op_.executions->Get(get)->execution();
  EXPECT_EQ(stored.status(), v1::EXECUTION_STATUS_CANCELLED);
  EXPECT_EQ(stored.cancellation().source(), v1::CANCELLATION_SOURCE_USER);
  EXPECT_EQ(stored.cancellation().reason(), "stuck");
  v1::ListJobsByExecutionRequest jobs;
  jobs.set_execution_id("console-cancel");
  EXPECT_EQ(op_.jobs->ListByExecution(jobs)->jobs(0).status(), v1::JOB_STATUS_CANCELLED);
  // Once ended, a second cancel is a conflict, not a second write.
  EXPECT_EQ(Api("Console/CancelExecution", "op-key", cancel).status, 409);
  EXPECT_EQ(op_.executions->Get(get)->execution().version(), stored.version());
}

TEST_F(ConsoleTest, BadRequestsGetClearStatusesAndTokenValuesNeverLeave) {
  CreateExecution("console-tokens", "tenant-a");
  v1::GenerateResumeTokenRequest generate;
  generate.set_execution_id("console-tokens");
  generate.set_step_id("approve");
  generate.set_expires_in_ms(60'000);
  auto token = op_.tokens->Generate(generate);
  ASSERT_TRUE(token.ok()) << token.status();
  const Reply tokens =
      Api("ResumeTokens/ListByExecution", "op-key", {{"executionId", "console-tokens"}});
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  EXPECT_TRUE(absl::StrContains(tokens.body, token->token().id()));
  EXPECT_FALSE(absl::StrContains(tokens.body, token->token().token()));

  const struct {
    const char* method;
    std::string body;
    std::string content_type;
    int status;
  } cases[] = {
      {"ExecutionStore/Get", "{not json", "application/json", 400},
      {"ExecutionStore/Get", R"({"executionId": "x", "nope": 1})", "application/json", 400},
      {"ExecutionStore/Get", R"({"executionId": ""})", "application/json", 400},
      {"ExecutionStore/Save", R"({})", "application/json", 404},  // not a console method
      {"ExecutionStore/Get", R"({"executionId": "x"})", "text/plain", 415},
      {"ExecutionStore/Get", std::string(70 * 1024, ' '), "application/json", 413},
  };
  for (const auto& c : cases) {
    const Reply reply =
        Http("POST", absl::StrCat("/api/", c.method), "op-key", c.body, c.content_type);
    EXPECT_EQ(reply.status, c.status)
        << c.method << " " << c.body.substr(0, 40) << ": " << reply.body;
    EXPECT_TRUE(reply.json().contains("code")) << reply.body;
    EXPECT_TRUE(reply.json().contains("message")) << reply.body;
  }
  EXPECT_EQ(Http("GET", "/api/ExecutionStore/Get", "op-key").status, 405);

  // Lists are capped at ConsoleApi::kMaxPage whatever limit is asked for.
  for (int i = 0; i <= ConsoleApi::kMaxPage; ++i) {
    CreateExecution(absl::StrCat("console-page-", 1000 + i), "tenant-a");
  }
  const Reply page = Api("ExecutionStore/FindByStatus", "op-key",
                         {{"status", "EXECUTION_STATUS_RUNNING"}, {"limit", 5000}});
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.json()["executions"].size(), static_cast<size_t>(ConsoleApi::kMaxPage));
  EXPECT_FALSE(page.json()["nextPageToken"].get<std::string>().empty());

  // The page: served from the binary, with a policy that runs only its own script.
  const Reply index = Http("GET", "/", "");
  EXPECT_EQ(index.status, 200);
  EXPECT_TRUE(absl::StrContains(index.body, "console.js"));
  EXPECT_TRUE(absl::StrContains(index.headers,
                                "Content-Security-Policy: default-src 'none'; "
                                "script-src 'self'"));
  EXPECT_EQ(Http("GET", "/no-such-file", "").status, 404);
}

TEST(ConsoleStartTest, ANonLoopbackConsoleNeedsApiKeys) {
  ServerOptions options = TestServerOptions(TestDatabase::Instance().NewPrefix());
  options.console_listen = "0.0.0.0:0";
  auto server = Server::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(server.status().message(), "api-keys-file"));
  options.console_listen = "no-port";
  EXPECT_EQ(Server::Start(options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flowmonkey::testing
