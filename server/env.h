#pragma once

// Environment fallbacks of the server's flags (FM_POOL_SIZE for --pool-size, ...). A variable
// only supplies a flag's default; an empty one counts as unset. A value that does not parse
// is never turned into a number or a boolean: the fallback is used and the problem is kept
// for EnvProblems(), which main() checks before start-up so that the server refuses to start
// and names the variable.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flowmonkey {

// `value` of variable `name` as a decimal integer; INVALID_ARGUMENT naming the variable when
// it is not one (trailing characters, empty, out of int64 range).
absl::StatusOr<int64_t> ParseEnvInt(absl::string_view name, absl::string_view value);
// `value` as a boolean: true/false, yes/no, on/off, 1/0 (any case); INVALID_ARGUMENT
// otherwise.
absl::StatusOr<bool> ParseEnvBool(absl::string_view name, absl::string_view value);

// The variable's value, or `fallback` when unset or empty.
std::string EnvOr(const char* name, const char* fallback);
// Parsed as above; `fallback` when unset, empty or invalid (then recorded as a problem).
// EnvIntOr also records a value outside int's range.
int EnvIntOr(const char* name, int fallback);
int64_t EnvInt64Or(const char* name, int64_t fallback);
bool EnvBoolOr(const char* name, bool fallback);

// Every problem recorded by the functions above so far, one message each, in order.
std::vector<std::string> EnvProblems();

}  // namespace flowmonkey
