#pragma once

// Recurring jobs (job.proto, JobSchedule): the PostgreSQL side, in job_schedules.cc. The
// store methods are PgJobStore's (SaveSchedule, DeleteSchedule, ListSchedules); the
// maintenance pass calls CreateScheduledJobs.

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "flowmonkey/v1/job.pb.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

// How far ahead occurrences get their jobs (with run_at = the occurrence, so they are
// claimable exactly then); a maintenance interval up to this keeps every occurrence on
// time. Occurrences more than this far in the past when a pass reaches them (the servers
// were down, or maintenance off) are skipped, not replayed.
inline constexpr int64_t kScheduleLookaheadMs = 2 * 60 * 1000;

// INVALID_ARGUMENT naming the field ("schedule.cron: ...").
absl::Status ValidateJobSchedule(const v1::JobSchedule& schedule);

// The statements of job_schedules.cc (PgJobStore's constructor registers them).
void RegisterScheduleStatements(ConnectionPool& pool);

// One pass: creates the jobs of every schedule's occurrences up to now_ms +
// kScheduleLookaheadMs that have none yet, and advances the schedules. Safe with many
// replicas (FOR UPDATE SKIP LOCKED on the schedules, idempotent job ids). Returns how many
// jobs it created.
absl::StatusOr<int64_t> CreateScheduledJobs(ConnectionPool& pool, int64_t now_ms);

}  // namespace flowmonkey::pg
