#pragma once

// The one place where absl::Status and grpc::Status are converted, both ways. Codes map
// one to one; messages pass unchanged.

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace flowmonkey {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace flowmonkey
