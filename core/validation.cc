#include "core/validation.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace flowmonkey {
namespace {

// Returns the length of the UTF-8 sequence starting at s[i], or 0 when it is invalid.
size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

absl::Status CheckUtf8(absl::string_view value, absl::string_view field, bool allow_control) {
  for (size_t i = 0; i < value.size();) {
    const size_t n = Utf8SequenceLength(value, i);
    if (n == 0) return absl::InvalidArgumentError(absl::StrCat(field, ": not valid UTF-8"));
    const auto c = static_cast<unsigned char>(value[i]);
    if (n == 1 && (c == 0 || (!allow_control && (c < 0x20 || c == 0x7F)))) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": contains a control character (byte ", static_cast<int>(c), ")"));
    }
    i += n;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateId(absl::string_view value, absl::string_view field) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  if (value.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": longer than ", kMaxIdBytes, " bytes (", value.size(), ")"));
  }
  return CheckUtf8(value, field, /*allow_control=*/false);
}

absl::Status ValidateOptionalId(absl::string_view value, absl::string_view field) {
  return value.empty() ? absl::OkStatus() : ValidateId(value, field);
}

absl::Status ValidateText(absl::string_view value, absl::string_view field, size_t max_bytes) {
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": longer than ", max_bytes, " bytes (", value.size(), ")"));
  }
  return CheckUtf8(value, field, /*allow_control=*/true);
}

absl::Status ValidateNonNegative(int64_t value, absl::string_view field) {
  if (value < 0) return absl::InvalidArgumentError(absl::StrCat(field, ": must not be negative"));
  return absl::OkStatus();
}

absl::Status ValidateTimestamp(int64_t value, absl::string_view field) {
  if (value < 0 || value > kMaxTimestampMs) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be between 0 and ", kMaxTimestampMs,
                     " (milliseconds since the epoch, at most 9999-12-31T23:59:59.999Z)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDuration(int64_t value, absl::string_view field, int64_t min_ms,
                              int64_t max_ms) {
  if (value < min_ms || value > max_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be between ", min_ms, " and ", max_ms, " milliseconds"));
  }
  return absl::OkStatus();
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

absl::StatusOr<int32_t> EffectiveLimit(int32_t limit) {
  if (limit == 0) return kDefaultLimit;
  if (limit < 0 || limit > kMaxLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: must be between 1 and ", kMaxLimit, " (got ", limit, ")"));
  }
  return limit;
}

}  // namespace flowmonkey
