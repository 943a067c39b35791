#include "server/pg/execution_store.h"

#include <algorithm>
#include <optional>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/execution_rules.h"
#include "core/validation.h"
#include "server/pg/execution_codec.h"
#include "server/pg/operations.h"
#include "server/pg/paging.h"
#include "server/pg/tenant_filter.h"

namespace flowmonkey::pg {
namespace {

// The write statements, from the column table (execution_codec.h).
const ExecutionWriteSql& kWrite = ExecutionWrite();
const std::string kInsertSql =
    absl::StrCat("INSERT INTO {fm_}executions (", kWrite.columns, ") VALUES (", kWrite.values,
                 ") RETURNING version, created_at, updated_at");
const std::string kInsertIfAbsentSql =
    absl::StrCat("INSERT INTO {fm_}executions (", kWrite.columns, ") VALUES (", kWrite.values,
                 ") ON CONFLICT (id) DO NOTHING RETURNING version, created_at, updated_at");
const std::string kUpsertSql =
    absl::StrCat("INSERT INTO {fm_}executions AS t (", kWrite.columns, ") VALUES (", kWrite.values,
                 ") ON CONFLICT (id) DO UPDATE SET ", kWrite.upsert_set,
                 " RETURNING version, created_at, updated_at, (xmax = 0) AS inserted");
const std::string kUpdateSql =
    absl::StrCat("UPDATE {fm_}executions SET ", kWrite.update_set,
                 " WHERE id = $1 RETURNING version, created_at, updated_at");
// The expected version is the parameter after the columns.
const std::string kUpdateVersionedSql =
    absl::StrCat("UPDATE {fm_}executions SET ", kWrite.update_set, " WHERE id = $1 AND version = $",
                 kWrite.count + 1, "::bigint RETURNING version, created_at, updated_at");

const Statement kInsertExecution{"exec_insert", kInsertSql};
const Statement kInsertIfAbsent{"exec_insert_if_absent", kInsertIfAbsentSql};
const Statement kUpsert{"exec_upsert", kUpsertSql};
const Statement kUpdate{"exec_update", kUpdateSql};
const Statement kUpdateVersioned{"exec_update_versioned", kUpdateVersionedSql};
constexpr Statement kVersionOf{"exec_version_of",
                               "SELECT version FROM {fm_}executions WHERE id = $1"};
constexpr Statement kClaimKey{
    "exec_claim_key",
    "INSERT INTO {fm_}idempotency_keys AS k (flow_id, idempotency_key, execution_id, expires_at)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (flow_id, idempotency_key) DO UPDATE SET"
    " execution_id = EXCLUDED.execution_id, expires_at = EXCLUDED.expires_at"
    " WHERE k.expires_at <= $5 RETURNING execution_id"};
constexpr Statement kGetByKey{"exec_get_by_key",
                              "SELECT " FM_EXECUTION_COLUMNS
                              " FROM {fm_}executions WHERE id = (SELECT execution_id FROM "
                              "{fm_}idempotency_keys WHERE flow_id = $1 AND idempotency_key = $2)"};
constexpr Statement kGetExecution{
    "exec_get", "SELECT " FM_EXECUTION_COLUMNS " FROM {fm_}executions WHERE id = $1"};
constexpr Statement kDeleteExecution{"exec_delete", "DELETE FROM {fm_}executions WHERE id = $1"};
constexpr Statement kExecutionsByStatus{"exec_by_status",
                                        "SELECT " FM_EXECUTION_COLUMNS
                                        " FROM {fm_}executions WHERE status = $1 AND id > $2"
                                        " AND ($3::text IS NULL OR tenant_id = $3)"
                                        " AND ($4::text IS NULL OR flow_id = $4)"
                                        " ORDER BY id LIMIT $5"};
// Index-only over idx_exec_status without filters, over the tenant index with one.
constexpr Statement kCountByStatus{"exec_count_by_status",
                                   "SELECT status, count(*) FROM {fm_}executions"
                                   " WHERE ($1::text IS NULL OR tenant_id = $1)"
                                   " AND ($2::text IS NULL OR flow_id = $2) GROUP BY status"};
constexpr Statement kWakeReady{"exec_wake_ready", "SELECT " FM_EXECUTION_COLUMNS
                                                  " FROM {fm_}executions WHERE status = 'waiting'"
                                                  " AND wake_at IS NOT NULL AND wake_at <= $1"
                                                  " AND ($3::text IS NULL OR tenant_id = $3)"
                                                  " ORDER BY wake_at, id LIMIT $2"};
constexpr Statement kWakeReadyIds{"exec_wake_ready_ids",
                                  "SELECT id FROM {fm_}executions WHERE status = 'waiting'"
                                  " AND wake_at IS NOT NULL AND wake_at <= $1"
                                  " AND ($3::text IS NULL OR tenant_id = $3)"
                                  " ORDER BY wake_at, id LIMIT $2"};
constexpr Statement kByTenant{"exec_by_tenant",
                              "SELECT " FM_EXECUTION_COLUMNS
                              " FROM {fm_}executions WHERE tenant_id = $1 AND id > $2"
                              " AND ($3::text IS NULL OR status = $3) ORDER BY id LIMIT $4"};
constexpr Statement kByIdempotencyKey{
    "exec_by_idempotency_key",
    "SELECT " FM_EXECUTION_COLUMNS
    " FROM {fm_}executions WHERE flow_id = $1"
    " AND idempotency_key = $2 AND COALESCE(idempotency_expires_at, created_at + 86400000) > $3"
    " AND created_at >= $4"
    " AND ($5::text IS NULL OR tenant_id = $5)"
    " ORDER BY created_at DESC, id LIMIT 1"};
constexpr Statement kChildren{"exec_children",
                              "SELECT " FM_EXECUTION_COLUMNS
                              " FROM {fm_}executions WHERE parent_execution_id = $1"
                              " AND id > $2 ORDER BY id LIMIT $3"};
// `(SELECT $1::bigint)` and `(SELECT $2::text)`: the planner cannot use the values to
// estimate rows, so a plan made for each call's values never looks cheaper than the generic
// one, and PostgreSQL keeps the generic plan. With bare parameters, on a large table it
// judged per-value plans cheaper (a NULL tenant drops the filter; the deadline matches every
// active row) and planned every call again: 0.2 ms of planning for a 0.06 ms index scan,
// 1.3x the query's cost at 10k rows (bench/growth_bench.cc). The scan is the same.
constexpr Statement kTimedOutExecutions{
    "exec_timed_out", "SELECT " FM_EXECUTION_COLUMNS
                      " FROM {fm_}executions"
                      " WHERE status IN ('pending', 'running', 'waiting', 'cancelling')"
                      " AND execution_deadline_at <= (SELECT $1::bigint)"
                      " AND ((SELECT $2::text) IS NULL OR tenant_id = (SELECT $2::text))"
                      " ORDER BY execution_deadline_at LIMIT $3"};
constexpr Statement kTimedOutWaits{"exec_timed_out_waits",
                                   "SELECT " FM_EXECUTION_COLUMNS
                                   " FROM {fm_}executions WHERE status = 'waiting'"
                                   " AND wait_started_at IS NOT NULL AND wait_deadline_at <= $1"
                                   " AND ($2::text IS NULL OR tenant_id = $2)"
                                   " ORDER BY wait_deadline_at LIMIT $3"};

// Runs a list query that has no pages (the timed-out queries): at most `limit` rows.
template <typename Response>
absl::StatusOr<Response> FindUpTo(ConnectionPool& pool, std::string_view what,
                                  const Statement& statement, Params params, int32_t limit) {
  params.Add(limit);
  return pool.Run<Response>(what, [&](Session& s) -> absl::StatusOr<Response> {
    pqxx::nontransaction tx(s.connection());
    Response response;
    for (const auto& row : s.Exec(tx, statement, params)) {
      *response.add_executions() = ExecutionFromRow(row);
    }
    return response;
  });
}

// A page of a list ordered by id (paging.h).
template <typename Response>
absl::StatusOr<Response> FindPage(ConnectionPool& pool, std::string_view what,
                                  const Statement& statement, Params params, int32_t limit) {
  return FetchPage<Response, v1::Execution>(pool, what, statement, std::move(params), limit,
                                            &Response::mutable_executions, ExecutionFromRow,
                                            [](const v1::Execution& e) { return PageKey{e.id()}; });
}

// The id after which the page of `page_token` starts ("" for the first page).
absl::StatusOr<std::string> AfterId(const std::string& page_token) {
  absl::StatusOr<std::optional<PageKey>> key = DecodePageToken(page_token, 1);
  if (!key.ok()) return key.status();
  return *key ? (**key)[0] : std::string();
}

int64_t NowOr(int64_t now) { return now != 0 ? now : NowMs(); }

// A request's optional flow_id filter: checked when set, and as a query parameter.
template <typename Request>
absl::Status ValidateFlowFilter(const Request& request) {
  return request.has_flow_id() ? ValidateId(request.flow_id(), "flow_id") : absl::OkStatus();
}
template <typename Request>
std::optional<std::string> FlowFilter(const Request& request) {
  if (!request.has_flow_id()) return std::nullopt;
  return request.flow_id();
}

}  // namespace

PgExecutionStore::PgExecutionStore(ConnectionPool& pool) : pool_(pool) {
  pool_.Register({kInsertExecution, kInsertIfAbsent, kUpsert, kUpdate, kUpdateVersioned, kVersionOf,
                  kClaimKey, kGetByKey, kGetExecution, kDeleteExecution, kExecutionsByStatus,
                  kCountByStatus, kWakeReady, kWakeReadyIds, kByTenant, kByIdempotencyKey,
                  kChildren, kTimedOutExecutions, kTimedOutWaits});
  RegisterBulkStatements();
  RegisterWakeupStatements();
}

namespace {

// The execution Create writes: its timestamps and its idempotency key's expiry filled in.
v1::Execution ToCreate(const v1::CreateExecutionRequest& request, int64_t now) {
  v1::Execution execution = request.execution();
  if (execution.created_at() == 0) execution.set_created_at(now);
  if (execution.updated_at() == 0) execution.set_updated_at(now);
  if (execution.has_idempotency_key() && !execution.has_idempotency_expires_at()) {
    execution.set_idempotency_expires_at(
        SaturatingAdd(execution.created_at(), request.has_idempotency_window_ms()
                                                  ? request.idempotency_window_ms()
                                                  : kDefaultIdempotencyWindowMs));
  }
  return execution;
}

struct SavedVersion {
  int64_t version = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  bool created = false;
};

template <typename Request>
std::optional<int64_t> ExpectedVersion(const Request& request) {
  return request.has_expected_version() ? std::optional(request.expected_version()) : std::nullopt;
}

// Writes a validated execution: Save (upsert) or Update (must_exist).
absl::StatusOr<SavedVersion> WriteIn(Session& s, Tx& tx, const v1::Execution& execution,
                                     std::optional<int64_t> expected_version, bool must_exist) {
  Params params;
  AddExecutionParams(params, execution, NowMs());
  const bool insert_only = expected_version && *expected_version == 0;
  const Statement& statement = insert_only        ? kInsertIfAbsent
                               : expected_version ? kUpdateVersioned
                               : must_exist       ? kUpdate
                                                  : kUpsert;
  if (expected_version && !insert_only) params.Add(*expected_version);
  const pqxx::result rows = s.Exec(tx, statement, params);
  if (!rows.empty()) {
    SavedVersion written{rows[0][0].as<int64_t>(), rows[0][1].as<int64_t>(),
                         rows[0][2].as<int64_t>(), insert_only};
    if (&statement == &kUpsert) written.created = rows[0][3].as<bool>();
    return written;
  }
  // Nothing written: tell a missing row from a version conflict.
  Params id;
  id.Add(execution.id());
  const pqxx::result current = s.Exec(tx, kVersionOf, id);
  if (current.empty() && !insert_only) {
    return absl::NotFoundError(absl::StrCat("execution ", execution.id(), " not found"));
  }
  const int64_t stored = current.empty() ? 0 : current[0][0].as<int64_t>();
  return absl::AbortedError(absl::StrCat("execution ", execution.id(), ": expected version ",
                                         expected_version.value_or(0), ", stored version ",
                                         stored));
}

}  // namespace

absl::StatusOr<v1::CreateExecutionResponse> CreateExecutionIn(
    Session& s, Tx& tx, const v1::CreateExecutionRequest& request) {
  const int64_t now = NowMs();
  const v1::Execution execution = ToCreate(request, now);
  v1::CreateExecutionResponse response;
  if (execution.has_idempotency_key()) {
    Params claim;
    claim.Add(execution.flow_id()).Add(execution.idempotency_key()).Add(execution.id());
    claim.Add(execution.idempotency_expires_at()).Add(now);
    if (s.Exec(tx, kClaimKey, claim).empty()) {
      // The key is live: answer with its execution.
      Params lookup;
      lookup.Add(execution.flow_id()).Add(execution.idempotency_key());
      const pqxx::result rows = s.Exec(tx, kGetByKey, lookup);
      if (rows.empty()) return absl::AbortedError("idempotency key released concurrently");
      *response.mutable_execution() = ExecutionFromRow(rows[0]);
      response.set_created(false);
      return response;
    }
  }
  Params insert;
  AddExecutionParams(insert, execution, now);
  const pqxx::row row = s.Exec(tx, kInsertExecution, insert).at(0);
  *response.mutable_execution() = execution;
  response.mutable_execution()->set_version(row[0].as<int64_t>());
  response.set_created(true);
  return response;
}

absl::StatusOr<v1::SaveExecutionResponse> SaveExecutionIn(Session& s, Tx& tx,
                                                          const v1::SaveExecutionRequest& request) {
  absl::StatusOr<SavedVersion> written =
      WriteIn(s, tx, request.execution(), ExpectedVersion(request), /*must_exist=*/false);
  if (!written.ok()) return written.status();
  v1::SaveExecutionResponse response;
  response.set_version(written->version);
  response.set_created(written->created);
  response.set_created_at(written->created_at);
  response.set_updated_at(written->updated_at);
  return response;
}

absl::StatusOr<v1::UpdateExecutionResponse> UpdateExecutionIn(
    Session& s, Tx& tx, const v1::UpdateExecutionRequest& request) {
  absl::StatusOr<SavedVersion> written =
      WriteIn(s, tx, request.execution(), ExpectedVersion(request), /*must_exist=*/true);
  if (!written.ok()) return written.status();
  v1::UpdateExecutionResponse response;
  response.set_version(written->version);
  response.set_updated_at(written->updated_at);
  return response;
}

absl::StatusOr<v1::DeleteExecutionResponse> DeleteExecutionIn(
    Session& s, Tx& tx, const v1::DeleteExecutionRequest& request) {
  Params params;
  params.Add(request.execution_id());
  v1::DeleteExecutionResponse response;
  response.set_deleted(s.Exec(tx, kDeleteExecution, params).affected_rows() > 0);
  return response;
}

absl::StatusOr<v1::CreateExecutionResponse> PgExecutionStore::Create(
    const v1::CreateExecutionRequest& request) {
  if (auto s = ValidateCreateExecution(request); !s.ok()) return s;
  if (!request.execution().has_idempotency_key()) {
    return RunAlone(pool_, "create execution", &CreateExecutionIn, request);
  }
  // With a key: the claim and the insert in one transaction. A key can be released (its
  // execution deleted) between a failed claim and the lookup; then the claim is tried again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<v1::CreateExecutionResponse> result = pool_.Run<v1::CreateExecutionResponse>(
        "create execution", [&](Session& s) -> absl::StatusOr<v1::CreateExecutionResponse> {
          pqxx::work tx(s.connection());
          absl::StatusOr<v1::CreateExecutionResponse> created = CreateExecutionIn(s, tx, request);
          if (created.ok()) tx.commit();
          return created;
        });
    if (result.status().code() != absl::StatusCode::kAborted) return result;
  }
  return absl::AbortedError("create execution: idempotency key contended, retry");
}

absl::StatusOr<v1::GetExecutionResponse> PgExecutionStore::Get(
    const v1::GetExecutionRequest& request) {
  if (auto s = ValidateGetExecution(request); !s.ok()) return s;
  return GetValid(request);
}

absl::StatusOr<v1::GetExecutionResponse> PgExecutionStore::GetValid(
    const v1::GetExecutionRequest& request) {
  Params params;
  params.Add(request.execution_id());
  return pool_.Run<v1::GetExecutionResponse>(
      "get execution", [&](Session& s) -> absl::StatusOr<v1::GetExecutionResponse> {
        pqxx::nontransaction tx(s.connection());
        const pqxx::result rows = s.Exec(tx, kGetExecution, params);
        if (rows.empty()) {
          return absl::NotFoundError(
              absl::StrCat("execution ", request.execution_id(), " not found"));
        }
        v1::GetExecutionResponse response;
        *response.mutable_execution() = ExecutionFromRow(rows[0]);
        return response;
      });
}

absl::StatusOr<v1::SaveExecutionResponse> PgExecutionStore::Save(
    const v1::SaveExecutionRequest& request) {
  if (auto s = ValidateSaveExecution(request); !s.ok()) return s;
  return SaveValid(request);
}

absl::StatusOr<v1::SaveExecutionResponse> PgExecutionStore::SaveValid(
    const v1::SaveExecutionRequest& request) {
  return RunAlone(pool_, "save execution", &SaveExecutionIn, request);
}

absl::StatusOr<v1::UpdateExecutionResponse> PgExecutionStore::Update(
    const v1::UpdateExecutionRequest& request) {
  if (auto s = ValidateUpdateExecution(request); !s.ok()) return s;
  return RunAlone(pool_, "update execution", &UpdateExecutionIn, request);
}

absl::StatusOr<v1::DeleteExecutionResponse> PgExecutionStore::Delete(
    const v1::DeleteExecutionRequest& request) {
  if (auto s = ValidateDeleteExecution(request); !s.ok()) return s;
  return RunAlone(pool_, "delete execution", &DeleteExecutionIn, request);
}

absl::StatusOr<v1::FindByStatusResponse> PgExecutionStore::FindByStatus(
    const v1::FindByStatusRequest& request) {
  if (auto s = ValidateTenantFilter(request); !s.ok()) return s;
  if (auto s = ValidateExecutionStatus(request.status(), "status"); !s.ok()) return s;
  absl::StatusOr<std::string> after = AfterId(request.page_token());
  if (!after.ok()) return after.status();
  absl::StatusOr<int32_t> limit = EffectiveLimit(request.limit());
  if (!limit.ok()) return limit.status();
  if (auto s = ValidateFlowFilter(request); !s.ok()) return s;
  Params params;
  params.Add(*ExecutionStatusName(request.status())).Add(*after);
  params.Add(TenantFilter(request)).Add(FlowFilter(request));
  return FindPage<v1::FindByStatusResponse>(pool_, "find executions by status", kExecutionsByStatus,
                                            std::move(params), *limit);
}

absl::StatusOr<v1::CountByStatusResponse> PgExecutionStore::CountByStatus(
    const v1::CountByStatusRequest& request) {
  if (auto s = ValidateTenantFilter(request); !s.ok()) return s;
  if (auto s = ValidateFlowFilter(request); !s.ok()) return s;
  Params params;
  params.Add(TenantFilter(request)).Add(FlowFilter(request));
  return pool_.Run<v1::CountByStatusResponse>(
      "count executions by status", [&](Session& s) -> absl::StatusOr<v1::CountByStatusResponse> {
        pqxx::nontransaction tx(s.connection());
        std::vector<v1::StatusCount> counts;
        for (const auto& row : s.Exec(tx, kCountByStatus, params)) {
          v1::StatusCount count;
          count.set_status(ExecutionStatusFromName(row[0].c_str()));
          count.set_count(row[1].as<int64_t>());
          counts.push_back(std::move(count));
        }
        std::sort(counts.begin(), counts.end(),
                  [](const auto& a, const auto& b) { return a.status() < b.status(); });
        v1::CountByStatusResponse response;
        for (v1::StatusCount& count : counts) *response.add_counts() = std::move(count);
        return response;
      });
}

absl::StatusOr<v1::ListWakeReadyResponse> PgExecutionStore::ListWakeReady(
    const v1::ListWakeReadyRequest& request) {
  if (auto s = ValidateTenantFilter(request); !s.ok()) return s;
  if (auto s = ValidateNonNegative(request.now(), "now"); !s.ok()) return s;
  absl::StatusOr<int32_t> limit = EffectiveLimit(request.limit());
  if (!limit.ok()) return limit.status();
  Params params;
  params.Add(NowOr(request.now())).Add(*limit).Add(TenantFilter(request));
  return pool_.Run<v1::ListWakeReadyResponse>(
      "list wake-ready executions", [&](Session& s) -> absl::StatusOr<v1::ListWakeReadyResponse> {
        pqxx::nontransaction tx(s.connection());
        v1::ListWakeReadyResponse response;
        for (const auto& row :
             s.Exec(tx, request.ids_only() ? kWakeReadyIds : kWakeReady, params)) {
          if (request.ids_only()) {
            response.add_execution_ids(row[0].c_str());
          } else {
            *response.add_executions() = ExecutionFromRow(row);
            response.add_execution_ids(row[0].c_str());
          }
        }
        return response;
      });
}

absl::StatusOr<v1::FindByTenantResponse> PgExecutionStore::FindByTenant(
    const v1::FindByTenantRequest& request) {
  if (auto s = ValidateId(request.tenant_id(), "tenant_id"); !s.ok()) return s;
  if (request.status() != v1::EXECUTION_STATUS_UNSPECIFIED) {
    if (auto s = ValidateExecutionStatus(request.status(), "status"); !s.ok()) return s;
  }
  absl::StatusOr<std::string> after = AfterId(request.page_token());
  if (!after.ok()) return after.status();
  absl::StatusOr<int32_t> limit = EffectiveLimit(request.limit());
  if (!limit.ok()) return limit.status();
  Params params;
  params.Add(request.tenant_id()).Add(*after);
  if (auto name = ExecutionStatusName(request.status())) {
    params.Add(*name);
  } else {
    params.AddNull();
  }
  return FindPage<v1::FindByTenantResponse>(pool_, "find executions by tenant", kByTenant,
                                            std::move(params), *limit);
}

absl::StatusOr<v1::FindByIdempotencyKeyResponse> PgExecutionStore::FindByIdempotencyKey(
    const v1::FindByIdempotencyKeyRequest& request) {
  if (auto s = ValidateTenantFilter(request); !s.ok()) return s;
  if (auto s = ValidateId(request.flow_id(), "flow_id"); !s.ok()) return s;
  if (auto s = ValidateId(request.idempotency_key(), "idempotency_key"); !s.ok()) return s;
  if (auto s = ValidateNonNegative(request.window_ms(), "window_ms"); !s.ok()) return s;
  const int64_t now = NowMs();
  Params params;
  params.Add(request.flow_id()).Add(request.idempotency_key()).Add(now);
  params.Add(request.window_ms() > 0 ? now - request.window_ms() : int64_t{0});
  params.Add(TenantFilter(request));
  return pool_.Run<v1::FindByIdempotencyKeyResponse>(
      "find execution by idempotency key",
      [&](Session& s) -> absl::StatusOr<v1::FindByIdempotencyKeyResponse> {
        pqxx::nontransaction tx(s.connection());
        const pqxx::result rows = s.Exec(tx, kByIdempotencyKey, params);
        v1::FindByIdempotencyKeyResponse response;
        if (!rows.empty()) {
          response.set_found(true);
          *response.mutable_execution() = ExecutionFromRow(rows[0]);
        }
        return response;
      });
}

absl::StatusOr<v1::FindChildrenResponse> PgExecutionStore::FindChildren(
    const v1::FindChildrenRequest& request) {
  if (auto s = ValidateId(request.parent_execution_id(), "parent_execution_id"); !s.ok()) return s;
  absl::StatusOr<std::string> after = AfterId(request.page_token());
  if (!after.ok()) return after.status();
  absl::StatusOr<int32_t> limit = EffectiveLimit(request.limit());
  if (!limit.ok()) return limit.status();
  Params params;
  params.Add(request.parent_execution_id()).Add(*after);
  return FindPage<v1::FindChildrenResponse>(pool_, "find child executions", kChildren,
                                            std::move(params), *limit);
}

absl::StatusOr<v1::FindTimedOutExecutionsResponse> PgExecutionStore::FindTimedOutExecutions(
    const v1::FindTimedOutExecutionsRequest& request) {
  if (auto s = ValidateTenantFilter(request); !s.ok()) return s;
  if (auto s = ValidateNonNegative(request.now(), "now"); !s.ok()) return s;
  absl::StatusOr<int32_t> limit = EffectiveLimit(request.limit());
  if (!limit.ok()) return limit.status();
  Params params;
  params.Add(NowOr(request.now())).Add(TenantFilter(request));
  return FindUpTo<v1::FindTimedOutExecutionsResponse>(
      pool_, "find timed-out executions", kTimedOutExecutions, std::move(params), *limit);
}

absl::StatusOr<v1::FindTimedOutWaitsResponse> PgExecutionStore::FindTimedOutWaits(
    const v1::FindTimedOutWaitsRequest& request) {
  if (auto s = ValidateTenantFilter(request); !s.ok()) return s;
  if (auto s = ValidateNonNegative(request.now(), "now"); !s.ok()) return s;
  absl::StatusOr<int32_t> limit = EffectiveLimit(request.limit());
  if (!limit.ok()) return limit.status();
  Params params;
  params.Add(NowOr(request.now())).Add(TenantFilter(request));
  return FindUpTo<v1::FindTimedOutWaitsResponse>(pool_, "find timed-out waits", kTimedOutWaits,
                                                 std::move(params), *limit);
}

}  // namespace flowmonkey::pg
