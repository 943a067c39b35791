// PgExecutionStore's bulk methods (bulk.h): many Saves in one upsert, many Gets in one read.

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "server/pg/array_literal.h"
#include "server/pg/execution_codec.h"
#include "server/pg/execution_store.h"

namespace flowmonkey::pg {
namespace {

const std::string kUpsertBatchSql = absl::StrCat(
    "INSERT INTO {fm_}executions AS t (", ExecutionWrite().columns, ") SELECT * FROM unnest(",
    ExecutionWrite().unnest, ") ON CONFLICT (id) DO UPDATE SET ", ExecutionWrite().upsert_set,
    " RETURNING id, version, created_at, updated_at, (xmax = 0) AS inserted");
const Statement kUpsertBatch{"exec_upsert_batch", kUpsertBatchSql};
constexpr Statement kGetBatch{"exec_get_batch", "SELECT " FM_EXECUTION_COLUMNS
                                                " FROM {fm_}executions WHERE id = ANY($1::text[])"};

}  // namespace

void PgExecutionStore::RegisterBulkStatements() { pool_.Register({kUpsertBatch, kGetBatch}); }

absl::StatusOr<ManyResults<v1::SaveExecutionResponse>> PgExecutionStore::SaveMany(
    const Requests<v1::SaveExecutionRequest>& requests) {
  ManyResults<v1::SaveExecutionResponse> results(
      requests.size(), absl::InternalError("batched save returned no row"));
  Requests<v1::SaveExecutionRequest> upserts;  // compare-and-sets run alone
  for (size_t i = 0; i < requests.size(); ++i) {
    if (requests.size() == 1 || requests[i]->has_expected_version()) {
      results[i] = SaveValid(*requests[i]);
    } else {
      upserts.push_back(requests[i]);
    }
  }
  if (upserts.empty()) return results;
  const int64_t now = NowMs();
  const int count = ExecutionWrite().count;
  std::vector<ArrayLiteral> columns(count);
  for (const v1::SaveExecutionRequest* request : upserts) {
    Params row;
    AddExecutionParams(row, request->execution(), now);
    for (int c = 0; c < count; ++c) {
      const char* value = row.values()[c];
      value ? columns[c].Add(std::string_view(value)) : columns[c].AddNull();
    }
  }
  Params params;
  for (auto& column : columns) params.Add(std::move(column).Take());
  absl::Status status = pool_.RunVoid("save executions (batch)", [&](Session& s) {
    pqxx::nontransaction tx(s.connection());
    const pqxx::result rows = s.Exec(tx, kUpsertBatch, params);
    std::unordered_map<std::string, v1::SaveExecutionResponse> saved;
    for (const auto& row : rows) {
      v1::SaveExecutionResponse response;
      response.set_version(row[1].as<int64_t>());
      response.set_created_at(row[2].as<int64_t>());
      response.set_updated_at(row[3].as<int64_t>());
      response.set_created(row[4].as<bool>());
      saved.emplace(row[0].c_str(), std::move(response));
    }
    for (size_t i = 0; i < requests.size(); ++i) {
      if (requests[i]->has_expected_version()) continue;
      auto it = saved.find(requests[i]->execution().id());
      if (it != saved.end()) results[i] = it->second;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return results;
}

absl::StatusOr<ManyResults<v1::GetExecutionResponse>> PgExecutionStore::GetMany(
    const Requests<v1::GetExecutionRequest>& requests) {
  if (requests.size() == 1) return ManyResults<v1::GetExecutionResponse>{GetValid(*requests[0])};
  ArrayLiteral ids;
  for (const auto* request : requests) ids.Add(std::string_view(request->execution_id()));
  Params params;
  params.Add(ids.str());
  ManyResults<v1::GetExecutionResponse> results;
  absl::Status status = pool_.RunVoid("get executions (batch)", [&](Session& s) {
    pqxx::nontransaction tx(s.connection());
    std::unordered_map<std::string, v1::Execution> found;
    for (const auto& row : s.Exec(tx, kGetBatch, params)) {
      v1::Execution e = ExecutionFromRow(row);
      std::string id = e.id();
      found.emplace(std::move(id), std::move(e));
    }
    results.clear();  // a retried attempt starts again
    for (const auto* request : requests) {
      auto it = found.find(request->execution_id());
      if (it == found.end()) {
        results.emplace_back(
            absl::NotFoundError(absl::StrCat("execution ", request->execution_id(), " not found")));
        continue;
      }
      v1::GetExecutionResponse response;
      *response.mutable_execution() = it->second;  // a copy: the same id may be asked twice
      results.emplace_back(std::move(response));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return results;
}

}  // namespace flowmonkey::pg
