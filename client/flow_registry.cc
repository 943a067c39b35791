#include "client/flow_registry.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "core/flow_rules.h"

namespace flowmonkey::client {

bool FlowRegistry::NewestFirst::operator()(const std::string& a, const std::string& b) const {
  return CompareVersions(a, b) > 0;
}

absl::Status FlowRegistry::LoadAll() {
  std::map<std::string, VersionMap> loaded;
  absl::Status status = store_.ListAll(v1::ListAllFlowsRequest(), [&](const v1::Flow& flow) {
    loaded[flow.id()][flow.version()] = flow;
    return true;
  });
  if (!status.ok()) return status;
  std::unique_lock lock(mu_);
  flows_ = std::move(loaded);
  return absl::OkStatus();
}

absl::StatusOr<v1::Flow> FlowRegistry::Get(absl::string_view flow_id,
                                           absl::string_view version) const {
  std::shared_lock lock(mu_);
  const auto flow = flows_.find(std::string(flow_id));
  if (flow != flows_.end()) {
    if (!version.empty()) {
      const auto it = flow->second.find(std::string(version));
      if (it != flow->second.end()) return it->second;
    } else {
      for (const auto& [v, f] : flow->second) {
        if (f.status() != v1::FLOW_STATUS_ARCHIVED) return f;
      }
    }
  }
  return absl::NotFoundError(
      version.empty() ? absl::StrCat("flow ", flow_id, ": no version that is not archived")
                      : absl::StrCat("flow ", flow_id, " version ", version, " not found"));
}

bool FlowRegistry::Has(absl::string_view flow_id) const {
  std::shared_lock lock(mu_);
  return flows_.find(std::string(flow_id)) != flows_.end();
}

std::vector<std::string> FlowRegistry::Versions(absl::string_view flow_id) const {
  std::shared_lock lock(mu_);
  std::vector<std::string> versions;
  if (const auto flow = flows_.find(std::string(flow_id)); flow != flows_.end()) {
    for (const auto& [version, f] : flow->second) versions.push_back(version);
  }
  return versions;
}

std::vector<std::string> FlowRegistry::List() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, versions] : flows_) ids.push_back(id);
  return ids;
}

size_t FlowRegistry::size() const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const auto& [id, versions] : flows_) n += versions.size();
  return n;
}

void FlowRegistry::Put(const v1::Flow& flow) {
  std::unique_lock lock(mu_);
  flows_[flow.id()][flow.version()] = flow;
}

absl::StatusOr<v1::SaveFlowResponse> FlowRegistry::Save(const v1::SaveFlowRequest& request) {
  absl::StatusOr<v1::SaveFlowResponse> response = store_.Save(request);
  if (response.ok()) Put(response->flow());
  return response;
}

absl::StatusOr<v1::SetFlowStatusResponse> FlowRegistry::SetStatus(
    const v1::SetFlowStatusRequest& request) {
  absl::StatusOr<v1::SetFlowStatusResponse> response = store_.SetStatus(request);
  if (response.ok()) Put(response->flow());
  return response;
}

}  // namespace flowmonkey::client
