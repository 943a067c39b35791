#pragma once

// A check every call passes through before and after its store call: Serve (unary.h) and
// the streaming services ask the Executor for the guard, so no service can forget it. The
// server installs server/tenant_guard.h when API keys are configured.

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "server/rpc/method.h"

namespace flowmonkey::rpc {

// What one call may see. No tenant: everything (an operator key, or no keys configured).
struct CallScope {
  std::optional<std::string> tenant;
  // Executions already found to belong to `tenant` while admitting the request.
  absl::flat_hash_set<std::string> visible_executions;

  bool restricted() const { return tenant.has_value(); }
};

class CallGuard {
 public:
  virtual ~CallGuard() = default;

  // The scope of the call behind `context`.
  virtual absl::StatusOr<CallScope> ScopeOf(const grpc::ServerContextBase& context) const = 0;
  // For a restricted scope: refuses `request` of `method` or narrows it to the scope (e.g.
  // fills in a tenant filter), as the method's declared policy says.
  virtual absl::Status Admit(CallScope& scope, const Method& method,
                             google::protobuf::Message& request) = 0;
  // For a restricted scope: drops from `response` what lies outside the scope, or fails
  // the call when the response is a single record outside it.
  virtual absl::Status Screen(const CallScope& scope, const Method& method,
                              google::protobuf::Message& response) = 0;
};

// Runs `call` on `request` under `guard` (which may be null): admits a copy of the request
// when the call is restricted, then screens the response.
template <typename Request, typename Response, typename Call>
absl::StatusOr<Response> Guarded(CallGuard* guard, const grpc::ServerContextBase& context,
                                 const Method& method, const Request& request, Call&& call) {
  if (guard == nullptr) return call(request);
  absl::StatusOr<CallScope> scope = guard->ScopeOf(context);
  if (!scope.ok()) return scope.status();
  if (!scope->restricted()) return call(request);
  Request narrowed = request;
  if (absl::Status s = guard->Admit(*scope, method, narrowed); !s.ok()) return s;
  absl::StatusOr<Response> response = call(narrowed);
  if (!response.ok()) return response;
  if (absl::Status s = guard->Screen(*scope, method, *response); !s.ok()) return s;
  return response;
}

}  // namespace flowmonkey::rpc
