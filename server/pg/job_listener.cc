#include "server/pg/job_listener.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <pqxx/connection>
#include <pqxx/notification>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace flowmonkey::pg {
namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& connection, const std::string& channel,
           const std::function<void()>& on_notify)
      : pqxx::notification_receiver(connection, channel), on_notify_(on_notify) {}
  void operator()(const std::string& /*payload*/, int /*backend_pid*/) override { on_notify_(); }

 private:
  const std::function<void()>& on_notify_;
};

}  // namespace

JobListener::JobListener(std::string database_url, std::string table_prefix,
                         std::function<void()> on_notify)
    : database_url_(std::move(database_url)),
      channel_(table_prefix + "jobs"),
      on_notify_(std::move(on_notify)),
      stop_pipe_{-1, -1} {
  if (pipe2(stop_pipe_, O_CLOEXEC) != 0) stop_pipe_[0] = stop_pipe_[1] = -1;
  thread_ = std::thread([this] { Loop(); });
}

JobListener::~JobListener() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  const char byte = 0;
  (void)!write(stop_pipe_[1], &byte, 1);
  thread_.join();
  close(stop_pipe_[0]);
  close(stop_pipe_[1]);
}

void JobListener::Loop() {
  pthread_setname_np(pthread_self(), "fm-listen");
  auto stopped = [this] {
    std::lock_guard lock(mu_);
    return stop_;
  };
  std::chrono::milliseconds backoff(100);
  while (!stopped()) {
    try {
      pqxx::connection connection(database_url_);
      Receiver receiver(connection, channel_, on_notify_);
      connection.get_notifs();  // issues the LISTEN
      listening_ = true;
      backoff = std::chrono::milliseconds(100);
      spdlog::debug("listening for new jobs on channel {}", channel_);
      on_notify_();
      // Waits on the connection's socket and on the stop pipe together: a notification is
      // handled at once, and so is the server stopping.
      for (;;) {
        pollfd fds[2] = {{connection.sock(), POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR) {
          throw std::runtime_error(absl::StrCat("poll: ", std::strerror(errno)));
        }
        if (fds[1].revents != 0 || stopped()) break;
        if (fds[0].revents != 0) connection.get_notifs();  // reads, and runs the receiver
      }
    } catch (const std::exception& e) {
      if (listening_.exchange(false)) {
        spdlog::warn("job notifications lost ({}); polling until reconnected", e.what());
      } else {
        spdlog::debug("cannot listen for job notifications: {}", e.what());
      }
    }
    listening_ = false;
    std::unique_lock lock(mu_);
    stop_cv_.wait_for(lock, backoff, [this] { return stop_; });
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5'000));
  }
}

}  // namespace flowmonkey::pg
