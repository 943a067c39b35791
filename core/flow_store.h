#pragma once

// FlowStore: versioned flow definitions (seed: PgFlowStore). Implemented by the PostgreSQL
// store (server/pg) and the gRPC client (client/); both pass
// tests/conformance/flow_store_test.cc. The proto comments of proto/flowmonkey/v1/flow.proto
// are the contract of each method; core/flow_rules.h has the validation and version order
// both share. No method throws.
//
// Status codes, beyond those named per method: INVALID_ARGUMENT for malformed input (the
// message names the field, or lists every problem of a definition), UNAVAILABLE when the
// database cannot be reached, DEADLINE_EXCEEDED.

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "flowmonkey/v1/flow.pb.h"

namespace flowmonkey {

class FlowStore {
 public:
  virtual ~FlowStore() = default;

  // created=false for an identical re-save; ALREADY_EXISTS for different content.
  virtual absl::StatusOr<v1::SaveFlowResponse> Save(const v1::SaveFlowRequest& request) = 0;
  // Without version: the latest non-archived version by semver. NOT_FOUND when none.
  virtual absl::StatusOr<v1::GetFlowResponse> Get(const v1::GetFlowRequest& request) = 0;
  virtual absl::StatusOr<v1::LatestFlowResponse> Latest(const v1::LatestFlowRequest& request) = 0;
  // Newest first, archived versions included.
  virtual absl::StatusOr<v1::FlowVersionsResponse> Versions(
      const v1::FlowVersionsRequest& request) = 0;
  virtual absl::StatusOr<v1::ListFlowsResponse> List(const v1::ListFlowsRequest& request) = 0;
  // Calls `each` with every version of every flow (by flow id, newest first) until it
  // returns false. Not a snapshot: flows saved meanwhile may or may not be included.
  virtual absl::Status ListAll(const v1::ListAllFlowsRequest& request,
                               const std::function<bool(const v1::Flow&)>& each) = 0;
  virtual absl::StatusOr<v1::SetFlowStatusResponse> SetStatus(
      const v1::SetFlowStatusRequest& request) = 0;
  // deleted=false when there was nothing to delete.
  virtual absl::StatusOr<v1::DeleteFlowResponse> Delete(const v1::DeleteFlowRequest& request) = 0;
};

}  // namespace flowmonkey
