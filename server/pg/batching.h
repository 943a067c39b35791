#pragma once

// Group commit, one shape for every batched call (docs/adr/0008-one-batching-shape.md).
// A batching decorator derives from the interface's forwarding base and overrides only the
// calls it batches. Each such call is validated once, here, at the entry of the stack, with
// the same function the plain store uses (core/*_rules.h); a valid call joins a Batcher
// (batcher.h), whose flusher hands the whole batch to the store's bulk method (bulk.h). A
// statement that fails as a whole is replayed call by call, so one bad call fails only
// itself, except after a connection-wide failure (IsBatchWideFailure), where a replay could
// write twice. The decorators hold no SQL and no pool.
//
// Batched calls can also be started without blocking (core/async_call.h): the server's
// handlers queue them from gRPC's callback thread and the batch's flusher finishes them.

#include <functional>
#include <memory>
#include <vector>

#include "core/async_call.h"
#include "flowmonkey/v1/event.fm_forward.h"
#include "flowmonkey/v1/execution.fm_forward.h"
#include "flowmonkey/v1/job.fm_forward.h"
#include "flowmonkey/v1/transaction.fm_forward.h"
#include "server/pg/batcher.h"
#include "server/pg/bulk.h"

namespace flowmonkey::pg {

// Called with each batch's operation ("save", "get", ...) and size, e.g. for metrics.
using OnBatch = std::function<void(const char* operation, size_t size)>;

struct BatchOptions {
  int flushers = 4;       // batches in flight at once, per operation
  size_t max_batch = 64;  // calls per statement
  OnBatch on_batch;
};

// Events: few inserts in flight (they contend on the same index pages), and merged
// RecordBatch calls are limited by their rows.
struct EventBatchOptions {
  int flushers = 2;
  size_t max_records = 64;  // Record calls per insert
  size_t max_rows = 1000;   // events per insert when RecordBatch calls are merged
  OnBatch on_batch;
};

// Save (without expected_version: a compare-and-set runs alone, unbatched) and Get. Two
// saves of one execution never share a batch, so each is its own version.
class BatchingExecutionStore
    : public ForwardingExecutionStore,
      public AsyncCall<v1::SaveExecutionRequest, v1::SaveExecutionResponse>,
      public AsyncCall<v1::GetExecutionRequest, v1::GetExecutionResponse> {
 public:
  // `bulk` is usually `next` itself; both must outlive this.
  BatchingExecutionStore(ExecutionStore& next, BulkExecutionStore& bulk, BatchOptions options);
  ~BatchingExecutionStore() override;

  absl::StatusOr<v1::SaveExecutionResponse> Save(const v1::SaveExecutionRequest& request) override;
  absl::StatusOr<v1::GetExecutionResponse> Get(const v1::GetExecutionRequest& request) override;
  bool Start(const v1::SaveExecutionRequest& request,
             std::function<void(absl::StatusOr<v1::SaveExecutionResponse>)> done) override;
  bool Start(const v1::GetExecutionRequest& request,
             std::function<void(absl::StatusOr<v1::GetExecutionResponse>)> done) override;

 private:
  using SaveBatcher = Batcher<v1::SaveExecutionRequest, v1::SaveExecutionResponse>;
  using GetBatcher = Batcher<v1::GetExecutionRequest, v1::GetExecutionResponse>;
  BulkExecutionStore& bulk_;
  const BatchOptions options_;
  std::unique_ptr<SaveBatcher> saves_;
  std::unique_ptr<GetBatcher> gets_;
};

// Record and RecordBatch. Ids follow batch order, so a caller's events are durable and have
// their ids when the call returns, as with the plain store.
class BatchingEventStore
    : public ForwardingEventStore,
      public AsyncCall<v1::RecordEventRequest, v1::RecordEventResponse>,
      public AsyncCall<v1::RecordEventBatchRequest, v1::RecordEventBatchResponse> {
 public:
  BatchingEventStore(EventStore& next, BulkEventStore& bulk, EventBatchOptions options);
  ~BatchingEventStore() override;

  absl::StatusOr<v1::RecordEventResponse> Record(const v1::RecordEventRequest& request) override;
  absl::StatusOr<v1::RecordEventBatchResponse> RecordBatch(
      const v1::RecordEventBatchRequest& request) override;
  bool Start(const v1::RecordEventRequest& request,
             std::function<void(absl::StatusOr<v1::RecordEventResponse>)> done) override;
  bool Start(const v1::RecordEventBatchRequest& request,
             std::function<void(absl::StatusOr<v1::RecordEventBatchResponse>)> done) override;

 private:
  using RecordBatcher = Batcher<v1::RecordEventRequest, v1::RecordEventResponse>;
  using BatchBatcher = Batcher<v1::RecordEventBatchRequest, v1::RecordEventBatchResponse>;
  BulkEventStore& bulk_;
  const EventBatchOptions options_;
  std::unique_ptr<RecordBatcher> records_;
  std::unique_ptr<BatchBatcher> batches_;
};

// Complete. Two completions of one job never share a batch.
class BatchingJobStore : public ForwardingJobStore,
                         public AsyncCall<v1::CompleteJobRequest, v1::CompleteJobResponse> {
 public:
  BatchingJobStore(JobStore& next, BulkJobStore& bulk, BatchOptions options);
  ~BatchingJobStore() override;

  absl::StatusOr<v1::CompleteJobResponse> Complete(const v1::CompleteJobRequest& request) override;
  bool Start(const v1::CompleteJobRequest& request,
             std::function<void(absl::StatusOr<v1::CompleteJobResponse>)> done) override;

 private:
  using CompleteBatcher = Batcher<v1::CompleteJobRequest, v1::CompleteJobResponse>;
  BulkJobStore& bulk_;
  const BatchOptions options_;
  std::unique_ptr<CompleteBatcher> completions_;
};

// Commit: concurrent commits share one transaction, a savepoint each (bulk.h). Two commits
// with the same request_id never share a batch.
class BatchingTransactions : public ForwardingTransactions,
                             public AsyncCall<v1::CommitRequest, v1::CommitResponse> {
 public:
  BatchingTransactions(Transactions& next, BulkTransactions& bulk, BatchOptions options);
  ~BatchingTransactions() override;

  absl::StatusOr<v1::CommitResponse> Commit(const v1::CommitRequest& request) override;
  bool Start(const v1::CommitRequest& request,
             std::function<void(absl::StatusOr<v1::CommitResponse>)> done) override;

 private:
  using CommitBatcher = Batcher<v1::CommitRequest, v1::CommitResponse>;
  BulkTransactions& bulk_;
  const BatchOptions options_;
  std::unique_ptr<CommitBatcher> commits_;
};

}  // namespace flowmonkey::pg
