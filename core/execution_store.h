#pragma once

// ExecutionStore: persistence of workflow executions (seed: PgExecutionStore / StateStore).
// Implemented by the PostgreSQL store (server/pg) and the gRPC client (client/); both pass
// tests/conformance/execution_store_test.cc. Requests and responses are the generated
// messages of proto/flowmonkey/v1/execution.proto (see docs/adr/0002): the proto comments
// are the contract of each method. No method throws.
//
// Status codes, beyond those named per method: INVALID_ARGUMENT for malformed input (the
// message names the field), UNAVAILABLE when the database cannot be reached (safe to retry
// reads), DEADLINE_EXCEEDED.

#include "absl/status/statusor.h"
#include "flowmonkey/v1/execution.pb.h"

namespace flowmonkey {

class ExecutionStore {
 public:
  virtual ~ExecutionStore() = default;

  // Inserts; ALREADY_EXISTS when the id is taken. Idempotent per (flow_id, key) while the
  // key is live: later callers get the first execution back with created=false.
  virtual absl::StatusOr<v1::CreateExecutionResponse> Create(
      const v1::CreateExecutionRequest& request) = 0;
  // NOT_FOUND when absent.
  virtual absl::StatusOr<v1::GetExecutionResponse> Get(const v1::GetExecutionRequest& request) = 0;
  // Upsert. ABORTED when expected_version is set and differs from the stored version.
  virtual absl::StatusOr<v1::SaveExecutionResponse> Save(
      const v1::SaveExecutionRequest& request) = 0;
  // Update of an existing execution: NOT_FOUND when absent, ABORTED on version mismatch.
  virtual absl::StatusOr<v1::UpdateExecutionResponse> Update(
      const v1::UpdateExecutionRequest& request) = 0;
  // deleted=false when there was nothing to delete.
  virtual absl::StatusOr<v1::DeleteExecutionResponse> Delete(
      const v1::DeleteExecutionRequest& request) = 0;

  virtual absl::StatusOr<v1::FindByStatusResponse> FindByStatus(
      const v1::FindByStatusRequest& request) = 0;
  // Executions per status (those with none left out), in ExecutionStatus order.
  virtual absl::StatusOr<v1::CountByStatusResponse> CountByStatus(
      const v1::CountByStatusRequest& request) = 0;
  virtual absl::StatusOr<v1::ListWakeReadyResponse> ListWakeReady(
      const v1::ListWakeReadyRequest& request) = 0;
  virtual absl::StatusOr<v1::FindByTenantResponse> FindByTenant(
      const v1::FindByTenantRequest& request) = 0;
  virtual absl::StatusOr<v1::FindByIdempotencyKeyResponse> FindByIdempotencyKey(
      const v1::FindByIdempotencyKeyRequest& request) = 0;
  virtual absl::StatusOr<v1::FindChildrenResponse> FindChildren(
      const v1::FindChildrenRequest& request) = 0;
  virtual absl::StatusOr<v1::FindTimedOutExecutionsResponse> FindTimedOutExecutions(
      const v1::FindTimedOutExecutionsRequest& request) = 0;
  virtual absl::StatusOr<v1::FindTimedOutWaitsResponse> FindTimedOutWaits(
      const v1::FindTimedOutWaitsRequest& request) = 0;

  // Leases (see execution.proto). The PostgreSQL store and the remote client implement
  // them; a wrapper store must forward them to the store it wraps. The default answers
  // UNIMPLEMENTED, so a wrapper that forgets fails loudly rather than granting leases.
  // AcquireLock: acquired=false when another owner holds a live lease.
  virtual absl::StatusOr<v1::AcquireLockResponse> AcquireLock(
      const v1::AcquireLockRequest& request) = 0;
  // FAILED_PRECONDITION when the owner does not hold a live lease with that fencing token.
  virtual absl::StatusOr<v1::ExtendLockResponse> ExtendLock(
      const v1::ExtendLockRequest& request) = 0;
  virtual absl::StatusOr<v1::ReleaseLockResponse> ReleaseLock(
      const v1::ReleaseLockRequest& request) = 0;
  // The lease as stored (held=false when free or expired); NOT_FOUND: no such execution.
  virtual absl::StatusOr<v1::GetLockResponse> GetLock(const v1::GetLockRequest& request) = 0;

  // Wake-ups (see execution.proto; the WatchWakeups stream is served on top of them).
  // ClaimWakeups leases due wake-ups; AckWakeups ends them, or gives them back.
  virtual absl::StatusOr<v1::ClaimWakeupsResponse> ClaimWakeups(
      const v1::ClaimWakeupsRequest& request) = 0;
  virtual absl::StatusOr<v1::AckWakeupsResponse> AckWakeups(
      const v1::AckWakeupsRequest& request) = 0;
};

}  // namespace flowmonkey
