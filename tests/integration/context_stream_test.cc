// ContextStorage.Set stores a value only after its stream ended cleanly. Every way a
// stream can fail — a malformed message, a message over the size limit, a cancellation, a
// deadline, server shutdown — must leave the key's previous value intact (and a new key
// absent), each tried many times to catch races between the failed read and the store.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "flowmonkey/v1/context.grpc.pb.h"
#include "server/pg/context_storage.h"
#include "server/pg/execution_store.h"
#include "server/server.h"
#include "tests/integration/harness.h"
#include "tests/support/backends.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

constexpr int kTries = 20;
constexpr char kOldValue[] = R"({"old": true})";  // as jsonb prints it
constexpr char kContextExecution[] = "ctx-exec";

class ContextStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options = TestServerOptions(TestDatabase::Instance().NewPrefix());
    options.max_message_bytes = 64 * 1024;
    options_ = options;
    auto server = Server::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    pool_ = TestPool(options.table_prefix);
    store_ = std::make_unique<pg::PgContextStorage>(*pool_);
    pg::PgExecutionStore executions(*pool_);
    v1::CreateExecutionRequest create;
    *create.mutable_execution() = NewExecution(kContextExecution);
    ASSERT_TRUE(executions.Create(create).ok());
    channel_ = InsecureChannelTo(server_->port());
    stub_ = v1::ContextStorage::NewStub(channel_);
  }

  // Stores kOldValue under `key` directly in PostgreSQL.
  void SetOld(const std::string& key) {
    v1::ContextValue value;
    value.set_execution_id(kContextExecution);
    value.set_key(key);
    value.set_value_json(kOldValue);
    ASSERT_TRUE(store_->Set(value).ok());
  }

  // The stored value of `key`, or the status of reading it.
  std::string Stored(const std::string& key) {
    v1::GetContextRequest get;
    get.set_execution_id(kContextExecution);
    get.set_key(key);
    absl::StatusOr<v1::ContextValue> value = store_->Get(get);
    if (!value.ok()) return value.status().ToString();
    return value->value_json();
  }

  static v1::SetContextRequest Chunk(const std::string& key, const std::string& chunk) {
    v1::SetContextRequest request;
    request.set_execution_id(kContextExecution);
    request.set_key(key);
    request.set_value_json_chunk(chunk);
    return request;
  }

  // Sends `messages` as raw bytes on a Set stream, half-closes and returns the status.
  grpc::Status SendRaw(const std::vector<std::string>& messages) {
    grpc::GenericStub stub(channel_);
    grpc::CompletionQueue cq;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto call = stub.PrepareCall(&context, "/flowmonkey.v1.ContextStorage/Set", &cq);
    void* tag;
    bool ok = false;
    call->StartCall(reinterpret_cast<void*>(1));
    cq.Next(&tag, &ok);
    for (const std::string& message : messages) {
      if (!ok) break;
      grpc::Slice slice(message);
      grpc::ByteBuffer buffer(&slice, 1);
      call->Write(buffer, reinterpret_cast<void*>(2));
      cq.Next(&tag, &ok);
    }
    if (ok) {
      call->WritesDone(reinterpret_cast<void*>(3));
      cq.Next(&tag, &ok);
    }
    grpc::ByteBuffer response;
    call->Read(&response, reinterpret_cast<void*>(4));
    cq.Next(&tag, &ok);
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(5));
    cq.Next(&tag, &ok);
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
    return status;
  }

  ServerOptions options_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<pg::ConnectionPool> pool_;
  std::unique_ptr<pg::PgContextStorage> store_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ContextStorage::Stub> stub_;
};

TEST_F(ContextStreamTest, ACleanStreamStoresTheWholeValue) {
  SetOld("k");
  v1::SetContextResponse response;
  grpc::ClientContext context;
  auto writer = stub_->Set(&context, &response);
  ASSERT_TRUE(writer->Write(Chunk("k", R"({"new":)")));
  ASSERT_TRUE(writer->Write(Chunk("", "[1,2]}")));
  ASSERT_TRUE(writer->WritesDone());
  const grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.reference().size_bytes(), 13);
  EXPECT_EQ(Stored("k"), R"({"new": [1, 2]})");
}

TEST_F(ContextStreamTest, AMalformedMessageStoresNothing) {
  SetOld("k");
  const std::string first = Chunk("k", "[1]").SerializeAsString();
  const std::string garbage("\xff\xff\xff\xff\x0f", 5);
  for (int i = 0; i < kTries; ++i) {
    const grpc::Status second = SendRaw({first, garbage});
    EXPECT_EQ(second.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << second.error_message();
    const grpc::Status only = SendRaw({garbage});
    EXPECT_EQ(only.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << only.error_message();
    ASSERT_EQ(Stored("k"), kOldValue) << "try " << i;
  }
  EXPECT_EQ(SendRaw({Chunk("fresh", "[1]").SerializeAsString(), garbage}).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(Stored("fresh").find("NOT_FOUND"), std::string::npos);
}

TEST_F(ContextStreamTest, AMessageOverTheSizeLimitStoresNothing) {
  SetOld("k");
  const std::string big = absl::StrCat("\"", std::string(100 * 1024, 'x'), "\"");
  for (int i = 0; i < kTries; ++i) {
    for (const std::string key : {"k", "fresh"}) {
      v1::SetContextResponse response;
      grpc::ClientContext context;
      auto writer = stub_->Set(&context, &response);
      writer->Write(Chunk(key, R"(["a"])"));
      writer->Write(Chunk(key, big));
      writer->WritesDone();
      const grpc::Status status = writer->Finish();
      EXPECT_FALSE(status.ok()) << "try " << i;
    }
    ASSERT_EQ(Stored("k"), kOldValue) << "try " << i;
    ASSERT_NE(Stored("fresh").find("NOT_FOUND"), std::string::npos) << "try " << i;
  }
}

TEST_F(ContextStreamTest, ACancelledStreamStoresNothing) {
  SetOld("k");
  for (int i = 0; i < kTries; ++i) {
    v1::SetContextResponse response;
    grpc::ClientContext context;
    auto writer = stub_->Set(&context, &response);
    ASSERT_TRUE(writer->Write(Chunk("k", R"(["a"])")));
    context.TryCancel();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
    ASSERT_EQ(Stored("k"), kOldValue) << "try " << i;
  }
}

TEST_F(ContextStreamTest, AStreamPastItsDeadlineStoresNothing) {
  SetOld("k");
  for (int i = 0; i < 3; ++i) {
    v1::SetContextResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    auto writer = stub_->Set(&context, &response);
    writer->Write(Chunk("k", R"(["a"])"));
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    ASSERT_EQ(Stored("k"), kOldValue) << "try " << i;
  }
}

TEST_F(ContextStreamTest, AStreamCutByShutdownStoresNothing) {
  SetOld("k");
  v1::SetContextResponse response;
  grpc::ClientContext context;
  auto writer = stub_->Set(&context, &response);
  ASSERT_TRUE(writer->Write(Chunk("k", R"(["a"])")));
  server_->Shutdown();  // the stream stays open through the drain, then is cancelled
  writer->WritesDone();
  EXPECT_FALSE(writer->Finish().ok());
  EXPECT_EQ(Stored("k"), kOldValue);
}

// A total_size_bytes the stream does not reach is refused, and no bytes are stored.
TEST_F(ContextStreamTest, AStreamShortOfItsTotalStoresNothing) {
  SetOld("k");
  v1::SetContextResponse response;
  grpc::ClientContext context;
  auto writer = stub_->Set(&context, &response);
  v1::SetContextRequest first = Chunk("k", R"(["a"])");
  first.set_total_size_bytes(100);
  ASSERT_TRUE(writer->Write(first));
  writer->WritesDone();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Stored("k"), kOldValue);
}

// Context values held in memory by calls in flight are bounded server-wide.
TEST_F(ContextStreamTest, ValuesInFlightAreBounded) {
  server_->Shutdown();
  ServerOptions options = options_;
  options.max_context_bytes = 1024 * 1024;
  options.max_inflight_context_bytes = 1024 * 1024;
  options.health_interval = absl::Milliseconds(20);  // the gauge below is refreshed this often
  const int metrics_port = FreeLoopbackPort();
  options.metrics_listen = absl::StrCat("127.0.0.1:", metrics_port);
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::ContextStorage::NewStub(InsecureChannelTo((*server)->port()));
  // Waits (at most 30 s, a bound for a loaded machine, not a speed requirement) until the
  // server's gauge shows `used` bytes held; false if it never does. No other call is in
  // flight meanwhile, so the held stream cannot be refused by a call racing it.
  auto wait_for_used = [&](int64_t used) {
    const std::string series =
        absl::StrCat("flowmonkey_context_bytes_in_flight{bound=\"used\"} ", used, "\n");
    for (int i = 0; i < 1500; ++i) {
      if (Scrape(metrics_port).find(series) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  ASSERT_TRUE(wait_for_used(0));
  auto send_other = [&] {
    v1::SetContextRequest other = Chunk("other", "[1]");
    other.set_total_size_bytes(3);
    v1::SetContextResponse response;
    grpc::ClientContext context;
    auto writer = stub->Set(&context, &response);
    writer->Write(other);
    writer->WritesDone();
    return writer->Finish();
  };
  // One stream announces (and holds) the whole budget; another one is refused meanwhile.
  v1::SetContextResponse held_response;
  grpc::ClientContext held_context;
  auto held = stub->Set(&held_context, &held_response);
  v1::SetContextRequest first = Chunk("held", "[");
  first.set_total_size_bytes(1024 * 1024);
  ASSERT_TRUE(held->Write(first));
  ASSERT_TRUE(wait_for_used(1024 * 1024)) << "the held stream's bytes were never taken";
  const grpc::Status refused = send_other();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(Stored("other").find("NOT_FOUND"), std::string::npos) << Stored("other");
  // The held stream is still open: a chunk more is taken within what it announced.
  EXPECT_TRUE(held->Write(Chunk("held", "1")));
  held_context.TryCancel();
  const grpc::Status held_status = held->Finish();
  EXPECT_EQ(held_status.error_code(), grpc::StatusCode::CANCELLED) << held_status.error_message();
  // A cancelled stream gives its bytes back, and the next call is served.
  ASSERT_TRUE(wait_for_used(0)) << "the cancelled stream's bytes were never given back";
  const grpc::Status status = send_other();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Stored("other"), "[1]");
  EXPECT_NE(Stored("held").find("NOT_FOUND"), std::string::npos) << Stored("held");
}

}  // namespace
}  // namespace flowmonkey::testing
