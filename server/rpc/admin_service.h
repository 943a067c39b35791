#pragma once

// gRPC adapter: flowmonkey.v1.Admin.

#include <functional>

#include "absl/status/statusor.h"
#include "flowmonkey/v1/admin.grpc.pb.h"
#include "server/rpc/executor.h"

namespace flowmonkey::rpc {

class AdminService final : public v1::Admin::CallbackService {
 public:
  using SchemaVersionFn = std::function<absl::StatusOr<v1::GetSchemaVersionResponse>()>;
  AdminService(SchemaVersionFn schema_version, Executor& executor)
      : schema_version_(std::move(schema_version)), executor_(executor) {}

  grpc::ServerUnaryReactor* GetSchemaVersion(grpc::CallbackServerContext* c,
                                             const v1::GetSchemaVersionRequest* req,
                                             v1::GetSchemaVersionResponse* resp) override;

 private:
  SchemaVersionFn schema_version_;
  Executor& executor_;
};

}  // namespace flowmonkey::rpc
