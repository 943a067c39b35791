#pragma once

// PostgreSQL array literals ('{"a","b",NULL}') for passing many values as one parameter,
// e.g. to unnest($1::text[]) in a multi-row INSERT. Every element is quoted and escaped;
// the literal is a parameter value, never SQL text.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flowmonkey::pg {

class ArrayLiteral {
 public:
  // Appends the element in runs between the characters that need a backslash: a 2 KB JSON
  // context is a few dozen appends, not 2,000 (a batched save's largest CPU cost of its own).
  ArrayLiteral& Add(std::string_view element) {
    text_.reserve(text_.size() + element.size() + 8);
    text_ += first_ ? "\"" : ",\"";
    first_ = false;
    const char* run = element.data();
    const char* const end = run + element.size();
    for (const char* p = run; p != end; ++p) {
      if (*p == '"' || *p == '\\') {
        text_.append(run, p);
        text_ += '\\';
        run = p;  // the character itself starts the next run
      }
    }
    text_.append(run, end);
    text_ += '"';
    return *this;
  }
  ArrayLiteral& AddNull() {
    text_ += first_ ? "NULL" : ",NULL";
    first_ = false;
    return *this;
  }
  ArrayLiteral& Add(const std::string& element) { return Add(std::string_view(element)); }
  ArrayLiteral& Add(const char* element) { return Add(std::string_view(element)); }
  std::string str() const { return text_ + "}"; }
  // The literal, without a copy; the builder is spent.
  std::string Take() && {
    text_ += '}';
    return std::move(text_);
  }

 private:
  std::string text_ = "{";
  bool first_ = true;
};

// The literal of every string in `values` (e.g. a repeated proto field).
template <typename Strings>
std::string ArrayLiteralOf(const Strings& values) {
  ArrayLiteral literal;
  for (const auto& value : values) literal.Add(std::string_view(value));
  return literal.str();
}

}  // namespace flowmonkey::pg
