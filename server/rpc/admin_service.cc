#include "server/rpc/admin_service.h"

#include "common/grpc_status.h"

namespace flowmonkey::rpc {

grpc::ServerUnaryReactor* AdminService::GetSchemaVersion(grpc::CallbackServerContext* c,
                                                         const v1::GetSchemaVersionRequest*,
                                                         v1::GetSchemaVersionResponse* resp) {
  grpc::ServerUnaryReactor* reactor = c->DefaultReactor();
  executor_.Submit([this, reactor, resp] {
    absl::StatusOr<v1::GetSchemaVersionResponse> result = schema_version_();
    if (result.ok()) *resp = *std::move(result);
    reactor->Finish(ToGrpcStatus(result.status()));
  });
  return reactor;
}

}  // namespace flowmonkey::rpc
