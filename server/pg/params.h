#pragma once

// Positional parameters for a statement, any of which may be NULL. Values are copied in;
// nothing user-supplied is ever spliced into SQL text.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flowmonkey::pg {

class Params {
 public:
  Params& Add(std::string_view value) {
    storage_.emplace_back(value);
    values_.push_back(storage_.back().c_str());
    return *this;
  }
  Params& Add(const std::string& value) { return Add(std::string_view(value)); }
  // Takes the string over: a large value (a batch's array literal) is not copied.
  Params& Add(std::string&& value) {
    storage_.push_back(std::move(value));
    values_.push_back(storage_.back().c_str());
    return *this;
  }
  Params& Add(const char* value) { return Add(std::string_view(value)); }
  Params& Add(int64_t value) { return Add(std::to_string(value)); }
  Params& Add(int32_t value) { return Add(std::to_string(value)); }
  Params& Add(bool value) { return Add(value ? "true" : "false"); }
  Params& AddNull() {
    values_.push_back(nullptr);
    return *this;
  }
  template <typename T>
  Params& Add(const std::optional<T>& value) {
    return value ? Add(*value) : AddNull();
  }
  // Empty text means NULL (the contract's "absent" for *_json fields).
  Params& AddOrNull(std::string_view value) { return value.empty() ? AddNull() : Add(value); }

  const std::vector<const char*>& values() const { return values_; }

 private:
  std::deque<std::string> storage_;  // stable addresses for values_
  std::vector<const char*> values_;
};

}  // namespace flowmonkey::pg
