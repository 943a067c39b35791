#pragma once

// EventStore on PostgreSQL (seed: PgEventStore).
//
// Stable cursor: ids come from a sequence, so two concurrent inserts may commit out of id
// order, and a reader paging by id could pass over an id whose transaction has not
// committed yet. Every insert therefore holds a shared transaction-level advisory lock
// (per table prefix) from before it draws its ids until it has committed; a query first
// takes that lock exclusively for an instant, which waits for the inserts in flight, and
// reads max(id) as its horizon. Everything at or below the horizon is committed (or
// rolled back) for good, so a query returns only ids <= horizon and a cursor never
// passes an event that could still appear. Inserts do not wait for each other.

#include <vector>

#include "core/event_store.h"
#include "server/pg/bulk.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

class PgEventStore : public EventStore, public BulkEventStore {
 public:
  // Registers its statements with `pool`, which must outlive the store.
  explicit PgEventStore(ConnectionPool& pool);

  absl::StatusOr<v1::RecordEventResponse> Record(const v1::RecordEventRequest& request) override;
  absl::StatusOr<v1::RecordEventBatchResponse> RecordBatch(
      const v1::RecordEventBatchRequest& request) override;
  absl::StatusOr<v1::QueryEventsResponse> Query(const v1::QueryEventsRequest& request) override;
  absl::StatusOr<v1::GetEventsByExecutionResponse> GetByExecution(
      const v1::GetEventsByExecutionRequest& request) override;
  absl::StatusOr<v1::DeleteOldEventsResponse> DeleteOld(
      const v1::DeleteOldEventsRequest& request) override;

  // Group commit (bulk.h), in event_bulk.cc.
  absl::StatusOr<ManyResults<v1::RecordEventResponse>> RecordMany(
      const Requests<v1::RecordEventRequest>& requests) override;
  absl::StatusOr<ManyResults<v1::RecordEventBatchResponse>> RecordBatchMany(
      const Requests<v1::RecordEventBatchRequest>& calls) override;

 private:
  void RegisterRequestStatements();  // event_requests.cc
  // Record and RecordBatch (non-empty) of a request that passed its Validate*.
  absl::StatusOr<v1::RecordEventResponse> RecordValid(const v1::RecordEventRequest& request);
  absl::StatusOr<v1::RecordEventBatchResponse> RecordBatchValid(
      const v1::RecordEventBatchRequest& request);

  // The events of every call in one statement, in event_requests.cc. A call whose
  // request_id was recorded before (within 24 h) writes nothing and is answered with the
  // events stored the first time (ALREADY_EXISTS when they do not match its executions and
  // event types: the id was used for another request). One result per call, in order; a
  // failed statement fails the whole. The calls must be valid and non-empty, and no
  // request_id may appear twice among them.
  using CallResults = std::vector<absl::StatusOr<v1::RecordEventBatchResponse>>;
  absl::StatusOr<CallResults> RecordCalls(
      const std::vector<const v1::RecordEventBatchRequest*>& calls);

  // A Record call as a batch of one event (with its request id).
  static v1::RecordEventBatchRequest AsBatch(const v1::RecordEventRequest& request);
  // The response of a Record call made as AsBatch.
  static absl::StatusOr<v1::RecordEventResponse> AsRecordResponse(
      absl::StatusOr<v1::RecordEventBatchResponse> recorded);

  ConnectionPool& pool_;
};

}  // namespace flowmonkey::pg
