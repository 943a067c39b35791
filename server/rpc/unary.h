#pragma once

// The one shape of every unary RPC: hand the request to a worker thread, call the store
// method there, and finish the call with its status. gRPC's callback threads never block
// on the database.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/grpc_status.h"
#include "server/rpc/executor.h"
#include "spdlog/spdlog.h"

namespace flowmonkey::rpc {

template <typename Store, typename Request, typename Response>
grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, Executor& executor,
                                Store& store,
                                absl::StatusOr<Response> (Store::*method)(const Request&),
                                const Request* request, Response* response,
                                std::string_view rpc) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  executor.Submit([=, &store, &executor] {
    if (context->IsCancelled() || context->deadline() < std::chrono::system_clock::now()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                   "deadline passed before the call was served"));
      return;
    }
    absl::StatusOr<Response> result = Guarded<Request, Response>(
        executor.guard(), *context, rpc, *request,
        [&store, method](const Request& r) { return (store.*method)(r); });
    if (result.ok()) {
      *response = *std::move(result);
      spdlog::debug("{} OK", rpc);
      reactor->Finish(grpc::Status::OK);
      return;
    }
    if (result.status().code() == absl::StatusCode::kInternal) {
      spdlog::error("{} {}", rpc, result.status().ToString());
    } else {
      spdlog::debug("{} {}", rpc, result.status().ToString());
    }
    reactor->Finish(ToGrpcStatus(result.status()));
  });
  return reactor;
}

}  // namespace flowmonkey::rpc
