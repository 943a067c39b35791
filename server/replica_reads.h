#pragma once

// Reads from a hot standby (--read-database-url, docs/adr/0016-read-replicas.md). The
// contract's replica_ok methods (proto/flowmonkey/v1/options.proto) go to stores on the
// replica's own pool while it answers and lags the primary by at most max_lag; every
// other call, and any read the replica fails, goes to the primary. Check() measures the
// replica; the server's health thread calls it once per health interval.

#include <atomic>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "core/replica_route.h"
#include "flowmonkey/v1/execution.fm_forward.h"
#include "flowmonkey/v1/flow.fm_forward.h"
#include "flowmonkey/v1/job.fm_forward.h"
#include "flowmonkey/v1/resume_token.fm_forward.h"
#include "server/metrics.h"
#include "server/pg/log_limiter.h"
#include "server/pg/pool.h"
#include "server/pg/stack.h"

namespace flowmonkey {

struct ReplicaOptions {
  // A hot standby, or several hosts with target_session_attrs=prefer-standby.
  std::string database_url;
  int pool_size = 8;
  // Reads go to the primary while the replica is further behind than this.
  absl::Duration max_lag = absl::Seconds(10);
};

// The generated router with FlowStore's streaming ListAll, on the primary.
class ReplicaRoutedFlows final : public ReplicaRoutedFlowStore {
 public:
  using ReplicaRoutedFlowStore::ReplicaRoutedFlowStore;
  absl::Status ListAll(const v1::ListAllFlowsRequest& request,
                       const std::function<bool(const v1::Flow&)>& each) override {
    return next().ListAll(request, each);
  }
};

class ReplicaReads final : public ReplicaRoute {
 public:
  // `primary` and `primary_stores` must outlive this; the replica's pool takes the
  // primary's table prefix and prepared-statement setting.
  ReplicaReads(const ReplicaOptions& options, pg::ConnectionPool& primary,
               pg::StoreStack& primary_stores, Metrics& metrics);
  ReplicaReads(const ReplicaReads&) = delete;
  ReplicaReads& operator=(const ReplicaReads&) = delete;

  // The primary's stores with their replica_ok methods routed.
  ExecutionStore& executions() { return executions_; }
  FlowStore& flows() { return flows_; }
  JobStore& jobs() { return jobs_; }
  ResumeTokens& tokens() { return tokens_; }

  // Pings the replica and measures its lag behind the primary; reads follow the result
  // until the next check (or until a read fails there).
  void Check();

 private:
  bool UseReplica() override { return usable_.load(std::memory_order_relaxed); }
  void ReplicaFailed(const absl::Status& status) override;
  void Routed(bool on_replica) override { metrics_.CountReplicaRead(on_replica); }

  const absl::Duration max_lag_;
  pg::ConnectionPool& primary_;
  Metrics& metrics_;
  pg::ConnectionPool pool_;
  pg::StoreStack stores_;
  ReplicaRoutedExecutionStore executions_;
  ReplicaRoutedFlows flows_;
  ReplicaRoutedJobStore jobs_;
  ReplicaRoutedResumeTokens tokens_;
  std::atomic<bool> usable_{false};
  double lag_seconds_ = 0;  // the last measured, kept while the primary cannot be asked
  double lag_bytes_ = 0;
  pg::LogLimiter failures_{absl::Seconds(5)};
};

}  // namespace flowmonkey
