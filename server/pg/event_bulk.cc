// PgEventStore's bulk methods (bulk.h): concurrent Record and RecordBatch calls merged into
// one insert.

#include "absl/container/flat_hash_set.h"
#include "server/pg/event_store.h"

namespace flowmonkey::pg {

absl::StatusOr<ManyResults<v1::RecordEventResponse>> PgEventStore::RecordMany(
    const Requests<v1::RecordEventRequest>& requests) {
  if (requests.size() == 1) return ManyResults<v1::RecordEventResponse>{RecordValid(*requests[0])};
  std::vector<v1::RecordEventBatchRequest> singles;
  singles.reserve(requests.size());
  for (const auto* request : requests) singles.push_back(AsBatch(*request));
  Requests<v1::RecordEventBatchRequest> calls;
  for (const auto& single : singles) calls.push_back(&single);
  absl::StatusOr<ManyResults<v1::RecordEventBatchResponse>> recorded = RecordBatchMany(calls);
  if (!recorded.ok()) return recorded.status();
  ManyResults<v1::RecordEventResponse> results;
  results.reserve(recorded->size());
  for (auto& one : *recorded) results.push_back(AsRecordResponse(std::move(one)));
  return results;
}

absl::StatusOr<ManyResults<v1::RecordEventBatchResponse>> PgEventStore::RecordBatchMany(
    const Requests<v1::RecordEventBatchRequest>& calls) {
  if (calls.size() == 1)
    return ManyResults<v1::RecordEventBatchResponse>{RecordBatchValid(*calls[0])};
  ManyResults<v1::RecordEventBatchResponse> results(calls.size(),
                                                    absl::InternalError("record events: not run"));
  // A request id repeated among the calls waits for the first call, then runs alone.
  Requests<v1::RecordEventBatchRequest> merged;
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
  if (!with_request_ids) {
    v1::RecordEventBatchRequest all;
    for (const auto* call : merged) all.mutable_events()->MergeFrom(call->events());
    absl::StatusOr<v1::RecordEventBatchResponse> recorded = RecordBatchValid(all);
    if (!recorded.ok()) return recorded.status();
    if (recorded->events_size() != all.events_size()) {
      return absl::InternalError("record events: row count mismatch");
    }
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
  } else {
    absl::StatusOr<CallResults> recorded = RecordCalls(merged);
    if (!recorded.ok()) return recorded.status();
    for (size_t k = 0; k < merged.size(); ++k) {
      results[merged_index[k]] = std::move((*recorded)[k]);
    }
  }
  for (size_t i : repeated_index) results[i] = RecordBatchValid(*calls[i]);
  return results;
}

}  // namespace flowmonkey::pg
