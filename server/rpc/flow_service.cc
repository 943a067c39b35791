#include "server/rpc/flow_service.h"

#include "server/rpc/server_stream.h"
#include "server/rpc/unary.h"

namespace flowmonkey::rpc {

grpc::ServerUnaryReactor* FlowService::Save(grpc::CallbackServerContext* c,
                                            const v1::SaveFlowRequest* req,
                                            v1::SaveFlowResponse* resp) {
  return Serve(c, executor_, store_, &FlowStore::Save, req, resp, "FlowStore.Save");
}

grpc::ServerUnaryReactor* FlowService::Get(grpc::CallbackServerContext* c,
                                           const v1::GetFlowRequest* req,
                                           v1::GetFlowResponse* resp) {
  return Serve(c, executor_, store_, &FlowStore::Get, req, resp, "FlowStore.Get");
}

grpc::ServerUnaryReactor* FlowService::Latest(grpc::CallbackServerContext* c,
                                              const v1::LatestFlowRequest* req,
                                              v1::LatestFlowResponse* resp) {
  return Serve(c, executor_, store_, &FlowStore::Latest, req, resp, "FlowStore.Latest");
}

grpc::ServerUnaryReactor* FlowService::Versions(grpc::CallbackServerContext* c,
                                                const v1::FlowVersionsRequest* req,
                                                v1::FlowVersionsResponse* resp) {
  return Serve(c, executor_, store_, &FlowStore::Versions, req, resp, "FlowStore.Versions");
}

grpc::ServerUnaryReactor* FlowService::List(grpc::CallbackServerContext* c,
                                            const v1::ListFlowsRequest* req,
                                            v1::ListFlowsResponse* resp) {
  return Serve(c, executor_, store_, &FlowStore::List, req, resp, "FlowStore.List");
}

grpc::ServerWriteReactor<v1::ListAllFlowsResponse>* FlowService::ListAll(
    grpc::CallbackServerContext* c, const v1::ListAllFlowsRequest* req) {
  using Stream = ServerStream<v1::ListAllFlowsResponse>;
  // The request is copied: the producer may outlive the call (see server_stream.h).
  return Stream::Start(c, executor_, "FlowStore.ListAll",
                       [this, request = *req](const Stream::Push& push) {
    return store_.ListAll(request, [&push](const v1::Flow& flow) {
      v1::ListAllFlowsResponse message;
      *message.mutable_flow() = flow;
      return push(std::move(message));
    });
  });
}

grpc::ServerUnaryReactor* FlowService::SetStatus(grpc::CallbackServerContext* c,
                                                 const v1::SetFlowStatusRequest* req,
                                                 v1::SetFlowStatusResponse* resp) {
  return Serve(c, executor_, store_, &FlowStore::SetStatus, req, resp, "FlowStore.SetStatus");
}

grpc::ServerUnaryReactor* FlowService::Delete(grpc::CallbackServerContext* c,
                                              const v1::DeleteFlowRequest* req,
                                              v1::DeleteFlowResponse* resp) {
  return Serve(c, executor_, store_, &FlowStore::Delete, req, resp, "FlowStore.Delete");
}

}  // namespace flowmonkey::rpc
