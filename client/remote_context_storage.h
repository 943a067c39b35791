#pragma once

// ContextStorage over gRPC: Set streams the value to the server in chunks of
// kContextChunkBytes (announcing its total size first), Get reassembles the chunks the
// server streams back. Every call is retried on UNAVAILABLE (Set overwrites with the same
// value, so repeating it is harmless; a retried Get starts over).

#include <memory>

#include <grpcpp/grpcpp.h>

#include "client/call.h"
#include "core/context_storage.h"
#include "flowmonkey/v1/context.grpc.pb.h"

namespace flowmonkey::client {

class RemoteContextStorage : public ContextStorage {
 public:
  RemoteContextStorage(std::shared_ptr<grpc::Channel> channel, CallOptions options);

  absl::StatusOr<v1::ContextReference> Set(const v1::ContextValue& value) override;
  absl::StatusOr<v1::ContextValue> Get(const v1::GetContextRequest& request) override;
  absl::StatusOr<v1::DeleteContextResponse> Delete(
      const v1::DeleteContextRequest& request) override;
  absl::StatusOr<v1::ListContextResponse> List(const v1::ListContextRequest& request) override;
  absl::StatusOr<v1::ClearExecutionContextResponse> ClearExecution(
      const v1::ClearExecutionContextRequest& request) override;

 private:
  // Runs attempt(context) up to max_attempts times while it answers UNAVAILABLE.
  grpc::Status WithRetry(const std::function<grpc::Status(grpc::ClientContext*)>& attempt);

  std::unique_ptr<v1::ContextStorage::Stub> stub_;
  CallOptions options_;
};

}  // namespace flowmonkey::client
