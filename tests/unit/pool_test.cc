// ConnectionPool without a database: a fake server that speaks just enough of the
// PostgreSQL wire protocol for libpq to connect (startup, AuthenticationOk, ReadyForQuery)
// counts the connections the pool opens and can close them all, as a restart would.
#include "server/pg/pool.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <future>
#include <mutex>
#include <pqxx/except>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace flowmonkey::pg {
namespace {

class FakePostgres {
 public:
  FakePostgres() {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    const int one = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(listener_, 64), 0);
    socklen_t len = sizeof(addr);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~FakePostgres() {
    shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    close(listener_);
    CloseAll();
    std::vector<std::thread> handlers;
    {
      std::lock_guard lock(mu_);
      handlers.swap(handlers_);
    }
    for (auto& t : handlers) t.join();  // each ends on the closed socket
  }
  FakePostgres(const FakePostgres&) = delete;
  FakePostgres& operator=(const FakePostgres&) = delete;

  std::string url() const {
    return absl::StrCat("postgresql://fm@127.0.0.1:", port_,
                        "/fm?sslmode=disable&gssencmode=disable&connect_timeout=10");
  }
  int port() const { return port_; }
  // Connections that completed the startup handshake.
  int accepted() const { return accepted_.load(); }
  // Closes every connection from the server side (a restart, pg_terminate_backend).
  void CloseAll() {
    std::lock_guard lock(mu_);
    for (int fd : open_) shutdown(fd, SHUT_RDWR);
  }

 private:
  void Accept() {
    for (;;) {
      const int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard lock(mu_);
      open_.push_back(fd);
      handlers_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  static bool ReadFull(int fd, char* out, size_t n) {
    while (n > 0) {
      const ssize_t r = read(fd, out, n);
      if (r <= 0) return false;
      out += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  static uint32_t Int32(const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return ntohl(v);
  }
  static std::string Message(char type, const std::string& body) {
    const uint32_t len = htonl(static_cast<uint32_t>(body.size() + 4));
    std::string m(1, type);
    m.append(reinterpret_cast<const char*>(&len), 4);
    return m + body;
  }

  void Serve(int fd) {
    // Startup: SSL/GSS encryption requests are declined ('N'), then the StartupMessage.
    for (;;) {
      char header[8];
      if (!ReadFull(fd, header, 4)) return Closed(fd);
      const uint32_t len = Int32(header);
      if (len < 8 || len > 10000) return Closed(fd);
      std::string body(len - 4, '\0');
      if (!ReadFull(fd, body.data(), body.size())) return Closed(fd);
      const uint32_t code = Int32(body.data());
      if (code == 80877103 || code == 80877104) {  // SSLRequest, GSSENCRequest
        if (write(fd, "N", 1) != 1) return Closed(fd);
        continue;
      }
      break;
    }
    std::string hello = Message('R', std::string("\0\0\0\0", 4));  // AuthenticationOk
    static constexpr std::pair<const char*, const char*> kParameters[] = {
        {"server_version", "15.0"},  {"server_encoding", "UTF8"},
        {"client_encoding", "UTF8"}, {"standard_conforming_strings", "on"},
        {"integer_datetimes", "on"}, {"DateStyle", "ISO, MDY"}};
    for (const auto& [name, value] : kParameters) {
      hello += Message('S', absl::StrCat(name, std::string(1, '\0'), value, std::string(1, '\0')));
    }
    hello += Message('K', std::string("\0\0\0\1\0\0\0\2", 8));  // BackendKeyData
    hello += Message('Z', "I");                                 // ReadyForQuery, idle
    // Counted before the answer: once the client's connect returns, the count includes it.
    accepted_++;
    if (write(fd, hello.data(), hello.size()) != static_cast<ssize_t>(hello.size())) {
      return Closed(fd);
    }
    // Until Terminate ('X') or the socket closes; no statement is ever answered.
    for (;;) {
      char header[5];
      if (!ReadFull(fd, header, 5) || header[0] == 'X') return Closed(fd);
      std::string body(Int32(header + 1) - 4, '\0');
      if (!ReadFull(fd, body.data(), body.size())) return Closed(fd);
    }
  }

  void Closed(int fd) {
    std::lock_guard lock(mu_);
    std::erase(open_, fd);
    close(fd);
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::vector<int> open_;
  std::vector<std::thread> handlers_;
  std::thread acceptor_;
};

// Counts the calls running at once on pooled connections and the most seen together.
struct Concurrency {
  std::atomic<int> now{0};
  std::atomic<int> most{0};
  void Enter() {
    const int n = ++now;
    int seen = most.load();
    while (n > seen && !most.compare_exchange_weak(seen, n)) {
    }
  }
  void Leave() { --now; }
};

PoolOptions Options(const FakePostgres& server, int size,
                    absl::Duration acquire_timeout = absl::Seconds(60)) {
  PoolOptions options;
  options.database_url = server.url();
  options.size = size;
  options.acquire_timeout = acquire_timeout;
  return options;
}

TEST(ConnectionPoolTest, OpensConnectionsLazilyAndReusesThem) {
  FakePostgres server;
  ConnectionPool pool(Options(server, 4));
  EXPECT_EQ(pool.Open(), 0);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(pool.RunVoid("noop", [](Session&) { return absl::OkStatus(); }).ok());
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(pool.Open(), 1);
  EXPECT_EQ(pool.InUse(), 0);
}

TEST(ConnectionPoolTest, NeverRunsMoreCallsThanItsSizeAndEveryWaiterGetsAConnection) {
  FakePostgres server;
  ConnectionPool pool(Options(server, 3));
  Concurrency calls;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        const absl::Status status = pool.RunVoid("call", [&](Session&) {
          calls.Enter();
          std::this_thread::yield();
          calls.Leave();
          return absl::OkStatus();
        });
        if (!status.ok()) failed++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_LE(calls.most.load(), 3);
  EXPECT_LE(server.accepted(), 3);
  EXPECT_EQ(pool.InUse(), 0);
}

TEST(ConnectionPoolTest, AllConnectionsBusyIsUnavailableAfterTheAcquireTimeout) {
  FakePostgres server;
  ConnectionPool pool(Options(server, 2, absl::Milliseconds(50)));
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::vector<std::promise<void>> holding(2);
  std::vector<std::thread> holders;
  for (int i = 0; i < 2; ++i) {
    holders.emplace_back([&, i] {
      EXPECT_TRUE(pool.RunVoid("hold",
                               [&](Session&) {
                                 holding[i].set_value();
                                 released.wait();
                                 return absl::OkStatus();
                               })
                      .ok());
    });
  }
  for (auto& h : holding) h.get_future().wait();
  EXPECT_EQ(pool.InUse(), 2);
  bool ran = false;
  const absl::Status busy = pool.RunVoid("third", [&](Session&) {
    ran = true;
    return absl::OkStatus();
  });
  EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(busy.message(), "busy")) << busy;
  EXPECT_FALSE(ran);
  release.set_value();
  for (auto& h : holders) h.join();
  EXPECT_EQ(pool.InUse(), 0);
  // Released connections serve the next call without opening another.
  EXPECT_TRUE(pool.RunVoid("after", [](Session&) { return absl::OkStatus(); }).ok());
  EXPECT_EQ(server.accepted(), 2);
}

TEST(ConnectionPoolTest, AWaiterRunsOnTheConnectionReleasedBeforeIt) {
  FakePostgres server;
  ConnectionPool pool(Options(server, 1));
  std::promise<void> holding;
  std::promise<void> release;
  std::atomic<bool> first_done{false};
  std::thread holder([&] {
    EXPECT_TRUE(pool.RunVoid("first",
                             [&](Session&) {
                               holding.set_value();
                               release.get_future().wait();
                               first_done = true;
                               return absl::OkStatus();
                             })
                    .ok());
  });
  holding.get_future().wait();
  std::atomic<bool> second_saw_first_done{false};
  std::thread waiter([&] {
    EXPECT_TRUE(pool.RunVoid("second",
                             [&](Session&) {
                               second_saw_first_done = first_done.load();
                               return absl::OkStatus();
                             })
                    .ok());
  });
  release.set_value();
  holder.join();
  waiter.join();
  EXPECT_TRUE(second_saw_first_done.load());
  EXPECT_EQ(server.accepted(), 1);
}

TEST(ConnectionPoolTest, ARetiredConnectionIsClosedAndReplacedByAFreshOne) {
  FakePostgres server;
  ConnectionPool pool(Options(server, 1));
  EXPECT_TRUE(pool.RunVoid("large",
                           [](Session& s) {
                             s.RetireAfterUse();
                             return absl::OkStatus();
                           })
                  .ok());
  EXPECT_EQ(pool.Open(), 0);
  EXPECT_TRUE(pool.RunVoid("next", [](Session&) { return absl::OkStatus(); }).ok());
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(pool.Open(), 1);
}

TEST(ConnectionPoolTest, ALostConnectionDropsEveryConnectionOpenedBeforeIt) {
  FakePostgres server;
  ConnectionPool pool(Options(server, 2));
  // Open both connections: two calls at once.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::vector<std::promise<void>> holding(2);
  std::vector<std::thread> holders;
  for (int i = 0; i < 2; ++i) {
    holders.emplace_back([&, i] {
      EXPECT_TRUE(pool.RunVoid("hold",
                               [&](Session&) {
                                 holding[i].set_value();
                                 released.wait();
                                 return absl::OkStatus();
                               })
                      .ok());
    });
  }
  for (auto& h : holding) h.get_future().wait();
  release.set_value();
  for (auto& h : holders) h.join();
  ASSERT_EQ(pool.Open(), 2);
  ASSERT_EQ(server.accepted(), 2);

  const absl::Status lost = pool.RunVoid(
      "lost", [](Session&) -> absl::Status { throw pqxx::broken_connection("connection lost"); });
  EXPECT_EQ(lost.code(), absl::StatusCode::kUnavailable) << lost;
  EXPECT_EQ(pool.Open(), 1);  // the broken one is gone at once
  // The other connection predates the loss: it is replaced on its next use, not reused.
  EXPECT_TRUE(pool.RunVoid("next", [](Session&) { return absl::OkStatus(); }).ok());
  EXPECT_EQ(server.accepted(), 3);
  EXPECT_EQ(pool.Open(), 1);
  EXPECT_EQ(pool.InUse(), 0);
}

TEST(ConnectionPoolTest, AConnectionTheServerClosedWhileIdleIsReplacedBeforeTheCall) {
  FakePostgres server;
  ConnectionPool pool(Options(server, 1));
  EXPECT_TRUE(pool.RunVoid("first", [](Session&) { return absl::OkStatus(); }).ok());
  server.CloseAll();
  bool ran = false;
  const absl::Status status = pool.RunVoid("after restart", [&](Session& s) {
    ran = s.connection().is_open();
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_TRUE(ran);
  EXPECT_EQ(server.accepted(), 2);
}

TEST(ConnectionPoolTest, AFailedConnectIsUnavailableAndFreesItsSlot) {
  int port = 0;
  {
    FakePostgres gone;  // a port nothing listens on once it is destroyed
    port = gone.port();
  }
  PoolOptions options;
  options.database_url = absl::StrCat("postgresql://fm@127.0.0.1:", port, "/fm?sslmode=disable");
  options.size = 1;
  options.acquire_timeout = absl::Seconds(60);
  ConnectionPool pool(options);
  for (int i = 0; i < 3; ++i) {
    bool ran = false;
    const absl::Status status = pool.RunVoid("call", [&](Session&) {
      ran = true;
      return absl::OkStatus();
    });
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
    // Not "busy": the slot of the failed attempt was given back.
    EXPECT_TRUE(absl::StrContains(status.message(), "cannot connect")) << status;
    EXPECT_FALSE(ran);
  }
  EXPECT_EQ(pool.InUse(), 0);
  EXPECT_EQ(pool.Open(), 0);
}

}  // namespace
}  // namespace flowmonkey::pg
