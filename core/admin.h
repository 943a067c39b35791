#pragma once

// Admin: questions about the service itself (proto/flowmonkey/v1/admin.proto). Implemented
// by the server (server/pg/admin.h) and the gRPC client; it holds no tenant data.

#include "absl/status/statusor.h"
#include "flowmonkey/v1/admin.pb.h"

namespace flowmonkey {

class Admin {
 public:
  virtual ~Admin() = default;

  // The schema version applied to the database and the highest this server knows.
  virtual absl::StatusOr<v1::GetSchemaVersionResponse> GetSchemaVersion(
      const v1::GetSchemaVersionRequest& request) = 0;
};

}  // namespace flowmonkey
