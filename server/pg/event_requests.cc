// PgEventStore's writes that carry client request ids, and the group-commit statement for
// several RecordBatch calls (event_store.h).

#include <algorithm>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "server/pg/array_literal.h"
#include "server/pg/event_partitions.h"
#include "server/pg/event_sql.h"
#include "server/pg/event_store.h"

namespace flowmonkey::pg {
namespace {

// $1..$5 the events' columns, $6 each event's call: the position of its call's request id
// in $7 (NULL: none), $7 the calls' request ids, $8 now. The events' ids are drawn first,
// so that each request id is written once, with the ids of its events (migration 11): the
// events themselves carry none. A request id already recorded claims nothing, and its
// events are left out: the statement never fails for a repeated request. Rows: one per
// event written (id), and one per request id claimed (request_id). The ids are grouped by
// call in one sort (not one scan of every event per call), and an event names its call by
// a small number, not by its call's 48-byte request id.
constexpr Statement kInsertWithRequests{
    "event_insert_with_requests", FM_EVENT_GATE
    ", u AS MATERIALIZED (SELECT nextval('{fm_}events_id_seq') AS id, u.* FROM gate,"
    " unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::int[])"
    " WITH ORDINALITY AS u(execution_id, event_type, step_id, data, created_at, call, ord))"
    ", calls AS (SELECT r.request_id, r.call FROM unnest($7::text[]) WITH ORDINALITY"
    " AS r(request_id, call))"
    ", claimed AS (INSERT INTO {fm_}request_ids (request_id, created_at, event_ids)"
    " SELECT c.request_id, $8, g.ids FROM calls c JOIN (SELECT u.call,"
    " array_agg(u.id ORDER BY u.ord) AS ids FROM u WHERE u.call IS NOT NULL GROUP BY u.call)"
    " g ON g.call = c.call ON CONFLICT DO NOTHING RETURNING request_id)"
    ", written AS (INSERT INTO {fm_}events (id, execution_id, event_type, step_id, data,"
    " created_at) SELECT u.id, u.execution_id, u.event_type, u.step_id, u.data, u.created_at"
    " FROM u WHERE u.call IS NULL OR u.call IN (SELECT c.call FROM calls c JOIN claimed"
    " USING (request_id)) ORDER BY u.ord RETURNING id)"
    " SELECT id, NULL::text FROM written UNION ALL SELECT NULL, request_id FROM claimed"};
// The events a request recorded the first time: through the ids its request id keeps, or,
// for events written before migration 11, through the request id they carry.
constexpr Statement kByRequest{
    "event_by_request",
    "SELECT e.id, e.execution_id, e.event_type, e.step_id, e.data::text, e.created_at,"
    " r.request_id FROM {fm_}request_ids r CROSS JOIN LATERAL unnest(r.event_ids) AS x(id)"
    " JOIN {fm_}events e ON e.id = x.id WHERE r.request_id = ANY($1::text[])"
    " UNION ALL SELECT " FM_EVENT_COLUMNS
    ", request_id FROM {fm_}events WHERE request_id = ANY($1::text[]) ORDER BY 1"};

// The answer to a call whose request id was recorded before: what was stored then, if it
// was the same request (the same executions and event types, in order).
absl::StatusOr<v1::RecordEventBatchResponse> FirstResult(const v1::RecordEventBatchRequest& call,
                                                         v1::RecordEventBatchResponse stored) {
  if (stored.events_size() == 0) {
    return absl::NotFoundError(absl::StrCat("request_id ", call.request_id(),
                                            ": recorded before, but its events were deleted"));
  }
  bool same = stored.events_size() == call.events_size();
  for (int i = 0; same && i < call.events_size(); ++i) {
    same = stored.events(i).execution_id() == call.events(i).execution_id() &&
           stored.events(i).event_type() == call.events(i).event_type();
  }
  if (!same) {
    return absl::AlreadyExistsError(
        absl::StrCat("request_id ", call.request_id(), ": already used for a different request"));
  }
  return stored;
}

}  // namespace

void PgEventStore::RegisterRequestStatements() {
  pool_.Register({kInsertWithRequests, kByRequest});
}

v1::RecordEventBatchRequest PgEventStore::AsBatch(const v1::RecordEventRequest& request) {
  v1::RecordEventBatchRequest batch;
  *batch.add_events() = request.event();
  if (request.has_request_id()) batch.set_request_id(request.request_id());
  return batch;
}

absl::StatusOr<v1::RecordEventResponse> PgEventStore::AsRecordResponse(
    absl::StatusOr<v1::RecordEventBatchResponse> recorded) {
  if (!recorded.ok()) return recorded.status();
  if (recorded->events_size() != 1) return absl::InternalError("record event: row count mismatch");
  v1::RecordEventResponse response;
  *response.mutable_event() = std::move(*recorded->mutable_events(0));
  return response;
}

absl::StatusOr<PgEventStore::CallResults> PgEventStore::RecordCalls(
    const std::vector<const v1::RecordEventBatchRequest*>& calls) {
  const int64_t now = NowMs();
  std::vector<v1::RecordEventBatchResponse> responses(calls.size());
  EventColumns columns;
  ArrayLiteral event_calls, requests;
  int request_count = 0;
  for (size_t c = 0; c < calls.size(); ++c) {
    const v1::RecordEventBatchRequest& call = *calls[c];
    std::string position;  // of the call's request id in $7, from 1
    if (call.has_request_id()) {
      requests.Add(call.request_id());
      position = absl::StrCat(++request_count);
    }
    for (const v1::Event& in : call.events()) {
      v1::Event& event = *responses[c].add_events() = in;
      if (event.created_at() == 0) event.set_created_at(now);
      columns.Add(event);
      if (call.has_request_id()) {
        event_calls.Add(position);
      } else {
        event_calls.AddNull();
      }
    }
  }
  const std::vector<int64_t> times = columns.times();
  Params params;
  std::move(columns).MoveInto(params);
  params.Add(std::move(event_calls).Take()).Add(std::move(requests).Take()).Add(now);
  return pool_.Run<CallResults>("record events", [&](Session& s) -> absl::StatusOr<CallResults> {
    pqxx::nontransaction tx(s.connection());
    if (auto covered = pool_.event_partitions().Cover(s, tx, times); !covered.ok()) return covered;
    const pqxx::result rows =
        InsertEvents(s, [&] { return s.Exec(tx, kInsertWithRequests, params); });
    std::vector<int64_t> ids;
    absl::flat_hash_set<std::string> claimed;
    for (const auto& row : rows) {
      if (row[0].is_null()) {
        claimed.insert(row[1].c_str());
      } else {
        ids.push_back(row[0].as<int64_t>());
      }
    }
    std::sort(ids.begin(), ids.end());  // drawn in request order
    // Calls whose request id was recorded before wrote nothing: answer with the first.
    ArrayLiteral repeated;
    bool any_repeated = false;
    size_t next = 0;
    for (size_t c = 0; c < calls.size(); ++c) {
      if (calls[c]->has_request_id() && !claimed.contains(calls[c]->request_id())) {
        repeated.Add(calls[c]->request_id());
        any_repeated = true;
        continue;
      }
      for (v1::Event& event : *responses[c].mutable_events()) {
        if (next == ids.size()) return absl::InternalError("record events: row count mismatch");
        event.set_id(ids[next++]);
      }
    }
    if (next != ids.size()) return absl::InternalError("record events: row count mismatch");
    absl::flat_hash_map<std::string, v1::RecordEventBatchResponse> first;
    if (any_repeated) {
      Params lookup;
      lookup.Add(repeated.str());
      for (const auto& row : s.Exec(tx, kByRequest, lookup)) {
        *first[row[6].c_str()].add_events() = EventFromRow(row);
      }
    }
    CallResults results;
    results.reserve(calls.size());
    for (size_t c = 0; c < calls.size(); ++c) {
      if (calls[c]->has_request_id() && !claimed.contains(calls[c]->request_id())) {
        results.push_back(FirstResult(*calls[c], std::move(first[calls[c]->request_id()])));
      } else {
        results.push_back(std::move(responses[c]));
      }
    }
    return results;
  });
}

}  // namespace flowmonkey::pg
