#include "server/pg/batched_event_store.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/validation.h"
#include "server/pg/errors.h"

namespace flowmonkey::pg {
namespace {

absl::Status CheckRecord(const v1::RecordEventRequest& request) {
  if (!request.has_event()) return absl::InvalidArgumentError("event: required");
  if (request.has_request_id()) {
    if (auto s = ValidateId(request.request_id(), "request_id"); !s.ok()) return s;
  }
  return ValidateEvent(request.event());
}

absl::Status CheckBatch(const v1::RecordEventBatchRequest& request) {
  if (request.has_request_id()) {
    if (auto s = ValidateId(request.request_id(), "request_id"); !s.ok()) return s;
  }
  if (request.events_size() > kMaxEventBatch) {
    return absl::InvalidArgumentError(absl::StrCat("events: at most ", kMaxEventBatch,
                                                   " per batch (got ", request.events_size(), ")"));
  }
  for (int i = 0; i < request.events_size(); ++i) {
    if (auto s = ValidateEvent(request.events(i), absl::StrCat("events[", i, "]")); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

BatchedEventStore::BatchedEventStore(PgEventStore& inner, BatchOptions options)
    : inner_(inner), options_(std::move(options)) {
  records_ = std::make_unique<RecordBatcher>(
      RecordBatcher::Options{.flushers = options_.event_flushers, .max_weight = options_.max_batch},
      [this](auto& batch) { FlushRecords(batch); });
  batches_ = std::make_unique<BatchBatcher>(
      BatchBatcher::Options{.flushers = options_.event_flushers,
                            .max_weight = options_.max_event_rows,
                            .weight =
                                [](const v1::RecordEventBatchRequest& r) {
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

std::vector<absl::StatusOr<v1::RecordEventBatchResponse>> BatchedEventStore::RecordMerged(
    const std::vector<const v1::RecordEventBatchRequest*>& calls) {
  std::vector<absl::StatusOr<v1::RecordEventBatchResponse>> results(
      calls.size(), absl::InternalError("record events: not run"));
  // A request id repeated inside the batch waits for the first call, then runs alone.
  std::vector<const v1::RecordEventBatchRequest*> merged;
  std::vector<size_t> merged_index, repeated_index;
  absl::flat_hash_set<std::string> seen;
  bool with_request_ids = false;
  for (size_t i = 0; i < calls.size(); ++i) {
    if (calls[i]->has_request_id()) {
      with_request_ids = true;
      if (!seen.insert(calls[i]->request_id()).second) {
        repeated_index.push_back(i);
        continue;
      }
    }
    merged.push_back(calls[i]);
    merged_index.push_back(i);
  }
  absl::Status failure;
  if (!with_request_ids) {
    v1::RecordEventBatchRequest all;
    for (const auto* call : merged) all.mutable_events()->MergeFrom(call->events());
    absl::StatusOr<v1::RecordEventBatchResponse> recorded = inner_.RecordBatch(all);
    if (recorded.ok() && recorded->events_size() == all.events_size()) {
      int next = 0;
      for (size_t k = 0; k < merged.size(); ++k) {
        v1::RecordEventBatchResponse response;
        auto* events = response.mutable_events();
        events->Reserve(merged[k]->events_size());
        for (int i = 0; i < merged[k]->events_size(); ++i) {
          *events->Add() = std::move(*recorded->mutable_events(next++));
        }
        results[merged_index[k]] = std::move(response);
      }
      return results;
    }
    failure = recorded.ok() ? absl::InternalError("record events: row count mismatch")
                            : recorded.status();
  } else {
    absl::StatusOr<PgEventStore::CallResults> recorded = inner_.RecordCalls(merged);
    if (recorded.ok()) {
      for (size_t k = 0; k < merged.size(); ++k)
        results[merged_index[k]] = std::move((*recorded)[k]);
    } else {
      failure = recorded.status();
    }
  }
  if (!failure.ok() && IsBatchWideFailure(failure)) {
    for (auto& result : results) result = failure;
    return results;
  }
  if (!failure.ok()) {  // nothing was written: each call alone, so a bad one fails only itself
    for (size_t i : merged_index) results[i] = inner_.RecordBatch(*calls[i]);
  }
  for (size_t i : repeated_index) results[i] = inner_.RecordBatch(*calls[i]);
  return results;
}

void BatchedEventStore::FlushRecords(std::vector<RecordBatcher::Item*>& batch) {
  if (options_.on_batch) options_.on_batch("record_event", batch.size());
  if (batch.size() == 1) {
    batch[0]->result = inner_.Record(*batch[0]->request);
    return;
  }
  std::vector<v1::RecordEventBatchRequest> singles;
  singles.reserve(batch.size());
  for (const auto* item : batch) singles.push_back(PgEventStore::AsBatch(*item->request));
  std::vector<const v1::RecordEventBatchRequest*> calls;
  for (const auto& single : singles) calls.push_back(&single);
  std::vector<absl::StatusOr<v1::RecordEventBatchResponse>> results = RecordMerged(calls);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i]->result = PgEventStore::AsRecordResponse(std::move(results[i]));
  }
}

void BatchedEventStore::FlushBatches(std::vector<BatchBatcher::Item*>& batch) {
  if (options_.on_batch) options_.on_batch("record_event_batch", batch.size());
  if (batch.size() == 1) {
    batch[0]->result = inner_.RecordBatch(*batch[0]->request);
    return;
  }
  std::vector<const v1::RecordEventBatchRequest*> calls;
  for (const auto* item : batch) calls.push_back(item->request);
  std::vector<absl::StatusOr<v1::RecordEventBatchResponse>> results = RecordMerged(calls);
  for (size_t i = 0; i < batch.size(); ++i) batch[i]->result = std::move(results[i]);
}

}  // namespace flowmonkey::pg
