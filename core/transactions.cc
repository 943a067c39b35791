#include "core/transactions.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/strings/str_cat.h"
#include "core/context_storage.h"
#include "core/digest.h"
#include "core/event_store.h"
#include "core/execution_rules.h"
#include "core/job_rules.h"
#include "core/resume_token_rules.h"
#include "core/validation.h"

namespace flowmonkey {
namespace {

absl::Status ValidateCondition(const v1::Condition& condition) {
  switch (condition.condition_case()) {
    case v1::Condition::kExecutionVersion: {
      const v1::ExecutionVersionIs& c = condition.execution_version();
      if (auto s = ValidateId(c.execution_id(), "execution_id"); !s.ok()) return s;
      return ValidateNonNegative(c.version(), "version");
    }
    case v1::Condition::kExecutionAbsent:
      return ValidateId(condition.execution_absent().execution_id(), "execution_id");
    case v1::Condition::kJobRunning: {
      const v1::JobRunningFor& c = condition.job_running();
      return ValidateWorker(c.job_id(), c.runner_id(), c.instance_id());
    }
    case v1::Condition::kResumeTokenPending:
      return ValidateResumeToken(condition.resume_token_pending().token(), "token");
    case v1::Condition::kLeaseHeld: {
      const v1::LeaseHeld& c = condition.lease_held();
      if (auto s = ValidateLease(c.execution_id(), c.owner()); !s.ok()) return s;
      return ValidateNonNegative(c.fencing_token(), "fencing_token");
    }
    case v1::Condition::CONDITION_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("condition: none set");
}

absl::Status NoRequestId(bool has_request_id, absl::string_view operation) {
  if (!has_request_id) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      operation, ".request_id: not allowed in a commit; the commit's request_id covers it"));
}

absl::Status ValidateSetContext(const v1::SetContextValue& set) {
  v1::ContextValue value;
  value.set_execution_id(set.execution_id());
  value.set_key(set.key());
  value.set_value_json(set.value_json());
  return ValidateContextValue(value, kMaxCommitContextBytes).status();
}

absl::Status ValidateOperation(const v1::Operation& op) {
  switch (op.operation_case()) {
    case v1::Operation::kCreateExecution:
      return ValidateCreateExecution(op.create_execution());
    case v1::Operation::kSaveExecution:
      return ValidateSaveExecution(op.save_execution());
    case v1::Operation::kUpdateExecution:
      return ValidateUpdateExecution(op.update_execution());
    case v1::Operation::kDeleteExecution:
      return ValidateDeleteExecution(op.delete_execution());
    case v1::Operation::kRecordEvents:
      if (auto s = NoRequestId(op.record_events().has_request_id(), "record_events"); !s.ok()) {
        return s;
      }
      return ValidateRecordEventBatch(op.record_events());
    case v1::Operation::kCreateJob:
      return ValidateCreateJob(op.create_job());
    case v1::Operation::kCompleteJob:
      return ValidateCompleteJob(op.complete_job());
    case v1::Operation::kFailJob:
      return ValidateFailJob(op.fail_job());
    case v1::Operation::kCancelJob:
      return ValidateCancelJob(op.cancel_job());
    case v1::Operation::kGenerateResumeToken:
      if (auto s =
              NoRequestId(op.generate_resume_token().has_request_id(), "generate_resume_token");
          !s.ok()) {
        return s;
      }
      return ValidateGenerateResumeToken(op.generate_resume_token());
    case v1::Operation::kMarkResumeTokenUsed:
      return ValidateMarkResumeTokenUsed(op.mark_resume_token_used());
    case v1::Operation::kRevokeResumeToken:
      return RevokedTokenId(op.revoke_resume_token()).status();
    case v1::Operation::kSetContext:
      return ValidateSetContext(op.set_context());
    case v1::Operation::kDeleteContext:
      return ValidateContextKey(op.delete_context().execution_id(), op.delete_context().key());
    case v1::Operation::kReleaseLock:
      return ValidateReleaseLock(op.release_lock());
    case v1::Operation::OPERATION_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("operation: none set");
}

}  // namespace

absl::Status AtIndex(const absl::Status& status, absl::string_view list, int index) {
  return absl::Status(status.code(), absl::StrCat(list, "[", index, "]: ", status.message()));
}

std::string CommitFingerprint(const v1::CommitRequest& request) {
  v1::CommitRequest copy = request;
  copy.clear_request_id();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&coded);
  }
  return Sha256Hex(bytes);
}

absl::Status ValidateCommit(const v1::CommitRequest& request) {
  if (request.conditions_size() > kMaxCommitConditions) {
    return absl::InvalidArgumentError(absl::StrCat("conditions: at most ", kMaxCommitConditions,
                                                   " (got ", request.conditions_size(), ")"));
  }
  if (request.operations_size() == 0) {
    return absl::InvalidArgumentError("operations: at least one is required");
  }
  if (request.operations_size() > kMaxCommitOperations) {
    return absl::InvalidArgumentError(absl::StrCat("operations: at most ", kMaxCommitOperations,
                                                   " (got ", request.operations_size(), ")"));
  }
  if (request.has_request_id()) {
    if (auto s = ValidateId(request.request_id(), "request_id"); !s.ok()) return s;
  }
  for (int i = 0; i < request.conditions_size(); ++i) {
    if (auto s = ValidateCondition(request.conditions(i)); !s.ok())
      return AtIndex(s, "conditions", i);
  }
  for (int i = 0; i < request.operations_size(); ++i) {
    if (auto s = ValidateOperation(request.operations(i)); !s.ok())
      return AtIndex(s, "operations", i);
  }
  return absl::OkStatus();
}

}  // namespace flowmonkey
