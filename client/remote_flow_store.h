#pragma once

// FlowStore over gRPC. Every call is retried on UNAVAILABLE (Save is safe to repeat: an
// identical re-save is a no-op); ListAll only while it has delivered nothing yet.

#include <memory>

#include <grpcpp/grpcpp.h>

#include "client/call.h"
#include "core/flow_store.h"
#include "flowmonkey/v1/flow.grpc.pb.h"

namespace flowmonkey::client {

class RemoteFlowStore : public FlowStore {
 public:
  RemoteFlowStore(std::shared_ptr<grpc::Channel> channel, CallOptions options);

  absl::StatusOr<v1::SaveFlowResponse> Save(const v1::SaveFlowRequest& request) override;
  absl::StatusOr<v1::GetFlowResponse> Get(const v1::GetFlowRequest& request) override;
  absl::StatusOr<v1::LatestFlowResponse> Latest(const v1::LatestFlowRequest& request) override;
  absl::StatusOr<v1::FlowVersionsResponse> Versions(
      const v1::FlowVersionsRequest& request) override;
  absl::StatusOr<v1::ListFlowsResponse> List(const v1::ListFlowsRequest& request) override;
  absl::Status ListAll(const v1::ListAllFlowsRequest& request,
                       const std::function<bool(const v1::Flow&)>& each) override;
  absl::StatusOr<v1::SetFlowStatusResponse> SetStatus(
      const v1::SetFlowStatusRequest& request) override;
  absl::StatusOr<v1::DeleteFlowResponse> Delete(const v1::DeleteFlowRequest& request) override;

 private:
  std::unique_ptr<v1::FlowStore::Stub> stub_;
  CallOptions options_;
};

}  // namespace flowmonkey::client
