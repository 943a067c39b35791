#pragma once

// What a valid flow is, and semantic-version precedence: shared by every FlowStore
// implementation and by the client's FlowRegistry so they accept, reject and order flow
// versions exactly the same way.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "flowmonkey/v1/flow.pb.h"

namespace flowmonkey {

// A semantic version (semver.org 2.0): MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD].
struct SemVer {
  int64_t major = 0;
  int64_t minor = 0;
  int64_t patch = 0;
  std::vector<std::string> pre_release;  // dot-separated identifiers
  std::string build;
};

// INVALID_ARGUMENT naming `field` when `text` is not a semantic version (numbers above
// 18 digits and leading zeros are rejected).
absl::StatusOr<SemVer> ParseSemVer(absl::string_view text, absl::string_view field = "version");
// Precedence: <0, 0, >0. Build metadata is ignored, as semver says.
int CompareSemVer(const SemVer& a, const SemVer& b);
// Total order of two valid version strings: precedence, then text (so versions that differ
// only in build metadata still have a fixed order). Unparseable text sorts below all.
int CompareVersions(absl::string_view a, absl::string_view b);
// A text key whose byte order (COLLATE "C") is the pre-release precedence; a release gets
// "~", which sorts above every pre-release key. Stored beside major/minor/patch.
std::string PreReleaseSortKey(const SemVer& version);

// Every field of a flow sent to Save, including the definition's structure (see
// proto/flowmonkey/v1/flow.proto); the message names each problem.
absl::Status ValidateFlow(const v1::Flow& flow);
// Only the definition: every problem, as "flow.definition_json: N problem(s): a; b; ...".
absl::Status ValidateFlowDefinition(absl::string_view definition_json, absl::string_view flow_id,
                                    absl::string_view version);

// "draft", "published", "archived" as stored; nullopt for UNSPECIFIED or unknown values.
std::optional<std::string_view> FlowStatusName(v1::FlowStatus status);
// UNSPECIFIED for an unknown name.
v1::FlowStatus FlowStatusFromName(std::string_view name);
absl::Status ValidateFlowStatus(v1::FlowStatus status, absl::string_view field);

}  // namespace flowmonkey
