#pragma once

// Group commit for the execution hot paths, wrapping the plain PostgreSQL store:
// concurrent Saves without expected_version become one multi-row upsert (unnest of array
// parameters) in one transaction, and concurrent Gets one `WHERE id = ANY($1)`. Requests
// are validated before they join a batch; if a batch statement is rejected, its items are
// retried one by one so that a bad item fails only itself. Two saves of the same execution
// never share a batch, so each save is its own version. Everything else passes through.
// Save and Get can also be started without blocking (AsyncCall): the server's handlers
// queue them from gRPC's callback thread and the batch's flusher finishes them.

#include <functional>
#include <memory>

#include "core/async_call.h"
#include "core/execution_store.h"
#include "server/pg/batcher.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

struct BatchOptions {
  int flushers = 4;        // batches in flight at once, per operation
  size_t max_batch = 64;   // items per statement
  int event_flushers = 2;  // event inserts in flight at once (few: they contend on indexes)
  size_t max_event_rows = 1000;  // events per insert when RecordBatch calls are merged
  // Called with each batch's operation ("save", "get") and size, e.g. for metrics.
  std::function<void(const char* operation, size_t size)> on_batch;
};

class BatchedExecutionStore
    : public ExecutionStore,
      public AsyncCall<v1::SaveExecutionRequest, v1::SaveExecutionResponse>,
      public AsyncCall<v1::GetExecutionRequest, v1::GetExecutionResponse> {
 public:
  // `inner` (the plain store on the same pool) serves everything that is not batched.
  BatchedExecutionStore(ConnectionPool& pool, ExecutionStore& inner, BatchOptions options = {});
  ~BatchedExecutionStore() override;

  absl::StatusOr<v1::SaveExecutionResponse> Save(const v1::SaveExecutionRequest& request) override;
  absl::StatusOr<v1::GetExecutionResponse> Get(const v1::GetExecutionRequest& request) override;
  // Saves with expected_version are not taken (they run alone, on the blocking path).
  bool Start(const v1::SaveExecutionRequest& request,
             std::function<void(absl::StatusOr<v1::SaveExecutionResponse>)> done) override;
  bool Start(const v1::GetExecutionRequest& request,
             std::function<void(absl::StatusOr<v1::GetExecutionResponse>)> done) override;

  absl::StatusOr<v1::CreateExecutionResponse> Create(
      const v1::CreateExecutionRequest& request) override {
    return inner_.Create(request);
  }
  absl::StatusOr<v1::UpdateExecutionResponse> Update(
      const v1::UpdateExecutionRequest& request) override {
    return inner_.Update(request);
  }
  absl::StatusOr<v1::DeleteExecutionResponse> Delete(
      const v1::DeleteExecutionRequest& request) override {
    return inner_.Delete(request);
  }
  absl::StatusOr<v1::FindByStatusResponse> FindByStatus(
      const v1::FindByStatusRequest& request) override {
    return inner_.FindByStatus(request);
  }
  absl::StatusOr<v1::ListWakeReadyResponse> ListWakeReady(
      const v1::ListWakeReadyRequest& request) override {
    return inner_.ListWakeReady(request);
  }
  absl::StatusOr<v1::FindByTenantResponse> FindByTenant(
      const v1::FindByTenantRequest& request) override {
    return inner_.FindByTenant(request);
  }
  absl::StatusOr<v1::FindByIdempotencyKeyResponse> FindByIdempotencyKey(
      const v1::FindByIdempotencyKeyRequest& request) override {
    return inner_.FindByIdempotencyKey(request);
  }
  absl::StatusOr<v1::FindChildrenResponse> FindChildren(
      const v1::FindChildrenRequest& request) override {
    return inner_.FindChildren(request);
  }
  absl::StatusOr<v1::FindTimedOutExecutionsResponse> FindTimedOutExecutions(
      const v1::FindTimedOutExecutionsRequest& request) override {
    return inner_.FindTimedOutExecutions(request);
  }
  absl::StatusOr<v1::FindTimedOutWaitsResponse> FindTimedOutWaits(
      const v1::FindTimedOutWaitsRequest& request) override {
    return inner_.FindTimedOutWaits(request);
  }
  absl::StatusOr<v1::AcquireLockResponse> AcquireLock(const v1::AcquireLockRequest& request) override {
    return inner_.AcquireLock(request);
  }
  absl::StatusOr<v1::ExtendLockResponse> ExtendLock(const v1::ExtendLockRequest& request) override {
    return inner_.ExtendLock(request);
  }
  absl::StatusOr<v1::ReleaseLockResponse> ReleaseLock(const v1::ReleaseLockRequest& request) override {
    return inner_.ReleaseLock(request);
  }

 private:
  using SaveBatcher = Batcher<v1::SaveExecutionRequest, v1::SaveExecutionResponse>;
  using GetBatcher = Batcher<v1::GetExecutionRequest, v1::GetExecutionResponse>;
  using SaveItem = SaveBatcher::Item;
  using GetItem = GetBatcher::Item;
  void FlushSaves(std::vector<SaveItem*>& batch);
  void FlushGets(std::vector<GetItem*>& batch);

  ConnectionPool& pool_;
  ExecutionStore& inner_;
  BatchOptions options_;
  std::unique_ptr<SaveBatcher> saves_;
  std::unique_ptr<GetBatcher> gets_;
};

}  // namespace flowmonkey::pg
