#pragma once

// Admin over the connection pool: the schema version of the database it serves.

#include <string>

#include "core/admin.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

class PgAdmin final : public Admin {
 public:
  PgAdmin(ConnectionPool& pool, std::string table_prefix)
      : pool_(pool), table_prefix_(std::move(table_prefix)) {}

  absl::StatusOr<v1::GetSchemaVersionResponse> GetSchemaVersion(
      const v1::GetSchemaVersionRequest& request) override;

 private:
  ConnectionPool& pool_;
  const std::string table_prefix_;
};

}  // namespace flowmonkey::pg
