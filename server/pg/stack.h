#pragma once

// The store stack of a server, built in one place: the PostgreSQL stores on one pool, and,
// only when batching is on, the group-commit decorators over them (batching.h). With
// batching off no decorator and no flusher thread exists.

#include <cstdint>
#include <memory>

#include "core/context_storage.h"
#include "core/event_store.h"
#include "core/execution_store.h"
#include "core/flow_store.h"
#include "core/job_store.h"
#include "core/resume_tokens.h"
#include "core/transactions.h"
#include "server/pg/batching.h"
#include "server/pg/context_storage.h"
#include "server/pg/event_store.h"
#include "server/pg/execution_store.h"
#include "server/pg/flow_store.h"
#include "server/pg/job_store.h"
#include "server/pg/pool.h"
#include "server/pg/resume_token_store.h"
#include "server/pg/transactions.h"

namespace flowmonkey::pg {

struct StackOptions {
  bool batching = true;
  int64_t max_context_bytes = kDefaultMaxContextBytes;
  BatchOptions batch;             // executions and jobs
  EventBatchOptions event_batch;  // events
};

class StoreStack {
 public:
  // `pool` must outlive the stack.
  StoreStack(ConnectionPool& pool, StackOptions options);
  ~StoreStack();
  StoreStack(const StoreStack&) = delete;
  StoreStack& operator=(const StoreStack&) = delete;

  // The top of each stack: what the services and in-process callers use.
  ExecutionStore& executions() { return executions_top_; }
  EventStore& events() { return events_top_; }
  JobStore& jobs() { return jobs_top_; }
  FlowStore& flows() { return flows_; }
  ContextStorage& contexts() { return contexts_; }
  ResumeTokens& tokens() { return tokens_; }
  Transactions& transactions() { return transactions_top_; }

 private:
  PgExecutionStore executions_;
  PgEventStore events_;
  PgJobStore jobs_;
  PgFlowStore flows_;
  PgContextStorage contexts_;
  PgResumeTokenStore tokens_;
  PgTransactions transactions_;
  // Null when batching is off. Declared after the stores they wrap: destroyed first, so
  // their flushers finish what is queued while the stores still exist.
  std::unique_ptr<BatchingExecutionStore> batching_executions_;
  std::unique_ptr<BatchingEventStore> batching_events_;
  std::unique_ptr<BatchingJobStore> batching_jobs_;
  std::unique_ptr<BatchingTransactions> batching_transactions_;
  ExecutionStore& executions_top_;
  EventStore& events_top_;
  JobStore& jobs_top_;
  Transactions& transactions_top_;
};

}  // namespace flowmonkey::pg
