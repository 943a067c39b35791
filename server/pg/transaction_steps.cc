#include "server/pg/transaction_steps.h"

#include <pqxx/result>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/context_storage.h"
#include "core/resume_token_rules.h"

namespace flowmonkey::pg {
namespace {

// Each condition locks the row it reads, so no other transaction changes it before COMMIT.
constexpr Statement kLockExecution{"txn_lock_execution",
                                   "SELECT version FROM {fm_}executions WHERE id = $1 FOR UPDATE"};
constexpr Statement kLockJob{
    "txn_lock_job",
    "SELECT status, runner_id, instance_id FROM {fm_}jobs WHERE id = $1 FOR UPDATE"};
constexpr Statement kLockToken{
    "txn_lock_token",
    "SELECT status, expires_at FROM {fm_}resume_tokens WHERE token_hash = $1 FOR UPDATE"};
// Lease expiry is judged by the database clock, as the lease calls do (execution_locks.cc).
constexpr Statement kLockLease{
    "txn_lock_lease",
    "SELECT owner, fencing_token, expires_at > (EXTRACT(EPOCH FROM now()) * 1000)::bigint"
    " FROM {fm_}execution_locks WHERE execution_id = $1 FOR UPDATE"};

pqxx::result Lock(Session& s, Tx& tx, const Statement& statement, const std::string& key) {
  Params params;
  params.Add(key);
  return s.Exec(tx, statement, params);
}

absl::Status CheckVersion(Session& s, Tx& tx, const v1::ExecutionVersionIs& c) {
  const pqxx::result rows = Lock(s, tx, kLockExecution, c.execution_id());
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat("execution ", c.execution_id(), " not found"));
  }
  const int64_t version = rows[0][0].as<int64_t>();
  if (version == c.version()) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat("execution ", c.execution_id(), " is at version ", version,
                                         ", not ", c.version()));
}

absl::Status CheckAbsent(Session& s, Tx& tx, const v1::ExecutionAbsent& c) {
  if (Lock(s, tx, kLockExecution, c.execution_id()).empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("execution ", c.execution_id(), " exists"));
}

absl::Status CheckJob(Session& s, Tx& tx, const v1::JobRunningFor& c) {
  const pqxx::result rows = Lock(s, tx, kLockJob, c.job_id());
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("job ", c.job_id(), " not found"));
  const std::string status = rows[0][0].c_str();
  if (status != "running") {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", c.job_id(), " is ", status, ", not running"));
  }
  const bool runner_ok = c.runner_id().empty() || rows[0][1].c_str() == c.runner_id();
  const bool instance_ok = c.instance_id().empty() || rows[0][2].c_str() == c.instance_id();
  if (runner_ok && instance_ok) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("job ", c.job_id(), " is running for another runner or instance"));
}

absl::Status CheckToken(Session& s, Tx& tx, const v1::ResumeTokenPending& c) {
  const pqxx::result rows = Lock(s, tx, kLockToken, ResumeTokenHash(c.token()));
  if (rows.empty()) return absl::NotFoundError("resume token not found");
  v1::ResumeToken token;
  token.set_status(ResumeTokenStatusFromName(rows[0][0].c_str()));
  token.set_expires_at(rows[0][1].as<int64_t>());
  const auto reason = ResumeTokenUnusableReason(token, NowMs());
  if (!reason) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("resume token ", std::string(*reason)));
}

absl::Status CheckLease(Session& s, Tx& tx, const v1::LeaseHeld& c) {
  const pqxx::result rows = Lock(s, tx, kLockLease, c.execution_id());
  if (!rows.empty() && !rows[0][0].is_null() && rows[0][0].c_str() == c.owner() &&
      rows[0][1].as<int64_t>() == c.fencing_token() && rows[0][2].as<bool>()) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat("execution ", c.execution_id(), ": ", c.owner(),
                                                    " holds no live lease with fencing token ",
                                                    c.fencing_token()));
}

// Runs one shared write and stores its response in `out`.
template <typename Response, typename Request>
absl::Status Apply(Session& s, Tx& tx,
                   absl::StatusOr<Response> (*in)(Session&, Tx&, const Request&),
                   const Request& request, Response* out) {
  absl::StatusOr<Response> response = in(s, tx, request);
  if (!response.ok()) return response.status();
  *out = *std::move(response);
  return absl::OkStatus();
}

absl::Status SetContext(Session& s, Tx& tx, const v1::SetContextValue& set,
                        v1::SetContextResponse* out) {
  v1::ContextValue value;
  value.set_execution_id(set.execution_id());
  value.set_key(set.key());
  value.set_value_json(set.value_json());
  std::string summary = ContextSummary(value.value_json());
  absl::StatusOr<v1::ContextReference> reference =
      SetContextIn(s, tx, std::move(value), std::move(summary));
  if (!reference.ok()) return reference.status();
  *out->mutable_reference() = *std::move(reference);
  return absl::OkStatus();
}

absl::Status Generate(Session& s, Tx& tx, const v1::GenerateResumeTokenRequest& request,
                      const std::string& token_request_id, v1::GenerateResumeTokenResponse* out) {
  if (token_request_id.empty()) return Apply(s, tx, &GenerateResumeTokenIn, request, out);
  v1::GenerateResumeTokenRequest keyed = request;
  keyed.set_request_id(token_request_id);
  return Apply(s, tx, &GenerateResumeTokenIn, keyed, out);
}

}  // namespace

void RegisterConditionStatements(ConnectionPool& pool) {
  pool.Register({kLockExecution, kLockJob, kLockToken, kLockLease});
}

absl::Status CheckCondition(Session& s, Tx& tx, const v1::Condition& condition) {
  switch (condition.condition_case()) {
    case v1::Condition::kExecutionVersion:
      return CheckVersion(s, tx, condition.execution_version());
    case v1::Condition::kExecutionAbsent:
      return CheckAbsent(s, tx, condition.execution_absent());
    case v1::Condition::kJobRunning:
      return CheckJob(s, tx, condition.job_running());
    case v1::Condition::kResumeTokenPending:
      return CheckToken(s, tx, condition.resume_token_pending());
    case v1::Condition::kLeaseHeld:
      return CheckLease(s, tx, condition.lease_held());
    case v1::Condition::CONDITION_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("condition: none set");
}

absl::Status ApplyOperation(Session& s, Tx& tx, const v1::Operation& op,
                            const std::string& token_request_id, v1::OperationResult& result) {
  switch (op.operation_case()) {
    case v1::Operation::kCreateExecution:
      return Apply(s, tx, &CreateExecutionIn, op.create_execution(),
                   result.mutable_create_execution());
    case v1::Operation::kSaveExecution:
      return Apply(s, tx, &SaveExecutionIn, op.save_execution(), result.mutable_save_execution());
    case v1::Operation::kUpdateExecution:
      return Apply(s, tx, &UpdateExecutionIn, op.update_execution(),
                   result.mutable_update_execution());
    case v1::Operation::kDeleteExecution:
      return Apply(s, tx, &DeleteExecutionIn, op.delete_execution(),
                   result.mutable_delete_execution());
    case v1::Operation::kRecordEvents:
      if (op.record_events().events_size() == 0) {
        result.mutable_record_events();
        return absl::OkStatus();
      }
      return Apply(s, tx, &RecordEventsIn, op.record_events(), result.mutable_record_events());
    case v1::Operation::kCreateJob:
      return Apply(s, tx, &CreateJobIn, op.create_job(), result.mutable_create_job());
    case v1::Operation::kCompleteJob:
      return Apply(s, tx, &CompleteJobIn, op.complete_job(), result.mutable_complete_job());
    case v1::Operation::kFailJob:
      return Apply(s, tx, &FailJobIn, op.fail_job(), result.mutable_fail_job());
    case v1::Operation::kCancelJob:
      return Apply(s, tx, &CancelJobIn, op.cancel_job(), result.mutable_cancel_job());
    case v1::Operation::kGenerateResumeToken:
      return Generate(s, tx, op.generate_resume_token(), token_request_id,
                      result.mutable_generate_resume_token());
    case v1::Operation::kMarkResumeTokenUsed:
      return Apply(s, tx, &MarkResumeTokenUsedIn, op.mark_resume_token_used(),
                   result.mutable_mark_resume_token_used());
    case v1::Operation::kRevokeResumeToken:
      return Apply(s, tx, &RevokeResumeTokenIn, op.revoke_resume_token(),
                   result.mutable_revoke_resume_token());
    case v1::Operation::kSetContext:
      return SetContext(s, tx, op.set_context(), result.mutable_set_context());
    case v1::Operation::kDeleteContext:
      return Apply(s, tx, &DeleteContextIn, op.delete_context(), result.mutable_delete_context());
    case v1::Operation::kReleaseLock:
      return Apply(s, tx, &ReleaseLockIn, op.release_lock(), result.mutable_release_lock());
    case v1::Operation::OPERATION_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("operation: none set");
}

}  // namespace flowmonkey::pg
