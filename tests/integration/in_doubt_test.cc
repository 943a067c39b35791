// A connection lost between sending a statement and reading its reply: the statement ran,
// so a write must be answered UNKNOWN (outcome unknown), never UNAVAILABLE ("never ran;
// retry"), which would invite a retry that writes twice. A proxy between the pool and
// PostgreSQL forwards the statement, waits for PostgreSQL's complete answer, and closes
// both sides instead of forwarding it: exactly what a failover does to an in-flight call.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "server/pg/event_store.h"
#include "server/pg/migrations.h"
#include "server/pg/resume_token_store.h"
#include "server/server.h"
#include "tests/integration/cutting_proxy.h"
#include "tests/support/backends.h"
#include "tests/support/sql.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

class InDoubt : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = TestDatabase::Instance().NewPrefix();
    std::unique_ptr<pg::ConnectionPool> direct = TestPool(prefix_, 1);
    ASSERT_TRUE(pg::ApplyMigrations(*direct).ok());
    pg::PoolOptions options = direct->options();
    std::string host = "127.0.0.1";
    int port = 5432;
    ThroughProxy(options.database_url, 0, &host, &port);  // reads the target
    proxy_ = std::make_unique<CuttingProxy>(host, port);
    options.database_url = ThroughProxy(options.database_url, proxy_->port(), &host, &port);
    options.size = 1;
    pool_ = std::make_unique<pg::ConnectionPool>(options);
    events_ = std::make_unique<pg::PgEventStore>(*pool_);
    // Opens the connection (and prepares), so the cut hits the statement itself.
    ASSERT_TRUE(events_->Record(Event("in-doubt.warm-up")).ok());
  }

  static v1::RecordEventRequest Event(const std::string& type) {
    v1::RecordEventRequest request;
    request.mutable_event()->set_execution_id("in-doubt-exec");
    request.mutable_event()->set_event_type(type);
    return request;
  }

  int64_t Stored(const std::string& type) {
    return RunSql(prefix_,
                  absl::StrCat("SELECT count(*) FROM fm_events WHERE event_type = '", type, "'"));
  }

  std::string prefix_;
  std::unique_ptr<CuttingProxy> proxy_;
  std::unique_ptr<pg::ConnectionPool> pool_;
  std::unique_ptr<pg::PgEventStore> events_;
};

TEST_F(InDoubt, AWriteWhoseReplyIsLostIsUnknownNotUnavailable) {
  proxy_->ArmOn("in-doubt.marker");
  const absl::Status status = events_->Record(Event("in-doubt.marker")).status();
  ASSERT_EQ(proxy_->cuts(), 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnknown) << status;
  EXPECT_EQ(Stored("in-doubt.marker"), 1);  // it did commit: UNAVAILABLE would have lied
  // The pool replaces the lost connection on its own.
  EXPECT_TRUE(events_->Record(Event("in-doubt.after")).ok());
  EXPECT_EQ(Stored("in-doubt.after"), 1);
}

TEST_F(InDoubt, AWriteBatchWhoseReplyIsLostIsUnknown) {
  v1::RecordEventBatchRequest batch;
  for (int i = 0; i < 3; ++i) *batch.add_events() = Event("in-doubt.batch").event();
  proxy_->ArmOn("in-doubt.batch");
  const absl::Status status = events_->RecordBatch(batch).status();
  ASSERT_EQ(proxy_->cuts(), 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnknown) << status;
  EXPECT_TRUE(pg::IsBatchWideFailure(status));  // group commit answers every caller so
  EXPECT_EQ(Stored("in-doubt.batch"), 3);
}

TEST_F(InDoubt, ARetryWithTheSameRequestIdReturnsTheFirstEventAndWritesOnce) {
  v1::RecordEventRequest record = Event("in-doubt.request");
  record.set_request_id("in-doubt-request-1");
  proxy_->ArmOn("in-doubt.request");
  ASSERT_EQ(events_->Record(record).status().code(), absl::StatusCode::kUnknown);
  ASSERT_EQ(proxy_->cuts(), 1);
  auto retried = events_->Record(record);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(Stored("in-doubt.request"), 1);
  EXPECT_EQ(retried->event().id(),
            RunSql(prefix_, "SELECT id FROM fm_events WHERE event_type = 'in-doubt.request'"));

  v1::RecordEventBatchRequest batch;
  for (int i = 0; i < 3; ++i) *batch.add_events() = Event("in-doubt.request-batch").event();
  batch.set_request_id("in-doubt-request-2");
  proxy_->ArmOn("in-doubt.request-batch");
  ASSERT_EQ(events_->RecordBatch(batch).status().code(), absl::StatusCode::kUnknown);
  ASSERT_EQ(proxy_->cuts(), 2);
  auto batch_retried = events_->RecordBatch(batch);
  ASSERT_TRUE(batch_retried.ok()) << batch_retried.status();
  EXPECT_EQ(batch_retried->events_size(), 3);
  EXPECT_EQ(Stored("in-doubt.request-batch"), 3);
}

TEST_F(InDoubt, ARetriedGenerateWithTheSameRequestIdLeavesOneUsableToken) {
  RunSql(prefix_,
         "INSERT INTO fm_executions (id, flow_id, flow_version, current_step, status,"
         " created_at, updated_at) VALUES ('in-doubt-token-exec', 'f', '1.0.0', 's',"
         " 'waiting', 1, 1)");
  pg::PgResumeTokenStore tokens(*pool_);
  v1::GenerateResumeTokenRequest generate;
  generate.set_execution_id("in-doubt-token-exec");
  generate.set_step_id("in-doubt.token-step");
  generate.set_request_id("in-doubt-request-3");
  proxy_->ArmOn("in-doubt.token-step");
  ASSERT_EQ(tokens.Generate(generate).status().code(), absl::StatusCode::kUnknown);
  ASSERT_EQ(proxy_->cuts(), 1);
  auto retried = tokens.Generate(generate);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(RunSql(prefix_, "SELECT count(*) FROM fm_resume_tokens"), 1);
  v1::ValidateResumeTokenRequest validate;
  validate.set_token(retried->token().token());
  EXPECT_TRUE(tokens.Validate(validate)->valid());
}

TEST_F(InDoubt, TheClientRetriesAnInDoubtRecordUnderItsRequestIdAndStoresOneEvent) {
  ServerOptions options = TestServerOptions(prefix_);
  options.database_url = pool_->options().database_url;  // through the proxy
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  client::ClientOptions client_options;
  client_options.target = absl::StrCat("127.0.0.1:", (*server)->port());
  auto stores = client::Connect(client_options);
  ASSERT_TRUE(stores.ok()) << stores.status();
  proxy_->ArmOn("in-doubt.client");
  // No request id: the client sets one, and its retry after UNKNOWN sends the same.
  auto recorded = stores->events->Record(Event("in-doubt.client"));
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(proxy_->cuts(), 1);
  EXPECT_EQ(Stored("in-doubt.client"), 1);
  EXPECT_EQ(recorded->event().id(),
            RunSql(prefix_, "SELECT id FROM fm_events WHERE event_type = 'in-doubt.client'"));
}

TEST_F(InDoubt, AConnectionClosedWhileIdleIsReplacedBeforeTheCallRuns) {
  proxy_->DropAll();  // the pool's connection is now closed by the "server"
  auto recorded = events_->Record(Event("in-doubt.after-restart"));
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(Stored("in-doubt.after-restart"), 1);
}

TEST_F(InDoubt, AReadWhoseReplyIsLostStaysUnavailable) {
  // Repeating a read is safe, so a lost read keeps "unavailable: retry".
  v1::QueryEventsRequest query;
  query.add_event_types("in-doubt.read");
  proxy_->ArmOn("in-doubt.read");
  const absl::Status status = events_->Query(query).status();
  ASSERT_EQ(proxy_->cuts(), 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(events_->Query(query).ok());
}

}  // namespace
}  // namespace flowmonkey::testing
