// Recurring jobs (JobStore.SaveSchedule, DeleteSchedule, ListSchedules; migration 0007):
// a schedule creates one job per occurrence of its cron expression, ahead of time, with
// run_at = the occurrence, so that claims and Work streams hand it out on time. Occurrences
// are created by the maintenance pass (CreateScheduledJobs) and, for a schedule just saved,
// by SaveSchedule itself. Each occurrence's job has step_id "<name>@<occurrence ms>", so
// its id (core/job_rules.h, DeriveJobId) is the same whoever creates it: with several
// replicas, the schedule row's lock (FOR UPDATE SKIP LOCKED) makes one of them create it,
// and the idempotent insert would absorb a second anyway.

#include "server/pg/job_schedules.h"

#include <algorithm>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "core/cron.h"
#include "core/job_rules.h"
#include "core/validation.h"
#include "server/pg/job_store.h"
#include "server/pg/operations.h"

namespace flowmonkey::pg {
namespace {

#define FM_SCHEDULE_COLUMNS                                                                 \
  "execution_id, name, cron, time_zone, handler, input::text, max_attempts, heartbeat_ms, " \
  "priority, retry_initial_ms, retry_max_ms, next_run_at, created_at, updated_at"

constexpr Statement kScheduleUpsert{
    "schedule_upsert",
    "INSERT INTO {fm_}job_schedules (execution_id, name, cron, time_zone, handler, input,"
    " max_attempts, heartbeat_ms, priority, retry_initial_ms, retry_max_ms, next_run_at,"
    " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11,"
    " $12, $13, $13) ON CONFLICT (execution_id, name) DO UPDATE SET cron = EXCLUDED.cron,"
    " time_zone = EXCLUDED.time_zone, handler = EXCLUDED.handler, input = EXCLUDED.input,"
    " max_attempts = EXCLUDED.max_attempts, heartbeat_ms = EXCLUDED.heartbeat_ms,"
    " priority = EXCLUDED.priority, retry_initial_ms = EXCLUDED.retry_initial_ms,"
    " retry_max_ms = EXCLUDED.retry_max_ms, next_run_at = EXCLUDED.next_run_at,"
    " updated_at = EXCLUDED.updated_at RETURNING (xmax = 0), " FM_SCHEDULE_COLUMNS};
constexpr Statement kScheduleExecution{"schedule_execution",
                                       "SELECT 1 FROM {fm_}executions WHERE id = $1 FOR KEY SHARE"};
// The jobs of occurrences not yet due, created from the schedule's previous definition
// ($2: the name followed by '@'; compared by prefix, so names need no LIKE escaping).
constexpr Statement kScheduleDropFuture{
    "schedule_drop_future",
    "DELETE FROM {fm_}jobs WHERE execution_id = $1 AND status = 'pending' AND run_at > $3"
    " AND left(step_id, length($2)) = $2"};
constexpr Statement kScheduleDelete{
    "schedule_delete", "DELETE FROM {fm_}job_schedules WHERE execution_id = $1 AND name = $2"};
constexpr Statement kScheduleList{"schedule_list",
                                  "SELECT " FM_SCHEDULE_COLUMNS
                                  " FROM {fm_}job_schedules WHERE execution_id = $1"
                                  " ORDER BY name LIMIT $2"};
constexpr Statement kScheduleDue{"schedule_due",
                                 "SELECT " FM_SCHEDULE_COLUMNS
                                 " FROM {fm_}job_schedules WHERE next_run_at <= $1"
                                 " ORDER BY next_run_at LIMIT $2 FOR UPDATE SKIP LOCKED"};
constexpr Statement kScheduleAdvance{
    "schedule_advance",
    "UPDATE {fm_}job_schedules SET next_run_at = $3, updated_at = $4"
    " WHERE execution_id = $1 AND name = $2"};
#undef FM_SCHEDULE_COLUMNS

// Schedules one execution may have.
constexpr int kMaxSchedulesPerExecution = 1'000;
// Schedules a pass takes per transaction, and occurrences per schedule per pass.
constexpr int kDueBatch = 100;
constexpr int kMaxOccurrencesPerPass = 1'000;

// A row of FM_SCHEDULE_COLUMNS starting at column `first`.
v1::JobSchedule ScheduleFromRow(const pqxx::row& row, int first = 0) {
  v1::JobSchedule s;
  s.set_execution_id(row[first + 0].c_str());
  s.set_name(row[first + 1].c_str());
  s.set_cron(row[first + 2].c_str());
  s.set_time_zone(row[first + 3].c_str());
  s.set_handler(row[first + 4].c_str());
  s.set_input_json(row[first + 5].c_str());
  if (!row[first + 6].is_null()) s.set_max_attempts(row[first + 6].as<int32_t>());
  if (!row[first + 7].is_null()) s.set_heartbeat_ms(row[first + 7].as<int32_t>());
  s.set_priority(row[first + 8].as<int32_t>());
  if (!row[first + 9].is_null()) {
    s.mutable_retry()->set_initial_backoff_ms(row[first + 9].as<int64_t>());
    s.mutable_retry()->set_max_backoff_ms(row[first + 10].as<int64_t>());
  }
  if (!row[first + 11].is_null()) s.set_next_run_at(row[first + 11].as<int64_t>());
  s.set_created_at(row[first + 12].as<int64_t>());
  s.set_updated_at(row[first + 13].as<int64_t>());
  return s;
}

// The job of one occurrence.
v1::CreateJobRequest OccurrenceJob(const v1::JobSchedule& s, int64_t occurrence) {
  v1::CreateJobRequest job;
  job.set_execution_id(s.execution_id());
  job.set_step_id(absl::StrCat(s.name(), "@", occurrence));
  job.set_handler(s.handler());
  job.set_input_json(s.input_json());
  if (s.has_max_attempts()) job.set_max_attempts(s.max_attempts());
  if (s.has_heartbeat_ms()) job.set_heartbeat_ms(s.heartbeat_ms());
  job.set_priority(s.priority());
  job.set_run_at(occurrence);
  if (s.has_retry()) *job.mutable_retry() = s.retry();
  return job;
}

int64_t ToMs(absl::Time t) { return t == absl::InfiniteFuture() ? -1 : absl::ToUnixMillis(t); }

// Creates the jobs of `schedule`'s occurrences up to now + kScheduleLookaheadMs, from its
// next_run_at on (occurrences older than the lookahead are skipped: a server that was down
// does not replay them), and moves next_run_at past them. Returns how many it created.
absl::StatusOr<int64_t> CreateOccurrencesIn(Session& s, Tx& tx, v1::JobSchedule& schedule,
                                            int64_t now) {
  absl::StatusOr<CronSchedule> cron = CronSchedule::Parse(schedule.cron(), schedule.time_zone());
  if (!cron.ok()) return cron.status();  // validated when saved; cannot happen
  int64_t next = schedule.next_run_at();
  if (next < now - kScheduleLookaheadMs) {
    next = ToMs(cron->Next(absl::FromUnixMillis(now - kScheduleLookaheadMs)));
  }
  int64_t created = 0;
  for (int n = 0; next >= 0 && next <= now + kScheduleLookaheadMs && n < kMaxOccurrencesPerPass;
       ++n) {
    absl::StatusOr<v1::CreateJobResponse> job = CreateJobIn(s, tx, OccurrenceJob(schedule, next));
    if (!job.ok()) return job.status();
    created += job->created() ? 1 : 0;
    next = ToMs(cron->Next(absl::FromUnixMillis(next)));
  }
  Params advance;
  advance.Add(schedule.execution_id()).Add(schedule.name());
  if (next >= 0) {
    advance.Add(next);
    schedule.set_next_run_at(next);
  } else {
    advance.AddNull();
    schedule.clear_next_run_at();
  }
  advance.Add(now);
  s.Exec(tx, kScheduleAdvance, advance);
  return created;
}

}  // namespace

absl::Status ValidateJobSchedule(const v1::JobSchedule& schedule) {
  if (auto s = ValidateId(schedule.execution_id(), "schedule.execution_id"); !s.ok()) return s;
  if (auto s = ValidateId(schedule.name(), "schedule.name"); !s.ok()) return s;
  if (schedule.name().find('@') != std::string::npos) {
    return absl::InvalidArgumentError("schedule.name: must not contain '@'");
  }
  absl::StatusOr<CronSchedule> cron = CronSchedule::Parse(schedule.cron(), schedule.time_zone());
  if (!cron.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("schedule.", cron.status().message()));
  }
  // The rest as the jobs it creates: a CreateJobRequest with the same fields.
  v1::CreateJobRequest job = OccurrenceJob(schedule, 1);
  job.set_step_id("schedule");
  if (absl::Status s = ValidateCreateJob(job); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("schedule.", s.message()));
  }
  return absl::OkStatus();
}

void RegisterScheduleStatements(ConnectionPool& pool) {
  pool.Register({kScheduleUpsert, kScheduleExecution, kScheduleDropFuture, kScheduleDelete,
                 kScheduleList, kScheduleDue, kScheduleAdvance});
}

absl::StatusOr<int64_t> CreateScheduledJobs(ConnectionPool& pool, int64_t now) {
  int64_t total = 0;
  for (;;) {
    absl::StatusOr<std::pair<int64_t, int>> batch = pool.Run<std::pair<int64_t, int>>(
        "create scheduled jobs", [&](Session& s) -> absl::StatusOr<std::pair<int64_t, int>> {
          pqxx::work tx(s.connection());
          Params due;
          due.Add(now + kScheduleLookaheadMs).Add(kDueBatch);
          const pqxx::result rows = s.Exec(tx, kScheduleDue, due);
          int64_t created = 0;
          for (const auto& row : rows) {
            v1::JobSchedule schedule = ScheduleFromRow(row);
            absl::StatusOr<int64_t> n = CreateOccurrencesIn(s, tx, schedule, now);
            if (!n.ok()) return n.status();
            created += *n;
          }
          tx.commit();
          return std::make_pair(created, static_cast<int>(rows.size()));
        });
    if (!batch.ok()) return batch.status();
    total += batch->first;
    if (batch->second < kDueBatch) return total;
  }
}

absl::StatusOr<v1::SaveJobScheduleResponse> PgJobStore::SaveSchedule(
    const v1::SaveJobScheduleRequest& request) {
  if (auto s = ValidateJobSchedule(request.schedule()); !s.ok()) return s;
  const v1::JobSchedule& in = request.schedule();
  const int64_t now = NowMs();
  // Validated above, so it parses.
  const CronSchedule cron = *CronSchedule::Parse(in.cron(), in.time_zone());
  const int64_t first = ToMs(cron.Next(absl::FromUnixMillis(now)));
  const std::string input = NormalizeJson(in.input_json());
  return pool_.Run<v1::SaveJobScheduleResponse>(
      "save job schedule", [&](Session& s) -> absl::StatusOr<v1::SaveJobScheduleResponse> {
        pqxx::work tx(s.connection());
        Params execution;
        execution.Add(in.execution_id());
        if (s.Exec(tx, kScheduleExecution, execution).empty()) {
          return absl::NotFoundError(absl::StrCat("execution ", in.execution_id(), " not found"));
        }
        Params list;
        list.Add(in.execution_id()).Add(kMaxSchedulesPerExecution + 1);
        const pqxx::result existing = s.Exec(tx, kScheduleList, list);
        bool known = false;
        for (const auto& row : existing) known |= in.name() == row[1].c_str();
        if (!known && static_cast<int>(existing.size()) >= kMaxSchedulesPerExecution) {
          return absl::ResourceExhaustedError(
              absl::StrCat("schedule: execution ", in.execution_id(), " already has ",
                           kMaxSchedulesPerExecution, " schedules, the most one may have"));
        }
        // Jobs of occurrences not due yet follow the new definition: drop the old ones.
        Params drop;
        drop.Add(in.execution_id()).Add(absl::StrCat(in.name(), "@")).Add(now);
        s.Exec(tx, kScheduleDropFuture, drop);
        Params upsert;
        upsert.Add(in.execution_id()).Add(in.name()).Add(in.cron()).Add(in.time_zone());
        upsert.Add(in.handler()).Add(input);
        if (in.has_max_attempts()) {
          upsert.Add(in.max_attempts());
        } else {
          upsert.AddNull();
        }
        if (in.has_heartbeat_ms()) {
          upsert.Add(in.heartbeat_ms());
        } else {
          upsert.AddNull();
        }
        upsert.Add(in.priority());
        if (in.has_retry()) {
          upsert.Add(in.retry().initial_backoff_ms()).Add(in.retry().max_backoff_ms());
        } else {
          upsert.AddNull().AddNull();
        }
        if (first >= 0) {
          upsert.Add(first);
        } else {
          upsert.AddNull();
        }
        upsert.Add(now);
        const pqxx::result rows = s.Exec(tx, kScheduleUpsert, upsert);
        v1::SaveJobScheduleResponse response;
        response.set_created(rows[0][0].as<bool>());
        v1::JobSchedule schedule = ScheduleFromRow(rows[0], 1);
        if (schedule.has_next_run_at()) {
          absl::StatusOr<int64_t> created = CreateOccurrencesIn(s, tx, schedule, now);
          if (!created.ok()) return created.status();
        }
        tx.commit();
        *response.mutable_schedule() = std::move(schedule);
        return response;
      });
}

absl::StatusOr<v1::DeleteJobScheduleResponse> PgJobStore::DeleteSchedule(
    const v1::DeleteJobScheduleRequest& request) {
  if (auto s = ValidateId(request.execution_id(), "execution_id"); !s.ok()) return s;
  if (auto s = ValidateId(request.name(), "name"); !s.ok()) return s;
  return pool_.Run<v1::DeleteJobScheduleResponse>(
      "delete job schedule", [&](Session& s) -> absl::StatusOr<v1::DeleteJobScheduleResponse> {
        pqxx::work tx(s.connection());
        Params key;
        key.Add(request.execution_id()).Add(request.name());
        v1::DeleteJobScheduleResponse response;
        response.set_deleted(s.Exec(tx, kScheduleDelete, key).affected_rows() > 0);
        if (response.deleted()) {
          Params drop;
          drop.Add(request.execution_id()).Add(absl::StrCat(request.name(), "@")).Add(NowMs());
          s.Exec(tx, kScheduleDropFuture, drop);
        }
        tx.commit();
        return response;
      });
}

absl::StatusOr<v1::ListJobSchedulesResponse> PgJobStore::ListSchedules(
    const v1::ListJobSchedulesRequest& request) {
  if (auto s = ValidateId(request.execution_id(), "execution_id"); !s.ok()) return s;
  Params params;
  params.Add(request.execution_id()).Add(kMaxSchedulesPerExecution);
  return pool_.Run<v1::ListJobSchedulesResponse>(
      "list job schedules", [&](Session& s) -> absl::StatusOr<v1::ListJobSchedulesResponse> {
        pqxx::nontransaction tx(s.connection());
        v1::ListJobSchedulesResponse response;
        for (const auto& row : s.Exec(tx, kScheduleList, params)) {
          *response.add_schedules() = ScheduleFromRow(row);
        }
        return response;
      });
}

}  // namespace flowmonkey::pg
