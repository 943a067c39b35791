#pragma once

// A store call that can be started without blocking its caller. The server's gRPC handlers
// look for it on a store (dynamic_cast) and, when it is there, hand the request straight to
// it from gRPC's callback thread instead of parking a worker thread on the blocking method:
// the group-commit stores (server/pg/batched_*) queue the request and finish it from the
// thread that flushes its batch.

#include <functional>

#include "absl/status/statusor.h"

namespace flowmonkey {

template <typename Request, typename Response>
class AsyncCall {
 public:
  using Done = std::function<void(absl::StatusOr<Response>)>;

  virtual ~AsyncCall() = default;

  // Takes the call and returns true: `done` then runs exactly once, on another thread, or
  // on this one when the request is refused at once (invalid). `request` must stay valid
  // until then. Returns false, without calling `done`, for a request this path does not
  // take; the caller then uses the store's blocking method.
  virtual bool Start(const Request& request, Done done) = 0;
};

}  // namespace flowmonkey
