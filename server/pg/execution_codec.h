#pragma once

// Row <-> message conversion for fm_executions. Nested messages (error, cancellation,
// timeout_config, retry_attempts) are stored as the seed's camelCase JSONB documents.

#include <pqxx/result>
#include <pqxx/row>
#include <string>

#include "flowmonkey/v1/execution.pb.h"
#include "server/pg/params.h"

namespace flowmonkey::pg {

// The columns every execution query selects, in the order ExecutionFromRow reads them.
#define FM_EXECUTION_COLUMNS                                                               \
  "id, flow_id, flow_version, current_step, status, context::text, wake_at, wait_reason, " \
  "error::text, step_count, history::text, tenant_id, metadata::text, created_at, "        \
  "updated_at, idempotency_key, idempotency_expires_at, cancellation::text, "              \
  "parent_execution_id, wait_started_at, timeout_config::text, retry_attempts::text, version"

// The columns inserts and updates write come from one table (execution_codec.cc): name,
// PostgreSQL type and accessor, in parameter order ($1 = id). Every write statement's
// column list, placeholders, unnest types and parameters are derived from it.
struct ExecutionWriteSql {
  int count = 0;           // columns, = parameters $1..$count
  std::string columns;     // "id, flow_id, ..."
  std::string values;      // "$1::text, $2::text, ..." for INSERT ... VALUES
  std::string unnest;      // "$1::text[], ..." for INSERT ... SELECT * FROM unnest(...)
  std::string update_set;  // UPDATE ... SET every column but id (created_at kept if set), and
                           // the version bump
  std::string upsert_set;  // ON CONFLICT (id) DO UPDATE SET of an insert "AS t": every column
                           // but id and created_at, and the version bump
};
const ExecutionWriteSql& ExecutionWrite();

// Appends $1..$count for `e` (validated), in the table's order. created_at/updated_at of 0
// become `now`.
void AddExecutionParams(Params& params, const v1::Execution& e, int64_t now);

v1::Execution ExecutionFromRow(const pqxx::row& row);

}  // namespace flowmonkey::pg
