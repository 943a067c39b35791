// Leases on executions (PgExecutionStore::AcquireLock / ExtendLock / ReleaseLock). Expiry
// is judged by the database clock, so replicas with skewed clocks agree on who holds a
// lease. The row outlives a release, so fencing tokens only ever grow.

#include <pqxx/nontransaction>
#include <pqxx/result>

#include "absl/strings/str_cat.h"
#include "core/execution_rules.h"
#include "core/validation.h"
#include "server/pg/execution_store.h"
#include "server/pg/operations.h"

namespace flowmonkey::pg {
namespace {

#define FM_DB_NOW_MS "(EXTRACT(EPOCH FROM now()) * 1000)::bigint"

inline constexpr int64_t kMaxLeaseTtlMs = 24LL * 60 * 60 * 1000;

// Taken when free, expired or already the caller's. The token stays when the caller
// re-acquires its own live lease and grows otherwise (the lease changes hands).
constexpr Statement kAcquire{
    "lock_acquire",
    "INSERT INTO {fm_}execution_locks AS l (execution_id, owner, fencing_token, expires_at,"
    " acquired_at) SELECT $1, $2, 1, t.now + $3, t.now FROM (SELECT " FM_DB_NOW_MS
    " AS now) t"
    " ON CONFLICT (execution_id) DO UPDATE SET"
    " fencing_token = CASE WHEN l.owner = EXCLUDED.owner AND l.expires_at > EXCLUDED.acquired_at"
    " THEN l.fencing_token ELSE l.fencing_token + 1 END,"
    " acquired_at = CASE WHEN l.owner = EXCLUDED.owner AND l.expires_at > EXCLUDED.acquired_at"
    " THEN l.acquired_at ELSE EXCLUDED.acquired_at END,"
    " owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at"
    " WHERE l.owner IS NULL OR l.owner = EXCLUDED.owner OR l.expires_at <= EXCLUDED.acquired_at"
    " RETURNING fencing_token, expires_at, owner"};
constexpr Statement kHolder{
    "lock_holder",
    "SELECT fencing_token, expires_at, owner FROM {fm_}execution_locks WHERE execution_id = $1"
    " AND owner IS NOT NULL AND expires_at > " FM_DB_NOW_MS};
constexpr Statement kExtend{"lock_extend",
                            "UPDATE {fm_}execution_locks SET expires_at = " FM_DB_NOW_MS
                            " + $4 WHERE execution_id = $1"
                            " AND owner = $2 AND fencing_token = $3 AND expires_at > " FM_DB_NOW_MS
                            " RETURNING fencing_token, expires_at"};
constexpr Statement kReleaseLock{
    "lock_release",
    "UPDATE {fm_}execution_locks SET owner = NULL, expires_at = 0 WHERE execution_id = $1"
    " AND owner = $2 AND ($3::bigint = 0 OR fencing_token = $3::bigint)"};
constexpr Statement kExecutionExists{"lock_execution_exists",
                                     "SELECT 1 FROM {fm_}executions WHERE id = $1"};
// The execution (a row even without a lease) and its lease row, if any.
constexpr Statement kLockOf{
    "lock_of",
    "SELECT l.owner, l.fencing_token, l.expires_at, l.owner IS NOT NULL AND l.expires_at "
    "> " FM_DB_NOW_MS
    " FROM {fm_}executions e LEFT JOIN {fm_}execution_locks l ON l.execution_id = e.id"
    " WHERE e.id = $1"};

absl::Status ValidateTtl(int64_t ttl_ms) {
  if (ttl_ms < 1 || ttl_ms > kMaxLeaseTtlMs) {
    return absl::InvalidArgumentError(
        absl::StrCat("ttl_ms: must be between 1 and ", kMaxLeaseTtlMs));
  }
  return absl::OkStatus();
}

absl::Status NoSuchExecution(const std::string& execution_id) {
  return absl::NotFoundError(absl::StrCat("execution ", execution_id, " not found"));
}

}  // namespace

// Lazily, so that execution_store.cc needs no knowledge of leases; Register ignores
// statements it already has.
void RegisterLockStatements(ConnectionPool& pool) {
  pool.Register({kAcquire, kHolder, kExtend, kReleaseLock, kExecutionExists, kLockOf});
}

absl::StatusOr<v1::AcquireLockResponse> PgExecutionStore::AcquireLock(
    const v1::AcquireLockRequest& request) {
  if (auto s = ValidateLease(request.execution_id(), request.owner()); !s.ok()) return s;
  if (auto s = ValidateTtl(request.ttl_ms()); !s.ok()) return s;
  RegisterLockStatements(pool_);
  Params params;
  params.Add(request.execution_id()).Add(request.owner()).Add(request.ttl_ms());
  return pool_.Run<v1::AcquireLockResponse>(
      "acquire lock", [&](Session& s) -> absl::StatusOr<v1::AcquireLockResponse> {
        pqxx::nontransaction tx(s.connection());
        v1::AcquireLockResponse response;
        pqxx::result rows = s.Exec(tx, kAcquire, params);
        response.set_acquired(!rows.empty());
        if (rows.empty()) {
          // Held by someone else: report the holder (none if it let go meanwhile).
          Params id;
          id.Add(request.execution_id());
          rows = s.Exec(tx, kHolder, id);
          if (rows.empty()) return response;
        }
        response.set_fencing_token(rows[0][0].as<int64_t>());
        response.set_expires_at(rows[0][1].as<int64_t>());
        response.set_owner(rows[0][2].c_str());
        return response;
      });
}

absl::StatusOr<v1::GetLockResponse> PgExecutionStore::GetLock(const v1::GetLockRequest& request) {
  if (auto s = ValidateId(request.execution_id(), "execution_id"); !s.ok()) return s;
  RegisterLockStatements(pool_);
  Params params;
  params.Add(request.execution_id());
  return pool_.Run<v1::GetLockResponse>("get lock",
                                        [&](Session& s) -> absl::StatusOr<v1::GetLockResponse> {
                                          pqxx::nontransaction tx(s.connection());
                                          const pqxx::result rows = s.Exec(tx, kLockOf, params);
                                          if (rows.empty())
                                            return NoSuchExecution(request.execution_id());
                                          v1::GetLockResponse response;
                                          const pqxx::row row = rows[0];
                                          if (!row[0].is_null()) response.set_owner(row[0].c_str());
                                          if (!row[1].is_null())
                                            response.set_fencing_token(row[1].as<int64_t>());
                                          if (!row[2].is_null())
                                            response.set_expires_at(row[2].as<int64_t>());
                                          response.set_held(!row[3].is_null() && row[3].as<bool>());
                                          return response;
                                        });
}

absl::StatusOr<v1::ExtendLockResponse> PgExecutionStore::ExtendLock(
    const v1::ExtendLockRequest& request) {
  if (auto s = ValidateLease(request.execution_id(), request.owner()); !s.ok()) return s;
  if (request.fencing_token() < 1) {
    return absl::InvalidArgumentError("fencing_token: required (from AcquireLock)");
  }
  if (auto s = ValidateTtl(request.ttl_ms()); !s.ok()) return s;
  RegisterLockStatements(pool_);
  Params params;
  params.Add(request.execution_id()).Add(request.owner()).Add(request.fencing_token());
  params.Add(request.ttl_ms());
  return pool_.Run<v1::ExtendLockResponse>(
      "extend lock", [&](Session& s) -> absl::StatusOr<v1::ExtendLockResponse> {
        pqxx::nontransaction tx(s.connection());
        const pqxx::result rows = s.Exec(tx, kExtend, params);
        if (rows.empty()) {
          Params id;
          id.Add(request.execution_id());
          if (s.Exec(tx, kExecutionExists, id).empty()) {
            return NoSuchExecution(request.execution_id());
          }
          return absl::FailedPreconditionError(absl::StrCat(
              "lock on execution ", request.execution_id(), " is not held by ", request.owner(),
              " with fencing token ", request.fencing_token(), " (expired or taken over)"));
        }
        v1::ExtendLockResponse response;
        response.set_fencing_token(rows[0][0].as<int64_t>());
        response.set_expires_at(rows[0][1].as<int64_t>());
        return response;
      });
}

absl::StatusOr<v1::ReleaseLockResponse> ReleaseLockIn(Session& s, Tx& tx,
                                                      const v1::ReleaseLockRequest& request) {
  Params params;
  params.Add(request.execution_id()).Add(request.owner()).Add(request.fencing_token());
  v1::ReleaseLockResponse response;
  if (s.Exec(tx, kReleaseLock, params).affected_rows() > 0) {
    response.set_released(true);
    return response;
  }
  Params id;
  id.Add(request.execution_id());
  if (s.Exec(tx, kExecutionExists, id).empty()) return NoSuchExecution(request.execution_id());
  return response;
}

absl::StatusOr<v1::ReleaseLockResponse> PgExecutionStore::ReleaseLock(
    const v1::ReleaseLockRequest& request) {
  if (auto s = ValidateReleaseLock(request); !s.ok()) return s;
  RegisterLockStatements(pool_);
  return RunAlone(pool_, "release lock", &ReleaseLockIn, request);
}

}  // namespace flowmonkey::pg
