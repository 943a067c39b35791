// Size limits at the transport: a request over the server's max_message_bytes fails with
// RESOURCE_EXHAUSTED before it reaches a store (field-level limits — id length, text
// length, JSON depth — are INVALID_ARGUMENT, covered by the unit and conformance suites).

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "tests/integration/harness.h"
#include "tests/support/backends.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

// An execution whose context_json is a JSON object of about `bytes` bytes.
v1::SaveExecutionRequest SaveOfSize(const std::string& id, size_t bytes) {
  v1::SaveExecutionRequest save;
  *save.mutable_execution() = NewExecution(id);
  save.mutable_execution()->set_context_json(
      absl::StrCat(R"({"blob": ")", std::string(bytes, 'x'), R"("})"));
  return save;
}

// A server started with `options` and a client of it that never retries.
struct Served {
  std::unique_ptr<Server> server;
  client::Stores stores;
};
absl::StatusOr<Served> Serve(const ServerOptions& options) {
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options);
  if (!server.ok()) return server.status();
  client::ClientOptions client_options;
  client_options.target = absl::StrCat("127.0.0.1:", (*server)->port());
  client_options.max_attempts = 1;
  absl::StatusOr<client::Stores> stores = client::Connect(client_options);
  if (!stores.ok()) return stores.status();
  return Served{*std::move(server), *std::move(stores)};
}

absl::StatusCode SaveCode(ExecutionStore& store, const v1::SaveExecutionRequest& save) {
  return store.Save(save).status().code();
}

TEST(Limits, OversizeMessageIsResourceExhausted) {
  ServerOptions options = TestServerOptions(TestDatabase::Instance().NewPrefix());
  options.max_message_bytes = 64 * 1024;
  auto served = Serve(options);
  ASSERT_TRUE(served.ok()) << served.status();
  client::Stores* stores = &served->stores;

  EXPECT_EQ(SaveCode(*stores->executions, SaveOfSize("small", 32 * 1024)), absl::StatusCode::kOk);
  EXPECT_EQ(SaveCode(*stores->executions, SaveOfSize("large", 100 * 1024)),
            absl::StatusCode::kResourceExhausted);
  // The server is unharmed and the rejected request left nothing behind.
  v1::GetExecutionRequest get;
  get.set_execution_id("large");
  EXPECT_EQ(stores->executions->Get(get).status().code(), absl::StatusCode::kNotFound);
}

TEST(Limits, DefaultLimitIsFourMebibytes) {
  auto served = Serve(TestServerOptions(TestDatabase::Instance().NewPrefix()));
  ASSERT_TRUE(served.ok()) << served.status();
  client::Stores* stores = &served->stores;
  EXPECT_EQ(SaveCode(*stores->executions, SaveOfSize("three-mib", 3 << 20)), absl::StatusCode::kOk);
  EXPECT_EQ(SaveCode(*stores->executions, SaveOfSize("five-mib", 5 << 20)),
            absl::StatusCode::kResourceExhausted);
}

TEST(Limits, InvalidUtf8InAStringFieldIsInvalidArgument) {
  auto served = Serve(TestServerOptions(TestDatabase::Instance().NewPrefix()));
  ASSERT_TRUE(served.ok()) << served.status();
  client::Stores* stores = &served->stores;

  // C++ protobuf sends it (and logs an error); the server cannot parse it.
  v1::GetExecutionRequest get;
  get.set_execution_id("bad-\xff\xfe");
  const absl::Status status = stores->executions->Get(get).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "UTF-8")) << status;
  v1::SaveExecutionRequest save = SaveOfSize("utf8", 10);
  save.mutable_execution()->set_current_step_id("\xc3\x28");
  EXPECT_EQ(SaveCode(*stores->executions, save), absl::StatusCode::kInvalidArgument);
  get.set_execution_id("utf8");  // and nothing was stored
  EXPECT_EQ(stores->executions->Get(get).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace flowmonkey::testing
