#pragma once

// One unary call from the client: a per-attempt deadline, metadata, and bounded retries
// with exponential backoff, only where repeating the call is safe (docs/operations.md,
// "Retries"): UNAVAILABLE (the server answers it only when the statement never ran) for
// every call, UNKNOWN (the write may have committed) only for idempotent ones.

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

// What a call may repeat after a failure.
enum class Retry {
  // Repeating it after it took effect changes nothing more: reads, and writes that carry a
  // request id or are idempotent by key. Retried on UNAVAILABLE and on UNKNOWN.
  kIdempotent,
  // A repeat after it took effect could apply twice or overwrite a newer state. Retried on
  // UNAVAILABLE only; UNKNOWN goes back to the caller, who must check before repeating.
  kOnce,
};

// Whether `code` may be retried for a call of kind `retry`.
inline bool Retryable(Retry retry, grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         (retry == Retry::kIdempotent && code == grpc::StatusCode::UNKNOWN);
}

// A fresh context for one attempt: its deadline and the API key.
inline void PrepareContext(const CallOptions& options, grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(options.timeout));
  if (!options.api_key.empty()) context.AddMetadata("authorization", "Bearer " + options.api_key);
}

// The attempts of a streaming call: `attempt` runs with a fresh context, again while it
// answers UNAVAILABLE and `may_repeat()` (e.g. nothing was handed to the caller yet).
inline grpc::Status StreamCall(
    const CallOptions& options, const std::function<grpc::Status(grpc::ClientContext*)>& attempt,
    const std::function<bool()>& may_repeat = [] { return true; }) {
  absl::Duration backoff = options.initial_backoff;
  for (int n = 1;; ++n) {
    grpc::ClientContext context;
    PrepareContext(options, context);
    const grpc::Status status = attempt(&context);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE || n >= options.max_attempts ||
        !may_repeat()) {
      return status;
    }
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(backoff));
    backoff *= 2;
  }
}

template <typename Request, typename Response>
absl::StatusOr<Response> UnaryCall(
    const CallOptions& options, Retry retry, const Request& request,
    const std::function<grpc::Status(grpc::ClientContext*, const Request&, Response*)>& call) {
  absl::Duration backoff = options.initial_backoff;
  const int attempts = std::max(1, options.max_attempts);
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext context;
    PrepareContext(options, context);
    Response response;
    const grpc::Status status = call(&context, request, &response);
    if (status.ok()) return response;
    if (!Retryable(retry, status.error_code()) || attempt >= attempts) {
      return FromGrpcStatus(status);
    }
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(backoff));
    backoff *= 2;
  }
}

}  // namespace flowmonkey::client
