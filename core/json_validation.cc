// ValidateJson (declared in core/validation.h) on simdjson's On-Demand parser. Numbers and
// strings are checked on their raw text, never converted: jsonb keeps any JSON number
// exactly (1e400, 5000-digit integers), so the validator must not reject what a double
// cannot hold. Messages never quote the input.

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/validation.h"
#include "simdjson.h"

namespace flowmonkey {
namespace {

namespace od = simdjson::ondemand;

// Values up to this size are validated with a per-thread parser and padded buffer that stay
// allocated; larger ones get their own, freed at once (a context value may be 64 MiB).
constexpr size_t kReusedBufferBytes = 1 << 20;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

int HexValue(const char* p) {
  int v = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = p[i];
    v = v * 16 + (IsDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// Appends the UTF-8 encoding of code point cp.
void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Unescapes the body of a string already checked by Checker::String (from just after its
// opening quote), stopping after max_chars characters; *cut says whether any were left.
std::string Unescape(const char* p, size_t max_chars, bool* cut) {
  std::string out;
  size_t chars = 0;
  for (; *p != '"'; ++chars) {
    if (chars == max_chars) {
      *cut = true;
      return out;
    }
    if (*p != '\\') {  // one UTF-8 character: its lead byte and continuation bytes
      out += *p++;
      while ((static_cast<unsigned char>(*p) & 0xC0) == 0x80) out += *p++;
      continue;
    }
    const char e = p[1];
    p += 2;
    if (e != 'u') {
      const char* from = "bfnrt";
      const char* to = "\b\f\n\r\t";
      const char* at = std::strchr(from, e);
      out += at != nullptr ? to[at - from] : e;
      continue;
    }
    uint32_t cp = static_cast<uint32_t>(HexValue(p));
    p += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<uint32_t>(HexValue(p + 2)) - 0xDC00);
      p += 6;
    }
    AppendUtf8(cp, out);
  }
  *cut = false;
  return out;
}

simdjson::error_code RawToken(od::value& v, std::string_view& out) {
  out = v.raw_json_token();
  return simdjson::SUCCESS;
}
simdjson::error_code RawToken(od::document& d, std::string_view& out) {
  return d.raw_json_token().get(out);
}

class Checker {
 public:
  Checker(absl::string_view field, JsonShape* shape) : field_(field), shape_(shape) {}

  // `text` is the whole document, to find text after a top-level scalar.
  absl::Status Document(od::document& doc, std::string_view text, JsonKind kind) {
    od::json_type type;
    if (auto e = doc.type().get(type)) return Syntax(e);
    if (kind == JsonKind::kObject && type != od::json_type::object) {
      return absl::InvalidArgumentError(absl::StrCat(field_, ": must be a JSON object"));
    }
    if (kind == JsonKind::kArray && type != od::json_type::array) {
      return absl::InvalidArgumentError(absl::StrCat(field_, ": must be a JSON array"));
    }
    absl::Status status;
    top_ = true;
    if (type == od::json_type::object) {
      od::object object;
      if (auto e = doc.get_object().get(object)) return Syntax(e);
      status = Object(object, 1);
    } else if (type == od::json_type::array) {
      od::array array;
      if (auto e = doc.get_array().get(array)) return Syntax(e);
      status = Array(array, 1);
    } else {
      status = Scalar(type, doc);
      if (status.ok() && !OnlyWhitespaceAfter(text)) status = Invalid("text after the value");
    }
    if (shape_ != nullptr) shape_->type = type_;
    if (!status.ok()) return status;
    // Past the end of a whole object or array the iterator has no location; any other
    // answer means more text follows it.
    if ((type == od::json_type::object || type == od::json_type::array) &&
        doc.current_location().error() == simdjson::SUCCESS) {
      return Invalid("text after the value");
    }
    return absl::OkStatus();
  }

 private:
  bool OnlyWhitespaceAfter(std::string_view text) const {
    const size_t end = static_cast<size_t>(last_token_.data() - text.data()) + last_token_.size();
    for (size_t i = end; i < text.size(); ++i) {
      if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r') return false;
    }
    return true;
  }

  absl::Status Value(od::value value, int depth) {
    top_ = false;
    od::json_type type;
    if (auto e = value.type().get(type)) return Syntax(e);
    if (type == od::json_type::object) {
      od::object object;
      if (auto e = value.get_object().get(object)) return Syntax(e);
      return Object(object, depth + 1);
    }
    if (type == od::json_type::array) {
      od::array array;
      if (auto e = value.get_array().get(array)) return Syntax(e);
      return Array(array, depth + 1);
    }
    return Scalar(type, value);
  }

  absl::Status Object(od::object& object, int depth) {
    if (depth > kMaxJsonDepth) return TooDeep();
    const bool top = top_;
    if (top) type_ = JsonShape::kObject;
    for (auto field : object) {
      od::raw_json_string key;
      if (auto e = field.key().get(key)) return Syntax(e);
      if (auto s = String(key.raw()); !s.ok()) return s;
      if (top && shape_ != nullptr) {
        if (shape_->keys.size() < kJsonShapeKeys) {
          bool cut = false;
          shape_->keys.push_back(Unescape(key.raw(), SIZE_MAX, &cut));
        }
        ++shape_->size;
      }
      od::value value;
      if (auto e = field.value().get(value)) return Syntax(e);
      if (auto s = Value(value, depth); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Array(od::array& array, int depth) {
    if (depth > kMaxJsonDepth) return TooDeep();
    const bool top = top_;
    if (top) type_ = JsonShape::kArray;
    for (auto element : array) {
      if (top && shape_ != nullptr) ++shape_->size;
      od::value value;
      if (auto e = element.get(value)) return Syntax(e);
      if (auto s = Value(value, depth); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // `v` is an od::value or an od::document holding a scalar.
  template <typename V>
  absl::Status Scalar(od::json_type type, V& v) {
    switch (type) {
      case od::json_type::string: {
        std::string_view raw;
        if (auto e = RawToken(v, raw)) return Syntax(e);
        last_token_ = raw;
        if (raw.empty() || raw[0] != '"') return Invalid("a malformed string");
        if (auto s = String(raw.data() + 1); !s.ok()) return s;
        if (top_ && shape_ != nullptr) {
          type_ = JsonShape::kString;
          shape_->text = Unescape(raw.data() + 1, shape_->max_chars, &shape_->cut);
        }
        return absl::OkStatus();
      }
      case od::json_type::number: {
        std::string_view raw;
        if (auto e = RawToken(v, raw)) return Syntax(e);
        last_token_ = raw;
        const std::string_view number = TrimRight(raw);
        if (!IsJsonNumber(number)) return Invalid("a malformed number");
        if (top_ && shape_ != nullptr) shape_->text = std::string(number);
        return absl::OkStatus();
      }
      case od::json_type::boolean: {
        if (auto e = RawToken(v, last_token_)) return Syntax(e);
        bool b;
        if (auto e = v.get_bool().get(b)) return Syntax(e);
        if (top_ && shape_ != nullptr) shape_->text = b ? "true" : "false";
        return absl::OkStatus();
      }
      case od::json_type::null: {
        if (auto e = RawToken(v, last_token_)) return Syntax(e);
        bool is_null = false;
        if (auto e = v.is_null().get(is_null)) return Syntax(e);
        if (top_ && shape_ != nullptr) shape_->text = "null";
        return is_null ? absl::OkStatus() : Invalid("a malformed literal");
      }
      default:
        return Invalid("an unexpected token");
    }
  }

  // The body of a string from just after its opening quote: escapes must be valid,
  // surrogates paired, no control characters and no \u0000 (jsonb rejects it). simdjson
  // has already found the closing quote and checked the whole text is UTF-8.
  absl::Status String(const char* p) {
    for (;; ++p) {
      const auto c = static_cast<unsigned char>(*p);
      if (c == '"') return absl::OkStatus();
      if (c < 0x20) return Invalid("a control character in a string");
      if (c != '\\') continue;
      ++p;
      if (*p != 'u') {
        if (std::string_view("\"\\/bfnrt").find(*p) == std::string_view::npos) {
          return Invalid("an invalid escape in a string");
        }
        continue;
      }
      if (!IsHex(p[1]) || !IsHex(p[2]) || !IsHex(p[3]) || !IsHex(p[4])) {
        return Invalid("an invalid \\u escape in a string");
      }
      const int unit = HexValue(p + 1);
      p += 4;
      if (unit == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(field_, ": JSON text may not contain \\u0000"));
      }
      if (unit >= 0xDC00 && unit <= 0xDFFF) return Invalid("an unpaired surrogate in a string");
      if (unit >= 0xD800 && unit <= 0xDBFF) {
        if (p[1] != '\\' || p[2] != 'u' || !IsHex(p[3]) || !IsHex(p[4]) || !IsHex(p[5]) ||
            !IsHex(p[6])) {
          return Invalid("an unpaired surrogate in a string");
        }
        const int low = HexValue(p + 3);
        if (low < 0xDC00 || low > 0xDFFF) return Invalid("an unpaired surrogate in a string");
        p += 6;
      }
    }
  }

  absl::Status TooDeep() const {
    return absl::InvalidArgumentError(
        absl::StrCat(field_, ": JSON nests deeper than ", kMaxJsonDepth, " levels"));
  }
  absl::Status Invalid(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(field_, ": not valid JSON (", what, ")"));
  }
  absl::Status Syntax(simdjson::error_code e) const { return Invalid(simdjson::error_message(e)); }

  absl::string_view field_;
  JsonShape* shape_;  // filled in when not null
  bool top_ = true;   // the value being checked is the top-level one
  JsonShape::Type type_ = JsonShape::kScalar;
  std::string_view last_token_;  // the raw text of the last scalar checked
};

absl::Status Check(od::parser& parser, simdjson::padded_string_view text, absl::string_view field,
                   JsonKind kind, JsonShape* shape) {
  od::document doc;
  if (auto e = parser.iterate(text).get(doc)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": not valid JSON (", simdjson::error_message(e), ")"));
  }
  return Checker(field, shape).Document(doc, std::string_view(text.data(), text.size()), kind);
}

absl::Status CheckPadded(const char* data, size_t size, size_t capacity, absl::string_view field,
                         JsonKind kind, JsonShape* shape) {
  const simdjson::padded_string_view text(data, size, capacity);
  if (size <= kReusedBufferBytes) {
    thread_local od::parser parser;
    return Check(parser, text, field, kind, shape);
  }
  od::parser parser;  // sized for this value, freed on return
  return Check(parser, text, field, kind, shape);
}

absl::Status CheckCopy(absl::string_view text, absl::string_view field, JsonKind kind,
                       JsonShape* shape) {
  if (text.size() <= kReusedBufferBytes) {
    thread_local std::string buffer;
    buffer.assign(text.data(), text.size());
    buffer.resize(text.size() + simdjson::SIMDJSON_PADDING);
    return CheckPadded(buffer.data(), text.size(), buffer.size(), field, kind, shape);
  }
  const simdjson::padded_string copy(text.data(), text.size());
  return CheckPadded(copy.data(), copy.size(), copy.size() + simdjson::SIMDJSON_PADDING, field,
                     kind, shape);
}

absl::Status Absent(absl::string_view field, bool allow_empty) {
  if (allow_empty) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
}

}  // namespace

absl::Status ValidateJson(absl::string_view text, absl::string_view field, JsonKind kind,
                          bool allow_empty) {
  if (text.empty()) return Absent(field, allow_empty);
  return CheckCopy(text, field, kind, nullptr);
}

absl::StatusOr<JsonShape> InspectJson(const std::string& text, absl::string_view field,
                                      size_t max_chars) {
  if (text.empty()) return Absent(field, false);
  JsonShape shape;
  shape.max_chars = max_chars;
  // A string with room for simdjson's padding past its end is read in place (no copy of a
  // large context value); the bytes there are read but never change the result.
  absl::Status status =
      text.capacity() - text.size() >= simdjson::SIMDJSON_PADDING
          ? CheckPadded(text.data(), text.size(), text.capacity(), field, JsonKind::kAny, &shape)
          : CheckCopy(text, field, JsonKind::kAny, &shape);
  if (!status.ok()) return status;
  return shape;
}

}  // namespace flowmonkey
