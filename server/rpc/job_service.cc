#include "server/rpc/job_service.h"

#include "server/rpc/unary.h"

namespace flowmonkey::rpc {

grpc::ServerUnaryReactor* JobService::Create(grpc::CallbackServerContext* c,
                                             const v1::CreateJobRequest* req,
                                             v1::CreateJobResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::Create, req, resp, "JobStore.Create");
}

grpc::ServerUnaryReactor* JobService::Get(grpc::CallbackServerContext* c,
                                          const v1::GetJobRequest* req, v1::GetJobResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::Get, req, resp, "JobStore.Get");
}

grpc::ServerUnaryReactor* JobService::GetForStep(grpc::CallbackServerContext* c,
                                                 const v1::GetJobForStepRequest* req,
                                                 v1::GetJobForStepResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::GetForStep, req, resp, "JobStore.GetForStep");
}

grpc::ServerUnaryReactor* JobService::Claim(grpc::CallbackServerContext* c,
                                            const v1::ClaimJobRequest* req,
                                            v1::ClaimJobResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::Claim, req, resp, "JobStore.Claim");
}

grpc::ServerUnaryReactor* JobService::ClaimNext(grpc::CallbackServerContext* c,
                                                const v1::ClaimNextJobsRequest* req,
                                                v1::ClaimNextJobsResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::ClaimNext, req, resp, "JobStore.ClaimNext");
}

grpc::ServerUnaryReactor* JobService::ClaimWithInstance(grpc::CallbackServerContext* c,
                                                        const v1::ClaimJobWithInstanceRequest* req,
                                                        v1::ClaimJobWithInstanceResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::ClaimWithInstance, req, resp,
               "JobStore.ClaimWithInstance");
}

grpc::ServerUnaryReactor* JobService::Heartbeat(grpc::CallbackServerContext* c,
                                                const v1::HeartbeatJobRequest* req,
                                                v1::HeartbeatJobResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::Heartbeat, req, resp, "JobStore.Heartbeat");
}

grpc::ServerUnaryReactor* JobService::Complete(grpc::CallbackServerContext* c,
                                               const v1::CompleteJobRequest* req,
                                               v1::CompleteJobResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::Complete, req, resp, "JobStore.Complete");
}

grpc::ServerUnaryReactor* JobService::Fail(grpc::CallbackServerContext* c,
                                           const v1::FailJobRequest* req,
                                           v1::FailJobResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::Fail, req, resp, "JobStore.Fail");
}

grpc::ServerUnaryReactor* JobService::Cancel(grpc::CallbackServerContext* c,
                                             const v1::CancelJobRequest* req,
                                             v1::CancelJobResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::Cancel, req, resp, "JobStore.Cancel");
}

grpc::ServerUnaryReactor* JobService::FindStalled(grpc::CallbackServerContext* c,
                                                  const v1::FindStalledJobsRequest* req,
                                                  v1::FindStalledJobsResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::FindStalled, req, resp, "JobStore.FindStalled");
}

grpc::ServerUnaryReactor* JobService::ResetStalled(grpc::CallbackServerContext* c,
                                                   const v1::ResetStalledJobsRequest* req,
                                                   v1::ResetStalledJobsResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::ResetStalled, req, resp, "JobStore.ResetStalled");
}

grpc::ServerUnaryReactor* JobService::ListByStatus(grpc::CallbackServerContext* c,
                                                   const v1::ListJobsByStatusRequest* req,
                                                   v1::ListJobsByStatusResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::ListByStatus, req, resp, "JobStore.ListByStatus");
}

grpc::ServerUnaryReactor* JobService::ListByExecution(grpc::CallbackServerContext* c,
                                                      const v1::ListJobsByExecutionRequest* req,
                                                      v1::ListJobsByExecutionResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::ListByExecution, req, resp,
               "JobStore.ListByExecution");
}

grpc::ServerUnaryReactor* JobService::SaveCheckpoint(grpc::CallbackServerContext* c,
                                                     const v1::SaveJobCheckpointRequest* req,
                                                     v1::SaveJobCheckpointResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::SaveCheckpoint, req, resp,
               "JobStore.SaveCheckpoint");
}

grpc::ServerUnaryReactor* JobService::GetCheckpoint(grpc::CallbackServerContext* c,
                                                    const v1::GetJobCheckpointRequest* req,
                                                    v1::GetJobCheckpointResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::GetCheckpoint, req, resp, "JobStore.GetCheckpoint");
}

grpc::ServerUnaryReactor* JobService::UpdateProgress(grpc::CallbackServerContext* c,
                                                     const v1::UpdateJobProgressRequest* req,
                                                     v1::UpdateJobProgressResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::UpdateProgress, req, resp,
               "JobStore.UpdateProgress");
}

grpc::ServerUnaryReactor* JobService::IsInstanceActive(grpc::CallbackServerContext* c,
                                                       const v1::IsJobInstanceActiveRequest* req,
                                                       v1::IsJobInstanceActiveResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::IsInstanceActive, req, resp,
               "JobStore.IsInstanceActive");
}

grpc::ServerUnaryReactor* JobService::GetInstanceId(grpc::CallbackServerContext* c,
                                                    const v1::GetJobInstanceIdRequest* req,
                                                    v1::GetJobInstanceIdResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::GetInstanceId, req, resp, "JobStore.GetInstanceId");
}

grpc::ServerUnaryReactor* JobService::DeleteOld(grpc::CallbackServerContext* c,
                                                const v1::DeleteOldJobsRequest* req,
                                                v1::DeleteOldJobsResponse* resp) {
  return Serve(c, executor_, store_, &JobStore::DeleteOld, req, resp, "JobStore.DeleteOld");
}

}  // namespace flowmonkey::rpc
