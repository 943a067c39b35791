#pragma once

// ExecutionStore on PostgreSQL (seed: PgExecutionStore). Single-statement operations run
// in autocommit; Create with an idempotency key runs in one transaction that claims the
// key row in fm_idempotency_keys first.

#include "core/execution_store.h"
#include "server/pg/bulk.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

class PgExecutionStore : public ExecutionStore, public BulkExecutionStore {
 public:
  // Registers its statements with `pool`, which must outlive the store.
  explicit PgExecutionStore(ConnectionPool& pool);

  absl::StatusOr<v1::CreateExecutionResponse> Create(
      const v1::CreateExecutionRequest& request) override;
  absl::StatusOr<v1::GetExecutionResponse> Get(const v1::GetExecutionRequest& request) override;
  absl::StatusOr<v1::SaveExecutionResponse> Save(const v1::SaveExecutionRequest& request) override;
  absl::StatusOr<v1::UpdateExecutionResponse> Update(
      const v1::UpdateExecutionRequest& request) override;
  absl::StatusOr<v1::DeleteExecutionResponse> Delete(
      const v1::DeleteExecutionRequest& request) override;
  absl::StatusOr<v1::FindByStatusResponse> FindByStatus(
      const v1::FindByStatusRequest& request) override;
  absl::StatusOr<v1::CountByStatusResponse> CountByStatus(
      const v1::CountByStatusRequest& request) override;
  absl::StatusOr<v1::ListWakeReadyResponse> ListWakeReady(
      const v1::ListWakeReadyRequest& request) override;
  absl::StatusOr<v1::FindByTenantResponse> FindByTenant(
      const v1::FindByTenantRequest& request) override;
  absl::StatusOr<v1::FindByIdempotencyKeyResponse> FindByIdempotencyKey(
      const v1::FindByIdempotencyKeyRequest& request) override;
  absl::StatusOr<v1::FindChildrenResponse> FindChildren(
      const v1::FindChildrenRequest& request) override;
  absl::StatusOr<v1::FindTimedOutExecutionsResponse> FindTimedOutExecutions(
      const v1::FindTimedOutExecutionsRequest& request) override;
  absl::StatusOr<v1::FindTimedOutWaitsResponse> FindTimedOutWaits(
      const v1::FindTimedOutWaitsRequest& request) override;
  // Leases, in execution_locks.cc: one statement each on fm_execution_locks.
  absl::StatusOr<v1::AcquireLockResponse> AcquireLock(
      const v1::AcquireLockRequest& request) override;
  absl::StatusOr<v1::ExtendLockResponse> ExtendLock(const v1::ExtendLockRequest& request) override;
  absl::StatusOr<v1::ReleaseLockResponse> ReleaseLock(
      const v1::ReleaseLockRequest& request) override;
  absl::StatusOr<v1::GetLockResponse> GetLock(const v1::GetLockRequest& request) override;
  // Wake-ups, in execution_wakeups.cc: one statement each.
  absl::StatusOr<v1::ClaimWakeupsResponse> ClaimWakeups(
      const v1::ClaimWakeupsRequest& request) override;
  absl::StatusOr<v1::AckWakeupsResponse> AckWakeups(const v1::AckWakeupsRequest& request) override;

  // Group commit (bulk.h), in execution_bulk.cc.
  absl::StatusOr<ManyResults<v1::SaveExecutionResponse>> SaveMany(
      const Requests<v1::SaveExecutionRequest>& requests) override;
  absl::StatusOr<ManyResults<v1::GetExecutionResponse>> GetMany(
      const Requests<v1::GetExecutionRequest>& requests) override;

 private:
  void RegisterBulkStatements();    // execution_bulk.cc
  void RegisterWakeupStatements();  // execution_wakeups.cc
  // Save and Get of a request that passed ValidateSaveExecution / ValidateGetExecution.
  absl::StatusOr<v1::SaveExecutionResponse> SaveValid(const v1::SaveExecutionRequest& request);
  absl::StatusOr<v1::GetExecutionResponse> GetValid(const v1::GetExecutionRequest& request);

  ConnectionPool& pool_;
};

}  // namespace flowmonkey::pg
