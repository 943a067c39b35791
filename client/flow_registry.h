#pragma once

// FlowRegistry: the seed's in-memory flow cache (PgFlowStore.loadAll + get/latest/versions
// from memory) over any FlowStore, local or remote. LoadAll reads every version once
// (FlowStore.ListAll); Get, Versions and List then answer from memory, and Save/SetStatus
// go to the store and update the cache with what it returned. Other writers' changes are
// seen after the next LoadAll. Thread-safe.
//
//   FlowRegistry registry(*stores->flows);
//   if (auto s = registry.LoadAll(); !s.ok()) ...;
//   absl::StatusOr<v1::Flow> flow = registry.Get("order-flow");  // latest, from memory

#include <map>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/flow_store.h"

namespace flowmonkey::client {

class FlowRegistry {
 public:
  // `store` must outlive the registry.
  explicit FlowRegistry(FlowStore& store) : store_(store) {}

  // Replaces the cache with every version of every flow. On error the cache is unchanged.
  absl::Status LoadAll();

  // From memory. Empty version: the latest non-archived version by semver. NOT_FOUND
  // when the cache has no such flow/version.
  absl::StatusOr<v1::Flow> Get(absl::string_view flow_id, absl::string_view version = "") const;
  bool Has(absl::string_view flow_id) const;
  // Every cached version of a flow, newest first.
  std::vector<std::string> Versions(absl::string_view flow_id) const;
  // Ids of the cached flows, sorted.
  std::vector<std::string> List() const;
  size_t size() const;

  // Saves through the store, then caches the stored version.
  absl::StatusOr<v1::SaveFlowResponse> Save(const v1::SaveFlowRequest& request);
  absl::StatusOr<v1::SetFlowStatusResponse> SetStatus(const v1::SetFlowStatusRequest& request);

 private:
  // Newest first.
  struct NewestFirst {
    bool operator()(const std::string& a, const std::string& b) const;
  };
  using VersionMap = std::map<std::string, v1::Flow, NewestFirst>;

  void Put(const v1::Flow& flow);

  FlowStore& store_;
  mutable std::shared_mutex mu_;
  std::map<std::string, VersionMap> flows_;
};

}  // namespace flowmonkey::client
