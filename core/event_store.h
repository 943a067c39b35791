#pragma once

// EventStore: the audit log of executions (seed: PgEventStore). Implemented by the
// PostgreSQL store (server/pg) and the gRPC client (client/); both pass
// tests/conformance/event_store_test.cc. The proto comments of
// proto/flowmonkey/v1/event.proto are the contract of each method. No method throws.
//
// Status codes: INVALID_ARGUMENT for malformed input (the message names the field),
// UNAVAILABLE when the database cannot be reached, DEADLINE_EXCEEDED.

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "flowmonkey/v1/event.pb.h"

namespace flowmonkey {

inline constexpr int kMaxEventBatch = 10'000;

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Durable once it returns OK; the returned event carries its id and created_at.
  virtual absl::StatusOr<v1::RecordEventResponse> Record(const v1::RecordEventRequest& request) = 0;
  // All or nothing; at most kMaxEventBatch events.
  virtual absl::StatusOr<v1::RecordEventBatchResponse> RecordBatch(
      const v1::RecordEventBatchRequest& request) = 0;
  // Stable cursor on id: paging over a growing table neither skips nor repeats events.
  virtual absl::StatusOr<v1::QueryEventsResponse> Query(const v1::QueryEventsRequest& request) = 0;
  virtual absl::StatusOr<v1::GetEventsByExecutionResponse> GetByExecution(
      const v1::GetEventsByExecutionRequest& request) = 0;
  virtual absl::StatusOr<v1::DeleteOldEventsResponse> DeleteOld(
      const v1::DeleteOldEventsRequest& request) = 0;
};

// An event sent for Record/RecordBatch; `field` prefixes the field names in messages.
absl::Status ValidateEvent(const v1::Event& event, absl::string_view field = "event");
absl::Status ValidateQueryEvents(const v1::QueryEventsRequest& request);

// Whole Record / RecordBatch requests (event required; request_id, batch size, each event).
absl::Status ValidateRecordEvent(const v1::RecordEventRequest& request);
absl::Status ValidateRecordEventBatch(const v1::RecordEventBatchRequest& request);

}  // namespace flowmonkey
