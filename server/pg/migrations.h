#pragma once

// Forward-only schema migrations: sql/migrations/NNNN_name.sql, embedded in the binary at
// build time, recorded in <prefix>schema_migrations. Each migration runs in its own
// transaction under a transaction-scoped advisory lock, so many replicas may start at once
// (and PgBouncer in transaction mode is fine).

#include <limits>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

struct Migration {
  int version;
  const char* name;
  const char* sql;  // table names carry the prefix marker, "{fm_}" (pool.h)
};

// Every migration in sql/migrations, in version order (generated source).
const std::vector<Migration>& EmbeddedMigrations();

// Applies every embedded migration not yet recorded, up to version `up_to` (tests of a
// migration start from the schema before it); returns the schema version after.
absl::StatusOr<int> ApplyMigrations(ConnectionPool& pool,
                                    int up_to = std::numeric_limits<int>::max());
// Highest applied version (0 for an empty database).
absl::StatusOr<int> SchemaVersion(ConnectionPool& pool);
int LatestKnownVersion();

}  // namespace flowmonkey::pg
