#pragma once

// Group commit for EventStore.Record: concurrent single-event records become one multi-row
// insert (the RecordBatch statement) through the Batcher of batcher.h. Each event is
// validated before it joins a batch; if the batch statement is rejected anyway, its events
// are recorded one by one, so a bad event fails only itself. Ids follow batch order, so a
// caller's event is durable and has its id when Record returns, as with the plain store.
// Everything else passes through to the wrapped store.

#include <functional>
#include <memory>

#include "core/event_store.h"
#include "server/pg/batched_execution_store.h"  // BatchOptions
#include "server/pg/batcher.h"

namespace flowmonkey::pg {

class BatchedEventStore : public EventStore {
 public:
  explicit BatchedEventStore(EventStore& inner, BatchOptions options = {});
  ~BatchedEventStore() override;

  absl::StatusOr<v1::RecordEventResponse> Record(const v1::RecordEventRequest& request) override;

  absl::StatusOr<v1::RecordEventBatchResponse> RecordBatch(
      const v1::RecordEventBatchRequest& request) override {
    return inner_.RecordBatch(request);
  }
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
  struct RecordItem {
    const v1::RecordEventRequest* request;
    absl::StatusOr<v1::RecordEventResponse> result;
  };

  void Flush(std::vector<RecordItem*>& batch);

  EventStore& inner_;
  const BatchOptions options_;
  std::unique_ptr<Batcher<RecordItem>> records_;
};

}  // namespace flowmonkey::pg
