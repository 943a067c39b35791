#include "server/pg/log_limiter.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace flowmonkey::pg {

bool LogLimiter::Allow(int64_t* suppressed) {
  const absl::Time now = now_();
  std::lock_guard lock(mu_);
  if (last_ != absl::InfinitePast() && now - last_ < interval_) {
    ++suppressed_;
    return false;
  }
  *suppressed = suppressed_;
  suppressed_ = 0;
  last_ = now;
  return true;
}

void LogLimiter::Log(spdlog::level::level_enum level, absl::string_view message) {
  if (!spdlog::should_log(level)) return;
  int64_t suppressed = 0;
  if (!Allow(&suppressed)) return;
  std::string line(absl::StripAsciiWhitespace(message));
  for (char& c : line) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (suppressed > 0) {
    absl::StrAppend(&line, " (", suppressed,
                    " similar messages suppressed since the previous one)");
  }
  spdlog::log(level, "{}", line);
}

}  // namespace flowmonkey::pg
