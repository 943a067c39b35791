#include "server/pg/admin.h"

#include "server/pg/migrations.h"

namespace flowmonkey::pg {

absl::StatusOr<v1::GetSchemaVersionResponse> PgAdmin::GetSchemaVersion(
    const v1::GetSchemaVersionRequest&) {
  absl::StatusOr<int> version = SchemaVersion(pool_);
  if (!version.ok()) return version.status();
  v1::GetSchemaVersionResponse response;
  response.set_version(*version);
  response.set_latest_known_version(LatestKnownVersion());
  response.set_table_prefix(table_prefix_);
  return response;
}

}  // namespace flowmonkey::pg
