#include "server/pg/batched_event_store.h"

namespace flowmonkey::pg {

BatchedEventStore::BatchedEventStore(EventStore& inner, BatchOptions options)
    : inner_(inner), options_(std::move(options)) {
  records_ = std::make_unique<Batcher<RecordItem>>(
      options_.flushers, options_.max_batch, [this](auto& batch) { Flush(batch); });
}

BatchedEventStore::~BatchedEventStore() = default;

absl::StatusOr<v1::RecordEventResponse> BatchedEventStore::Record(
    const v1::RecordEventRequest& request) {
  if (!request.has_event()) return absl::InvalidArgumentError("event: required");
  if (auto s = ValidateEvent(request.event()); !s.ok()) return s;
  RecordItem item{&request, absl::UnknownError("not flushed")};
  records_->Run(item);
  return std::move(item.result);
}

void BatchedEventStore::Flush(std::vector<RecordItem*>& batch) {
  if (options_.on_batch) options_.on_batch("record_event", batch.size());
  if (batch.size() > 1) {
    v1::RecordEventBatchRequest request;
    for (const RecordItem* item : batch) *request.add_events() = item->request->event();
    absl::StatusOr<v1::RecordEventBatchResponse> recorded = inner_.RecordBatch(request);
    if (recorded.ok() && recorded->events_size() == static_cast<int>(batch.size())) {
      for (size_t i = 0; i < batch.size(); ++i) {
        v1::RecordEventResponse response;
        *response.mutable_event() = std::move(*recorded->mutable_events(static_cast<int>(i)));
        batch[i]->result = std::move(response);
      }
      return;
    }
    // Database down, or the outcome unknown (connection lost in COMMIT): every item shares
    // the outcome, and a replay could record events twice. Otherwise one item may be to
    // blame: record each alone.
    const absl::StatusCode code = recorded.status().code();
    if (code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kUnknown) {
      for (RecordItem* item : batch) item->result = recorded.status();
      return;
    }
  }
  for (RecordItem* item : batch) item->result = inner_.Record(*item->request);
}

}  // namespace flowmonkey::pg
