#pragma once

// ContextStorage on PostgreSQL (seed: PgContextStorage): one fm_context row per
// (execution_id, key), value as jsonb (lz4-compressed), with its summary and size beside
// it so List never reads a value. The foreign key to fm_executions makes Set for an
// unknown execution NOT_FOUND and deletes values with their execution.

#include "core/context_storage.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

class PgContextStorage : public ContextStorage {
 public:
  // Registers its statements with `pool`, which must outlive the store. Values above
  // max_bytes are RESOURCE_EXHAUSTED.
  PgContextStorage(ConnectionPool& pool, int64_t max_bytes = kDefaultMaxContextBytes);

  absl::StatusOr<v1::ContextReference> Set(const v1::ContextValue& value) override;
  absl::StatusOr<v1::ContextReference> SetUnlessCancelled(
      v1::ContextValue value, absl::FunctionRef<bool()> still_wanted) override;
  absl::StatusOr<v1::ContextValue> Get(const v1::GetContextRequest& request) override;
  absl::StatusOr<v1::DeleteContextResponse> Delete(
      const v1::DeleteContextRequest& request) override;
  absl::StatusOr<v1::ListContextResponse> List(const v1::ListContextRequest& request) override;
  absl::StatusOr<v1::ClearExecutionContextResponse> ClearExecution(
      const v1::ClearExecutionContextRequest& request) override;

 private:
  ConnectionPool& pool_;
  const int64_t max_bytes_;
};

}  // namespace flowmonkey::pg
