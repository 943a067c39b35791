// Wake-up delivery (PgExecutionStore::ClaimWakeups / AckWakeups, docs/adr/0015-wakeups.md).
// A wake-up is identified by the value it is for: the execution's wake_at, or its wait's
// deadline (wait_deadline_at), once due. AckWakeups records that value in wake_acked_at /
// wait_acked_at, so the same value is never claimed again, while another wake_at, or a new
// wait, is due by itself (saves never write these columns; migration 0008). A claim leases
// the row until wake_lease_until. Time is the database clock, so that replicas agree.

#include <algorithm>
#include <functional>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/validation.h"
#include "server/pg/array_literal.h"
#include "server/pg/execution_codec.h"
#include "server/pg/execution_store.h"
#include "server/pg/tenant_filter.h"

namespace flowmonkey::pg {
namespace {

inline constexpr int32_t kMaxClaim = 1'000;
inline constexpr int32_t kDefaultClaim = 100;
inline constexpr int64_t kDefaultAckTimeoutMs = 30'000;
inline constexpr int64_t kMinAckTimeoutMs = 1'000;
inline constexpr int64_t kMaxAckTimeoutMs = 3'600'000;

// The database clock in ms: now() is the transaction's start, the same in every part of a
// statement.
#define FM_NOW_MS "(EXTRACT(EPOCH FROM now()) * 1000)::bigint"
#define FM_LEASE_FREE "(wake_lease_until IS NULL OR wake_lease_until <= " FM_NOW_MS ")"
#define FM_TENANT "($3::text IS NULL OR tenant_id = $3)"
// Whether each kind of wake-up is due and not acknowledged.
#define FM_WAKE_DUE "(wake_at <= " FM_NOW_MS " AND wake_at IS DISTINCT FROM wake_acked_at)"
#define FM_WAIT_DUE                                                 \
  "(wait_started_at IS NOT NULL AND wait_deadline_at <= " FM_NOW_MS \
  " AND wait_deadline_at IS DISTINCT FROM wait_acked_at)"

// $1 limit, $2 lease in ms, $3 tenant filter. Candidates: the oldest due of each kind, each
// read in order from its partial index (wake_at, wait_deadline_at of waiting executions),
// then the oldest $1 of both. They are locked with FOR UPDATE SKIP LOCKED, which re-checks
// the conditions on a row another claim (another server) just leased, and skips rows being
// claimed now; the update finds them by primary key. RETURNING: the execution's columns (or
// its id), then the wake_at and the deadline this wake-up is for (NULL when not due) and
// the lease's end.
#define FM_CLAIM_WAKEUPS(returning)                                                         \
  "UPDATE {fm_}executions SET wake_lease_until = " FM_NOW_MS                                \
  " + $2"                                                                                   \
  " WHERE id = ANY(ARRAY(SELECT id FROM {fm_}executions WHERE id = ANY(ARRAY("              \
  "SELECT id FROM ((SELECT id, wake_at AS due FROM {fm_}executions"                         \
  " WHERE status = 'waiting' AND " FM_WAKE_DUE " AND " FM_LEASE_FREE " AND " FM_TENANT      \
  " ORDER BY wake_at LIMIT $1) UNION ALL (SELECT id, wait_deadline_at FROM {fm_}executions" \
  " WHERE status = 'waiting' AND " FM_WAIT_DUE " AND " FM_LEASE_FREE " AND " FM_TENANT      \
  " ORDER BY wait_deadline_at LIMIT $1)) candidates ORDER BY due, id LIMIT $1))"            \
  " AND status = 'waiting' AND (" FM_WAKE_DUE " OR " FM_WAIT_DUE ") AND " FM_LEASE_FREE     \
  " FOR UPDATE SKIP LOCKED)) RETURNING " returning                                          \
  ","                                                                                       \
  " CASE WHEN " FM_WAKE_DUE                                                                 \
  " THEN wake_at END,"                                                                      \
  " CASE WHEN " FM_WAIT_DUE " THEN wait_deadline_at END, wake_lease_until"

constexpr Statement kClaimWakeups{"exec_claim_wakeups", FM_CLAIM_WAKEUPS(FM_EXECUTION_COLUMNS)};
constexpr Statement kClaimIds{"exec_claim_wakeup_ids", FM_CLAIM_WAKEUPS("id")};
constexpr int kExecutionColumns = 23;

// $1 ids, $2 wake_at values, $3 deadlines (NULL: not that kind), $4 leases. An ack records
// the values that still match, and ends the lease if it is still that delivery's, whether
// or not they match: an engine that resumed the execution and saved its next wait before
// acknowledging must not have that next wake-up wait for the old lease. RETURNING whether
// this wake-up is over (its values acknowledged).
constexpr Statement kAck{
    "exec_ack_wakeups",
    "UPDATE {fm_}executions AS e SET"
    " wake_acked_at = CASE WHEN e.wake_at = a.wake_at THEN e.wake_at ELSE e.wake_acked_at END,"
    " wait_acked_at = CASE WHEN e.wait_deadline_at = a.deadline THEN e.wait_deadline_at"
    " ELSE e.wait_acked_at END,"
    " wake_lease_until = CASE WHEN e.wake_lease_until = a.lease THEN NULL"
    " ELSE e.wake_lease_until END"
    " FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS a(id, wake_at,"
    " deadline, lease)"
    " WHERE e.id = a.id AND (e.wake_at = a.wake_at OR e.wait_deadline_at = a.deadline"
    " OR e.wake_lease_until = a.lease)"
    " RETURNING e.wake_acked_at = a.wake_at OR e.wait_acked_at = a.deadline"};
// A release ends the lease of that delivery only.
constexpr Statement kReleaseWakeups{"exec_release_wakeups",
                                    "UPDATE {fm_}executions AS e SET wake_lease_until = NULL"
                                    " FROM unnest($1::text[], $2::bigint[]) AS a(id, lease)"
                                    " WHERE e.id = a.id AND e.wake_lease_until = a.lease"};

std::string BigintArray(const std::vector<std::optional<int64_t>>& values) {
  ArrayLiteral literal;
  for (const std::optional<int64_t>& value : values) {
    if (value) {
      literal.Add(std::to_string(*value));
    } else {
      literal.AddNull();
    }
  }
  return std::move(literal).Take();
}

}  // namespace

void PgExecutionStore::RegisterWakeupStatements() {
  pool_.Register({kClaimWakeups, kClaimIds, kAck, kReleaseWakeups});
}

absl::StatusOr<v1::ClaimWakeupsResponse> PgExecutionStore::ClaimWakeups(
    const v1::ClaimWakeupsRequest& request) {
  if (auto s = ValidateTenantFilter(request); !s.ok()) return s;
  if (request.limit() < 0 || request.limit() > kMaxClaim) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: 0..", kMaxClaim, " (0: ", kDefaultClaim, ")"));
  }
  const int64_t timeout = request.ack_timeout_ms();
  if (timeout != 0 && (timeout < kMinAckTimeoutMs || timeout > kMaxAckTimeoutMs)) {
    return absl::InvalidArgumentError(absl::StrCat("ack_timeout_ms: ", kMinAckTimeoutMs, "..",
                                                   kMaxAckTimeoutMs, " (0: ", kDefaultAckTimeoutMs,
                                                   ")"));
  }
  Params params;
  params.Add(request.limit() == 0 ? kDefaultClaim : request.limit())
      .Add(timeout == 0 ? kDefaultAckTimeoutMs : timeout)
      .Add(TenantFilter(request));
  const bool ids_only = request.ids_only();
  return pool_.Run<v1::ClaimWakeupsResponse>(
      "claim wake-ups", [&](Session& s) -> absl::StatusOr<v1::ClaimWakeupsResponse> {
        pqxx::nontransaction tx(s.connection());
        v1::ClaimWakeupsResponse response;
        const pqxx::result rows = s.Exec(tx, ids_only ? kClaimIds : kClaimWakeups, params);
        const int base = ids_only ? 1 : kExecutionColumns;
        for (const auto& row : rows) {
          v1::Wakeup& wakeup = *response.add_wakeups();
          if (ids_only) {
            wakeup.set_execution_id(row[0].c_str());
          } else {
            *wakeup.mutable_execution() = ExecutionFromRow(row);
            wakeup.set_execution_id(wakeup.execution().id());
          }
          if (!row[base].is_null()) wakeup.set_wake_at(row[base].as<int64_t>());
          if (!row[base + 1].is_null()) wakeup.set_wait_deadline_at(row[base + 1].as<int64_t>());
          wakeup.set_lease_until(row[base + 2].as<int64_t>());
        }
        // Oldest due first (the update returns rows in no particular order).
        auto due = [](const v1::Wakeup& w) {
          return std::make_pair(w.has_wake_at() && w.has_wait_deadline_at()
                                    ? std::min(w.wake_at(), w.wait_deadline_at())
                                    : (w.has_wake_at() ? w.wake_at() : w.wait_deadline_at()),
                                std::cref(w.execution_id()));
        };
        std::sort(response.mutable_wakeups()->begin(), response.mutable_wakeups()->end(),
                  [&](const v1::Wakeup& a, const v1::Wakeup& b) { return due(a) < due(b); });
        return response;
      });
}

absl::StatusOr<v1::AckWakeupsResponse> PgExecutionStore::AckWakeups(
    const v1::AckWakeupsRequest& request) {
  if (request.wakeups_size() > kMaxClaim) {
    return absl::InvalidArgumentError(absl::StrCat("wakeups: at most ", kMaxClaim));
  }
  ArrayLiteral ids;
  std::vector<std::optional<int64_t>> wake_at, deadlines, leases;
  for (int i = 0; i < request.wakeups_size(); ++i) {
    const v1::WakeupAck& ack = request.wakeups(i);
    const std::string field = absl::StrCat("wakeups[", i, "]");
    if (auto s = ValidateId(ack.execution_id(), field + ".execution_id"); !s.ok()) return s;
    if (request.release()) {
      if (ack.lease_until() <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".lease_until: required to release (from the claim)"));
      }
    } else if (!ack.has_wake_at() && !ack.has_wait_deadline_at()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": wake_at or wait_deadline_at required (from the claim)"));
    }
    ids.Add(ack.execution_id());
    wake_at.push_back(ack.has_wake_at() ? std::optional(ack.wake_at()) : std::nullopt);
    deadlines.push_back(ack.has_wait_deadline_at() ? std::optional(ack.wait_deadline_at())
                                                   : std::nullopt);
    leases.emplace_back(ack.lease_until());
  }
  v1::AckWakeupsResponse response;
  if (request.wakeups_size() == 0) return response;
  Params params;
  params.Add(std::move(ids).Take());
  if (!request.release()) params.Add(BigintArray(wake_at)).Add(BigintArray(deadlines));
  params.Add(BigintArray(leases));
  const Statement& statement = request.release() ? kReleaseWakeups : kAck;
  return pool_.Run<v1::AckWakeupsResponse>(
      request.release() ? "release wake-ups" : "acknowledge wake-ups",
      [&](Session& s) -> absl::StatusOr<v1::AckWakeupsResponse> {
        pqxx::nontransaction tx(s.connection());
        v1::AckWakeupsResponse acked;
        const pqxx::result rows = s.Exec(tx, statement, params);
        if (request.release()) {
          acked.set_acknowledged(static_cast<int32_t>(rows.affected_rows()));
          return acked;
        }
        int32_t ended = 0;
        for (const auto& row : rows) ended += !row[0].is_null() && row[0].as<bool>() ? 1 : 0;
        acked.set_acknowledged(ended);
        return acked;
      });
}

}  // namespace flowmonkey::pg
