#pragma once

// FlowStore on PostgreSQL (seed: PgFlowStore). Semver order comes from the sort columns
// written beside each version (version_major/minor/patch/pre_key), so "latest" and
// "newest first" are index scans. Save is INSERT ... ON CONFLICT DO NOTHING followed, when
// the version exists, by a comparison of the stored content: concurrent identical saves
// all succeed and leave one row.

#include "core/flow_store.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

class PgFlowStore : public FlowStore {
 public:
  // Registers its statements with `pool`, which must outlive the store.
  explicit PgFlowStore(ConnectionPool& pool);

  absl::StatusOr<v1::SaveFlowResponse> Save(const v1::SaveFlowRequest& request) override;
  absl::StatusOr<v1::GetFlowResponse> Get(const v1::GetFlowRequest& request) override;
  absl::StatusOr<v1::LatestFlowResponse> Latest(const v1::LatestFlowRequest& request) override;
  absl::StatusOr<v1::FlowVersionsResponse> Versions(
      const v1::FlowVersionsRequest& request) override;
  absl::StatusOr<v1::ListFlowsResponse> List(const v1::ListFlowsRequest& request) override;
  absl::Status ListAll(const v1::ListAllFlowsRequest& request,
                       const std::function<bool(const v1::Flow&)>& each) override;
  absl::StatusOr<v1::SetFlowStatusResponse> SetStatus(
      const v1::SetFlowStatusRequest& request) override;
  absl::StatusOr<v1::DeleteFlowResponse> Delete(const v1::DeleteFlowRequest& request) override;

 private:
  absl::StatusOr<v1::Flow> FindLatest(const std::string& flow_id);

  ConnectionPool& pool_;
};

}  // namespace flowmonkey::pg
