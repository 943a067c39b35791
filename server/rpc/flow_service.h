#pragma once

// gRPC adapter: flowmonkey.v1.FlowStore over a FlowStore. The unary methods are generated
// (flow.fm_service.h); ListAll streams every flow from the store.

#include "flowmonkey/v1/flow.fm_service.h"

namespace flowmonkey::rpc {

class FlowStoreService final : public FlowStoreServiceBase {
 public:
  using FlowStoreServiceBase::FlowStoreServiceBase;

  grpc::ServerWriteReactor<v1::ListAllFlowsResponse>* ListAll(
      grpc::CallbackServerContext* context, const v1::ListAllFlowsRequest* request) override;
};

}  // namespace flowmonkey::rpc
