#include "server/pg/event_store.h"

#include <algorithm>
#include <limits>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/validation.h"
#include "server/pg/array_literal.h"
#include "server/pg/event_partitions.h"
#include "server/pg/event_sql.h"
#include "server/pg/operations.h"
#include "server/pg/tenant_filter.h"

namespace flowmonkey::pg {
namespace {

constexpr Statement kInsertEvents{
    "event_insert", FM_EVENT_GATE
    "INSERT INTO {fm_}events (execution_id, event_type, step_id, data, created_at)"
    " SELECT $1, $2, $3, $4::jsonb, $5 FROM gate RETURNING id"};
constexpr Statement kInsertBatch{
    "event_insert_batch", FM_EVENT_GATE
    "INSERT INTO {fm_}events (execution_id, event_type, step_id, data, created_at)"
    " SELECT u.execution_id, u.event_type, u.step_id, u.data, u.created_at"
    " FROM gate, unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[])"
    " WITH ORDINALITY AS u(execution_id, event_type, step_id, data, created_at, ord)"
    " ORDER BY u.ord RETURNING id"};
constexpr Statement kWaitForInserts{"event_wait_for_inserts",
                                    "SELECT pg_advisory_xact_lock(4664, hashtext('{fm_}events'))"};
constexpr Statement kHorizon{"event_horizon", "SELECT COALESCE(max(id), 0) FROM {fm_}events"};
constexpr Statement kQueryAsc{
    "event_query_asc",
    "SELECT " FM_EVENT_COLUMNS
    " FROM {fm_}events WHERE id > $1"
    " AND id <= $2 AND ($3::text[] IS NULL OR event_type = ANY($3::text[]))"
    " AND ($4::bigint IS NULL OR created_at > $4) AND ($5::bigint IS NULL OR created_at < $5)"
    " AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM {fm_}executions e"
    " WHERE e.id = {fm_}events.execution_id AND e.tenant_id = $7))"
    " ORDER BY id LIMIT $6"};
constexpr Statement kQueryDesc{
    "event_query_desc",
    "SELECT " FM_EVENT_COLUMNS
    " FROM {fm_}events WHERE id < $1"
    " AND id <= $2 AND ($3::text[] IS NULL OR event_type = ANY($3::text[]))"
    " AND ($4::bigint IS NULL OR created_at > $4) AND ($5::bigint IS NULL OR created_at < $5)"
    " AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM {fm_}executions e"
    " WHERE e.id = {fm_}events.execution_id AND e.tenant_id = $7))"
    " ORDER BY id DESC LIMIT $6"};
constexpr Statement kQueryExecAsc{
    "event_query_exec_asc",
    "SELECT " FM_EVENT_COLUMNS
    " FROM {fm_}events WHERE execution_id = $7"
    " AND id > $1"
    " AND id <= $2 AND ($3::text[] IS NULL OR event_type = ANY($3::text[]))"
    " AND ($4::bigint IS NULL OR created_at > $4) AND ($5::bigint IS NULL OR created_at < $5)"
    " AND ($8::text IS NULL OR EXISTS (SELECT 1 FROM {fm_}executions e"
    " WHERE e.id = {fm_}events.execution_id AND e.tenant_id = $8))"
    " ORDER BY id LIMIT $6"};
constexpr Statement kQueryExecDesc{
    "event_query_exec_desc",
    "SELECT " FM_EVENT_COLUMNS
    " FROM {fm_}events WHERE execution_id = $7"
    " AND id < $1"
    " AND id <= $2 AND ($3::text[] IS NULL OR event_type = ANY($3::text[]))"
    " AND ($4::bigint IS NULL OR created_at > $4) AND ($5::bigint IS NULL OR created_at < $5)"
    " AND ($8::text IS NULL OR EXISTS (SELECT 1 FROM {fm_}executions e"
    " WHERE e.id = {fm_}events.execution_id AND e.tenant_id = $8))"
    " ORDER BY id DESC LIMIT $6"};
constexpr Statement kDeleteOldEvents{"event_delete_old",
                                     "DELETE FROM {fm_}events WHERE created_at < $1"};

std::optional<std::string_view> StepId(const v1::Event& e) {
  return e.has_step_id() ? std::optional<std::string_view>(e.step_id()) : std::nullopt;
}

}  // namespace

v1::Event EventFromRow(const pqxx::row& row) {
  v1::Event event;
  event.set_id(row[0].as<int64_t>());
  event.set_execution_id(row[1].c_str());
  event.set_event_type(row[2].c_str());
  if (!row[3].is_null()) event.set_step_id(row[3].c_str());
  if (!row[4].is_null()) event.set_data_json(row[4].c_str());
  event.set_created_at(row[5].as<int64_t>());
  return event;
}

PgEventStore::PgEventStore(ConnectionPool& pool) : pool_(pool) {
  pool_.Register({kInsertEvents, kInsertBatch, kWaitForInserts, kHorizon, kQueryAsc, kQueryDesc,
                  kQueryExecAsc, kQueryExecDesc, kDeleteOldEvents});
  RegisterRequestStatements();
}

absl::StatusOr<v1::RecordEventResponse> PgEventStore::Record(
    const v1::RecordEventRequest& request) {
  if (auto s = ValidateRecordEvent(request); !s.ok()) return s;
  return RecordValid(request);
}

absl::StatusOr<v1::RecordEventResponse> PgEventStore::RecordValid(
    const v1::RecordEventRequest& request) {
  if (request.has_request_id()) {
    v1::RecordEventBatchRequest batch = AsBatch(request);
    absl::StatusOr<CallResults> recorded = RecordCalls({&batch});
    if (!recorded.ok()) return recorded.status();
    return AsRecordResponse(std::move(recorded->front()));
  }
  v1::RecordEventResponse response;
  v1::Event& event = *response.mutable_event() = request.event();
  if (event.created_at() == 0) event.set_created_at(NowMs());
  Params params;
  params.Add(event.execution_id()).Add(event.event_type()).Add(StepId(event));
  params.AddOrNull(event.data_json());
  params.Add(event.created_at());
  return pool_.Run<v1::RecordEventResponse>(
      "record event", [&](Session& s) -> absl::StatusOr<v1::RecordEventResponse> {
        pqxx::nontransaction tx(s.connection());
        const int64_t time = event.created_at();
        if (auto covered = pool_.event_partitions().Cover(s, tx, {&time, 1}); !covered.ok()) {
          return covered;
        }
        event.set_id(InsertEvents(s, [&] { return s.Exec(tx, kInsertEvents, params); })
                         .at(0)[0]
                         .as<int64_t>());
        return response;
      });
}

absl::StatusOr<v1::RecordEventBatchResponse> PgEventStore::RecordBatch(
    const v1::RecordEventBatchRequest& request) {
  if (auto s = ValidateRecordEventBatch(request); !s.ok()) return s;
  if (request.events_size() == 0) return v1::RecordEventBatchResponse();
  return RecordBatchValid(request);
}

absl::StatusOr<v1::RecordEventBatchResponse> PgEventStore::RecordBatchValid(
    const v1::RecordEventBatchRequest& request) {
  if (request.has_request_id()) {
    absl::StatusOr<CallResults> recorded = RecordCalls({&request});
    if (!recorded.ok()) return recorded.status();
    return std::move(recorded->front());
  }
  return RunAlone(pool_, "record events", &RecordEventsIn, request);
}

absl::StatusOr<v1::RecordEventBatchResponse> RecordEventsIn(
    Session& s, Tx& tx, const v1::RecordEventBatchRequest& request) {
  v1::RecordEventBatchResponse response;
  const int64_t now = NowMs();
  EventColumns columns;
  for (int i = 0; i < request.events_size(); ++i) {
    v1::Event& event = *response.add_events() = request.events(i);
    if (event.created_at() == 0) event.set_created_at(now);
    columns.Add(event);
  }
  if (auto covered = s.pool().event_partitions().Cover(s, tx, columns.times()); !covered.ok()) {
    return covered;
  }
  Params params;
  std::move(columns).MoveInto(params);
  const pqxx::result rows = InsertEvents(s, [&] { return s.Exec(tx, kInsertBatch, params); });
  std::vector<int64_t> ids;
  for (const auto& row : rows) ids.push_back(row[0].as<int64_t>());
  std::sort(ids.begin(), ids.end());  // drawn in request order
  if (ids.size() != static_cast<size_t>(response.events_size())) {
    return absl::InternalError("record events: row count mismatch");
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    response.mutable_events(static_cast<int>(i))->set_id(ids[i]);
  }
  return response;
}

absl::StatusOr<v1::QueryEventsResponse> PgEventStore::Query(const v1::QueryEventsRequest& request) {
  if (auto s = ValidateQueryEvents(request); !s.ok()) return s;
  if (auto s = ValidateTenantFilter(request); !s.ok()) return s;
  const int32_t limit = *EffectiveLimit(request.limit());
  const bool desc = request.descending();
  const int64_t cursor =
      request.after_id() != 0 || !desc ? request.after_id() : std::numeric_limits<int64_t>::max();
  ArrayLiteral types;
  for (const std::string& type : request.event_types()) types.Add(type);
  const bool by_execution = request.has_execution_id();
  const Statement& statement =
      by_execution ? (desc ? kQueryExecDesc : kQueryExecAsc) : (desc ? kQueryDesc : kQueryAsc);
  return pool_.Run<v1::QueryEventsResponse>(
      "query events", [&](Session& s) -> absl::StatusOr<v1::QueryEventsResponse> {
        int64_t horizon = 0;
        {
          pqxx::work tx(s.connection());
          s.Exec(tx, kWaitForInserts);
          horizon = s.Exec(tx, kHorizon).at(0)[0].as<int64_t>();
          tx.commit();  // releases the gate at once
        }
        Params params;
        params.Add(cursor).Add(horizon);
        if (request.event_types_size() > 0) {
          params.Add(types.str());
        } else {
          params.AddNull();
        }
        params.Add(request.has_after() ? std::optional<int64_t>(request.after()) : std::nullopt);
        params.Add(request.has_before() ? std::optional<int64_t>(request.before()) : std::nullopt);
        params.Add(limit + 1);
        if (by_execution) params.Add(request.execution_id());
        params.Add(TenantFilter(request));
        pqxx::nontransaction tx(s.connection());
        v1::QueryEventsResponse response;
        for (const auto& row : s.Exec(tx, statement, params)) {
          if (response.events_size() == limit) {
            response.set_next_after_id(response.events(limit - 1).id());
            break;
          }
          *response.add_events() = EventFromRow(row);
        }
        return response;
      });
}

absl::StatusOr<v1::GetEventsByExecutionResponse> PgEventStore::GetByExecution(
    const v1::GetEventsByExecutionRequest& request) {
  if (auto s = ValidateId(request.execution_id(), "execution_id"); !s.ok()) return s;
  v1::QueryEventsRequest query;
  query.set_execution_id(request.execution_id());
  query.set_after_id(request.after_id());
  query.set_limit(request.limit());
  absl::StatusOr<v1::QueryEventsResponse> result = Query(query);
  if (!result.ok()) return result.status();
  v1::GetEventsByExecutionResponse response;
  response.mutable_events()->Swap(result->mutable_events());
  response.set_next_after_id(result->next_after_id());
  return response;
}

absl::StatusOr<v1::DeleteOldEventsResponse> PgEventStore::DeleteOld(
    const v1::DeleteOldEventsRequest& request) {
  if (request.before() <= 0) return absl::InvalidArgumentError("before: required, must be > 0");
  // Whole partitions before `before` are dropped (event_partitions.h); the rest row by row.
  // When the table stays too busy to drop one, its rows are deleted instead.
  int64_t dropped = 0;
  if (absl::StatusOr<EventPartitions::Dropped> d =
          pool_.event_partitions().DropBefore(request.before());
      d.ok()) {
    dropped = d->rows;
  } else if (d.status().code() != absl::StatusCode::kFailedPrecondition) {
    return d.status();
  }
  Params params;
  params.Add(request.before());
  return pool_.Run<v1::DeleteOldEventsResponse>(
      "delete old events", [&](Session& s) -> absl::StatusOr<v1::DeleteOldEventsResponse> {
        pqxx::nontransaction tx(s.connection());
        v1::DeleteOldEventsResponse response;
        response.set_deleted_count(dropped + s.Exec(tx, kDeleteOldEvents, params).affected_rows());
        return response;
      });
}

}  // namespace flowmonkey::pg
