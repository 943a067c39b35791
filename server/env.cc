#include "server/env.h"

#include <cstdlib>
#include <limits>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace flowmonkey {
namespace {

// Flag defaults are computed during static initialisation and flag parsing, where nothing
// can fail: the problems wait here until main() can report them.
struct Problems {
  std::mutex mu;
  std::vector<std::string> messages;
};

Problems& GetProblems() {
  static auto* problems = new Problems();  // never destroyed: used from static initialisers
  return *problems;
}

void Record(const absl::Status& status) {
  Problems& problems = GetProblems();
  std::lock_guard lock(problems.mu);
  // A flag's default may be computed more than once (for --help and for its value).
  for (const std::string& message : problems.messages) {
    if (message == status.message()) return;
  }
  problems.messages.emplace_back(status.message());
}

// Quotes at most a short prefix of a value: it is echoed in an error message.
std::string Quote(absl::string_view value) {
  constexpr size_t kMax = 64;
  return absl::StrCat("\"", value.substr(0, kMax), value.size() > kMax ? "...\"" : "\"");
}

const char* Get(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

}  // namespace

absl::StatusOr<int64_t> ParseEnvInt(absl::string_view name, absl::string_view value) {
  int64_t parsed = 0;
  // SimpleAtoi allows surrounding whitespace but nothing else: "12x" and "abc" fail.
  if (!absl::SimpleAtoi(value, &parsed)) {
    return absl::InvalidArgumentError(absl::StrCat(name, "=", Quote(value), ": not an integer"));
  }
  return parsed;
}

absl::StatusOr<bool> ParseEnvBool(absl::string_view name, absl::string_view value) {
  const std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(value));
  if (lower == "true" || lower == "yes" || lower == "on" || lower == "1") return true;
  if (lower == "false" || lower == "no" || lower == "off" || lower == "0") return false;
  return absl::InvalidArgumentError(
      absl::StrCat(name, "=", Quote(value), ": not a boolean (true/false, yes/no, on/off, 1/0)"));
}

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = Get(name);
  return value != nullptr ? value : fallback;
}

int64_t EnvInt64Or(const char* name, int64_t fallback) {
  const char* value = Get(name);
  if (value == nullptr) return fallback;
  absl::StatusOr<int64_t> parsed = ParseEnvInt(name, value);
  if (!parsed.ok()) {
    Record(parsed.status());
    return fallback;
  }
  return *parsed;
}

int EnvIntOr(const char* name, int fallback) {
  const int64_t value = EnvInt64Or(name, fallback);
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    Record(absl::InvalidArgumentError(absl::StrCat(name, "=", value, ": out of range (at most ",
                                                   std::numeric_limits<int>::max(), ")")));
    return fallback;
  }
  return static_cast<int>(value);
}

bool EnvBoolOr(const char* name, bool fallback) {
  const char* value = Get(name);
  if (value == nullptr) return fallback;
  absl::StatusOr<bool> parsed = ParseEnvBool(name, value);
  if (!parsed.ok()) {
    Record(parsed.status());
    return fallback;
  }
  return *parsed;
}

std::vector<std::string> EnvProblems() {
  Problems& problems = GetProblems();
  std::lock_guard lock(problems.mu);
  return problems.messages;
}

}  // namespace flowmonkey
