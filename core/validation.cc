#include "core/validation.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

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

// Checks JSON text without building it: nesting depth, \u0000 in strings and keys, and
// the kind of the top-level value. SAX keeps validation allocation-free on the hot path.
class JsonChecker : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return Value(JsonKind::kAny); }
  bool boolean(bool) override { return Value(JsonKind::kAny); }
  bool number_integer(number_integer_t) override { return Value(JsonKind::kAny); }
  bool number_unsigned(number_unsigned_t) override { return Value(JsonKind::kAny); }
  bool number_float(number_float_t, const string_t&) override { return Value(JsonKind::kAny); }
  bool string(string_t& value) override {
    return Value(JsonKind::kAny) && NoNul(value);
  }
  bool binary(binary_t&) override { return Value(JsonKind::kAny); }
  bool start_object(std::size_t) override { return Open(JsonKind::kObject); }
  bool key(string_t& value) override { return NoNul(value); }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(JsonKind::kArray); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& e) override {
    syntax_error = e.what();
    return false;
  }

  JsonKind top = JsonKind::kAny;
  bool too_deep = false;
  bool has_nul = false;
  std::string syntax_error;

 private:
  bool Value(JsonKind kind) {
    if (depth_ == 0 && !seen_) top = kind;
    seen_ = true;
    return true;
  }
  bool Open(JsonKind kind) {
    Value(kind);
    if (++depth_ > kMaxJsonDepth) too_deep = true;
    return !too_deep;
  }
  bool Close() {
    --depth_;
    return true;
  }
  bool NoNul(const string_t& value) {
    if (value.find('\0') != string_t::npos) has_nul = true;
    return !has_nul;
  }
  int depth_ = 0;
  bool seen_ = false;
};

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

absl::StatusOr<int32_t> EffectiveLimit(int32_t limit) {
  if (limit == 0) return kDefaultLimit;
  if (limit < 0 || limit > kMaxLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: must be between 1 and ", kMaxLimit, " (got ", limit, ")"));
  }
  return limit;
}

absl::Status ValidateJson(absl::string_view text, absl::string_view field, JsonKind kind,
                          bool allow_empty) {
  if (text.empty()) {
    if (allow_empty) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  }
  JsonChecker checker;
  nlohmann::json::sax_parse(text.begin(), text.end(), &checker,
                            nlohmann::json::input_format_t::json, /*strict=*/true);
  if (checker.too_deep) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": JSON nests deeper than ", kMaxJsonDepth, " levels"));
  }
  if (checker.has_nul) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": JSON text may not contain \\u0000"));
  }
  if (!checker.syntax_error.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": not valid JSON (", checker.syntax_error, ")"));
  }
  if (kind == JsonKind::kObject && checker.top != JsonKind::kObject) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be a JSON object"));
  }
  if (kind == JsonKind::kArray && checker.top != JsonKind::kArray) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be a JSON array"));
  }
  return absl::OkStatus();
}

}  // namespace flowmonkey
