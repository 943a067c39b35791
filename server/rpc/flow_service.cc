#include "server/rpc/flow_service.h"

#include "server/rpc/server_stream.h"

namespace flowmonkey::rpc {

grpc::ServerWriteReactor<v1::ListAllFlowsResponse>* FlowStoreService::ListAll(
    grpc::CallbackServerContext* context, const v1::ListAllFlowsRequest* request) {
  using Stream = ServerStream<v1::ListAllFlowsResponse>;
  static const Method& method = Method::Named("flowmonkey.v1.FlowStore.ListAll");
  // The request is copied: the producer may outlive the call (see server_stream.h).
  return Stream::Start(context, executor_, method,
                       [this, request = *request](const Stream::Push& push) {
                         return store_.ListAll(request, [&push](const v1::Flow& flow) {
                           v1::ListAllFlowsResponse message;
                           *message.mutable_flow() = flow;
                           return push(std::move(message));
                         });
                       });
}

}  // namespace flowmonkey::rpc
