#pragma once

// Rate limit for log lines that every call would repeat while the database is down
// ("connection refused", "connection lost"): at most one line per interval goes through,
// carrying the number held back since the previous one. State changes (database reachable
// or not) are logged once by the health check (server/server.cc), not here.

#include <cstdint>
#include <functional>
#include <mutex>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "spdlog/spdlog.h"

namespace flowmonkey::pg {

class LogLimiter {
 public:
  // `now` is the clock (tests inject their own).
  explicit LogLimiter(
      absl::Duration interval, std::function<absl::Time()> now = [] { return absl::Now(); })
      : interval_(interval), now_(std::move(now)) {}

  // True when a line may be logged now: the first call, and the first call at least
  // `interval` after the last line let through. Then *suppressed is the number of calls
  // held back (answered false) since that line. Thread-safe.
  bool Allow(int64_t* suppressed);

  // Logs "<message> (N similar messages suppressed since the previous one)" (no suffix when
  // N is 0) if
  // Allow() lets it through. Line breaks in `message` (libpq writes several lines) become
  // spaces: one event, one line.
  void Log(spdlog::level::level_enum level, absl::string_view message);

 private:
  const absl::Duration interval_;
  const std::function<absl::Time()> now_;
  std::mutex mu_;
  absl::Time last_ = absl::InfinitePast();
  int64_t suppressed_ = 0;
};

}  // namespace flowmonkey::pg
