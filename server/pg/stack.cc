#include "server/pg/stack.h"

namespace flowmonkey::pg {
namespace {

template <typename Decorator, typename Store, typename Options>
std::unique_ptr<Decorator> DecoratorIf(bool on, Store& store, const Options& options) {
  return on ? std::make_unique<Decorator>(store, store, options) : nullptr;
}

template <typename Interface, typename Decorator>
Interface& Top(const std::unique_ptr<Decorator>& decorator, Interface& plain) {
  return decorator ? static_cast<Interface&>(*decorator) : plain;
}

}  // namespace

StoreStack::StoreStack(ConnectionPool& pool, StackOptions options)
    : executions_(pool),
      events_(pool),
      jobs_(pool),
      flows_(pool),
      contexts_(pool, options.max_context_bytes),
      tokens_(pool),
      transactions_(pool),
      batching_executions_(
          DecoratorIf<BatchingExecutionStore>(options.batching, executions_, options.batch)),
      batching_events_(
          DecoratorIf<BatchingEventStore>(options.batching, events_, options.event_batch)),
      batching_jobs_(DecoratorIf<BatchingJobStore>(options.batching, jobs_, options.batch)),
      batching_transactions_(
          DecoratorIf<BatchingTransactions>(options.batching, transactions_, options.batch)),
      executions_top_(Top<ExecutionStore>(batching_executions_, executions_)),
      events_top_(Top<EventStore>(batching_events_, events_)),
      jobs_top_(Top<JobStore>(batching_jobs_, jobs_)),
      transactions_top_(Top<Transactions>(batching_transactions_, transactions_)) {}

StoreStack::~StoreStack() = default;

}  // namespace flowmonkey::pg
