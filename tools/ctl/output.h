#pragma once

// How flowmonkeyctl prints: plain-text tables, times, enum names, JSON lines, errors and
// the summary of a flow.

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "flowmonkey/v1/flow.pb.h"

namespace flowmonkey::ctl {

// A plain-text table: column widths from the content, two spaces between columns.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // The header line (unless with_header is false), then one line per row.
  std::string Format(bool with_header = true) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "2026-11-30 21:14:24" (UTC) of a Unix time in ms; "-" for 0.
std::string FormatTime(int64_t ms);
// An enum value's name without its prefix, lower case: EXECUTION_STATUS_RUNNING -> running.
std::string ShortName(const std::string& enum_name);
// Protobuf's canonical JSON mapping on one line, with proto field names.
std::string ToJson(const google::protobuf::Message& message);
// "NOT_FOUND: execution x not found": the code's name, never its number.
std::string StatusText(const grpc::Status& status);
std::string StatusText(const absl::Status& status);
// id, version, name, status, tags, created/updated, initial step and step count (from the
// definition), one "field: value" per line.
std::string FlowSummary(const v1::Flow& flow);

}  // namespace flowmonkey::ctl
