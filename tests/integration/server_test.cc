// Server-level behaviour: start-up and restart against an already-migrated database, the
// migrate command, health, reflection-free status mapping when the database is unreachable,
// and a clean exit on SIGTERM.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "flowmonkey/v1/admin.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/pg/migrations.h"
#include "tests/support/backends.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

std::shared_ptr<grpc::Channel> ChannelTo(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

grpc::health::v1::HealthCheckResponse::ServingStatus Health(int port, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(ChannelTo(port));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.status();
}

int SchemaVersionOf(int port) {
  auto stub = v1::Admin::NewStub(ChannelTo(port));
  grpc::ClientContext context;
  v1::GetSchemaVersionResponse response;
  EXPECT_TRUE(stub->GetSchemaVersion(&context, v1::GetSchemaVersionRequest(), &response).ok());
  return response.version();
}

TEST(Server, RestartsCleanlyAgainstAnAlreadyMigratedDatabase) {
  const ServerOptions options = TestServerOptions(TestDatabase::Instance().NewPrefix());
  for (int run = 0; run < 2; ++run) {
    auto server = Server::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    EXPECT_EQ(SchemaVersionOf((*server)->port()), pg::LatestKnownVersion());
    client::ClientOptions client_options;
    client_options.target = absl::StrCat("127.0.0.1:", (*server)->port());
    auto stores = client::Connect(client_options);
    ASSERT_TRUE(stores.ok());
    v1::SaveExecutionRequest save;
    auto* e = save.mutable_execution();
    e->set_id("survives-restart");
    e->set_flow_id("f");
    e->set_flow_version("1");
    e->set_current_step_id("s");
    e->set_status(v1::EXECUTION_STATUS_RUNNING);
    auto saved = stores->executions->Save(save);
    ASSERT_TRUE(saved.ok()) << saved.status();
    EXPECT_EQ(saved->version(), run + 1);  // the row from the first run is still there
    (*server)->Shutdown();
  }
}

TEST(Server, MigrateCommandIsIdempotent) {
  const std::string prefix = TestDatabase::Instance().NewPrefix();
  const std::string command =
      absl::StrCat(FM_SERVER_BINARY, " migrate --database-url='", TestDatabase::Instance().url(),
                   "' --table-prefix=", prefix, " --log-level=warn");
  EXPECT_EQ(std::system(command.c_str()), 0);
  EXPECT_EQ(std::system(command.c_str()), 0);
  auto pool = TestPool(prefix);
  EXPECT_EQ(*pg::SchemaVersion(*pool), pg::LatestKnownVersion());
}

TEST(Server, RejectsABadTablePrefix) {
  ServerOptions options = TestServerOptions("Robert'); DROP TABLE x;--");
  EXPECT_EQ(Server::Start(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Server, HealthReportsServingWithADatabase) {
  auto server = Server::Start(TestServerOptions(TestDatabase::Instance().NewPrefix()));
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(Health((*server)->port(), ""), grpc::health::v1::HealthCheckResponse::SERVING);
  // Every service of the contract, named from the one list the server registers.
  for (const char* service :
       {"flowmonkey.v1.ExecutionStore", "flowmonkey.v1.ResumeTokens", "flowmonkey.v1.JobStore",
        "flowmonkey.v1.Admin", "flowmonkey.v1.EventStore", "flowmonkey.v1.FlowStore",
        "flowmonkey.v1.ContextStorage"}) {
    EXPECT_EQ(Health((*server)->port(), service), grpc::health::v1::HealthCheckResponse::SERVING)
        << service;
  }
}

// Admin is served like every other service: through the client's store, with the policy
// its contract declares.
TEST(Server, TheClientAsksTheSchemaVersion) {
  auto server = Server::Start(TestServerOptions(TestDatabase::Instance().NewPrefix()));
  ASSERT_TRUE(server.ok());
  client::ClientOptions client_options;
  client_options.target = absl::StrCat("127.0.0.1:", (*server)->port());
  auto stores = client::Connect(client_options);
  ASSERT_TRUE(stores.ok());
  absl::StatusOr<v1::GetSchemaVersionResponse> version =
      stores->admin->GetSchemaVersion(v1::GetSchemaVersionRequest());
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(version->version(), pg::LatestKnownVersion());
  EXPECT_EQ(version->latest_known_version(), pg::LatestKnownVersion());
}

TEST(Server, UnreachableDatabaseMeansNotServingAndUnavailable) {
  setenv("PGCONNECT_TIMEOUT", "2", 0);
  ServerOptions options = TestServerOptions(TestDatabase::Instance().NewPrefix());
  options.database_url = "host=127.0.0.1 port=1 user=postgres dbname=postgres";
  options.migrate_on_start = false;
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(Health((*server)->port(), ""), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  client::ClientOptions client_options;
  client_options.target = absl::StrCat("127.0.0.1:", (*server)->port());
  client_options.max_attempts = 1;
  auto stores = client::Connect(client_options);
  ASSERT_TRUE(stores.ok());
  v1::GetExecutionRequest get;
  get.set_execution_id("anything");
  EXPECT_EQ(stores->executions->Get(get).status().code(), absl::StatusCode::kUnavailable);
}

TEST(Server, SigtermExitsZero) {
  const std::string prefix = TestDatabase::Instance().NewPrefix();
  const std::string url = TestDatabase::Instance().url();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(FM_SERVER_BINARY, FM_SERVER_BINARY, "--listen=127.0.0.1:0",
          ("--database-url=" + url).c_str(), ("--table-prefix=" + prefix).c_str(),
          "--log-level=warn", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Serving means migrated: wait for the last migration (each one commits on its own, so an
  // earlier version is seen first), then stop the server, whatever the wait found.
  auto pool = TestPool(prefix);
  for (int i = 0; i < 100 && pg::SchemaVersion(*pool).value_or(0) < pg::LatestKnownVersion(); ++i) {
    usleep(100'000);
  }
  EXPECT_EQ(pg::SchemaVersion(*pool).value_or(0), pg::LatestKnownVersion());
  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace flowmonkey::testing
