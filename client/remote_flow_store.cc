#include "client/remote_flow_store.h"

#include <chrono>
#include <thread>

namespace flowmonkey::client {

absl::Status RemoteFlowStore::ListAll(const v1::ListAllFlowsRequest& request,
                                      const std::function<bool(const v1::Flow&)>& each) {
  bool delivered = false;  // once the caller has seen a flow, a repeat would repeat it
  const grpc::Status status = StreamCall(
      options_,
      [&](grpc::ClientContext* context) {
        std::unique_ptr<grpc::ClientReader<v1::ListAllFlowsResponse>> reader =
            stub_->ListAll(context, request);
        v1::ListAllFlowsResponse message;
        while (reader->Read(&message)) {
          delivered = true;
          if (!each(message.flow())) {
            context->TryCancel();
            reader->Finish();
            return grpc::Status::OK;
          }
        }
        return reader->Finish();
      },
      [&delivered] { return !delivered; });
  return FromGrpcStatus(status);
}

}  // namespace flowmonkey::client
