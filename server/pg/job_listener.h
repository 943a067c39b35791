#pragma once

// Wakes the Work dispatcher when jobs are created anywhere: LISTEN on the channel
// '<prefix>jobs' (migration 0006's trigger notifies it) over one dedicated connection, not
// a pooled one (a pooled connection is shared, and PgBouncer in transaction mode does not
// keep a LISTEN). When the connection fails it reconnects, with backoff; meanwhile the
// dispatcher's polling finds new jobs, only later.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace flowmonkey::pg {

class JobListener {
 public:
  // Starts listening at once, on its own thread ("fm-listen"). `on_notify` runs on that
  // thread, for each notification and after every (re)connection (jobs may have been
  // created while it was not listening).
  JobListener(std::string database_url, std::string table_prefix, std::function<void()> on_notify);
  ~JobListener();
  JobListener(const JobListener&) = delete;
  JobListener& operator=(const JobListener&) = delete;

  // Whether the LISTEN is in place now.
  bool listening() const { return listening_.load(); }

 private:
  void Loop();

  const std::string database_url_;
  const std::string channel_;
  const std::function<void()> on_notify_;
  std::atomic<bool> listening_{false};
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  int stop_pipe_[2];  // written once by the destructor: wakes the poll at once
  std::thread thread_;
};

}  // namespace flowmonkey::pg
