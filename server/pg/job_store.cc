#include "server/pg/job_store.h"

#include <algorithm>
#include <limits>
#include <pqxx/nontransaction>
#include <pqxx/result>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/job_rules.h"
#include "core/validation.h"
#include "server/pg/array_literal.h"
#include "server/pg/job_codec.h"
#include "server/pg/job_schedules.h"
#include "server/pg/job_sql.h"
#include "server/pg/operations.h"
#include "server/pg/paging.h"
#include "server/pg/tenant_filter.h"

namespace flowmonkey::pg {
namespace {

constexpr Statement kInsertJob{
    "job_insert",
    "INSERT INTO {fm_}jobs (id, execution_id, step_id, handler, status, input, heartbeat_ms,"
    " attempts, max_attempts, created_at, updated_at, run_at, priority, retry_initial_ms,"
    " retry_max_ms) VALUES ($1, $2, $3, $4, 'pending', $5::jsonb, $6, 0, $7, $8, $8, $9, $10,"
    " $11, $12) ON CONFLICT (id) DO NOTHING RETURNING " FM_JOB_COLUMNS};
constexpr Statement kGetJob{"job_get", "SELECT " FM_JOB_COLUMNS " FROM {fm_}jobs WHERE id = $1"};
constexpr Statement kGetForStep{"job_get_for_step",
                                "SELECT " FM_JOB_COLUMNS
                                " FROM {fm_}jobs WHERE execution_id = $1 AND step_id = $2"
                                " ORDER BY created_at DESC, id DESC LIMIT 1"};
constexpr Statement kState{
    "job_state",
    "SELECT status, attempts, max_attempts, instance_id, run_at FROM {fm_}jobs WHERE id = $1"};
constexpr Statement kClaimJobs{
    "job_claim",
    "UPDATE {fm_}jobs SET status = 'running', runner_id = $2, instance_id = $3, heartbeat_at = $4,"
    " attempts = attempts + 1, updated_at = $4, progress = NULL"
    " WHERE id = $1 AND status = 'pending' AND attempts < max_attempts AND run_at <= $4"
    " RETURNING " FM_JOB_COLUMNS};
// Only ORDER BY priority DESC, run_at: it matches the partial indexes of migration 0005, so
// the first rows come straight off the index instead of every pending row being sorted
// (run_at <= $2 filters the index entries of jobs not yet due). The pick is a MATERIALIZED
// CTE so it runs once: as an IN (subquery) the planner may rescan it per row (nested-loop
// semi-join), and each rescan skips the rows this statement already updated and locks the
// next ones, claiming more than max_jobs. The picked jobs are numbered and the n-th takes
// the n-th slot (ClaimNextJobsRequest.slots: a runner and an instance id); without slots
// (empty arrays) every job runs for $1 with no instance.
#define FM_JOB_CLAIM_PICKED(RUNNERS, INSTANCES)                                               \
  ", numbered AS (SELECT id AS picked_id, row_number() OVER (ORDER BY priority DESC, run_at," \
  " id) AS n FROM picked), slots AS (SELECT * FROM unnest(" RUNNERS "::text[], " INSTANCES    \
  "::text[]) WITH ORDINALITY AS s(slot_runner, slot_instance, n))"                            \
  " UPDATE {fm_}jobs SET status = 'running', runner_id = COALESCE(slot_runner, $1),"          \
  " instance_id = slot_instance, heartbeat_at = $2, attempts = attempts + 1,"                 \
  " updated_at = $2, progress = NULL FROM numbered LEFT JOIN slots USING (n)"                 \
  " WHERE id = picked_id AND status = 'pending' RETURNING " FM_JOB_COLUMNS
#define FM_JOB_PICK "WITH picked AS MATERIALIZED (SELECT id, priority, run_at FROM {fm_}jobs"
constexpr Statement kClaimNext{
    "job_claim_next", FM_JOB_PICK
    " WHERE status = 'pending' AND run_at <= $2 AND attempts < max_attempts"
    " AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM {fm_}executions e"
    " WHERE e.id = {fm_}jobs.execution_id AND e.tenant_id = $4))"
    " ORDER BY priority DESC, run_at LIMIT $3 FOR UPDATE SKIP LOCKED)" FM_JOB_CLAIM_PICKED("$5",
                                                                                           "$6")};
constexpr Statement kClaimNextHandler{
    "job_claim_next_handler", FM_JOB_PICK
    " WHERE status = 'pending' AND handler = $4 AND run_at <= $2"
    " AND attempts < max_attempts AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM"
    " {fm_}executions e WHERE e.id = {fm_}jobs.execution_id AND e.tenant_id = $5))"
    " ORDER BY priority DESC, run_at LIMIT $3 FOR UPDATE SKIP LOCKED)" FM_JOB_CLAIM_PICKED("$6",
                                                                                           "$7")};
constexpr Statement kClaimNextHandlers{
    "job_claim_next_handlers", FM_JOB_PICK
    " WHERE status = 'pending' AND handler = ANY($4::text[]) AND run_at <= $2"
    " AND attempts < max_attempts"
    " AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM {fm_}executions e"
    " WHERE e.id = {fm_}jobs.execution_id AND e.tenant_id = $5))"
    " ORDER BY priority DESC, run_at LIMIT $3 FOR UPDATE SKIP LOCKED)" FM_JOB_CLAIM_PICKED("$6",
                                                                                           "$7")};
#undef FM_JOB_PICK
#undef FM_JOB_CLAIM_PICKED
constexpr Statement kHeartbeat{
    "job_heartbeat",
    "UPDATE {fm_}jobs SET heartbeat_at = $4, updated_at = $4"
    " WHERE id = $1 AND status = 'running' AND ($2::text IS NULL OR runner_id = $2)"
    " AND ($3::text IS NULL OR instance_id = $3)"
    " RETURNING heartbeat_at"};
constexpr Statement kComplete{
    "job_complete",
    "UPDATE {fm_}jobs SET status = 'completed', result = $4::jsonb, updated_at = $5"
    " WHERE id = $1 AND status = 'running' AND ($2::text IS NULL OR runner_id = $2)"
    " AND ($3::text IS NULL OR instance_id = $3)"
    " RETURNING updated_at"};
// Fail for good ($6: the worker says permanent) and Fail with a retry are complementary: one
// of them matches a running job of the worker. The backoff is job_rules.h's
// JobBackoffCapMs with equal jitter: cap - uniform(0..cap/2), so in [cap/2, cap].
constexpr Statement kFail{
    "job_fail",
    "UPDATE {fm_}jobs SET status = 'failed', error = $4::jsonb, updated_at = $5"
    " WHERE id = $1 AND status = 'running' AND ($2::text IS NULL OR runner_id = $2)"
    " AND ($3::text IS NULL OR instance_id = $3)"
    " AND ($6::boolean OR retry_initial_ms IS NULL OR attempts >= max_attempts)"
    " RETURNING updated_at, 0"};
#define FM_JOB_BACKOFF_CAP                                                          \
  "LEAST(retry_max_ms::float8, retry_initial_ms * power(2::float8, LEAST(GREATEST(" \
  "attempts - 1, 0), 62)))::bigint"
constexpr Statement kFailRetry{
    "job_fail_retry",
    "UPDATE {fm_}jobs SET status = 'pending', error = $4::jsonb, updated_at = $5,"
    " run_at = $5::bigint + " FM_JOB_BACKOFF_CAP " - floor(random() * (" FM_JOB_BACKOFF_CAP
    " / 2 + 1))::bigint, runner_id = NULL, instance_id = NULL, heartbeat_at = NULL"
    " WHERE id = $1 AND status = 'running' AND ($2::text IS NULL OR runner_id = $2)"
    " AND ($3::text IS NULL OR instance_id = $3)"
    " AND NOT $6::boolean AND retry_initial_ms IS NOT NULL AND attempts < max_attempts"
    " RETURNING updated_at, run_at"};
#undef FM_JOB_BACKOFF_CAP
constexpr Statement kSaveCheckpoint{
    "job_save_checkpoint",
    "UPDATE {fm_}jobs SET checkpoint = $4::jsonb, heartbeat_at = $5, updated_at = $5"
    " WHERE id = $1 AND status = 'running' AND ($2::text IS NULL OR runner_id = $2)"
    " AND ($3::text IS NULL OR instance_id = $3)"
    " RETURNING updated_at"};
constexpr Statement kUpdateProgress{
    "job_update_progress",
    "UPDATE {fm_}jobs SET progress = $4::jsonb, heartbeat_at = $5, updated_at = $5"
    " WHERE id = $1 AND status = 'running' AND ($2::text IS NULL OR runner_id = $2)"
    " AND ($3::text IS NULL OR instance_id = $3)"
    " RETURNING updated_at"};
constexpr Statement kCancel{
    "job_cancel",
    "UPDATE {fm_}jobs SET status = 'cancelled', error = $2::jsonb, updated_at = $3"
    " WHERE id = $1 AND status IN ('pending', 'running')"};
constexpr Statement kFindStalled{"job_find_stalled",
                                 "SELECT " FM_JOB_COLUMNS
                                 " FROM {fm_}jobs WHERE status = 'running' AND heartbeat_at < $1"
                                 " AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM {fm_}executions e"
                                 " WHERE e.id = {fm_}jobs.execution_id AND e.tenant_id = $3))"
                                 " ORDER BY heartbeat_at LIMIT $2"};
// The picks are MATERIALIZED CTEs, as in ClaimNext: run once, so at most `limit` rows.
constexpr Statement kResetStalledIds{
    "job_reset_stalled_ids",
    "WITH picked AS MATERIALIZED (SELECT id FROM {fm_}jobs WHERE id = ANY($2::text[])"
    " AND status = 'running' AND heartbeat_at < $3 LIMIT $4 FOR UPDATE SKIP "
    "LOCKED) " FM_JOB_RESET_SET
    "WHERE id IN (SELECT id FROM picked) AND status = 'running' RETURNING status"};
constexpr Statement kResetStalledBefore{
    "job_reset_stalled_before",
    "WITH picked AS MATERIALIZED (SELECT id FROM {fm_}jobs WHERE status = 'running'"
    " AND heartbeat_at < $2 ORDER BY heartbeat_at LIMIT $3 FOR UPDATE SKIP "
    "LOCKED) " FM_JOB_RESET_SET
    "WHERE id IN (SELECT id FROM picked) AND status = 'running' RETURNING status"};
constexpr Statement kJobsByStatus{
    "job_by_status", "SELECT " FM_JOB_COLUMNS
                     " FROM {fm_}jobs WHERE status = $1 AND (created_at, id) < ($2, $3)"
                     " AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM {fm_}executions e"
                     " WHERE e.id = {fm_}jobs.execution_id AND e.tenant_id = $4))"
                     " AND ($5::text IS NULL OR handler = $5)"
                     " ORDER BY created_at DESC, id DESC LIMIT $6"};
constexpr Statement kJobsByExecution{
    "job_by_execution", "SELECT " FM_JOB_COLUMNS
                        " FROM {fm_}jobs WHERE execution_id = $1"
                        " AND (created_at, id) > ($2, $3) ORDER BY created_at, id LIMIT $4"};
constexpr Statement kCheckpoint{"job_checkpoint",
                                "SELECT checkpoint::text FROM {fm_}jobs WHERE id = $1"};
// Release: the pairs ($1[i], $2[i]) of job and instance; the attempt is given back.
constexpr Statement kReleaseJobs{
    "job_release",
    "UPDATE {fm_}jobs SET status = 'pending', attempts = GREATEST(attempts - 1, 0),"
    " runner_id = NULL, instance_id = NULL, heartbeat_at = NULL, updated_at = $3"
    " FROM unnest($1::text[], $2::text[]) AS r(release_id, release_instance)"
    " WHERE id = release_id AND status = 'running' AND instance_id = release_instance"};
// An operator's retry: a failed job runs again from attempt 0 (job.proto, Retry).
constexpr Statement kRetry{
    "job_retry",
    "UPDATE {fm_}jobs SET status = 'pending', attempts = 0, error = NULL, runner_id = NULL,"
    " instance_id = NULL, heartbeat_at = NULL, run_at = $2, updated_at = $2"
    " WHERE id = $1 AND status = 'failed' RETURNING " FM_JOB_COLUMNS};
constexpr Statement kDeleteOldJobs{
    "job_delete_old",
    "DELETE FROM {fm_}jobs WHERE status IN ('completed', 'failed', 'cancelled')"
    " AND created_at < $1 AND updated_at < $1"};

absl::Status JobNotFound(const std::string& job_id) {
  return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
}

// Why a fenced write touched no row, from the job's kState row (if any).
absl::Status NotWritable(const pqxx::result& state, const std::string& job_id) {
  if (state.empty()) return JobNotFound(job_id);
  const std::string status = state[0][0].c_str();
  if (status != "running") {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id, " is ", status, ", not running"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("job ", job_id, " is running for another runner or instance"));
}

// Why a claim at `now` touched no row.
absl::Status NotClaimable(const pqxx::result& state, const std::string& job_id, int64_t now) {
  if (state.empty()) return JobNotFound(job_id);
  const std::string status = state[0][0].c_str();
  if (status != "pending") {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id, " is ", status, ", not pending"));
  }
  if (state[0][1].as<int32_t>() >= state[0][2].as<int32_t>()) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id, " has used all its ", state[0][2].as<int32_t>(), " attempts"));
  }
  if (const int64_t run_at = state[0][4].as<int64_t>(); run_at > now) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " is not due yet: run_at is ",
                                                      run_at, ", ", run_at - now, " ms from now"));
  }
  // Claimable when read: it changed in between (claimed, then failed back, say).
  return absl::FailedPreconditionError(
      absl::StrCat("job ", job_id, " was not claimable when claimed (changed concurrently)"));
}

// A page of jobs ordered by (created_at, id) (paging.h).
template <typename Response>
absl::StatusOr<Response> ListPage(ConnectionPool& pool, std::string_view what,
                                  const Statement& statement, Params params, int32_t limit) {
  return FetchPage<Response, v1::Job>(pool, what, statement, std::move(params), limit,
                                      &Response::mutable_jobs, JobFromRow, [](const v1::Job& j) {
                                        return PageKeyOf({j.created_at(), j.id()});
                                      });
}

Params IdParam(const std::string& id) {
  Params params;
  params.Add(id);
  return params;
}

}  // namespace

PgJobStore::PgJobStore(ConnectionPool& pool) : pool_(pool) {
  pool_.Register(
      {kInsertJob,   kGetJob,           kGetForStep,         kState,          kClaimJobs,
       kClaimNext,   kClaimNextHandler, kClaimNextHandlers,  kHeartbeat,      kComplete,
       kFail,        kFailRetry,        kSaveCheckpoint,     kUpdateProgress, kCancel,
       kFindStalled, kResetStalledIds,  kResetStalledBefore, kJobsByStatus,   kJobsByExecution,
       kCheckpoint,  kDeleteOldJobs,    kReleaseJobs,        kRetry});
  RegisterBulkStatements();
  RegisterScheduleStatements(pool_);
}

absl::StatusOr<v1::CreateJobResponse> CreateJobIn(Session& s, Tx& tx,
                                                  const v1::CreateJobRequest& request) {
  const std::string input = NormalizeJson(request.input_json());
  const std::string id =
      DeriveJobId(request.execution_id(), request.step_id(), request.handler(), input);
  Params params;
  params.Add(id).Add(request.execution_id()).Add(request.step_id()).Add(request.handler());
  params.Add(input);
  params.Add(request.has_heartbeat_ms() ? request.heartbeat_ms() : kDefaultJobHeartbeatMs);
  params.Add(request.has_max_attempts() ? request.max_attempts() : kDefaultJobMaxAttempts);
  const int64_t now = NowMs();
  params.Add(now).Add(request.run_at() > 0 ? request.run_at() : now).Add(request.priority());
  if (request.has_retry()) {
    params.Add(request.retry().initial_backoff_ms()).Add(request.retry().max_backoff_ms());
  } else {
    params.AddNull().AddNull();
  }
  const Params lookup = IdParam(id);
  v1::CreateJobResponse response;
  // In autocommit, the read after a conflict sees the row the other creator committed. If
  // that row is deleted in between, inserting again is the right outcome.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (const pqxx::result rows = s.Exec(tx, kInsertJob, params); !rows.empty()) {
      *response.mutable_job() = JobFromRow(rows[0]);
      response.set_created(true);
      return response;
    }
    if (const pqxx::result rows = s.Exec(tx, kGetJob, lookup); !rows.empty()) {
      *response.mutable_job() = JobFromRow(rows[0]);
      return response;
    }
  }
  return absl::AbortedError("create job: created and deleted concurrently, retry");
}

absl::StatusOr<v1::CreateJobResponse> PgJobStore::Create(const v1::CreateJobRequest& request) {
  if (auto s = ValidateCreateJob(request); !s.ok()) return s;
  return RunAlone(pool_, "create job", &CreateJobIn, request);
}

absl::StatusOr<v1::GetJobResponse> PgJobStore::Get(const v1::GetJobRequest& request) {
  if (auto s = ValidateId(request.job_id(), "job_id"); !s.ok()) return s;
  const Params params = IdParam(request.job_id());
  return pool_.Run<v1::GetJobResponse>("get job",
                                       [&](Session& s) -> absl::StatusOr<v1::GetJobResponse> {
                                         pqxx::nontransaction tx(s.connection());
                                         const pqxx::result rows = s.Exec(tx, kGetJob, params);
                                         if (rows.empty()) return JobNotFound(request.job_id());
                                         v1::GetJobResponse response;
                                         *response.mutable_job() = JobFromRow(rows[0]);
                                         return response;
                                       });
}

absl::StatusOr<v1::GetJobForStepResponse> PgJobStore::GetForStep(
    const v1::GetJobForStepRequest& request) {
  if (auto s = ValidateId(request.execution_id(), "execution_id"); !s.ok()) return s;
  if (auto s = ValidateId(request.step_id(), "step_id"); !s.ok()) return s;
  Params params;
  params.Add(request.execution_id()).Add(request.step_id());
  return pool_.Run<v1::GetJobForStepResponse>(
      "get job for step", [&](Session& s) -> absl::StatusOr<v1::GetJobForStepResponse> {
        pqxx::nontransaction tx(s.connection());
        const pqxx::result rows = s.Exec(tx, kGetForStep, params);
        if (rows.empty()) {
          return absl::NotFoundError(absl::StrCat("no job for step ", request.step_id(),
                                                  " of execution ", request.execution_id()));
        }
        v1::GetJobForStepResponse response;
        *response.mutable_job() = JobFromRow(rows[0]);
        return response;
      });
}

absl::StatusOr<v1::Job> PgJobStore::ClaimOne(const std::string& job_id,
                                             const std::string& runner_id,
                                             const std::string& instance_id) {
  if (auto s = ValidateId(job_id, "job_id"); !s.ok()) return s;
  if (auto s = ValidateId(runner_id, "runner_id"); !s.ok()) return s;
  const int64_t now = NowMs();
  Params params;
  params.Add(job_id).Add(runner_id).AddOrNull(instance_id).Add(now);
  return pool_.Run<v1::Job>("claim job", [&](Session& s) -> absl::StatusOr<v1::Job> {
    pqxx::nontransaction tx(s.connection());
    if (const pqxx::result rows = s.Exec(tx, kClaimJobs, params); !rows.empty()) {
      return JobFromRow(rows[0]);
    }
    return NotClaimable(s.Exec(tx, kState, IdParam(job_id)), job_id, now);
  });
}

absl::StatusOr<v1::ClaimJobResponse> PgJobStore::Claim(const v1::ClaimJobRequest& request) {
  absl::StatusOr<v1::Job> job = ClaimOne(request.job_id(), request.runner_id(), "");
  if (!job.ok()) return job.status();
  v1::ClaimJobResponse response;
  *response.mutable_job() = *std::move(job);
  return response;
}

absl::StatusOr<v1::ClaimJobWithInstanceResponse> PgJobStore::ClaimWithInstance(
    const v1::ClaimJobWithInstanceRequest& request) {
  if (auto s = ValidateId(request.instance_id(), "instance_id"); !s.ok()) return s;
  absl::StatusOr<v1::Job> job =
      ClaimOne(request.job_id(), request.runner_id(), request.instance_id());
  if (!job.ok()) return job.status();
  v1::ClaimJobWithInstanceResponse response;
  *response.mutable_job() = *std::move(job);
  return response;
}

absl::StatusOr<v1::ClaimNextJobsResponse> PgJobStore::ClaimNext(
    const v1::ClaimNextJobsRequest& request) {
  if (auto s = ValidateTenantFilter(request); !s.ok()) return s;
  if (request.slots_size() == 0 || !request.runner_id().empty()) {
    if (auto s = ValidateId(request.runner_id(), "runner_id"); !s.ok()) return s;
  }
  if (request.slots_size() > kMaxLimit) {
    return absl::InvalidArgumentError(absl::StrCat("slots: at most ", kMaxLimit));
  }
  ArrayLiteral slot_runners;
  ArrayLiteral slot_instances;
  absl::flat_hash_set<std::string_view> instances;
  for (int i = 0; i < request.slots_size(); ++i) {
    const v1::ClaimSlot& slot = request.slots(i);
    const std::string field = absl::StrCat("slots[", i, "]");
    if (auto s = ValidateId(slot.runner_id(), field + ".runner_id"); !s.ok()) return s;
    if (auto s = ValidateId(slot.instance_id(), field + ".instance_id"); !s.ok()) return s;
    if (!instances.insert(slot.instance_id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".instance_id: ", slot.instance_id(), " is in another slot too"));
    }
    slot_runners.Add(std::string_view(slot.runner_id()));
    slot_instances.Add(std::string_view(slot.instance_id()));
  }
  if (request.handlers_size() > kMaxLimit) {
    return absl::InvalidArgumentError(absl::StrCat("handlers: at most ", kMaxLimit));
  }
  for (const std::string& handler : request.handlers()) {
    if (auto s = ValidateId(handler, "handlers"); !s.ok()) return s;
  }
  absl::StatusOr<int32_t> max_jobs =
      EffectiveMaxJobs(request.max_jobs() == 0 && request.slots_size() > 0 ? request.slots_size()
                                                                           : request.max_jobs());
  if (!max_jobs.ok()) return max_jobs.status();
  if (request.slots_size() > 0) *max_jobs = std::min(*max_jobs, request.slots_size());
  Params params;
  params.AddOrNull(request.runner_id()).Add(NowMs()).Add(*max_jobs);
  const Statement* statement = &kClaimNext;
  if (request.handlers_size() == 1) {
    params.Add(request.handlers(0));
    statement = &kClaimNextHandler;
  } else if (request.handlers_size() > 1) {
    params.Add(ArrayLiteralOf(request.handlers()));
    statement = &kClaimNextHandlers;
  }
  params.Add(TenantFilter(request));
  params.Add(std::move(slot_runners).Take()).Add(std::move(slot_instances).Take());
  return pool_.Run<v1::ClaimNextJobsResponse>(
      "claim next jobs", [&](Session& s) -> absl::StatusOr<v1::ClaimNextJobsResponse> {
        pqxx::nontransaction tx(s.connection());
        v1::ClaimNextJobsResponse response;
        for (const auto& row : s.Exec(tx, *statement, params))
          *response.add_jobs() = JobFromRow(row);
        std::sort(response.mutable_jobs()->begin(), response.mutable_jobs()->end(),
                  [](const v1::Job& a, const v1::Job& b) {
                    if (a.priority() != b.priority()) return a.priority() > b.priority();
                    if (a.run_at() != b.run_at()) return a.run_at() < b.run_at();
                    if (a.created_at() != b.created_at()) return a.created_at() < b.created_at();
                    return a.id() < b.id();
                  });
        return response;
      });
}

namespace {

Params WorkerParams(const std::string& job_id, const std::string& runner_id,
                    const std::string& instance_id) {
  Params params;
  params.Add(job_id).AddOrNull(runner_id).AddOrNull(instance_id);
  return params;
}

// A fenced worker write ($1 job, $2 runner, $3 instance, ...): the first column of the
// updated row, or why no row was updated.
absl::StatusOr<int64_t> FencedWriteIn(Session& s, Tx& tx, const Statement& statement,
                                      const std::string& job_id, const Params& params) {
  if (const pqxx::result rows = s.Exec(tx, statement, params); !rows.empty()) {
    return rows[0][0].as<int64_t>();
  }
  return NotWritable(s.Exec(tx, kState, IdParam(job_id)), job_id);
}

}  // namespace

absl::StatusOr<int64_t> PgJobStore::FencedWrite(std::string_view what, const Statement& statement,
                                                const std::string& job_id, const Params& params) {
  return pool_.Run<int64_t>(what, [&](Session& s) -> absl::StatusOr<int64_t> {
    pqxx::nontransaction tx(s.connection());
    return FencedWriteIn(s, tx, statement, job_id, params);
  });
}

absl::StatusOr<v1::HeartbeatJobResponse> PgJobStore::Heartbeat(
    const v1::HeartbeatJobRequest& request) {
  if (auto s = ValidateWorker(request.job_id(), request.runner_id(), request.instance_id());
      !s.ok()) {
    return s;
  }
  Params params = WorkerParams(request.job_id(), request.runner_id(), request.instance_id());
  params.Add(NowMs());
  absl::StatusOr<int64_t> at = FencedWrite("heartbeat job", kHeartbeat, request.job_id(), params);
  if (!at.ok()) return at.status();
  v1::HeartbeatJobResponse response;
  response.set_heartbeat_at(*at);
  return response;
}

absl::StatusOr<v1::CompleteJobResponse> PgJobStore::Complete(
    const v1::CompleteJobRequest& request) {
  if (auto s = ValidateCompleteJob(request); !s.ok()) return s;
  return CompleteValid(request);
}

absl::StatusOr<v1::CompleteJobResponse> PgJobStore::CompleteValid(
    const v1::CompleteJobRequest& request) {
  return RunAlone(pool_, "complete job", &CompleteJobIn, request);
}

absl::StatusOr<v1::CompleteJobResponse> CompleteJobIn(Session& s, Tx& tx,
                                                      const v1::CompleteJobRequest& request) {
  Params params = WorkerParams(request.job_id(), request.runner_id(), request.instance_id());
  params.AddOrNull(request.result_json()).Add(NowMs());
  absl::StatusOr<int64_t> at = FencedWriteIn(s, tx, kComplete, request.job_id(), params);
  if (!at.ok()) return at.status();
  v1::CompleteJobResponse response;
  response.set_updated_at(*at);
  return response;
}

absl::StatusOr<v1::FailJobResponse> FailJobIn(Session& s, Tx& tx,
                                              const v1::FailJobRequest& request) {
  Params params = WorkerParams(request.job_id(), request.runner_id(), request.instance_id());
  params.Add(JobErrorJson(request.error())).Add(NowMs()).Add(request.permanent());
  v1::FailJobResponse response;
  pqxx::result rows = s.Exec(tx, kFail, params);
  if (rows.empty() && !request.permanent()) {
    rows = s.Exec(tx, kFailRetry, params);
    response.set_will_retry(!rows.empty());
  }
  if (rows.empty())
    return NotWritable(s.Exec(tx, kState, IdParam(request.job_id())), request.job_id());
  response.set_updated_at(rows[0][0].as<int64_t>());
  if (response.will_retry()) response.set_next_run_at(rows[0][1].as<int64_t>());
  return response;
}

absl::StatusOr<v1::FailJobResponse> PgJobStore::Fail(const v1::FailJobRequest& request) {
  if (auto s = ValidateFailJob(request); !s.ok()) return s;
  return RunAlone(pool_, "fail job", &FailJobIn, request);
}

absl::StatusOr<v1::SaveJobCheckpointResponse> PgJobStore::SaveCheckpoint(
    const v1::SaveJobCheckpointRequest& request) {
  if (auto s = ValidateWorker(request.job_id(), request.runner_id(), request.instance_id());
      !s.ok()) {
    return s;
  }
  if (auto s = ValidateJson(request.checkpoint_json(), "checkpoint_json", JsonKind::kAny);
      !s.ok()) {
    return s;
  }
  Params params = WorkerParams(request.job_id(), request.runner_id(), request.instance_id());
  params.AddOrNull(request.checkpoint_json()).Add(NowMs());
  absl::StatusOr<int64_t> at =
      FencedWrite("save job checkpoint", kSaveCheckpoint, request.job_id(), params);
  if (!at.ok()) return at.status();
  v1::SaveJobCheckpointResponse response;
  response.set_updated_at(*at);
  return response;
}

absl::StatusOr<v1::UpdateJobProgressResponse> PgJobStore::UpdateProgress(
    const v1::UpdateJobProgressRequest& request) {
  if (auto s = ValidateWorker(request.job_id(), request.runner_id(), request.instance_id());
      !s.ok()) {
    return s;
  }
  if (!request.has_progress()) return absl::InvalidArgumentError("progress: required");
  if (auto s = ValidateJobProgress(request.progress(), "progress"); !s.ok()) return s;
  Params params = WorkerParams(request.job_id(), request.runner_id(), request.instance_id());
  params.Add(JobProgressJson(request.progress())).Add(NowMs());
  absl::StatusOr<int64_t> at =
      FencedWrite("update job progress", kUpdateProgress, request.job_id(), params);
  if (!at.ok()) return at.status();
  v1::UpdateJobProgressResponse response;
  response.set_updated_at(*at);
  return response;
}

absl::StatusOr<v1::CancelJobResponse> CancelJobIn(Session& s, Tx& tx,
                                                  const v1::CancelJobRequest& request) {
  v1::JobError error;
  error.set_code("CANCELLED");
  error.set_message(request.reason());
  Params params;
  params.Add(request.job_id()).Add(JobErrorJson(error)).Add(NowMs());
  v1::CancelJobResponse response;
  if (s.Exec(tx, kCancel, params).affected_rows() > 0) {
    response.set_cancelled(true);
    return response;
  }
  const pqxx::result state = s.Exec(tx, kState, IdParam(request.job_id()));
  if (state.empty()) return JobNotFound(request.job_id());
  const std::string status = state[0][0].c_str();
  if (status == "cancelled") return response;
  return absl::FailedPreconditionError(
      absl::StrCat("job ", request.job_id(), " is ", status, "; it cannot be cancelled"));
}

absl::StatusOr<v1::CancelJobResponse> PgJobStore::Cancel(const v1::CancelJobRequest& request) {
  if (auto s = ValidateCancelJob(request); !s.ok()) return s;
  return RunAlone(pool_, "cancel job", &CancelJobIn, request);
}

absl::StatusOr<v1::RetryJobResponse> PgJobStore::Retry(const v1::RetryJobRequest& request) {
  if (auto s = ValidateId(request.job_id(), "job_id"); !s.ok()) return s;
  Params params;
  params.Add(request.job_id()).Add(NowMs());
  return pool_.Run<v1::RetryJobResponse>(
      "retry job", [&](Session& s) -> absl::StatusOr<v1::RetryJobResponse> {
        pqxx::nontransaction tx(s.connection());
        const pqxx::result rows = s.Exec(tx, kRetry, params);
        if (rows.empty()) {
          Params id;
          id.Add(request.job_id());
          const pqxx::result state = s.Exec(tx, kState, id);
          if (state.empty()) return JobNotFound(request.job_id());
          return absl::FailedPreconditionError(
              absl::StrCat("job ", request.job_id(), " is ", state[0][0].c_str(), ", not failed"));
        }
        v1::RetryJobResponse response;
        *response.mutable_job() = JobFromRow(rows[0]);
        return response;
      });
}

absl::StatusOr<v1::FindStalledJobsResponse> PgJobStore::FindStalled(
    const v1::FindStalledJobsRequest& request) {
  if (auto s = ValidateTenantFilter(request); !s.ok()) return s;
  if (request.stalled_before() <= 0) {
    return absl::InvalidArgumentError("stalled_before: required (a positive timestamp)");
  }
  absl::StatusOr<int32_t> limit = EffectiveLimit(request.limit());
  if (!limit.ok()) return limit.status();
  Params params;
  params.Add(request.stalled_before()).Add(*limit).Add(TenantFilter(request));
  return pool_.Run<v1::FindStalledJobsResponse>(
      "find stalled jobs", [&](Session& s) -> absl::StatusOr<v1::FindStalledJobsResponse> {
        pqxx::nontransaction tx(s.connection());
        v1::FindStalledJobsResponse response;
        for (const auto& row : s.Exec(tx, kFindStalled, params)) {
          *response.add_jobs() = JobFromRow(row);
        }
        return response;
      });
}

absl::StatusOr<v1::ResetStalledJobsResponse> PgJobStore::ResetStalled(
    const v1::ResetStalledJobsRequest& request) {
  if (auto s = ValidateResetStalled(request); !s.ok()) return s;
  const int32_t limit = *EffectiveLimit(request.limit());
  const int64_t before =
      request.stalled_before() > 0 ? request.stalled_before() : std::numeric_limits<int64_t>::max();
  Params params;
  params.Add(NowMs());
  const Statement* statement = &kResetStalledBefore;
  if (!request.job_ids().empty()) {
    params.Add(ArrayLiteralOf(request.job_ids()));
    statement = &kResetStalledIds;
  }
  params.Add(before).Add(limit);
  return pool_.Run<v1::ResetStalledJobsResponse>(
      "reset stalled jobs", [&](Session& s) -> absl::StatusOr<v1::ResetStalledJobsResponse> {
        pqxx::nontransaction tx(s.connection());
        v1::ResetStalledJobsResponse response;
        for (const auto& row : s.Exec(tx, *statement, params)) {
          response.set_count(response.count() + 1);
          if (std::string_view(row[0].c_str()) == "failed") {
            response.set_failed(response.failed() + 1);
          }
        }
        return response;
      });
}

absl::StatusOr<v1::ListJobsByStatusResponse> PgJobStore::ListByStatus(
    const v1::ListJobsByStatusRequest& request) {
  if (auto s = ValidateTenantFilter(request); !s.ok()) return s;
  if (auto s = ValidateJobStatus(request.status(), "status"); !s.ok()) return s;
  absl::StatusOr<int32_t> limit = EffectiveLimit(request.limit());
  if (!limit.ok()) return limit.status();
  absl::StatusOr<TimeIdKey> cursor =
      DecodeTimeIdToken(request.page_token(), {std::numeric_limits<int64_t>::max(), ""});
  if (!cursor.ok()) return cursor.status();
  Params params;
  if (request.has_handler()) {
    if (auto s = ValidateId(request.handler(), "handler"); !s.ok()) return s;
  }
  params.Add(*JobStatusName(request.status())).Add(cursor->created_at).Add(cursor->id);
  params.Add(TenantFilter(request));
  params.Add(request.has_handler() ? std::optional<std::string>(request.handler()) : std::nullopt);
  return ListPage<v1::ListJobsByStatusResponse>(pool_, "list jobs by status", kJobsByStatus,
                                                std::move(params), *limit);
}

absl::StatusOr<v1::ListJobsByExecutionResponse> PgJobStore::ListByExecution(
    const v1::ListJobsByExecutionRequest& request) {
  if (auto s = ValidateId(request.execution_id(), "execution_id"); !s.ok()) return s;
  absl::StatusOr<int32_t> limit = EffectiveLimit(request.limit());
  if (!limit.ok()) return limit.status();
  absl::StatusOr<TimeIdKey> cursor = DecodeTimeIdToken(request.page_token(), {-1, ""});
  if (!cursor.ok()) return cursor.status();
  Params params;
  params.Add(request.execution_id()).Add(cursor->created_at).Add(cursor->id);
  return ListPage<v1::ListJobsByExecutionResponse>(pool_, "list jobs by execution",
                                                   kJobsByExecution, std::move(params), *limit);
}

absl::StatusOr<v1::GetJobCheckpointResponse> PgJobStore::GetCheckpoint(
    const v1::GetJobCheckpointRequest& request) {
  if (auto s = ValidateId(request.job_id(), "job_id"); !s.ok()) return s;
  const Params params = IdParam(request.job_id());
  return pool_.Run<v1::GetJobCheckpointResponse>(
      "get job checkpoint", [&](Session& s) -> absl::StatusOr<v1::GetJobCheckpointResponse> {
        pqxx::nontransaction tx(s.connection());
        const pqxx::result rows = s.Exec(tx, kCheckpoint, params);
        if (rows.empty()) return JobNotFound(request.job_id());
        v1::GetJobCheckpointResponse response;
        if (!rows[0][0].is_null()) response.set_checkpoint_json(rows[0][0].c_str());
        return response;
      });
}

absl::StatusOr<v1::IsJobInstanceActiveResponse> PgJobStore::IsInstanceActive(
    const v1::IsJobInstanceActiveRequest& request) {
  if (auto s = ValidateId(request.job_id(), "job_id"); !s.ok()) return s;
  if (auto s = ValidateId(request.instance_id(), "instance_id"); !s.ok()) return s;
  const Params params = IdParam(request.job_id());
  return pool_.Run<v1::IsJobInstanceActiveResponse>(
      "check job instance", [&](Session& s) -> absl::StatusOr<v1::IsJobInstanceActiveResponse> {
        pqxx::nontransaction tx(s.connection());
        const pqxx::result rows = s.Exec(tx, kState, params);
        if (rows.empty()) return JobNotFound(request.job_id());
        v1::IsJobInstanceActiveResponse response;
        response.set_active(std::string_view(rows[0][0].c_str()) == "running" &&
                            !rows[0][3].is_null() && request.instance_id() == rows[0][3].c_str());
        return response;
      });
}

absl::StatusOr<v1::GetJobInstanceIdResponse> PgJobStore::GetInstanceId(
    const v1::GetJobInstanceIdRequest& request) {
  if (auto s = ValidateId(request.job_id(), "job_id"); !s.ok()) return s;
  const Params params = IdParam(request.job_id());
  return pool_.Run<v1::GetJobInstanceIdResponse>(
      "get job instance", [&](Session& s) -> absl::StatusOr<v1::GetJobInstanceIdResponse> {
        pqxx::nontransaction tx(s.connection());
        const pqxx::result rows = s.Exec(tx, kState, params);
        if (rows.empty()) return JobNotFound(request.job_id());
        v1::GetJobInstanceIdResponse response;
        if (!rows[0][3].is_null()) response.set_instance_id(rows[0][3].c_str());
        return response;
      });
}

absl::StatusOr<v1::DeleteOldJobsResponse> PgJobStore::DeleteOld(
    const v1::DeleteOldJobsRequest& request) {
  if (request.before() <= 0) {
    return absl::InvalidArgumentError("before: required (a positive timestamp)");
  }
  Params params;
  params.Add(request.before());
  return pool_.Run<v1::DeleteOldJobsResponse>(
      "delete old jobs", [&](Session& s) -> absl::StatusOr<v1::DeleteOldJobsResponse> {
        pqxx::nontransaction tx(s.connection());
        v1::DeleteOldJobsResponse response;
        response.set_deleted(s.Exec(tx, kDeleteOldJobs, params).affected_rows());
        return response;
      });
}

absl::StatusOr<v1::ReleaseJobsResponse> PgJobStore::Release(const v1::ReleaseJobsRequest& request) {
  if (request.job_ids_size() != request.instance_ids_size()) {
    return absl::InvalidArgumentError(absl::StrCat("instance_ids: one per job id (",
                                                   request.instance_ids_size(), " for ",
                                                   request.job_ids_size(), " job ids)"));
  }
  if (request.job_ids_size() > kMaxLimit) {
    return absl::InvalidArgumentError(absl::StrCat("job_ids: at most ", kMaxLimit));
  }
  for (int i = 0; i < request.job_ids_size(); ++i) {
    if (auto s = ValidateId(request.job_ids(i), absl::StrCat("job_ids[", i, "]")); !s.ok()) {
      return s;
    }
    if (auto s = ValidateId(request.instance_ids(i), absl::StrCat("instance_ids[", i, "]"));
        !s.ok()) {
      return s;
    }
  }
  v1::ReleaseJobsResponse response;
  if (request.job_ids_size() == 0) return response;
  Params params;
  params.Add(ArrayLiteralOf(request.job_ids()))
      .Add(ArrayLiteralOf(request.instance_ids()))
      .Add(NowMs());
  return pool_.Run<v1::ReleaseJobsResponse>(
      "release jobs", [&](Session& s) -> absl::StatusOr<v1::ReleaseJobsResponse> {
        pqxx::nontransaction tx(s.connection());
        v1::ReleaseJobsResponse released;
        released.set_released(
            static_cast<int32_t>(s.Exec(tx, kReleaseJobs, params).affected_rows()));
        return released;
      });
}

}  // namespace flowmonkey::pg
