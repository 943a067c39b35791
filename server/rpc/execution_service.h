#pragma once

// gRPC adapter: flowmonkey.v1.ExecutionStore served over an ExecutionStore interface.

#include "core/execution_store.h"
#include "flowmonkey/v1/execution.grpc.pb.h"
#include "server/rpc/executor.h"

namespace flowmonkey::rpc {

class ExecutionService final : public v1::ExecutionStore::CallbackService {
 public:
  ExecutionService(ExecutionStore& store, Executor& executor)
      : store_(store), executor_(executor) {}

  grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* c,
                                   const v1::CreateExecutionRequest* req,
                                   v1::CreateExecutionResponse* resp) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* c, const v1::GetExecutionRequest* req,
                                v1::GetExecutionResponse* resp) override;
  grpc::ServerUnaryReactor* Save(grpc::CallbackServerContext* c,
                                 const v1::SaveExecutionRequest* req,
                                 v1::SaveExecutionResponse* resp) override;
  grpc::ServerUnaryReactor* Update(grpc::CallbackServerContext* c,
                                   const v1::UpdateExecutionRequest* req,
                                   v1::UpdateExecutionResponse* resp) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* c,
                                   const v1::DeleteExecutionRequest* req,
                                   v1::DeleteExecutionResponse* resp) override;
  grpc::ServerUnaryReactor* FindByStatus(grpc::CallbackServerContext* c,
                                         const v1::FindByStatusRequest* req,
                                         v1::FindByStatusResponse* resp) override;
  grpc::ServerUnaryReactor* ListWakeReady(grpc::CallbackServerContext* c,
                                          const v1::ListWakeReadyRequest* req,
                                          v1::ListWakeReadyResponse* resp) override;
  grpc::ServerUnaryReactor* FindByTenant(grpc::CallbackServerContext* c,
                                         const v1::FindByTenantRequest* req,
                                         v1::FindByTenantResponse* resp) override;
  grpc::ServerUnaryReactor* FindByIdempotencyKey(grpc::CallbackServerContext* c,
                                                 const v1::FindByIdempotencyKeyRequest* req,
                                                 v1::FindByIdempotencyKeyResponse* resp) override;
  grpc::ServerUnaryReactor* FindChildren(grpc::CallbackServerContext* c,
                                         const v1::FindChildrenRequest* req,
                                         v1::FindChildrenResponse* resp) override;
  grpc::ServerUnaryReactor* FindTimedOutExecutions(
      grpc::CallbackServerContext* c, const v1::FindTimedOutExecutionsRequest* req,
      v1::FindTimedOutExecutionsResponse* resp) override;
  grpc::ServerUnaryReactor* FindTimedOutWaits(grpc::CallbackServerContext* c,
                                              const v1::FindTimedOutWaitsRequest* req,
                                              v1::FindTimedOutWaitsResponse* resp) override;
  grpc::ServerUnaryReactor* AcquireLock(grpc::CallbackServerContext* c,
                                        const v1::AcquireLockRequest* req,
                                        v1::AcquireLockResponse* resp) override;
  grpc::ServerUnaryReactor* ExtendLock(grpc::CallbackServerContext* c,
                                       const v1::ExtendLockRequest* req,
                                       v1::ExtendLockResponse* resp) override;
  grpc::ServerUnaryReactor* ReleaseLock(grpc::CallbackServerContext* c,
                                        const v1::ReleaseLockRequest* req,
                                        v1::ReleaseLockResponse* resp) override;

 private:
  ExecutionStore& store_;
  Executor& executor_;
};

}  // namespace flowmonkey::rpc
