#pragma once

// gRPC adapter: flowmonkey.v1.FlowStore served over a FlowStore interface.

#include "core/flow_store.h"
#include "flowmonkey/v1/flow.grpc.pb.h"
#include "server/rpc/executor.h"

namespace flowmonkey::rpc {

class FlowService final : public v1::FlowStore::CallbackService {
 public:
  FlowService(FlowStore& store, Executor& executor) : store_(store), executor_(executor) {}

  grpc::ServerUnaryReactor* Save(grpc::CallbackServerContext* c, const v1::SaveFlowRequest* req,
                                 v1::SaveFlowResponse* resp) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* c, const v1::GetFlowRequest* req,
                                v1::GetFlowResponse* resp) override;
  grpc::ServerUnaryReactor* Latest(grpc::CallbackServerContext* c,
                                   const v1::LatestFlowRequest* req,
                                   v1::LatestFlowResponse* resp) override;
  grpc::ServerUnaryReactor* Versions(grpc::CallbackServerContext* c,
                                     const v1::FlowVersionsRequest* req,
                                     v1::FlowVersionsResponse* resp) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* c, const v1::ListFlowsRequest* req,
                                 v1::ListFlowsResponse* resp) override;
  grpc::ServerWriteReactor<v1::ListAllFlowsResponse>* ListAll(
      grpc::CallbackServerContext* c, const v1::ListAllFlowsRequest* req) override;
  grpc::ServerUnaryReactor* SetStatus(grpc::CallbackServerContext* c,
                                      const v1::SetFlowStatusRequest* req,
                                      v1::SetFlowStatusResponse* resp) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* c,
                                   const v1::DeleteFlowRequest* req,
                                   v1::DeleteFlowResponse* resp) override;

 private:
  FlowStore& store_;
  Executor& executor_;
};

}  // namespace flowmonkey::rpc
