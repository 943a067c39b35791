#pragma once

// Group commit for EventStore.Record and RecordBatch: concurrent single-event records
// become one multi-row insert (the RecordBatch statement), and concurrent RecordBatch calls
// are merged into one insert of up to max_event_rows events, through the Batcher of
// batcher.h. Few inserts run at once (event_flushers): concurrent inserts into the same
// index pages slow each other down far more than larger statements cost. Each event is
// validated before it joins a batch; if a merged statement is rejected anyway, its calls
// are replayed one by one, so a bad call fails only itself. Ids follow batch order, so a
// caller's events are durable and have their ids when the call returns, as with the plain
// store. Both can be started without blocking (AsyncCall). Everything else passes through.
// Calls with a request_id are merged too (PgEventStore::RecordCalls): a repeated request
// id writes nothing and does not fail the batch; two calls with the same request id in one
// batch are not merged, the second runs alone after it.

#include <functional>
#include <memory>

#include "core/async_call.h"
#include "core/event_store.h"
#include "server/pg/batched_execution_store.h"  // BatchOptions
#include "server/pg/batcher.h"
#include "server/pg/event_store.h"

namespace flowmonkey::pg {

class BatchedEventStore
    : public EventStore,
      public AsyncCall<v1::RecordEventRequest, v1::RecordEventResponse>,
      public AsyncCall<v1::RecordEventBatchRequest, v1::RecordEventBatchResponse> {
 public:
  explicit BatchedEventStore(PgEventStore& inner, BatchOptions options = {});
  ~BatchedEventStore() override;

  absl::StatusOr<v1::RecordEventResponse> Record(const v1::RecordEventRequest& request) override;
  absl::StatusOr<v1::RecordEventBatchResponse> RecordBatch(
      const v1::RecordEventBatchRequest& request) override;
  bool Start(const v1::RecordEventRequest& request,
             std::function<void(absl::StatusOr<v1::RecordEventResponse>)> done) override;
  bool Start(const v1::RecordEventBatchRequest& request,
             std::function<void(absl::StatusOr<v1::RecordEventBatchResponse>)> done) override;

  absl::StatusOr<v1::QueryEventsResponse> Query(const v1::QueryEventsRequest& request) override {
    return inner_.Query(request);
  }
  absl::StatusOr<v1::GetEventsByExecutionResponse> GetByExecution(
      const v1::GetEventsByExecutionRequest& request) override {
    return inner_.GetByExecution(request);
  }
  absl::StatusOr<v1::DeleteOldEventsResponse> DeleteOld(
      const v1::DeleteOldEventsRequest& request) override {
    return inner_.DeleteOld(request);
  }

 private:
  using RecordBatcher = Batcher<v1::RecordEventRequest, v1::RecordEventResponse>;
  using BatchBatcher = Batcher<v1::RecordEventBatchRequest, v1::RecordEventBatchResponse>;

  void FlushRecords(std::vector<RecordBatcher::Item*>& batch);
  void FlushBatches(std::vector<BatchBatcher::Item*>& batch);

  // Records `calls` in one statement; see the class comment.
  std::vector<absl::StatusOr<v1::RecordEventBatchResponse>> RecordMerged(
      const std::vector<const v1::RecordEventBatchRequest*>& calls);

  PgEventStore& inner_;
  const BatchOptions options_;
  std::unique_ptr<RecordBatcher> records_;
  std::unique_ptr<BatchBatcher> batches_;
};

}  // namespace flowmonkey::pg
