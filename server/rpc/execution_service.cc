#include "server/rpc/execution_service.h"

#include "server/rpc/unary.h"

namespace flowmonkey::rpc {

grpc::ServerUnaryReactor* ExecutionService::Create(grpc::CallbackServerContext* c,
                                               const v1::CreateExecutionRequest* req,
                                               v1::CreateExecutionResponse* resp) {
  return Serve(c, executor_, store_, &ExecutionStore::Create, req, resp, "ExecutionStore.Create");
}

grpc::ServerUnaryReactor* ExecutionService::Get(grpc::CallbackServerContext* c,
                                               const v1::GetExecutionRequest* req,
                                               v1::GetExecutionResponse* resp) {
  return Serve(c, executor_, store_, &ExecutionStore::Get, req, resp, "ExecutionStore.Get");
}

grpc::ServerUnaryReactor* ExecutionService::Save(grpc::CallbackServerContext* c,
                                               const v1::SaveExecutionRequest* req,
                                               v1::SaveExecutionResponse* resp) {
  return Serve(c, executor_, store_, &ExecutionStore::Save, req, resp, "ExecutionStore.Save");
}

grpc::ServerUnaryReactor* ExecutionService::Update(grpc::CallbackServerContext* c,
                                               const v1::UpdateExecutionRequest* req,
                                               v1::UpdateExecutionResponse* resp) {
  return Serve(c, executor_, store_, &ExecutionStore::Update, req, resp, "ExecutionStore.Update");
}

grpc::ServerUnaryReactor* ExecutionService::Delete(grpc::CallbackServerContext* c,
                                               const v1::DeleteExecutionRequest* req,
                                               v1::DeleteExecutionResponse* resp) {
  return Serve(c, executor_, store_, &ExecutionStore::Delete, req, resp, "ExecutionStore.Delete");
}

grpc::ServerUnaryReactor* ExecutionService::FindByStatus(grpc::CallbackServerContext* c,
                                               const v1::FindByStatusRequest* req,
                                               v1::FindByStatusResponse* resp) {
  return Serve(c, executor_, store_, &ExecutionStore::FindByStatus, req, resp, "ExecutionStore.FindByStatus");
}

grpc::ServerUnaryReactor* ExecutionService::ListWakeReady(grpc::CallbackServerContext* c,
                                               const v1::ListWakeReadyRequest* req,
                                               v1::ListWakeReadyResponse* resp) {
  return Serve(c, executor_, store_, &ExecutionStore::ListWakeReady, req, resp, "ExecutionStore.ListWakeReady");
}

grpc::ServerUnaryReactor* ExecutionService::FindByTenant(grpc::CallbackServerContext* c,
                                               const v1::FindByTenantRequest* req,
                                               v1::FindByTenantResponse* resp) {
  return Serve(c, executor_, store_, &ExecutionStore::FindByTenant, req, resp, "ExecutionStore.FindByTenant");
}

grpc::ServerUnaryReactor* ExecutionService::FindByIdempotencyKey(grpc::CallbackServerContext* c,
                                               const v1::FindByIdempotencyKeyRequest* req,
                                               v1::FindByIdempotencyKeyResponse* resp) {
  return Serve(c, executor_, store_, &ExecutionStore::FindByIdempotencyKey, req, resp, "ExecutionStore.FindByIdempotencyKey");
}

grpc::ServerUnaryReactor* ExecutionService::FindChildren(grpc::CallbackServerContext* c,
                                               const v1::FindChildrenRequest* req,
                                               v1::FindChildrenResponse* resp) {
  return Serve(c, executor_, store_, &ExecutionStore::FindChildren, req, resp, "ExecutionStore.FindChildren");
}

grpc::ServerUnaryReactor* ExecutionService::FindTimedOutExecutions(grpc::CallbackServerContext* c,
                                               const v1::FindTimedOutExecutionsRequest* req,
                                               v1::FindTimedOutExecutionsResponse* resp) {
  return Serve(c, executor_, store_, &ExecutionStore::FindTimedOutExecutions, req, resp, "ExecutionStore.FindTimedOutExecutions");
}

grpc::ServerUnaryReactor* ExecutionService::FindTimedOutWaits(grpc::CallbackServerContext* c,
                                               const v1::FindTimedOutWaitsRequest* req,
                                               v1::FindTimedOutWaitsResponse* resp) {
  return Serve(c, executor_, store_, &ExecutionStore::FindTimedOutWaits, req, resp, "ExecutionStore.FindTimedOutWaits");
}

grpc::ServerUnaryReactor* ExecutionService::AcquireLock(grpc::CallbackServerContext* c,
                                                        const v1::AcquireLockRequest* req,
                                                        v1::AcquireLockResponse* resp) {
  return Serve(c, executor_, store_, &ExecutionStore::AcquireLock, req, resp,
               "ExecutionStore.AcquireLock");
}

grpc::ServerUnaryReactor* ExecutionService::ExtendLock(grpc::CallbackServerContext* c,
                                                       const v1::ExtendLockRequest* req,
                                                       v1::ExtendLockResponse* resp) {
  return Serve(c, executor_, store_, &ExecutionStore::ExtendLock, req, resp,
               "ExecutionStore.ExtendLock");
}

grpc::ServerUnaryReactor* ExecutionService::ReleaseLock(grpc::CallbackServerContext* c,
                                                        const v1::ReleaseLockRequest* req,
                                                        v1::ReleaseLockResponse* resp) {
  return Serve(c, executor_, store_, &ExecutionStore::ReleaseLock, req, resp,
               "ExecutionStore.ReleaseLock");
}

}  // namespace flowmonkey::rpc
