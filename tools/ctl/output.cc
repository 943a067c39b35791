#include "tools/ctl/output.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"

namespace flowmonkey::ctl {

std::string Table::Format(bool with_header) const {
  std::vector<size_t> width(rows_[0].size(), 0);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (size_t r = with_header ? 0 : 1; r < rows_.size(); ++r) {
    const auto& row = rows_[r];
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out += "\n";
  }
  return out;
}

std::string FormatTime(int64_t ms) {
  if (ms == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

std::string ShortName(const std::string& enum_name) {
  const size_t pos = enum_name.find("_STATUS_");
  return absl::AsciiStrToLower(pos == std::string::npos ? enum_name : enum_name.substr(pos + 8));
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::string StatusText(const grpc::Status& status) { return StatusText(FromGrpcStatus(status)); }

std::string StatusText(const absl::Status& status) {
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
}

std::string FlowSummary(const v1::Flow& flow) {
  std::string initial_step = "-";
  std::string steps = "-";
  // The definition was validated by the server when saved; read it leniently all the same.
  const nlohmann::json definition =
      nlohmann::json::parse(flow.definition_json(), nullptr, /*allow_exceptions=*/false);
  if (definition.is_object()) {
    auto it = definition.find("initialStepId");
    if (it != definition.end() && it->is_string()) initial_step = it->get<std::string>();
    it = definition.find("steps");
    if (it != definition.end() && it->is_object()) steps = absl::StrCat(it->size());
  }
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"id", flow.id()},
      {"version", flow.version()},
      {"name", flow.has_name() ? flow.name() : "-"},
      {"description", flow.has_description() ? flow.description() : "-"},
      {"status", ShortName(v1::FlowStatus_Name(flow.status()))},
      {"tags", flow.tags().empty() ? "-" : absl::StrJoin(flow.tags(), ", ")},
      {"created", FormatTime(flow.created_at())},
      {"updated", FormatTime(flow.updated_at())},
      {"initial step", initial_step},
      {"steps", steps},
  };
  std::string out;
  for (const auto& [field, value] : fields) {
    absl::StrAppend(&out, field, ":", std::string(14 - field.size(), ' '), value, "\n");
  }
  return out;
}

}  // namespace flowmonkey::ctl
