#pragma once

// FlowStore over gRPC. Every call is retried on UNAVAILABLE (Save is safe to repeat: an
// identical re-save is a no-op); ListAll only while it has delivered nothing yet.

#include "flowmonkey/v1/flow.fm_remote.h"

namespace flowmonkey::client {

// The unary methods are generated (flow.fm_remote.h).
class RemoteFlowStore final : public RemoteFlowStoreBase {
 public:
  using RemoteFlowStoreBase::RemoteFlowStoreBase;

  absl::Status ListAll(const v1::ListAllFlowsRequest& request,
                       const std::function<bool(const v1::Flow&)>& each) override;
};

}  // namespace flowmonkey::client
