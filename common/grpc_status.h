#pragma once

// The one place where absl::Status and grpc::Status are converted, both ways. Codes map
// one to one. A message sent to a client is cut to kMaxStatusMessageBytes (on a UTF-8
// boundary, "..." appended): status messages travel in HTTP/2 trailers, and a long one
// makes a default client fail with "received initial metadata size exceeds limit".

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace flowmonkey {

inline constexpr size_t kMaxStatusMessageBytes = 1024;

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace flowmonkey
