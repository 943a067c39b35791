#pragma once

// gRPC adapter: flowmonkey.v1.JobStore served over a JobStore interface.

#include "core/job_store.h"
#include "flowmonkey/v1/job.grpc.pb.h"
#include "server/rpc/executor.h"

namespace flowmonkey::rpc {

class JobService final : public v1::JobStore::CallbackService {
 public:
  JobService(JobStore& store, Executor& executor) : store_(store), executor_(executor) {}

  grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* c, const v1::CreateJobRequest* req,
                                   v1::CreateJobResponse* resp) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* c, const v1::GetJobRequest* req,
                                v1::GetJobResponse* resp) override;
  grpc::ServerUnaryReactor* GetForStep(grpc::CallbackServerContext* c,
                                       const v1::GetJobForStepRequest* req,
                                       v1::GetJobForStepResponse* resp) override;
  grpc::ServerUnaryReactor* Claim(grpc::CallbackServerContext* c, const v1::ClaimJobRequest* req,
                                  v1::ClaimJobResponse* resp) override;
  grpc::ServerUnaryReactor* ClaimNext(grpc::CallbackServerContext* c,
                                      const v1::ClaimNextJobsRequest* req,
                                      v1::ClaimNextJobsResponse* resp) override;
  grpc::ServerUnaryReactor* ClaimWithInstance(grpc::CallbackServerContext* c,
                                              const v1::ClaimJobWithInstanceRequest* req,
                                              v1::ClaimJobWithInstanceResponse* resp) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* c,
                                      const v1::HeartbeatJobRequest* req,
                                      v1::HeartbeatJobResponse* resp) override;
  grpc::ServerUnaryReactor* Complete(grpc::CallbackServerContext* c,
                                     const v1::CompleteJobRequest* req,
                                     v1::CompleteJobResponse* resp) override;
  grpc::ServerUnaryReactor* Fail(grpc::CallbackServerContext* c, const v1::FailJobRequest* req,
                                 v1::FailJobResponse* resp) override;
  grpc::ServerUnaryReactor* Cancel(grpc::CallbackServerContext* c, const v1::CancelJobRequest* req,
                                   v1::CancelJobResponse* resp) override;
  grpc::ServerUnaryReactor* FindStalled(grpc::CallbackServerContext* c,
                                        const v1::FindStalledJobsRequest* req,
                                        v1::FindStalledJobsResponse* resp) override;
  grpc::ServerUnaryReactor* ResetStalled(grpc::CallbackServerContext* c,
                                         const v1::ResetStalledJobsRequest* req,
                                         v1::ResetStalledJobsResponse* resp) override;
  grpc::ServerUnaryReactor* ListByStatus(grpc::CallbackServerContext* c,
                                         const v1::ListJobsByStatusRequest* req,
                                         v1::ListJobsByStatusResponse* resp) override;
  grpc::ServerUnaryReactor* ListByExecution(grpc::CallbackServerContext* c,
                                            const v1::ListJobsByExecutionRequest* req,
                                            v1::ListJobsByExecutionResponse* resp) override;
  grpc::ServerUnaryReactor* SaveCheckpoint(grpc::CallbackServerContext* c,
                                           const v1::SaveJobCheckpointRequest* req,
                                           v1::SaveJobCheckpointResponse* resp) override;
  grpc::ServerUnaryReactor* GetCheckpoint(grpc::CallbackServerContext* c,
                                          const v1::GetJobCheckpointRequest* req,
                                          v1::GetJobCheckpointResponse* resp) override;
  grpc::ServerUnaryReactor* UpdateProgress(grpc::CallbackServerContext* c,
                                           const v1::UpdateJobProgressRequest* req,
                                           v1::UpdateJobProgressResponse* resp) override;
  grpc::ServerUnaryReactor* IsInstanceActive(grpc::CallbackServerContext* c,
                                             const v1::IsJobInstanceActiveRequest* req,
                                             v1::IsJobInstanceActiveResponse* resp) override;
  grpc::ServerUnaryReactor* GetInstanceId(grpc::CallbackServerContext* c,
                                          const v1::GetJobInstanceIdRequest* req,
                                          v1::GetJobInstanceIdResponse* resp) override;
  grpc::ServerUnaryReactor* DeleteOld(grpc::CallbackServerContext* c,
                                      const v1::DeleteOldJobsRequest* req,
                                      v1::DeleteOldJobsResponse* resp) override;

 private:
  JobStore& store_;
  Executor& executor_;
};

}  // namespace flowmonkey::rpc
