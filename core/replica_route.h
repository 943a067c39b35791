#pragma once

// Where a read whose contract policy is `replica_ok` goes (proto/flowmonkey/v1/options.proto,
// docs/adr/0016-read-replicas.md): the generated ReplicaRouted<Interface> decorators
// (tools/protoc-gen-fm) ask a route, which the server implements over its read replica.

#include <utility>

#include "absl/status/status.h"

namespace flowmonkey {

class ReplicaRoute {
 public:
  virtual ~ReplicaRoute() = default;

  // `read(true)` on the replica while the route allows it, else `read(false)` on the
  // primary; also on the primary when the replica's answer is the replica's own failure
  // (FallsBack) rather than an answer to the request. A read repeats safely.
  template <typename Read>
  auto Route(Read&& read) -> decltype(read(true)) {
    if (UseReplica()) {
      auto result = read(true);
      if (result.ok() || !FallsBack(result.status())) {
        Routed(/*on_replica=*/true);
        return result;
      }
      ReplicaFailed(result.status());
    }
    Routed(/*on_replica=*/false);
    return read(false);
  }

  // The failures that say nothing about the request: the replica unreachable or gone
  // mid-call, a query cancelled by recovery (a conflict with WAL replay), a timeout.
  static bool FallsBack(const absl::Status& status) {
    switch (status.code()) {
      case absl::StatusCode::kUnavailable:
      case absl::StatusCode::kUnknown:
      case absl::StatusCode::kAborted:
      case absl::StatusCode::kDeadlineExceeded:
      case absl::StatusCode::kInternal:
        return true;
      default:
        return false;
    }
  }

 protected:
  // Whether reads go to the replica now: it answers, and it is close enough behind.
  virtual bool UseReplica() = 0;
  // A read failed on the replica (FallsBack) and is being repeated on the primary.
  virtual void ReplicaFailed(const absl::Status& status) = 0;
  // Where a read was answered.
  virtual void Routed(bool on_replica) = 0;
};

}  // namespace flowmonkey
