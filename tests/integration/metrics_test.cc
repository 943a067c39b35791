// The Prometheus endpoint: scraped over HTTP after real calls.

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/time/clock.h"
#include "client/client.h"
#include "tests/integration/harness.h"
#include "tests/support/backends.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

TEST(Metrics, CountsRequestsByMethodAndCode) {
  auto metered = StartMeteredServer(TestServerOptions(TestDatabase::Instance().NewPrefix()));
  ASSERT_TRUE(metered.ok()) << metered.status();
  client::Stores* stores = &metered->stores;
  const int metrics_port = metered->metrics_port;
  v1::GetExecutionRequest get;
  get.set_execution_id("missing");
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(stores->executions->Get(get).ok());
  v1::SaveExecutionRequest save;
  auto* e = save.mutable_execution();
  e->set_id("metered");
  e->set_flow_id("f");
  e->set_flow_version("1");
  e->set_current_step_id("s");
  e->set_status(v1::EXECUTION_STATUS_RUNNING);
  ASSERT_TRUE(stores->executions->Save(save).ok());

  const std::string body = Scrape(metrics_port);
  EXPECT_TRUE(std::regex_search(
      body,
      std::regex(
          R"(flowmonkey_rpc_requests_total\{code="NOT_FOUND",method="/flowmonkey.v1.ExecutionStore/Get"\} 3)")))
      << body;
  EXPECT_TRUE(std::regex_search(
      body,
      std::regex(
          R"(flowmonkey_rpc_requests_total\{code="OK",method="/flowmonkey.v1.ExecutionStore/Save"\} 1)")));
  EXPECT_TRUE(std::regex_search(
      body,
      std::regex(
          R"(flowmonkey_rpc_duration_seconds_count\{method="/flowmonkey.v1.ExecutionStore/Get"\} 3)")));
  EXPECT_NE(body.find("flowmonkey_build_info{version=\""), std::string::npos);
  EXPECT_NE(body.find("flowmonkey_db_pool_connections{state=\"size\"} 8"), std::string::npos);
  EXPECT_NE(body.find("flowmonkey_batch_size_count{operation=\"save\"}"), std::string::npos);
}

TEST(Metrics, ExportsTheJobQueueDepth) {
  ServerOptions options = TestServerOptions(TestDatabase::Instance().NewPrefix());
  options.health_interval = absl::Milliseconds(50);  // counted every fifth check
  auto metered = StartMeteredServer(options);
  ASSERT_TRUE(metered.ok()) << metered.status();
  client::Stores* stores = &metered->stores;
  const int metrics_port = metered->metrics_port;
  v1::SaveExecutionRequest save;
  *save.mutable_execution() = NewExecution("queued");
  ASSERT_TRUE(stores->executions->Save(save).ok());
  for (int i = 0; i < 3; ++i) {
    v1::CreateJobRequest create;
    create.set_execution_id("queued");
    create.set_step_id(absl::StrCat("step-", i));
    create.set_handler("h");
    ASSERT_TRUE(stores->jobs->Create(create).ok());
  }
  v1::ClaimNextJobsRequest claim;
  claim.set_runner_id("runner");
  ASSERT_TRUE(stores->jobs->ClaimNext(claim).ok());

  std::string body;
  for (int i = 0; i < 200; ++i) {
    body = Scrape(metrics_port);
    if (body.find("flowmonkey_jobs{status=\"pending\"} 2\n") != std::string::npos &&
        body.find("flowmonkey_jobs{status=\"running\"} 1\n") != std::string::npos) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_NE(body.find("flowmonkey_jobs{status=\"pending\"} 2\n"), std::string::npos) << body;
  EXPECT_NE(body.find("flowmonkey_jobs{status=\"running\"} 1\n"), std::string::npos) << body;
}

// Calls `paths` at once through a generic stub (no such methods exist) and waits for every
// answer; returns how many were UNIMPLEMENTED.
int CallUnknownMethods(const std::shared_ptr<grpc::Channel>& channel,
                       const std::vector<std::string>& paths) {
  grpc::GenericStub stub(channel);
  std::vector<grpc::ClientContext> contexts(paths.size());
  std::vector<grpc::ByteBuffer> responses(paths.size());
  grpc::Slice empty("");
  const grpc::ByteBuffer request(&empty, 1);  // an empty message (a default ByteBuffer is none)
  std::atomic<int> unimplemented{0};
  absl::BlockingCounter done(static_cast<int>(paths.size()));
  for (size_t i = 0; i < paths.size(); ++i) {
    stub.UnaryCall(&contexts[i], paths[i], grpc::StubOptions(), &request, &responses[i],
                   [&](grpc::Status status) {
                     if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) ++unimplemented;
                     done.DecrementCount();
                   });
  }
  done.Wait();
  return unimplemented.load();
}

TEST(Metrics, UnknownMethodsShareOneLabel) {
  ServerOptions options = TestServerOptions(TestDatabase::Instance().NewPrefix());
  const int metrics_port = FreeLoopbackPort();
  options.metrics_listen = absl::StrCat("127.0.0.1:", metrics_port);
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                                     grpc::InsecureChannelCredentials());
  // One unknown call first, so that the "before" scrape already has the unknown series.
  ASSERT_EQ(CallUnknownMethods(channel, {"/no.such.Service/Warmup"}), 1);
  const std::string before = Scrape(metrics_port);

  // Unknown services, and unknown methods of a service the server does serve.
  constexpr int kCalls = 3000;
  std::vector<std::string> paths;
  for (int i = 0; i < kCalls; ++i) {
    paths.push_back(i % 2 == 0 ? absl::StrCat("/random.Service", i, "/Method", i)
                               : absl::StrCat("/flowmonkey.v1.ExecutionStore/NoSuchMethod", i));
  }
  ASSERT_EQ(CallUnknownMethods(channel, paths), kCalls);
  const std::string after = Scrape(metrics_port);

  const auto lines = [](const std::string& text) {
    return std::count(text.begin(), text.end(), '\n');
  };
  EXPECT_LE(lines(after), lines(before) + 2) << after.substr(0, 4000);
  EXPECT_NE(
      after.find(absl::StrCat(
          "flowmonkey_rpc_requests_total{code=\"UNIMPLEMENTED\",method=\"unknown\"} ", kCalls + 1)),
      std::string::npos)
      << after.substr(0, 4000);
  EXPECT_EQ(after.find("random.Service"), std::string::npos);
  EXPECT_EQ(after.find("NoSuchMethod"), std::string::npos);
}

}  // namespace
}  // namespace flowmonkey::testing
