#include "server/pg/context_storage.h"

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/validation.h"
#include "server/pg/operations.h"
#include "server/pg/paging.h"

namespace flowmonkey::pg {
namespace {

constexpr Statement kSet{
    "context_set",
    "INSERT INTO {fm_}context (execution_id, key, value, summary, size_bytes, created_at,"
    " updated_at) VALUES ($1, $2, $3::jsonb, $4, $5, $6, $6) ON CONFLICT (execution_id, key)"
    " DO UPDATE SET value = EXCLUDED.value, summary = EXCLUDED.summary, size_bytes ="
    " EXCLUDED.size_bytes, updated_at = EXCLUDED.updated_at RETURNING created_at, updated_at"};
constexpr Statement kGetContext{"context_get",
                                "SELECT value::text, summary, size_bytes, created_at, updated_at"
                                " FROM {fm_}context WHERE execution_id = $1 AND key = $2"};
constexpr Statement kDeleteContext{"context_delete",
                                   "DELETE FROM {fm_}context WHERE execution_id = $1 AND key = $2"};
constexpr Statement kListContext{
    "context_list",
    "SELECT key, summary, size_bytes, created_at, updated_at FROM {fm_}context"
    " WHERE execution_id = $1 AND key > $2 ORDER BY key LIMIT $3"};
constexpr Statement kClear{"context_clear", "DELETE FROM {fm_}context WHERE execution_id = $1"};

// Columns summary, size_bytes, created_at, updated_at from `offset` on.
v1::ContextReference ReferenceFromRow(const pqxx::row& row, int offset,
                                      const std::string& execution_id, const std::string& key) {
  v1::ContextReference reference;
  reference.set_ref(ContextRef(execution_id, key));
  reference.set_execution_id(execution_id);
  reference.set_key(key);
  reference.set_summary(row[offset].c_str());
  reference.set_size_bytes(row[offset + 1].as<int64_t>());
  reference.set_created_at(row[offset + 2].as<int64_t>());
  reference.set_updated_at(row[offset + 3].as<int64_t>());
  return reference;
}

// A connection that carried a value this large is closed after use: libpq keeps its send
// and receive buffers at their largest size for the connection's lifetime.
constexpr int64_t kRetireAfterBytes = 1024 * 1024;

}  // namespace

PgContextStorage::PgContextStorage(ConnectionPool& pool, int64_t max_bytes)
    : pool_(pool), max_bytes_(max_bytes) {
  pool_.Register({kSet, kGetContext, kDeleteContext, kListContext, kClear});
}

absl::StatusOr<v1::ContextReference> PgContextStorage::Set(const v1::ContextValue& value) {
  return SetUnlessCancelled(value, [] { return true; });
}

absl::StatusOr<v1::ContextReference> SetContextIn(Session& s, Tx& tx, v1::ContextValue&& value,
                                                  std::string summary) {
  v1::ContextReference reference;
  reference.set_ref(ContextRef(value.execution_id(), value.key()));
  reference.set_execution_id(value.execution_id());
  reference.set_key(value.key());
  reference.set_summary(std::move(summary));
  reference.set_size_bytes(static_cast<int64_t>(value.value_json().size()));
  if (reference.size_bytes() >= kRetireAfterBytes) s.RetireAfterUse();
  // The value is moved to the driver, not copied (it may be 64 MiB; libpq copies it once
  // more into its send buffer).
  const pqxx::row row = s.ExecArgs(tx, kSet, value.execution_id(), value.key(),
                                   std::move(*value.mutable_value_json()), reference.summary(),
                                   reference.size_bytes(), NowMs())
                            .at(0);
  reference.set_created_at(row[0].as<int64_t>());
  reference.set_updated_at(row[1].as<int64_t>());
  return reference;
}

absl::StatusOr<v1::ContextReference> PgContextStorage::SetUnlessCancelled(
    v1::ContextValue value, absl::FunctionRef<bool()> still_wanted) {
  absl::StatusOr<std::string> summary = ValidateContextValue(value, max_bytes_);
  if (!summary.ok()) return summary.status();
  const std::string execution_id = value.execution_id();
  absl::StatusOr<v1::ContextReference> result = pool_.Run<v1::ContextReference>(
      "set context value", [&](Session& s) -> absl::StatusOr<v1::ContextReference> {
        pqxx::work tx(s.connection());
        // Run never calls this twice, so the value can be moved.
        absl::StatusOr<v1::ContextReference> reference =
            SetContextIn(s, tx, std::move(value), *std::move(summary));
        if (!still_wanted()) {
          tx.abort();
          return absl::CancelledError("the call ended before the value was stored");
        }
        tx.commit();
        return reference;
      });
  if (result.status().code() == absl::StatusCode::kNotFound) {  // the foreign key
    return absl::NotFoundError(absl::StrCat("execution ", execution_id, " not found"));
  }
  return result;
}

absl::StatusOr<v1::ContextValue> PgContextStorage::Get(const v1::GetContextRequest& request) {
  if (auto s = ValidateContextKey(request.execution_id(), request.key()); !s.ok()) return s;
  Params params;
  params.Add(request.execution_id()).Add(request.key());
  // The rows outlive the connection: a large value's connection is closed (freeing libpq's
  // receive buffer) before the value is copied out of the result.
  absl::StatusOr<pqxx::result> rows =
      pool_.Run<pqxx::result>("get context value", [&](Session& s) -> absl::StatusOr<pqxx::result> {
        pqxx::nontransaction tx(s.connection());
        pqxx::result result = s.Exec(tx, kGetContext, params);
        if (!result.empty() && result[0][0].size() >= static_cast<size_t>(kRetireAfterBytes)) {
          s.RetireAfterUse();
        }
        return result;
      });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return absl::NotFoundError(absl::StrCat(
        "context value ", ContextRef(request.execution_id(), request.key()), " not found"));
  }
  const pqxx::row row = (*rows)[0];
  v1::ContextValue value;
  value.set_execution_id(request.execution_id());
  value.set_key(request.key());
  value.set_value_json(row[0].c_str(), row[0].size());
  *value.mutable_reference() = ReferenceFromRow(row, 1, request.execution_id(), request.key());
  return value;
}

absl::StatusOr<v1::DeleteContextResponse> DeleteContextIn(Session& s, Tx& tx,
                                                          const v1::DeleteContextRequest& request) {
  Params params;
  params.Add(request.execution_id()).Add(request.key());
  v1::DeleteContextResponse response;
  response.set_deleted(s.Exec(tx, kDeleteContext, params).affected_rows() > 0);
  return response;
}

absl::StatusOr<v1::DeleteContextResponse> PgContextStorage::Delete(
    const v1::DeleteContextRequest& request) {
  if (auto s = ValidateContextKey(request.execution_id(), request.key()); !s.ok()) return s;
  return RunAlone(pool_, "delete context value", &DeleteContextIn, request);
}

absl::StatusOr<v1::ListContextResponse> PgContextStorage::List(
    const v1::ListContextRequest& request) {
  if (auto s = ValidateId(request.execution_id(), "execution_id"); !s.ok()) return s;
  absl::StatusOr<int32_t> limit = EffectiveLimit(request.limit());
  if (!limit.ok()) return limit.status();
  absl::StatusOr<std::optional<PageKey>> after = DecodePageToken(request.page_token(), 1);
  if (!after.ok()) return after.status();
  Params params;
  params.Add(request.execution_id()).Add(*after ? (**after)[0] : std::string());
  return FetchPage<v1::ListContextResponse, v1::ContextReference>(
      pool_, "list context values", kListContext, std::move(params), *limit,
      &v1::ListContextResponse::mutable_references,
      [&request](const pqxx::row& row) {
        return ReferenceFromRow(row, 1, request.execution_id(), row[0].c_str());
      },
      [](const v1::ContextReference& r) { return PageKey{r.key()}; });
}

absl::StatusOr<v1::ClearExecutionContextResponse> PgContextStorage::ClearExecution(
    const v1::ClearExecutionContextRequest& request) {
  if (auto s = ValidateId(request.execution_id(), "execution_id"); !s.ok()) return s;
  Params params;
  params.Add(request.execution_id());
  return pool_.Run<v1::ClearExecutionContextResponse>(
      "clear context values", [&](Session& s) -> absl::StatusOr<v1::ClearExecutionContextResponse> {
        pqxx::nontransaction tx(s.connection());
        v1::ClearExecutionContextResponse response;
        response.set_deleted_count(s.Exec(tx, kClear, params).affected_rows());
        return response;
      });
}

}  // namespace flowmonkey::pg
