#pragma once

// Request validation shared by every store implementation: run before anything reaches SQL
// (and before a request joins a batch), so bad input is INVALID_ARGUMENT naming the field.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flowmonkey {

inline constexpr size_t kMaxIdBytes = 255;
inline constexpr size_t kMaxTextBytes = 4096;
inline constexpr int32_t kDefaultLimit = 100;
inline constexpr int32_t kMaxLimit = 10'000;
inline constexpr int kMaxJsonDepth = 64;
// Every timestamp a client sends is 0..kMaxTimestampMs (9999-12-31T23:59:59.999Z) and every
// duration at most kMaxDurationMs (100 years), so no timestamp + duration sum can overflow
// int64 anywhere (C++ or SQL).
inline constexpr int64_t kMaxTimestampMs = 253'402'300'799'999;
inline constexpr int64_t kMaxDurationMs = 100LL * 365 * 24 * 60 * 60 * 1000;

// A required identifier: 1..kMaxIdBytes bytes of valid UTF-8 with no control characters.
absl::Status ValidateId(absl::string_view value, absl::string_view field);
// Like ValidateId, but empty is allowed (an optional field left unset).
absl::Status ValidateOptionalId(absl::string_view value, absl::string_view field);
// Free text up to max_bytes: valid UTF-8 without NUL (PostgreSQL text cannot hold NUL).
absl::Status ValidateText(absl::string_view value, absl::string_view field,
                          size_t max_bytes = kMaxTextBytes);
// A count or id that must not be negative.
absl::Status ValidateNonNegative(int64_t value, absl::string_view field);
// Milliseconds since the epoch: 0..kMaxTimestampMs.
absl::Status ValidateTimestamp(int64_t value, absl::string_view field);
// A duration in milliseconds: min_ms..max_ms.
absl::Status ValidateDuration(int64_t value, absl::string_view field, int64_t min_ms = 1,
                              int64_t max_ms = kMaxDurationMs);
// a + b, saturated at the int64 range (for sums of already validated times).
int64_t SaturatingAdd(int64_t a, int64_t b);
// 0 → kDefaultLimit; negative or above kMaxLimit → INVALID_ARGUMENT.
absl::StatusOr<int32_t> EffectiveLimit(int32_t limit);

enum class JsonKind { kAny, kObject, kArray };

// JSON text destined for a jsonb column: must be RFC 8259 JSON, be of `kind`, nest at most
// kMaxJsonDepth deep and hold no \u0000 nor unpaired surrogate escapes (which jsonb
// rejects). Numbers of any size or precision are valid (jsonb keeps them exactly). Empty
// text is accepted only when allow_empty (meaning "absent"). Messages never quote the text.
absl::Status ValidateJson(absl::string_view text, absl::string_view field, JsonKind kind,
                          bool allow_empty = true);

inline constexpr size_t kJsonShapeKeys = 5;

// The top-level value of a JSON text, as InspectJson finds it.
struct JsonShape {
  enum Type { kObject, kArray, kString, kScalar } type = kScalar;
  size_t size = 0;                // members of an object, elements of an array
  std::vector<std::string> keys;  // an object's first kJsonShapeKeys keys, unescaped
  std::string text;               // a string's first max_chars characters (unescaped), or
                                  // a number's, boolean's or null's JSON text
  bool cut = false;               // the string had more than max_chars characters
  size_t max_chars = 0;
};

// ValidateJson(text, field, JsonKind::kAny, /*allow_empty=*/false) that also describes the
// top-level value. Reads `text` in place when its capacity leaves 64 bytes of room past
// its end (simdjson's padding); otherwise validates a copy.
absl::StatusOr<JsonShape> InspectJson(const std::string& text, absl::string_view field,
                                      size_t max_chars);

}  // namespace flowmonkey
