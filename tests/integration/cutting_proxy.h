#pragma once

// A TCP proxy between a connection pool and PostgreSQL that can lose a statement's reply
// (tests/integration/in_doubt_test.cc). Header-only, for the integration tests.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace flowmonkey::testing {

// Index just past the first complete ReadyForQuery ('Z') message in `reply`, or 0.
inline size_t EndOfReadyForQuery(const std::string& reply) {
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
    accepter_ = std::thread([this] { Accept(); });
  }
  ~CuttingProxy() {
    stop_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    accepter_.join();  // no connection is added after this
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
      threads_.emplace_back(
          [this, client, server, generation] { Pump(client, server, generation); });
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
  std::thread accepter_;
  std::vector<std::thread> threads_;  // one per connection
  // Connections are numbered as accepted; DropAll closes those below drop_generation_.
  std::condition_variable dropped_;
  int next_generation_ = 0;
  int drop_generation_ = 0;
  std::set<int> live_generations_;
};

// `url` with its host and port replaced by the proxy's (and TLS off, so the proxy can
// read the statements).
inline std::string ThroughProxy(const std::string& url, int port, std::string* host,
                                int* target_port) {
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

}  // namespace flowmonkey::testing
