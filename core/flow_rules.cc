#include "core/flow_rules.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/validation.h"
#include "nlohmann/json.hpp"

namespace flowmonkey {
namespace {

constexpr size_t kMaxTags = 100;
constexpr size_t kMaxProblemsListed = 20;

bool IsNumeric(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

bool IsIdentifier(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '-') return false;
  }
  return true;
}

std::optional<int64_t> ParseNumber(absl::string_view s) {
  if (!IsNumeric(s) || s.size() > 18 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  int64_t value = 0;
  for (char c : s) value = value * 10 + (c - '0');
  return value;
}

int CompareIdentifiers(const std::string& a, const std::string& b) {
  const bool na = IsNumeric(a), nb = IsNumeric(b);
  if (na && nb) {
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    return a.compare(b) < 0 ? -1 : a.compare(b) > 0 ? 1 : 0;
  }
  if (na != nb) return na ? -1 : 1;  // numeric identifiers rank below alphanumeric ones
  return a.compare(b) < 0 ? -1 : a.compare(b) > 0 ? 1 : 0;
}

std::string Quoted(const nlohmann::json& value) {
  return value.is_string() ? absl::StrCat("\"", value.get<std::string>(), "\"") : value.dump();
}

void CheckSteps(const nlohmann::json& steps, std::vector<std::string>& problems) {
  for (const auto& [key, step] : steps.items()) {
    const std::string where = absl::StrCat("steps.", key);
    if (!step.is_object()) {
      problems.push_back(absl::StrCat(where, ": must be an object"));
      continue;
    }
    const auto id = step.find("id");
    if (id == step.end()) {
      problems.push_back(absl::StrCat(where, ".id: required"));
    } else if (!id->is_string() || id->get<std::string>() != key) {
      problems.push_back(absl::StrCat(where, ".id: ", Quoted(*id), " does not match its key"));
    }
    const auto type = step.find("type");
    if (type == step.end() || !type->is_string() || type->get<std::string>().empty()) {
      problems.push_back(absl::StrCat(where, ".type: required (a non-empty string)"));
    }
    const auto transitions = step.find("transitions");
    if (transitions == step.end() || transitions->is_null()) continue;
    if (!transitions->is_object()) {
      problems.push_back(absl::StrCat(where, ".transitions: must be an object"));
      continue;
    }
    for (const auto& [name, target] : transitions->items()) {
      if (target.is_null()) continue;
      if (!target.is_string()) {
        problems.push_back(
            absl::StrCat(where, ".transitions.", name, ": must be a step id or null"));
      } else if (!steps.contains(target.get<std::string>())) {
        problems.push_back(
            absl::StrCat(where, ".transitions.", name, ": ", Quoted(target), " is not a step"));
      }
    }
  }
}

}  // namespace

absl::StatusOr<SemVer> ParseSemVer(absl::string_view text, absl::string_view field) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", text, "\" is not a semantic version (", why, ")"));
  };
  SemVer version;
  absl::string_view rest = text;
  if (const size_t plus = rest.find('+'); plus != absl::string_view::npos) {
    version.build = std::string(rest.substr(plus + 1));
    for (absl::string_view id : absl::StrSplit(version.build, '.')) {
      if (!IsIdentifier(id)) return invalid("bad build metadata");
    }
    rest = rest.substr(0, plus);
  }
  if (const size_t dash = rest.find('-'); dash != absl::string_view::npos) {
    for (absl::string_view id : absl::StrSplit(rest.substr(dash + 1), '.')) {
      if (!IsIdentifier(id)) return invalid("bad pre-release identifier");
      if (IsNumeric(id) && id.size() > 1 && id[0] == '0') {
        return invalid("leading zero in a numeric pre-release identifier");
      }
      version.pre_release.emplace_back(id);
    }
    rest = rest.substr(0, dash);
  }
  std::vector<absl::string_view> parts = absl::StrSplit(rest, '.');
  if (parts.size() != 3) return invalid("expected MAJOR.MINOR.PATCH");
  int64_t* numbers[] = {&version.major, &version.minor, &version.patch};
  for (size_t i = 0; i < 3; ++i) {
    std::optional<int64_t> n = ParseNumber(parts[i]);
    if (!n) return invalid("MAJOR, MINOR and PATCH must be numbers without leading zeros");
    *numbers[i] = *n;
  }
  return version;
}

int CompareSemVer(const SemVer& a, const SemVer& b) {
  for (auto [x, y] : {std::pair{a.major, b.major}, {a.minor, b.minor}, {a.patch, b.patch}}) {
    if (x != y) return x < y ? -1 : 1;
  }
  if (a.pre_release.empty() || b.pre_release.empty()) {
    if (a.pre_release.empty() == b.pre_release.empty()) return 0;
    return a.pre_release.empty() ? 1 : -1;  // a release ranks above its pre-releases
  }
  const size_t n = std::min(a.pre_release.size(), b.pre_release.size());
  for (size_t i = 0; i < n; ++i) {
    if (int c = CompareIdentifiers(a.pre_release[i], b.pre_release[i]); c != 0) return c;
  }
  if (a.pre_release.size() == b.pre_release.size()) return 0;
  return a.pre_release.size() < b.pre_release.size() ? -1 : 1;
}

int CompareVersions(absl::string_view a, absl::string_view b) {
  absl::StatusOr<SemVer> va = ParseSemVer(a), vb = ParseSemVer(b);
  if (va.ok() != vb.ok()) return va.ok() ? 1 : -1;
  if (va.ok()) {
    if (int c = CompareSemVer(*va, *vb); c != 0) return c;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

std::string PreReleaseSortKey(const SemVer& version) {
  if (version.pre_release.empty()) return "~";
  std::string key;
  for (const std::string& id : version.pre_release) {
    if (!key.empty()) key += '!';  // below every identifier character: shorter ranks lower
    if (IsNumeric(id)) {
      char length[24];
      std::snprintf(length, sizeof(length), "%03zu", id.size());  // ids are < 256 bytes
      absl::StrAppend(&key, "0", length, id);                     // numeric: by length, then digits
    } else {
      absl::StrAppend(&key, "1", id);  // alphanumeric: above numeric, then ASCII
    }
  }
  return key;
}

absl::Status ValidateFlowDefinition(absl::string_view definition_json, absl::string_view flow_id,
                                    absl::string_view version) {
  if (auto s = ValidateJson(definition_json, "flow.definition_json", JsonKind::kObject,
                            /*allow_empty=*/false);
      !s.ok()) {
    return s;
  }
  const nlohmann::json definition =
      nlohmann::json::parse(definition_json.begin(), definition_json.end());
  std::vector<std::string> problems;
  for (auto [name, expected] : {std::pair{"id", flow_id}, {"version", version}}) {
    const auto it = definition.find(name);
    if (it != definition.end() && (!it->is_string() || it->get<std::string>() != expected)) {
      problems.push_back(
          absl::StrCat(name, ": ", Quoted(*it), " does not match the flow's \"", expected, "\""));
    }
  }
  const auto steps = definition.find("steps");
  const bool have_steps = steps != definition.end() && steps->is_object();
  if (!have_steps) {
    problems.emplace_back("steps: required (an object of steps by id)");
  } else if (steps->empty()) {
    problems.emplace_back("steps: at least one step is required");
  }
  const auto initial = definition.find("initialStepId");
  if (initial == definition.end() || !initial->is_string()) {
    problems.emplace_back("initialStepId: required (a step id)");
  } else if (have_steps && !steps->contains(initial->get<std::string>())) {
    problems.push_back(absl::StrCat("initialStepId: ", Quoted(*initial), " is not a step"));
  }
  if (have_steps) CheckSteps(*steps, problems);
  if (problems.empty()) return absl::OkStatus();
  const size_t total = problems.size();
  if (total > kMaxProblemsListed) {
    problems.resize(kMaxProblemsListed);
    problems.push_back(absl::StrCat("and ", total - kMaxProblemsListed, " more"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("flow.definition_json: ", total,
                   total == 1 ? " problem: " : " problems: ", absl::StrJoin(problems, "; ")));
}

absl::Status ValidateFlow(const v1::Flow& flow) {
  if (auto s = ValidateId(flow.id(), "flow.id"); !s.ok()) return s;
  if (auto s = ValidateId(flow.version(), "flow.version"); !s.ok()) return s;
  if (auto v = ParseSemVer(flow.version(), "flow.version"); !v.ok()) return v.status();
  if (auto s = ValidateText(flow.name(), "flow.name"); !s.ok()) return s;
  if (auto s = ValidateText(flow.description(), "flow.description"); !s.ok()) return s;
  if (auto s = ValidateFlowStatus(flow.status(), "flow.status"); !s.ok()) return s;
  if (static_cast<size_t>(flow.tags_size()) > kMaxTags) {
    return absl::InvalidArgumentError(absl::StrCat("flow.tags: at most ", kMaxTags, " tags"));
  }
  for (const std::string& tag : flow.tags()) {
    if (auto s = ValidateId(tag, "flow.tags"); !s.ok()) return s;
  }
  if (auto s = ValidateJson(flow.visual_json(), "flow.visual_json", JsonKind::kObject); !s.ok()) {
    return s;
  }
  if (auto s = ValidateTimestamp(flow.created_at(), "flow.created_at"); !s.ok()) return s;
  return ValidateFlowDefinition(flow.definition_json(), flow.id(), flow.version());
}

std::optional<std::string_view> FlowStatusName(v1::FlowStatus status) {
  switch (status) {
    case v1::FLOW_STATUS_DRAFT:
      return "draft";
    case v1::FLOW_STATUS_PUBLISHED:
      return "published";
    case v1::FLOW_STATUS_ARCHIVED:
      return "archived";
    default:
      return std::nullopt;
  }
}

v1::FlowStatus FlowStatusFromName(std::string_view name) {
  if (name == "draft") return v1::FLOW_STATUS_DRAFT;
  if (name == "published") return v1::FLOW_STATUS_PUBLISHED;
  if (name == "archived") return v1::FLOW_STATUS_ARCHIVED;
  return v1::FLOW_STATUS_UNSPECIFIED;
}

absl::Status ValidateFlowStatus(v1::FlowStatus status, absl::string_view field) {
  if (FlowStatusName(status)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": must be DRAFT, PUBLISHED or ARCHIVED (got ", static_cast<int>(status), ")"));
}

}  // namespace flowmonkey
