#pragma once

// The one shape of every unary RPC: hand the request to a worker thread, call the store
// method there, and finish the call with its status. gRPC's callback threads never block
// on the database. Stores that can take a call without blocking (core/async_call.h: the
// group-commit paths) get it straight from the callback thread, with no worker hand-off.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/grpc_status.h"
#include "core/async_call.h"
#include "server/rpc/executor.h"
#include "server/rpc/method.h"
#include "spdlog/spdlog.h"

namespace flowmonkey::rpc {

// Finishes the call with `result`, moved into the response gRPC sends.
template <typename Response>
void FinishWith(grpc::ServerUnaryReactor* reactor, Response* response,
                absl::StatusOr<Response> result, std::string_view rpc) {
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
}

// True when `guard` lets the call behind `context` through untouched: no guard, or a key
// that sees every tenant (an operator's). A key the guard refuses is false: the worker path
// answers it.
inline bool Unrestricted(CallGuard* guard, const grpc::ServerContextBase& context) {
  if (guard == nullptr) return true;
  absl::StatusOr<CallScope> scope = guard->ScopeOf(context);
  return scope.ok() && !scope->restricted();
}

template <typename Store, typename Request, typename Response>
grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, Executor& executor,
                                Store& store,
                                absl::StatusOr<Response> (Store::*call)(const Request&),
                                const Request* request, Response* response, const Method& method) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto finish = [reactor, response, &method](absl::StatusOr<Response> result) {
    FinishWith(reactor, response, std::move(result), method.name);
  };
  // A store that takes the call without blocking (group commit) gets it from this thread;
  // calls that a guard must scope first (a tenant key's) take the worker path below.
  if (method.policy.batchable() && Unrestricted(executor.guard(), *context)) {
    if (auto* async = dynamic_cast<AsyncCall<Request, Response>*>(&store);
        async != nullptr && async->Start(*request, finish)) {
      return reactor;
    }
  }
  executor.Submit([=, &store, &executor, &method] {
    if (context->IsCancelled() || context->deadline() < std::chrono::system_clock::now()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                   "deadline passed before the call was served"));
      return;
    }
    finish(
        Guarded<Request, Response>(executor.guard(), *context, method, *request,
                                   [&store, call](const Request& r) { return (store.*call)(r); }));
  });
  return reactor;
}

}  // namespace flowmonkey::rpc
