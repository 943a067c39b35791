#include "server/pg/batched_execution_store.h"

#include <pqxx/nontransaction>
#include <pqxx/result>

#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/execution_rules.h"
#include "core/validation.h"
#include "server/pg/array_literal.h"
#include "server/pg/execution_codec.h"

namespace flowmonkey::pg {
namespace {

constexpr int kWriteColumns = 22;

constexpr Statement kUpsertBatch{
    "exec_upsert_batch",
    "INSERT INTO fm_executions AS t (" FM_EXECUTION_WRITE_COLUMNS ") SELECT * FROM unnest("
    "$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::bigint[], "
    "$8::text[], $9::jsonb[], $10::int[], $11::jsonb[], $12::text[], $13::jsonb[], "
    "$14::bigint[], $15::bigint[], $16::text[], $17::bigint[], $18::jsonb[], $19::text[], "
    "$20::bigint[], $21::jsonb[], $22::jsonb[])"
    " ON CONFLICT (id) DO UPDATE SET " FM_EXECUTION_UPSERT_SET
    " RETURNING id, version, created_at, updated_at, (xmax = 0) AS inserted"};
constexpr Statement kGetBatch{
    "exec_get_batch",
    "SELECT " FM_EXECUTION_COLUMNS " FROM fm_executions WHERE id = ANY($1::text[])"};

}  // namespace

BatchedExecutionStore::BatchedExecutionStore(ConnectionPool& pool, ExecutionStore& inner,
                                             BatchOptions options)
    : pool_(pool), inner_(inner), options_(options) {
  pool_.Register({kUpsertBatch, kGetBatch});
  saves_ = std::make_unique<SaveBatcher>(
      SaveBatcher::Options{
          .flushers = options.flushers,
          .max_weight = options.max_batch,
          .key = [](const v1::SaveExecutionRequest& r) { return r.execution().id(); }},
      [this](auto& batch) { FlushSaves(batch); });
  gets_ = std::make_unique<GetBatcher>(
      GetBatcher::Options{.flushers = options.flushers, .max_weight = options.max_batch * 2},
      [this](auto& batch) { FlushGets(batch); });
}

BatchedExecutionStore::~BatchedExecutionStore() = default;

namespace {

absl::Status CheckSave(const v1::SaveExecutionRequest& request) {
  if (!request.has_execution()) return absl::InvalidArgumentError("execution: required");
  return ValidateExecution(request.execution());
}

}  // namespace

absl::StatusOr<v1::SaveExecutionResponse> BatchedExecutionStore::Save(
    const v1::SaveExecutionRequest& request) {
  if (request.has_expected_version()) return inner_.Save(request);  // compare-and-set: alone
  if (auto s = CheckSave(request); !s.ok()) return s;
  return saves_->Run(request);
}

bool BatchedExecutionStore::Start(
    const v1::SaveExecutionRequest& request,
    std::function<void(absl::StatusOr<v1::SaveExecutionResponse>)> done) {
  if (request.has_expected_version()) return false;
  if (auto s = CheckSave(request); !s.ok()) {
    done(s);
    return true;
  }
  saves_->Submit(request, std::move(done));
  return true;
}

absl::StatusOr<v1::GetExecutionResponse> BatchedExecutionStore::Get(
    const v1::GetExecutionRequest& request) {
  if (auto s = ValidateId(request.execution_id(), "execution_id"); !s.ok()) return s;
  return gets_->Run(request);
}

bool BatchedExecutionStore::Start(
    const v1::GetExecutionRequest& request,
    std::function<void(absl::StatusOr<v1::GetExecutionResponse>)> done) {
  if (auto s = ValidateId(request.execution_id(), "execution_id"); !s.ok()) {
    done(s);
    return true;
  }
  gets_->Submit(request, std::move(done));
  return true;
}

void BatchedExecutionStore::FlushSaves(std::vector<SaveItem*>& batch) {
  if (options_.on_batch) options_.on_batch("save", batch.size());
  if (batch.size() == 1) {  // nothing to coalesce: the plain statement is cheaper
    batch[0]->result = inner_.Save(*batch[0]->request);
    return;
  }
  const int64_t now = NowMs();
  std::vector<ArrayLiteral> columns(kWriteColumns);
  for (const SaveItem* item : batch) {
    Params row;
    AddExecutionParams(row, item->request->execution(), now);
    for (int c = 0; c < kWriteColumns; ++c) {
      const char* value = row.values()[c];
      value ? columns[c].Add(std::string_view(value)) : columns[c].AddNull();
    }
  }
  Params params;
  for (const auto& column : columns) params.Add(column.str());
  absl::Status status = pool_.RunVoid("save executions (batch)", [&](Session& s) {
    pqxx::nontransaction tx(s.connection());
    const pqxx::result rows = s.Exec(tx, kUpsertBatch, params);
    std::unordered_map<std::string_view, const pqxx::row*> by_id;
    std::vector<pqxx::row> kept(rows.begin(), rows.end());
    for (const auto& row : kept) by_id.emplace(row[0].c_str(), &row);
    for (SaveItem* item : batch) {
      auto it = by_id.find(item->request->execution().id());
      if (it == by_id.end()) {
        item->result = absl::InternalError("batched save returned no row");
        continue;
      }
      const pqxx::row& row = *it->second;
      v1::SaveExecutionResponse response;
      response.set_version(row[1].as<int64_t>());
      response.set_created_at(row[2].as<int64_t>());
      response.set_updated_at(row[3].as<int64_t>());
      response.set_created(row[4].as<bool>());
      item->result = std::move(response);
    }
    return absl::OkStatus();
  });
  if (status.ok()) return;
  const bool shared = IsBatchWideFailure(status);
  for (SaveItem* item : batch) {
    // A rejected batch is retried item by item, so only the offending save fails.
    item->result = shared ? absl::StatusOr<v1::SaveExecutionResponse>(status)
                          : inner_.Save(*item->request);
  }
}

void BatchedExecutionStore::FlushGets(std::vector<GetItem*>& batch) {
  if (options_.on_batch) options_.on_batch("get", batch.size());
  if (batch.size() == 1) {
    batch[0]->result = inner_.Get(*batch[0]->request);
    return;
  }
  ArrayLiteral ids;
  for (const GetItem* item : batch) ids.Add(std::string_view(item->request->execution_id()));
  Params params;
  params.Add(ids.str());
  absl::Status status = pool_.RunVoid("get executions (batch)", [&](Session& s) {
    pqxx::nontransaction tx(s.connection());
    std::unordered_map<std::string, v1::Execution> found;
    for (const auto& row : s.Exec(tx, kGetBatch, params)) {
      v1::Execution e = ExecutionFromRow(row);
      std::string id = e.id();
      found.emplace(std::move(id), std::move(e));
    }
    for (GetItem* item : batch) {
      auto it = found.find(item->request->execution_id());
      if (it == found.end()) {
        item->result = absl::NotFoundError(
            absl::StrCat("execution ", item->request->execution_id(), " not found"));
        continue;
      }
      v1::GetExecutionResponse response;
      *response.mutable_execution() = it->second;  // a copy: the same id may be asked twice
      item->result = std::move(response);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) {
    for (GetItem* item : batch) item->result = status;
  }
}

}  // namespace flowmonkey::pg
