#pragma once

// One unary call from the client: a per-attempt deadline, metadata, and retries with
// exponential backoff on UNAVAILABLE, only for calls the caller marks safe to repeat.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"

namespace flowmonkey::client {

struct CallOptions {
  absl::Duration timeout = absl::Seconds(10);
  int max_attempts = 3;
  absl::Duration initial_backoff = absl::Milliseconds(50);
  std::string api_key;  // sent as "authorization: Bearer <key>" when set
};

enum class Retry { kSafe, kNever };

template <typename Request, typename Response>
absl::StatusOr<Response> UnaryCall(
    const CallOptions& options, Retry retry, const Request& request,
    const std::function<grpc::Status(grpc::ClientContext*, const Request&, Response*)>& call) {
  absl::Duration backoff = options.initial_backoff;
  const int attempts = retry == Retry::kSafe ? std::max(1, options.max_attempts) : 1;
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(options.timeout));
    if (!options.api_key.empty()) context.AddMetadata("authorization", "Bearer " + options.api_key);
    Response response;
    const grpc::Status status = call(&context, request, &response);
    if (status.ok()) return response;
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE || attempt >= attempts) {
      return FromGrpcStatus(status);
    }
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(backoff));
    backoff *= 2;
  }
}

}  // namespace flowmonkey::client
