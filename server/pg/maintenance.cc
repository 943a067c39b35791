#include "server/pg/maintenance.h"

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <string_view>

#include "server/pg/event_partitions.h"
#include "server/pg/job_schedules.h"
#include "server/pg/job_sql.h"
#include "server/pg/params.h"

namespace flowmonkey::pg {
namespace {

// $1 now, $2 batch. JobStore.ResetStalled's reset, with each job's own deadline.
constexpr Statement kResetOverdueJobs{
    "maintenance_reset_overdue_jobs",
    "WITH picked AS MATERIALIZED (SELECT id FROM {fm_}jobs WHERE status = 'running'"
    " AND heartbeat_ms > 0 AND heartbeat_at < $1 - 3 * heartbeat_ms::bigint"
    " ORDER BY heartbeat_at LIMIT $2 FOR UPDATE SKIP LOCKED) " FM_JOB_RESET_SET
    "WHERE id IN (SELECT id FROM picked) AND status = 'running' RETURNING status"};
constexpr Statement kExpireTokens{
    "maintenance_expire_tokens",
    "UPDATE {fm_}resume_tokens SET status = 'expired' WHERE token_hash IN (SELECT token_hash"
    " FROM {fm_}resume_tokens WHERE status = 'pending' AND expires_at <= $1 LIMIT $2"
    " FOR UPDATE SKIP LOCKED) AND status = 'pending'"};
constexpr Statement kDeleteExpiredKeys{
    "maintenance_delete_expired_keys",
    "DELETE FROM {fm_}idempotency_keys WHERE (flow_id, idempotency_key) IN (SELECT flow_id,"
    " idempotency_key FROM {fm_}idempotency_keys WHERE expires_at <= $1 LIMIT $2"
    " FOR UPDATE SKIP LOCKED) AND expires_at <= $1"};

// Client request ids are kept 24 h (event.proto, resume_token.proto): $1 - 24 h. Events
// written before migration 11 carry their request id: it is unlinked from them too, so that
// a forgotten id may be used again (newer events carry none: the id keeps their ids).
constexpr Statement kForgetEventRequests{
    "maintenance_forget_event_requests",
    "WITH forgotten AS (DELETE FROM {fm_}request_ids WHERE request_id IN (SELECT request_id"
    " FROM {fm_}request_ids WHERE created_at <= $1::bigint - 86400000 LIMIT $2 FOR UPDATE SKIP "
    "LOCKED)"
    " RETURNING request_id), unlinked AS (UPDATE {fm_}events SET request_id = NULL"
    " WHERE request_id IN (SELECT request_id FROM forgotten))"
    " SELECT count(*) FROM forgotten"};
constexpr Statement kForgetTokenRequests{
    "maintenance_forget_token_requests",
    "UPDATE {fm_}resume_tokens SET request_id = NULL WHERE token_hash IN (SELECT token_hash"
    " FROM {fm_}resume_tokens WHERE request_id IS NOT NULL AND created_at <= $1::bigint - 86400000"
    " LIMIT $2 FOR UPDATE SKIP LOCKED) AND request_id IS NOT NULL"};

// Commit request ids carry their own expiry (Transactions.Commit, 24 h after the commit).
constexpr Statement kForgetCommitRequests{
    "maintenance_forget_commit_requests",
    "DELETE FROM {fm_}commit_requests WHERE request_id IN (SELECT request_id FROM"
    " {fm_}commit_requests WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"
    " AND expires_at <= $1"};

constexpr Statement kCountQueuedJobs{
    "maintenance_count_queued_jobs",
    "SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status ="
    " 'running') FROM {fm_}jobs WHERE status IN ('pending', 'running')"};

}  // namespace

PgMaintenance::PgMaintenance(ConnectionPool& pool, MaintenanceOptions options)
    : pool_(pool), options_(options), jobs_(pool) {
  pool_.Register({kResetOverdueJobs, kExpireTokens, kDeleteExpiredKeys, kForgetEventRequests,
                  kForgetTokenRequests, kForgetCommitRequests, kCountQueuedJobs});
}

absl::StatusOr<PgMaintenance::JobDepth> PgMaintenance::CountQueuedJobs() {
  return pool_.Run<JobDepth>("count queued jobs", [](Session& s) -> absl::StatusOr<JobDepth> {
    pqxx::nontransaction tx(s.connection());
    const pqxx::row row = s.Exec(tx, kCountQueuedJobs).at(0);
    return JobDepth{row[0].as<int64_t>(), row[1].as<int64_t>()};
  });
}

absl::StatusOr<MaintenanceCounts> PgMaintenance::RunOnce(int64_t now_ms) {
  absl::StatusOr<MaintenanceCounts> counts = Sweep(now_ms);
  if (!counts.ok()) return counts;
  absl::StatusOr<int64_t> scheduled = CreateScheduledJobs(pool_, now_ms);
  if (!scheduled.ok()) return scheduled.status();
  counts->jobs_scheduled = *scheduled;
  EventPartitions& partitions = pool_.event_partitions();
  absl::StatusOr<int> created = partitions.CreateAhead(now_ms, options_.event_partitions_ahead);
  if (!created.ok()) return created.status();
  counts->event_partitions_created = *created;
  if (options_.events_retention > absl::ZeroDuration()) {
    absl::StatusOr<EventPartitions::Dropped> dropped =
        partitions.DropBefore(now_ms - absl::ToInt64Milliseconds(options_.events_retention));
    // A table too busy to drop from now is tried again on the next pass.
    if (!dropped.ok() && dropped.status().code() != absl::StatusCode::kFailedPrecondition) {
      return dropped.status();
    }
    if (dropped.ok()) {
      counts->event_partitions_dropped = dropped->partitions;
      counts->events_dropped = dropped->rows;
    }
  }
  return counts;
}

absl::StatusOr<MaintenanceCounts> PgMaintenance::Sweep(int64_t now_ms) {
  Params params;
  params.Add(now_ms).Add(static_cast<int32_t>(kBatch));
  return pool_.Run<MaintenanceCounts>(
      "maintenance pass", [&](Session& s) -> absl::StatusOr<MaintenanceCounts> {
        MaintenanceCounts counts;
        // Autocommit per statement: one batch's row locks are never held across batches.
        pqxx::nontransaction tx(s.connection());
        for (;;) {
          const pqxx::result rows = s.Exec(tx, kResetOverdueJobs, params);
          for (const auto& row : rows) {
            ++(std::string_view(row[0].c_str()) == "failed" ? counts.jobs_failed
                                                            : counts.jobs_requeued);
          }
          if (rows.size() < kBatch) break;
        }
        for (int64_t n = kBatch; n == kBatch;) {
          n = s.Exec(tx, kExpireTokens, params).affected_rows();
          counts.tokens_expired += n;
        }
        for (int64_t n = kBatch; n == kBatch;) {
          n = s.Exec(tx, kDeleteExpiredKeys, params).affected_rows();
          counts.idempotency_keys_deleted += n;
        }
        for (int64_t n = kBatch; n == kBatch;) {
          n = s.Exec(tx, kForgetEventRequests, params).at(0)[0].as<int64_t>();
          counts.request_ids_forgotten += n;
        }
        for (int64_t n = kBatch; n == kBatch;) {
          n = s.Exec(tx, kForgetTokenRequests, params).affected_rows();
          counts.request_ids_forgotten += n;
        }
        for (int64_t n = kBatch; n == kBatch;) {
          n = s.Exec(tx, kForgetCommitRequests, params).affected_rows();
          counts.request_ids_forgotten += n;
        }
        return counts;
      });
}

}  // namespace flowmonkey::pg
