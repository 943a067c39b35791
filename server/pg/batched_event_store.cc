#include "server/pg/batched_event_store.h"

#include "absl/strings/str_cat.h"
#include "server/pg/errors.h"

namespace flowmonkey::pg {
namespace {

absl::Status CheckRecord(const v1::RecordEventRequest& request) {
  if (!request.has_event()) return absl::InvalidArgumentError("event: required");
  return ValidateEvent(request.event());
}

absl::Status CheckBatch(const v1::RecordEventBatchRequest& request) {
  if (request.events_size() > kMaxEventBatch) {
    return absl::InvalidArgumentError(absl::StrCat("events: at most ", kMaxEventBatch,
                                                   " per batch (got ", request.events_size(),
                                                   ")"));
  }
  for (int i = 0; i < request.events_size(); ++i) {
    if (auto s = ValidateEvent(request.events(i), absl::StrCat("events[", i, "]")); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

BatchedEventStore::BatchedEventStore(EventStore& inner, BatchOptions options)
    : inner_(inner), options_(std::move(options)) {
  records_ = std::make_unique<RecordBatcher>(
      RecordBatcher::Options{.flushers = options_.event_flushers,
                             .max_weight = options_.max_batch},
      [this](auto& batch) { FlushRecords(batch); });
  batches_ = std::make_unique<BatchBatcher>(
      BatchBatcher::Options{
          .flushers = options_.event_flushers,
          .max_weight = options_.max_event_rows,
          .weight = [](const v1::RecordEventBatchRequest& r) {
            return static_cast<size_t>(r.events_size());
          }},
      [this](auto& batch) { FlushBatches(batch); });
}

BatchedEventStore::~BatchedEventStore() = default;

absl::StatusOr<v1::RecordEventResponse> BatchedEventStore::Record(
    const v1::RecordEventRequest& request) {
  if (auto s = CheckRecord(request); !s.ok()) return s;
  return records_->Run(request);
}

bool BatchedEventStore::Start(const v1::RecordEventRequest& request,
                              std::function<void(absl::StatusOr<v1::RecordEventResponse>)> done) {
  if (auto s = CheckRecord(request); !s.ok()) {
    done(s);
    return true;
  }
  records_->Submit(request, std::move(done));
  return true;
}

absl::StatusOr<v1::RecordEventBatchResponse> BatchedEventStore::RecordBatch(
    const v1::RecordEventBatchRequest& request) {
  if (auto s = CheckBatch(request); !s.ok()) return s;
  if (request.events_size() == 0) return v1::RecordEventBatchResponse();
  return batches_->Run(request);
}

bool BatchedEventStore::Start(
    const v1::RecordEventBatchRequest& request,
    std::function<void(absl::StatusOr<v1::RecordEventBatchResponse>)> done) {
  if (auto s = CheckBatch(request); !s.ok()) {
    done(s);
  } else if (request.events_size() == 0) {
    done(v1::RecordEventBatchResponse());
  } else {
    batches_->Submit(request, std::move(done));
  }
  return true;
}

void BatchedEventStore::FlushRecords(std::vector<RecordBatcher::Item*>& batch) {
  if (options_.on_batch) options_.on_batch("record_event", batch.size());
  if (batch.size() > 1) {
    v1::RecordEventBatchRequest request;
    for (const auto* item : batch) *request.add_events() = item->request->event();
    absl::StatusOr<v1::RecordEventBatchResponse> recorded = inner_.RecordBatch(request);
    if (recorded.ok() && recorded->events_size() == static_cast<int>(batch.size())) {
      for (size_t i = 0; i < batch.size(); ++i) {
        v1::RecordEventResponse response;
        *response.mutable_event() = std::move(*recorded->mutable_events(static_cast<int>(i)));
        batch[i]->result = std::move(response);
      }
      return;
    }
    if (!recorded.ok() && IsBatchWideFailure(recorded.status())) {
      for (auto* item : batch) item->result = recorded.status();
      return;
    }
  }
  for (auto* item : batch) item->result = inner_.Record(*item->request);
}

void BatchedEventStore::FlushBatches(std::vector<BatchBatcher::Item*>& batch) {
  if (options_.on_batch) options_.on_batch("record_event_batch", batch.size());
  if (batch.size() > 1) {
    v1::RecordEventBatchRequest merged;
    for (const auto* item : batch) {
      merged.mutable_events()->MergeFrom(item->request->events());
    }
    absl::StatusOr<v1::RecordEventBatchResponse> recorded = inner_.RecordBatch(merged);
    if (recorded.ok() && recorded->events_size() == merged.events_size()) {
      int next = 0;
      for (auto* item : batch) {
        v1::RecordEventBatchResponse response;
        auto* events = response.mutable_events();
        events->Reserve(item->request->events_size());
        for (int i = 0; i < item->request->events_size(); ++i) {
          *events->Add() = std::move(*recorded->mutable_events(next++));
        }
        item->result = std::move(response);
      }
      return;
    }
    if (!recorded.ok() && IsBatchWideFailure(recorded.status())) {
      for (auto* item : batch) item->result = recorded.status();
      return;
    }
  }
  for (auto* item : batch) item->result = inner_.RecordBatch(*item->request);
}

}  // namespace flowmonkey::pg
