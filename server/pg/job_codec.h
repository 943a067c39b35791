#pragma once

// Row <-> message conversion for fm_jobs. error and progress are stored as the seed's
// camelCase JSONB documents ({code, message, details}, {percent, message}); the retry
// policy as two columns, both NULL when the job has none; run_at 0 (rows from before
// migration 0005) reads as created_at.

#include <pqxx/row>
#include <string>

#include "flowmonkey/v1/job.pb.h"

namespace flowmonkey::pg {

// The columns every job query selects, in the order JobFromRow reads them.
#define FM_JOB_COLUMNS                                                                      \
  "id, execution_id, step_id, handler, status, input::text, result::text, error::text, "    \
  "runner_id, heartbeat_at, heartbeat_ms, attempts, max_attempts, created_at, updated_at, " \
  "instance_id, checkpoint::text, progress::text, run_at, priority, retry_initial_ms, "     \
  "retry_max_ms"

// `error` validated.
std::string JobErrorJson(const v1::JobError& error);
std::string JobProgressJson(const v1::JobProgress& progress);

v1::Job JobFromRow(const pqxx::row& row);

}  // namespace flowmonkey::pg
