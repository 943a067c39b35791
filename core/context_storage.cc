#include "core/context_storage.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/validation.h"
#include "nlohmann/json.hpp"

namespace flowmonkey {
namespace {

// The first `chars` UTF-8 characters of s (s is valid UTF-8: it came out of a JSON parser).
std::string CutUtf8(const std::string& s, size_t chars, bool* cut) {
  size_t i = 0;
  for (size_t n = 0; i < s.size() && n < chars; ++n) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  }
  *cut = i < s.size();
  return s.substr(0, i);
}

}  // namespace

std::string ContextRef(absl::string_view execution_id, absl::string_view key) {
  return absl::StrCat("storage://", execution_id, "/", key);
}

namespace {

std::string SummaryOf(const nlohmann::ordered_json& value) {
  if (value.is_string()) {
    bool cut = false;
    std::string text = CutUtf8(value.get_ref<const std::string&>(), kContextSummaryChars, &cut);
    return cut ? text + "..." : text;
  }
  if (value.is_array()) return absl::StrCat("Array(", value.size(), ")");
  if (value.is_object()) {
    std::vector<std::string> keys;
    for (const auto& [key, item] : value.items()) {
      if (keys.size() == 5) break;
      keys.push_back(key);
    }
    return absl::StrCat("Object {", absl::StrJoin(keys, ", "), value.size() > 5 ? "..." : "",
                        "}");
  }
  return value.dump();
}

// One linear pass over the text before parsing: the nesting depth (core/validation.h's
// limit) and \u0000 escapes (jsonb rejects them; JSON text cannot hold a raw NUL). It is
// here rather than ValidateJson because ValidateJson's callback parser takes tens of
// seconds on a 20 MiB value; this pass and one plain parse take well under a second.
absl::Status ScanJson(absl::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '"') {
        in_string = false;
      } else if (c == '\\' && i + 1 < text.size()) {
        if (text.substr(i + 1, 5) == "u0000") {
          return absl::InvalidArgumentError("value_json: JSON text may not contain \\u0000");
        }
        ++i;  // skip the escaped character
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return absl::InvalidArgumentError(
            absl::StrCat("value_json: JSON nests deeper than ", kMaxJsonDepth, " levels"));
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string ContextSummary(absl::string_view value_json) {
  // ordered_json keeps the keys in the order written: "the first five keys" as sent.
  const nlohmann::ordered_json value =
      nlohmann::ordered_json::parse(value_json.begin(), value_json.end(), nullptr, false);
  return value.is_discarded() ? "" : SummaryOf(value);
}

absl::StatusOr<std::string> ValidateContextValue(const v1::ContextValue& value,
                                                 int64_t max_bytes) {
  if (auto s = ValidateId(value.execution_id(), "execution_id"); !s.ok()) return s;
  if (auto s = ValidateId(value.key(), "key"); !s.ok()) return s;
  const std::string& text = value.value_json();
  if (static_cast<int64_t>(text.size()) > max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("value_json: ", text.size(),
                                                     " bytes, over the maximum of ", max_bytes));
  }
  if (text.empty()) return absl::InvalidArgumentError("value_json: required");
  if (auto s = ScanJson(text); !s.ok()) return s;
  const nlohmann::ordered_json parsed =
      nlohmann::ordered_json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return absl::InvalidArgumentError("value_json: not valid JSON");
  return SummaryOf(parsed);
}

}  // namespace flowmonkey
