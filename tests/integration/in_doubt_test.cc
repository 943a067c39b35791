// A connection lost between sending a statement and reading its reply: the statement ran,
// so a write must be answered UNKNOWN (outcome unknown), never UNAVAILABLE ("never ran;
// retry"), which would invite a retry that writes twice. A proxy between the pool and
// PostgreSQL forwards the statement, waits for PostgreSQL's complete answer, and closes
// both sides instead of forwarding it: exactly what a failover does to an in-flight call.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <set>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "server/pg/event_store.h"
#include "server/pg/migrations.h"
#include "server/pg/resume_token_store.h"
#include "server/server.h"
#include "tests/support/backends.h"
#include "tests/support/sql.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

// Index just past the first complete ReadyForQuery ('Z') message in `reply`, or 0.
size_t EndOfReadyForQuery(const std::string& reply) {
  size_t at = 0;
  while (at + 5 <= reply.size()) {
    const auto* p = reinterpret_cast<const unsigned char*>(reply.data() + at + 1);
    const size_t length = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
    if (at + 1 + length > reply.size()) return 0;
    if (reply[at] == 'Z') return at + 1 + length;
    at += 1 + length;
  }
  return 0;
}

// TCP proxy to PostgreSQL. Once armed with a marker, the client message that contains it
// is forwarded, PostgreSQL's whole answer (up to ReadyForQuery) is read and dropped, and
// both connections are closed.
class CuttingProxy {
 public:
  CuttingProxy(std::string host, int port) : host_(std::move(host)), port_(port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(::listen(listener_, 16), 0);
    socklen_t size = sizeof(address);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    listen_port_ = ntohs(address.sin_port);
    threads_.emplace_back([this] { Accept(); });
  }
  ~CuttingProxy() {
    stop_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
    ::close(listener_);
  }

  int port() const { return listen_port_; }
  void ArmOn(const std::string& marker) {
    std::lock_guard lock(mu_);
    marker_ = marker;
  }
  int cuts() const { return cuts_.load(); }
  // Closes every connection open now, as a database restart does to idle connections, and
  // returns once they are closed.
  void DropAll() {
    std::unique_lock lock(mu_);
    drop_generation_ = next_generation_;
    dropped_.wait(lock, [this] {
      return live_generations_.empty() || *live_generations_.begin() >= drop_generation_;
    });
  }

 private:
  void Accept() {
    while (!stop_) {
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) return;
      const int server = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(static_cast<uint16_t>(port_));
      inet_pton(AF_INET, host_.c_str(), &address.sin_addr);
      if (::connect(server, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        ::close(client);
        ::close(server);
        continue;
      }
      std::lock_guard lock(mu_);
      const int generation = next_generation_++;
      live_generations_.insert(generation);
      threads_.emplace_back([this, client, server, generation] { Pump(client, server, generation); });
    }
  }

  bool Armed(const std::string& data) {
    std::lock_guard lock(mu_);
    if (marker_.empty() || data.find(marker_) == std::string::npos) return false;
    marker_.clear();
    return true;
  }

  static bool SendAll(int fd, const char* data, size_t size) {
    while (size > 0) {
      const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
      if (n <= 0) return false;
      data += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  }

  // Until the loopback socket with local port `port` is in CLOSE_WAIT (it received our FIN)
  // or gone, as /proc/net/tcp shows it.
  static void WaitForCloseWait(int port) {
    char local[32];
    std::snprintf(local, sizeof(local), "0100007F:%04X", port);
    for (;;) {
      std::ifstream table("/proc/net/tcp");
      std::string line;
      bool waiting = false;
      while (std::getline(table, line)) {
        std::istringstream fields(line);
        std::string slot, address, remote, state;
        fields >> slot >> address >> remote >> state;
        if (address == local && state != "08") waiting = true;
      }
      if (!waiting) return;
      std::this_thread::yield();
    }
  }

  bool Dropped(int generation) {
    std::lock_guard lock(mu_);
    return generation < drop_generation_;
  }

  void Pump(int client, int server, int generation) {
    char buffer[65536];
    pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    while (!stop_ && !Dropped(generation)) {
      if (::poll(fds, 2, 100) <= 0) continue;  // the timeout only rechecks stop_
      if (fds[0].revents != 0) {
        const ssize_t n = ::recv(client, buffer, sizeof(buffer), 0);
        if (n <= 0) break;
        const std::string data(buffer, static_cast<size_t>(n));
        if (!SendAll(server, data.data(), data.size())) break;
        if (Armed(data)) {
          std::string reply;  // read and dropped: the client never sees it
          while (EndOfReadyForQuery(reply) == 0) {
            const ssize_t r = ::recv(server, buffer, sizeof(buffer), 0);
            if (r <= 0) break;
            reply.append(buffer, static_cast<size_t>(r));
          }
          ++cuts_;
          break;
        }
      }
      if (fds[1].revents != 0) {
        const ssize_t n = ::recv(server, buffer, sizeof(buffer), 0);
        if (n <= 0 || !SendAll(client, buffer, static_cast<size_t>(n))) break;
      }
    }
    sockaddr_in peer{};
    socklen_t size = sizeof(peer);
    const bool dropped = Dropped(generation) &&
                         ::getpeername(client, reinterpret_cast<sockaddr*>(&peer), &size) == 0;
    ::close(client);
    ::close(server);
    // A dropped connection counts as closed once the pool's end has seen the close.
    if (dropped) WaitForCloseWait(ntohs(peer.sin_port));
    std::lock_guard lock(mu_);
    live_generations_.erase(generation);
    dropped_.notify_all();
  }

  const std::string host_;
  const int port_;
  int listener_ = -1;
  int listen_port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> cuts_{0};
  std::mutex mu_;
  std::string marker_;
  std::vector<std::thread> threads_;
  // Connections are numbered as accepted; DropAll closes those below drop_generation_.
  std::condition_variable dropped_;
  int next_generation_ = 0;
  int drop_generation_ = 0;
  std::set<int> live_generations_;
};

// `url` with its host and port replaced by the proxy's (and TLS off, so the proxy can
// read the statements).
std::string ThroughProxy(const std::string& url, int port, std::string* host, int* target_port) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  EXPECT_NE(options, nullptr) << (error != nullptr ? error : "");
  std::string out;
  for (PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string keyword = o->keyword;
    if (keyword == "host" || keyword == "hostaddr") {
      *host = o->val;
    } else if (keyword == "port") {
      *target_port = std::atoi(o->val);
    } else if (keyword != "sslmode") {
      absl::StrAppend(&out, keyword, "='", o->val, "' ");
    }
  }
  PQconninfoFree(options);
  absl::StrAppend(&out, "host=127.0.0.1 port=", port, " sslmode=disable");
  return out;
}

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
  RunSql(prefix_, "INSERT INTO fm_executions (id, flow_id, flow_version, current_step, status,"
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
