#include "core/context_storage.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/validation.h"

namespace flowmonkey {

std::string ContextRef(absl::string_view execution_id, absl::string_view key) {
  return absl::StrCat("storage://", execution_id, "/", key);
}

namespace {

std::string SummaryOf(const JsonShape& shape) {
  switch (shape.type) {
    case JsonShape::kString:
      return shape.cut ? shape.text + "..." : shape.text;
    case JsonShape::kArray:
      return absl::StrCat("Array(", shape.size, ")");
    case JsonShape::kObject:
      return absl::StrCat("Object {", absl::StrJoin(shape.keys, ", "),
                          shape.size > shape.keys.size() ? "..." : "", "}");
    case JsonShape::kScalar:
      break;
  }
  return shape.text;
}

}  // namespace

std::string ContextSummary(absl::string_view value_json) {
  absl::StatusOr<JsonShape> shape =
      InspectJson(std::string(value_json), "value_json", kContextSummaryChars);
  return shape.ok() ? SummaryOf(*shape) : "";
}

absl::Status ValidateContextKey(absl::string_view execution_id, absl::string_view key) {
  if (auto s = ValidateId(execution_id, "execution_id"); !s.ok()) return s;
  return ValidateId(key, "key");
}

absl::StatusOr<std::string> ValidateContextValue(const v1::ContextValue& value, int64_t max_bytes) {
  if (auto s = ValidateContextKey(value.execution_id(), value.key()); !s.ok()) return s;
  const std::string& text = value.value_json();
  if (static_cast<int64_t>(text.size()) > max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("value_json: ", text.size(), " bytes, over the maximum of ", max_bytes));
  }
  absl::StatusOr<JsonShape> shape = InspectJson(text, "value_json", kContextSummaryChars);
  if (!shape.ok()) return shape.status();
  return SummaryOf(*shape);
}

}  // namespace flowmonkey
