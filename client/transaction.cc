#include "client/transaction.h"

namespace flowmonkey::client {

Transaction& Transaction::IfVersion(const std::string& execution_id, int64_t version) {
  v1::ExecutionVersionIs& c = *request_.add_conditions()->mutable_execution_version();
  c.set_execution_id(execution_id);
  c.set_version(version);
  return *this;
}

Transaction& Transaction::IfAbsent(const std::string& execution_id) {
  request_.add_conditions()->mutable_execution_absent()->set_execution_id(execution_id);
  return *this;
}

Transaction& Transaction::IfJobRunning(const std::string& job_id, const std::string& runner_id,
                                       const std::string& instance_id) {
  v1::JobRunningFor& c = *request_.add_conditions()->mutable_job_running();
  c.set_job_id(job_id);
  c.set_runner_id(runner_id);
  c.set_instance_id(instance_id);
  return *this;
}

Transaction& Transaction::IfTokenPending(const std::string& token) {
  request_.add_conditions()->mutable_resume_token_pending()->set_token(token);
  return *this;
}

Transaction& Transaction::IfLeaseHeld(const std::string& execution_id, const std::string& owner,
                                      int64_t fencing_token) {
  v1::LeaseHeld& c = *request_.add_conditions()->mutable_lease_held();
  c.set_execution_id(execution_id);
  c.set_owner(owner);
  c.set_fencing_token(fencing_token);
  return *this;
}

Transaction& Transaction::CreateExecution(const v1::Execution& execution) {
  *request_.add_operations()->mutable_create_execution()->mutable_execution() = execution;
  return *this;
}

Transaction& Transaction::SaveExecution(const v1::Execution& execution,
                                        std::optional<int64_t> expected_version) {
  v1::SaveExecutionRequest& op = *request_.add_operations()->mutable_save_execution();
  *op.mutable_execution() = execution;
  if (expected_version) op.set_expected_version(*expected_version);
  return *this;
}

Transaction& Transaction::UpdateExecution(const v1::Execution& execution,
                                          std::optional<int64_t> expected_version) {
  v1::UpdateExecutionRequest& op = *request_.add_operations()->mutable_update_execution();
  *op.mutable_execution() = execution;
  if (expected_version) op.set_expected_version(*expected_version);
  return *this;
}

Transaction& Transaction::DeleteExecution(const std::string& execution_id) {
  request_.add_operations()->mutable_delete_execution()->set_execution_id(execution_id);
  return *this;
}

Transaction& Transaction::RecordEvents(const std::vector<v1::Event>& events) {
  v1::RecordEventBatchRequest& op = *request_.add_operations()->mutable_record_events();
  for (const v1::Event& event : events) *op.add_events() = event;
  return *this;
}

Transaction& Transaction::CreateJob(const v1::CreateJobRequest& job) {
  *request_.add_operations()->mutable_create_job() = job;
  return *this;
}

Transaction& Transaction::CompleteJob(const v1::CompleteJobRequest& completion) {
  *request_.add_operations()->mutable_complete_job() = completion;
  return *this;
}

Transaction& Transaction::FailJob(const v1::FailJobRequest& failure) {
  *request_.add_operations()->mutable_fail_job() = failure;
  return *this;
}

Transaction& Transaction::CancelJob(const std::string& job_id, const std::string& reason) {
  v1::CancelJobRequest& op = *request_.add_operations()->mutable_cancel_job();
  op.set_job_id(job_id);
  op.set_reason(reason);
  return *this;
}

Transaction& Transaction::GenerateResumeToken(const v1::GenerateResumeTokenRequest& token) {
  *request_.add_operations()->mutable_generate_resume_token() = token;
  return *this;
}

Transaction& Transaction::MarkResumeTokenUsed(const std::string& token) {
  request_.add_operations()->mutable_mark_resume_token_used()->set_token(token);
  return *this;
}

Transaction& Transaction::RevokeResumeToken(const std::string& token) {
  request_.add_operations()->mutable_revoke_resume_token()->set_token(token);
  return *this;
}

Transaction& Transaction::SetContext(const std::string& execution_id, const std::string& key,
                                     const std::string& value_json) {
  v1::SetContextValue& op = *request_.add_operations()->mutable_set_context();
  op.set_execution_id(execution_id);
  op.set_key(key);
  op.set_value_json(value_json);
  return *this;
}

Transaction& Transaction::DeleteContext(const std::string& execution_id, const std::string& key) {
  v1::DeleteContextRequest& op = *request_.add_operations()->mutable_delete_context();
  op.set_execution_id(execution_id);
  op.set_key(key);
  return *this;
}

Transaction& Transaction::ReleaseLock(const std::string& execution_id, const std::string& owner,
                                      int64_t fencing_token) {
  v1::ReleaseLockRequest& op = *request_.add_operations()->mutable_release_lock();
  op.set_execution_id(execution_id);
  op.set_owner(owner);
  op.set_fencing_token(fencing_token);
  return *this;
}

Transaction& Transaction::WithRequestId(const std::string& request_id) {
  request_.set_request_id(request_id);
  return *this;
}

}  // namespace flowmonkey::client
