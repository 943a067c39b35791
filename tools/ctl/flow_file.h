#pragma once

// What `flowmonkeyctl flows save -f FILE` accepts, and how it becomes a flowmonkey.v1.Flow.
// Two kinds of file, told apart by their keys:
//   - a FlowMonkey flow definition, as users write them for the engine:
//       {"id", "version", "name"?, "description"?, "initialStepId", "steps": {...}, ...}
//     The file's text becomes definition_json unchanged; id, version, name and description
//     are copied from it; status and tags come from FlowFileOptions.
//   - a flowmonkey.v1.Flow in protobuf's JSON mapping, the definition as an escaped string
//     in "definitionJson" (or "definition_json"); taken as it is.
// INVALID_ARGUMENT when the text is neither (not JSON, not an object, no such keys, id or
// version not strings, a Flow that does not parse).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "flowmonkey/v1/flow.pb.h"

namespace flowmonkey::ctl {

struct FlowFileOptions {
  // For a plain definition, which carries neither.
  v1::FlowStatus status = v1::FLOW_STATUS_PUBLISHED;
  std::vector<std::string> tags;
};

absl::StatusOr<v1::Flow> ParseFlowFile(absl::string_view text, const FlowFileOptions& options);

}  // namespace flowmonkey::ctl
