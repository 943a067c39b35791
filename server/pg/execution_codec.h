#pragma once

// Row <-> message conversion for fm_executions. Nested messages (error, cancellation,
// timeout_config, retry_attempts) are stored as the seed's camelCase JSONB documents.

#include <pqxx/result>
#include <pqxx/row>

#include "flowmonkey/v1/execution.pb.h"
#include "server/pg/params.h"

namespace flowmonkey::pg {

// The columns every execution query selects, in the order ExecutionFromRow reads them.
#define FM_EXECUTION_COLUMNS                                                                 \
  "id, flow_id, flow_version, current_step, status, context::text, wake_at, wait_reason, " \
  "error::text, step_count, history::text, tenant_id, metadata::text, created_at, "        \
  "updated_at, idempotency_key, idempotency_expires_at, cancellation::text, "               \
  "parent_execution_id, wait_started_at, timeout_config::text, retry_attempts::text, version"

// The 22 columns written by inserts and updates, as $1..$22 in this order.
#define FM_EXECUTION_WRITE_COLUMNS                                                          \
  "id, flow_id, flow_version, current_step, status, context, wake_at, wait_reason, error, " \
  "step_count, history, tenant_id, metadata, created_at, updated_at, idempotency_key, "     \
  "idempotency_expires_at, cancellation, parent_execution_id, wait_started_at, "            \
  "timeout_config, retry_attempts"
#define FM_EXECUTION_WRITE_VALUES                                                            \
  "$1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9::jsonb, $10, $11::jsonb, $12, $13::jsonb, $14, " \
  "$15, $16, $17, $18::jsonb, $19, $20, $21::jsonb, $22::jsonb"

// ON CONFLICT (id) DO UPDATE of an upsert into fm_executions AS t: every written column but
// created_at, and the version bump.
#define FM_EXECUTION_UPSERT_SET                                                                    \
  "flow_id = EXCLUDED.flow_id, flow_version = EXCLUDED.flow_version, current_step = "            \
  "EXCLUDED.current_step, status = EXCLUDED.status, context = EXCLUDED.context, wake_at = "       \
  "EXCLUDED.wake_at, wait_reason = EXCLUDED.wait_reason, error = EXCLUDED.error, step_count = "  \
  "EXCLUDED.step_count, history = EXCLUDED.history, tenant_id = EXCLUDED.tenant_id, metadata = " \
  "EXCLUDED.metadata, updated_at = EXCLUDED.updated_at, idempotency_key = "                      \
  "EXCLUDED.idempotency_key, idempotency_expires_at = EXCLUDED.idempotency_expires_at, "         \
  "cancellation = EXCLUDED.cancellation, parent_execution_id = EXCLUDED.parent_execution_id, "   \
  "wait_started_at = EXCLUDED.wait_started_at, timeout_config = EXCLUDED.timeout_config, "       \
  "retry_attempts = EXCLUDED.retry_attempts, version = t.version + 1"

// Appends $1..$22 for `e` (validated). created_at/updated_at of 0 become `now`.
void AddExecutionParams(Params& params, const v1::Execution& e, int64_t now);

v1::Execution ExecutionFromRow(const pqxx::row& row);

}  // namespace flowmonkey::pg
