#pragma once

// Request validation shared by every store implementation: run before anything reaches SQL
// (and before a request joins a batch), so bad input is INVALID_ARGUMENT naming the field.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flowmonkey {

inline constexpr size_t kMaxIdBytes = 255;
inline constexpr size_t kMaxTextBytes = 4096;
inline constexpr int32_t kDefaultLimit = 100;
inline constexpr int32_t kMaxLimit = 10'000;
inline constexpr int kMaxJsonDepth = 64;

// A required identifier: 1..kMaxIdBytes bytes of valid UTF-8 with no control characters.
absl::Status ValidateId(absl::string_view value, absl::string_view field);
// Like ValidateId, but empty is allowed (an optional field left unset).
absl::Status ValidateOptionalId(absl::string_view value, absl::string_view field);
// Free text up to max_bytes: valid UTF-8 without NUL (PostgreSQL text cannot hold NUL).
absl::Status ValidateText(absl::string_view value, absl::string_view field,
                          size_t max_bytes = kMaxTextBytes);
// A timestamp or duration in milliseconds that must not be negative.
absl::Status ValidateNonNegative(int64_t value, absl::string_view field);
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
