#include "server/metrics.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "server/version.h"
#include "spdlog/spdlog.h"

namespace flowmonkey {
namespace {

const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
const prometheus::Histogram::BucketBoundaries kBatchBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256};

constexpr const char* kCodeNames[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

// Any client can send any path: labelling each one would let a client grow the scrape (and
// our memory) without bound, one series per name.
const std::string kUnknownMethod = "unknown";

// Times one RPC from its arrival to the status it sends.
class RpcInterceptor : public grpc::experimental::Interceptor {
 public:
  // `method` outlives the call: it points into the factory's set or at kUnknownMethod.
  RpcInterceptor(Metrics& metrics, const std::string& method)
      : metrics_(metrics), method_(method), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      metrics_.ObserveRpc(method_, methods->GetSendStatus().error_code(), seconds);
    }
    methods->Proceed();
  }

 private:
  Metrics& metrics_;
  const std::string& method_;
  const std::chrono::steady_clock::time_point start_;
};

class RpcInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  RpcInterceptorFactory(Metrics& metrics, std::unordered_set<std::string> known)
      : metrics_(metrics), known_(std::move(known)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    if (info->method() == nullptr) return new RpcInterceptor(metrics_, kUnknownMethod);
    auto it = known_.find(info->method());
    return new RpcInterceptor(metrics_, it == known_.end() ? kUnknownMethod : *it);
  }

 private:
  Metrics& metrics_;
  const std::unordered_set<std::string> known_;  // never changes: read without a lock
};

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("flowmonkey_rpc_requests_total")
                    .Help("RPCs served, by method and status code")
                    .Register(*registry_)),
      durations_(prometheus::BuildHistogram()
                     .Name("flowmonkey_rpc_duration_seconds")
                     .Help("RPC latency from arrival to status, by method")
                     .Register(*registry_)),
      batches_(prometheus::BuildHistogram()
                   .Name("flowmonkey_batch_size")
                   .Help("Items per group-commit statement, by operation")
                   .Register(*registry_)),
      pool_(prometheus::BuildGauge()
                .Name("flowmonkey_db_pool_connections")
                .Help("PostgreSQL pool connections by state (in_use, open, size)")
                .Register(*registry_)),
      jobs_(prometheus::BuildGauge()
                .Name("flowmonkey_jobs")
                .Help("Jobs in the queue by status (pending, running), counted every few "
                      "seconds")
                .Register(*registry_)),
      jobs_pending_(jobs_.Add({{"status", "pending"}})),
      jobs_running_(jobs_.Add({{"status", "running"}})),
      context_bytes_(prometheus::BuildGauge()
                         .Name("flowmonkey_context_bytes_in_flight")
                         .Help("Context value bytes held by calls in flight (used), and the "
                               "server-wide bound past which calls are refused (limit)")
                         .Register(*registry_)),
      context_bytes_used_(context_bytes_.Add({{"bound", "used"}})),
      context_bytes_limit_(context_bytes_.Add({{"bound", "limit"}})),
      worker_calls_(prometheus::BuildCounter()
                        .Name("flowmonkey_worker_calls_total")
                        .Help("Calls served on a worker thread rather than straight from "
                              "gRPC's thread to a group commit")
                        .Register(*registry_)
                        .Add({})),
      jobs_pushed_(prometheus::BuildCounter()
                       .Name("flowmonkey_work_jobs_pushed_total")
                       .Help("Jobs pushed to workers on JobStore.Work streams")
                       .Register(*registry_)
                       .Add({})),
      wakeups_pushed_(prometheus::BuildCounter()
                          .Name("flowmonkey_wakeups_pushed_total")
                          .Help("Wake-ups pushed on ExecutionStore.WatchWakeups streams")
                          .Register(*registry_)
                          .Add({})) {
  prometheus::BuildGauge()
      .Name("flowmonkey_build_info")
      .Help("Build information; always 1")
      .Register(*registry_)
      .Add({{"version", Version()}})
      .Set(1);
}

bool Metrics::Serve(const std::string& listen) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(listen);
    exposer_->RegisterCollectable(registry_);
    return true;
  } catch (const std::exception& e) {
    spdlog::error("metrics: cannot listen on {}: {}", listen, e.what());
    return false;
  }
}

void Metrics::ObserveRpc(const std::string& method, int code, double seconds) {
  const char* code_name = code >= 0 && code <= 16 ? kCodeNames[code] : "UNKNOWN";
  std::lock_guard lock(mu_);
  auto& counter = request_counters_[absl::StrCat(method, "|", code_name)];
  if (!counter) counter = &requests_.Add({{"method", method}, {"code", code_name}});
  auto& histogram = duration_histograms_[method];
  if (!histogram) histogram = &durations_.Add({{"method", method}}, kLatencyBuckets);
  counter->Increment();
  histogram->Observe(seconds);
}

void Metrics::ObserveBatch(const std::string& operation, size_t size) {
  std::lock_guard lock(mu_);
  auto& histogram = batch_histograms_[operation];
  if (!histogram) histogram = &batches_.Add({{"operation", operation}}, kBatchBuckets);
  histogram->Observe(static_cast<double>(size));
}

Metrics::Replica& Metrics::ReplicaMetrics() {
  std::call_once(replica_once_, [this] {
    auto& state = prometheus::BuildGauge()
                      .Name("flowmonkey_replica_usable")
                      .Help(
                          "1 while replica_ok reads go to the read replica (it answers and "
                          "lags at most --read-max-lag-ms), 0 while they go to the primary")
                      .Register(*registry_);
    auto& lag = prometheus::BuildGauge()
                    .Name("flowmonkey_replica_lag_seconds")
                    .Help(
                        "How far the read replica's replay is behind the primary (0 when "
                        "it has replayed everything the primary wrote)")
                    .Register(*registry_);
    auto& bytes = prometheus::BuildGauge()
                      .Name("flowmonkey_replica_lag_bytes")
                      .Help("WAL bytes the read replica has still to replay")
                      .Register(*registry_);
    auto& reads = prometheus::BuildCounter()
                      .Name("flowmonkey_replica_reads_total")
                      .Help("replica_ok reads, by where they were answered (replica, primary)")
                      .Register(*registry_);
    replica_ =
        Replica{&state.Add({}), &lag.Add({}), &bytes.Add({}),
                &reads.Add({{"served_by", "replica"}}), &reads.Add({{"served_by", "primary"}})};
  });
  return replica_;
}

void Metrics::SetReplica(bool usable, double lag_seconds, double lag_bytes) {
  Replica& r = ReplicaMetrics();
  r.usable->Set(usable ? 1 : 0);
  r.lag_seconds->Set(lag_seconds);
  r.lag_bytes->Set(lag_bytes);
}

void Metrics::CountReplicaRead(bool on_replica) {
  Replica& r = ReplicaMetrics();
  (on_replica ? r.on_replica : r.on_primary)->Increment();
}

void Metrics::SetJobDepth(int64_t pending, int64_t running) {
  jobs_pending_.Set(static_cast<double>(pending));
  jobs_running_.Set(static_cast<double>(running));
}

void Metrics::SetContextBytes(int64_t used, int64_t limit) {
  context_bytes_used_.Set(static_cast<double>(used));
  context_bytes_limit_.Set(static_cast<double>(limit));
}

void Metrics::SetPool(int in_use, int open, int size) {
  std::lock_guard lock(mu_);
  pool_.Add({{"state", "in_use"}}).Set(in_use);
  pool_.Add({{"state", "open"}}).Set(open);
  pool_.Add({{"state", "size"}}).Set(size);
}

std::unordered_set<std::string> Metrics::MethodPaths(const std::vector<std::string>& services) {
  std::unordered_set<std::string> paths;
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      paths.insert(absl::StrCat("/", name, "/", service->method(i)->name()));
    }
  }
  return paths;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> Metrics::InterceptorFactory(
    const std::vector<std::string>& services) {
  return std::make_unique<RpcInterceptorFactory>(*this, MethodPaths(services));
}

}  // namespace flowmonkey
