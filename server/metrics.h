#pragma once

// Prometheus metrics, served over HTTP by prometheus-cpp's exposer (--metrics-listen):
//   flowmonkey_rpc_requests_total{method,code}          counter
//   flowmonkey_rpc_duration_seconds{method}             histogram
//   flowmonkey_db_pool_connections{state="in_use|open|size"}  gauges
//   flowmonkey_batch_size{operation}                    histogram of group-commit batches
//   flowmonkey_worker_calls_total                       counter of calls served on a worker
//     thread (unbatchable calls, and those a tenant key's guard scopes); a batched call
//     goes from gRPC's thread straight to its group commit
//   flowmonkey_work_jobs_pushed_total                   counter of jobs pushed to workers
//   flowmonkey_wakeups_pushed_total                     counter of wake-ups pushed to watchers
//     on JobStore.Work streams
//   flowmonkey_context_bytes_in_flight{bound="used|limit"}  gauges: context value bytes held
//     by calls in flight, and --max-inflight-context-bytes
//   flowmonkey_build_info{version}                      1
// RPCs are observed by a gRPC server interceptor, so every service is covered in one place.
// The method label is the path of a method the server serves ("/flowmonkey.v1.JobStore/Claim")
// or "unknown" for any other path a client sends: the number of series stays bounded.

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace flowmonkey {

class Metrics {
 public:
  Metrics();
  // Serves /metrics on `listen` (host:port); returns false when it cannot bind.
  bool Serve(const std::string& listen);

  void ObserveRpc(const std::string& method, int code, double seconds);
  void ObserveBatch(const std::string& operation, size_t size);
  void SetPool(int in_use, int open, int size);
  void SetJobDepth(int64_t pending, int64_t running);
  void SetContextBytes(int64_t used, int64_t limit);
  void CountWorkerCall() { worker_calls_.Increment(); }
  void CountJobsPushed(size_t n) { jobs_pushed_.Increment(static_cast<double>(n)); }
  void CountWakeupsPushed(size_t n) { wakeups_pushed_.Increment(static_cast<double>(n)); }
  // The read replica (server/replica_reads.h): exported once the server has one.
  void SetReplica(bool usable, double lag_seconds, double lag_bytes);
  void CountReplicaRead(bool on_replica);

  // For ServerBuilder::experimental().SetInterceptorCreators. `services` are the full names
  // of the services served ("flowmonkey.v1.JobStore"); their methods, looked up in the
  // generated descriptor pool, are the only method labels. Every other path is "unknown".
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory(
      const std::vector<std::string>& services);

  // The paths ("/package.Service/Method") of every method of `services`; a name that is not
  // in the generated descriptor pool contributes nothing.
  static std::unordered_set<std::string> MethodPaths(const std::vector<std::string>& services);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Family<prometheus::Histogram>& batches_;
  prometheus::Family<prometheus::Gauge>& pool_;
  prometheus::Family<prometheus::Gauge>& jobs_;
  prometheus::Gauge& jobs_pending_;
  prometheus::Gauge& jobs_running_;
  prometheus::Family<prometheus::Gauge>& context_bytes_;
  prometheus::Gauge& context_bytes_used_;
  prometheus::Gauge& context_bytes_limit_;
  prometheus::Counter& worker_calls_;
  prometheus::Counter& jobs_pushed_;
  prometheus::Counter& wakeups_pushed_;
  std::mutex mu_;
  std::unordered_map<std::string, prometheus::Counter*> request_counters_;
  std::unordered_map<std::string, prometheus::Histogram*> duration_histograms_;
  std::unordered_map<std::string, prometheus::Histogram*> batch_histograms_;
  struct Replica {
    prometheus::Gauge* usable;
    prometheus::Gauge* lag_seconds;
    prometheus::Gauge* lag_bytes;
    prometheus::Counter* on_replica;
    prometheus::Counter* on_primary;
  };
  std::once_flag replica_once_;
  Replica replica_{};
  Replica& ReplicaMetrics();
};

}  // namespace flowmonkey
