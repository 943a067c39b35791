#include "tools/ctl/flow_file.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace flowmonkey::ctl {
namespace {

absl::StatusOr<v1::Flow> FromProtoJson(absl::string_view text) {
  v1::Flow flow;
  const auto parsed = google::protobuf::util::JsonStringToMessage(std::string(text), &flow);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid flowmonkey.v1.Flow: ", parsed.ToString()));
  }
  return flow;
}

// The string at `key`, when present; an error when present and not a string.
absl::StatusOr<std::optional<std::string>> OptionalString(const nlohmann::json& object,
                                                          const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return absl::InvalidArgumentError(absl::StrCat(key, ": must be a string"));
  return it->get<std::string>();
}

absl::StatusOr<std::string> RequiredString(const nlohmann::json& object, const char* key) {
  absl::StatusOr<std::optional<std::string>> value = OptionalString(object, key);
  if (!value.ok()) return value.status();
  if (!value->has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(key, ": a flow definition needs one"));
  }
  return **value;
}

absl::StatusOr<v1::Flow> FromDefinition(absl::string_view text, const nlohmann::json& definition,
                                        const FlowFileOptions& options) {
  absl::StatusOr<std::string> id = RequiredString(definition, "id");
  if (!id.ok()) return id.status();
  absl::StatusOr<std::string> version = RequiredString(definition, "version");
  if (!version.ok()) return version.status();
  absl::StatusOr<std::optional<std::string>> name = OptionalString(definition, "name");
  if (!name.ok()) return name.status();
  absl::StatusOr<std::optional<std::string>> description =
      OptionalString(definition, "description");
  if (!description.ok()) return description.status();

  v1::Flow flow;
  flow.set_id(*id);
  flow.set_version(*version);
  if (name->has_value()) flow.set_name(**name);
  if (description->has_value()) flow.set_description(**description);
  flow.set_status(options.status);
  for (const std::string& tag : options.tags) flow.add_tags(tag);
  // Verbatim rather than re-serialised: numbers keep their digits, keys their order.
  flow.set_definition_json(std::string(absl::StripAsciiWhitespace(text)));
  return flow;
}

}  // namespace

absl::StatusOr<v1::Flow> ParseFlowFile(absl::string_view text, const FlowFileOptions& options) {
  const nlohmann::json json = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                                    /*allow_exceptions=*/false);
  if (json.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  if (!json.is_object()) return absl::InvalidArgumentError("not a JSON object");
  if (json.contains("definitionJson") || json.contains("definition_json")) {
    return FromProtoJson(text);
  }
  if (json.contains("initialStepId") || json.contains("steps")) {
    return FromDefinition(text, json, options);
  }
  return absl::InvalidArgumentError(
      "neither a flow definition (with \"initialStepId\" and \"steps\") nor a "
      "flowmonkey.v1.Flow (with \"definitionJson\")");
}

}  // namespace flowmonkey::ctl
