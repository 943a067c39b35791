#pragma once

// Group commit for JobStore.Complete, on top of the plain store (every other method is
// PgJobStore's own). Concurrent completions become one fenced UPDATE ... FROM unnest in
// one statement. A completion the fence turns away (job not running, another runner or
// instance, no such job) is replayed alone, which answers it exactly as the plain store
// would; two completions of one job never share a batch. Completions can be started
// without blocking (AsyncCall), so a worker that completes a claimed batch of jobs with
// concurrent calls gets them committed in a few statements.

#include <memory>

#include "core/async_call.h"
#include "server/pg/batched_execution_store.h"  // BatchOptions
#include "server/pg/batcher.h"
#include "server/pg/job_store.h"

namespace flowmonkey::pg {

class BatchedJobStore : public PgJobStore,
                        public AsyncCall<v1::CompleteJobRequest, v1::CompleteJobResponse> {
 public:
  // batching = false: the plain store (Start takes nothing).
  BatchedJobStore(ConnectionPool& pool, bool batching, BatchOptions options = {});
  ~BatchedJobStore() override;

  absl::StatusOr<v1::CompleteJobResponse> Complete(const v1::CompleteJobRequest& request) override;
  bool Start(const v1::CompleteJobRequest& request,
             std::function<void(absl::StatusOr<v1::CompleteJobResponse>)> done) override;

 private:
  using CompleteBatcher = Batcher<v1::CompleteJobRequest, v1::CompleteJobResponse>;

  void Flush(std::vector<CompleteBatcher::Item*>& batch);

  ConnectionPool& pool_;
  const BatchOptions options_;
  std::unique_ptr<CompleteBatcher> completions_;  // null when not batching
};

}  // namespace flowmonkey::pg
