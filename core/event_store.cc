#include "core/event_store.h"

#include "absl/strings/str_cat.h"
#include "core/validation.h"

namespace flowmonkey {

namespace {

// An event's fields under their bare names ("execution_id: required"). The caller's prefix
// is added only to a failure's message: a batch of 100 valid events builds no field names.
absl::Status CheckEvent(const v1::Event& event) {
  if (auto s = ValidateId(event.execution_id(), "execution_id"); !s.ok()) return s;
  if (auto s = ValidateId(event.event_type(), "event_type"); !s.ok()) return s;
  if (event.has_step_id()) {
    if (auto s = ValidateId(event.step_id(), "step_id"); !s.ok()) return s;
  }
  if (auto s = ValidateJson(event.data_json(), "data_json", JsonKind::kAny); !s.ok()) return s;
  return ValidateTimestamp(event.created_at(), "created_at");
}

// `status` (not OK) with "<prefix>." before its message, which starts with a field name.
absl::Status Within(absl::string_view prefix, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(prefix, ".", status.message()));
}

}  // namespace

absl::Status ValidateEvent(const v1::Event& event, absl::string_view field) {
  absl::Status status = CheckEvent(event);
  return status.ok() ? status : Within(field, status);
}

absl::Status ValidateQueryEvents(const v1::QueryEventsRequest& request) {
  if (request.has_execution_id()) {
    if (auto s = ValidateId(request.execution_id(), "execution_id"); !s.ok()) return s;
  }
  if (request.event_types_size() > 100) {
    return absl::InvalidArgumentError("event_types: at most 100 types");
  }
  for (const std::string& type : request.event_types()) {
    if (auto s = ValidateId(type, "event_types"); !s.ok()) return s;
  }
  if (request.has_after()) {
    if (auto s = ValidateNonNegative(request.after(), "after"); !s.ok()) return s;
  }
  if (request.has_before()) {
    if (auto s = ValidateNonNegative(request.before(), "before"); !s.ok()) return s;
  }
  if (auto s = ValidateNonNegative(request.after_id(), "after_id"); !s.ok()) return s;
  return EffectiveLimit(request.limit()).status();
}

absl::Status ValidateRecordEvent(const v1::RecordEventRequest& request) {
  if (!request.has_event()) return absl::InvalidArgumentError("event: required");
  if (request.has_request_id()) {
    if (auto s = ValidateId(request.request_id(), "request_id"); !s.ok()) return s;
  }
  return ValidateEvent(request.event());
}

absl::Status ValidateRecordEventBatch(const v1::RecordEventBatchRequest& request) {
  if (request.has_request_id()) {
    if (auto s = ValidateId(request.request_id(), "request_id"); !s.ok()) return s;
  }
  if (request.events_size() > kMaxEventBatch) {
    return absl::InvalidArgumentError(absl::StrCat("events: at most ", kMaxEventBatch,
                                                   " per batch (got ", request.events_size(), ")"));
  }
  for (int i = 0; i < request.events_size(); ++i) {
    if (auto s = CheckEvent(request.events(i)); !s.ok()) {
      return Within(absl::StrCat("events[", i, "]"), s);
    }
  }
  return absl::OkStatus();
}

}  // namespace flowmonkey
