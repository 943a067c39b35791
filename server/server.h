#pragma once

// The FlowMonkey Store service: connection pool, migrations, stores, gRPC services, health
// and reflection, wired together. main() and the tests both run it through this class.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/security.h"

namespace flowmonkey {

class Console;

struct ServerOptions {
  std::string listen = "0.0.0.0:50051";
  std::string database_url;
  int pool_size = 16;
  // Threads that run store calls; they also wait on group commits, so more than pool_size.
  int workers = 64;
  // Group commit of concurrent execution Saves and Gets, event Records and job Completes
  // (server/pg/batching.h); off: no batching decorators and no flusher threads.
  bool batching = true;
  // host:port for the Prometheus /metrics endpoint; empty = off.
  std::string metrics_listen;
  // host:port for the operator console (server/console.h); empty = off. A non-loopback
  // address needs API keys (security.api_keys_file); with TLS configured it serves HTTPS.
  std::string console_listen;
  std::string table_prefix = "fm_";
  bool prepare_statements = true;
  bool migrate_on_start = true;
  // Largest context value (ContextStorage.Set); above it RESOURCE_EXHAUSTED. At most 256 MiB.
  int64_t max_context_bytes = 64LL * 1024 * 1024;
  // Bytes of context values all calls in flight may hold together (Set streaming in, Get
  // streaming out); beyond it RESOURCE_EXHAUSTED. At least max_context_bytes.
  int64_t max_inflight_context_bytes = 128LL * 1024 * 1024;
  // How long start-up keeps retrying an unreachable database before giving up.
  absl::Duration startup_timeout = absl::Seconds(30);
  absl::Duration health_interval = absl::Seconds(1);
  // On shutdown, how long in-flight calls may take before they are cancelled.
  absl::Duration drain_timeout = absl::Seconds(10);
  // On shutdown, how long health reports NOT_SERVING while calls are still accepted, so
  // load balancers and clients watching health move away before the listener closes.
  absl::Duration shutdown_grace = absl::ZeroDuration();
  // TLS, mutual TLS and API keys (server/security.h); plain text when empty.
  SecurityOptions security;
  // Largest request message accepted; a larger one fails with RESOURCE_EXHAUSTED.
  int max_message_bytes = 4 * 1024 * 1024;
  // Background maintenance (server/pg/maintenance.h): a pass this often; zero = off.
  absl::Duration maintenance_interval = absl::Seconds(30);
  // JobStore.Work (server/rpc/work.h): a claim pass for waiting workers this often even
  // when no notification came (jobs whose run_at came, retries, jobs reset elsewhere).
  absl::Duration work_poll = absl::Milliseconds(500);
  // Where the Work dispatcher LISTENs for new jobs (server/pg/job_listener.h): empty = the
  // database_url; "off" = polling only (e.g. behind PgBouncer in transaction mode, which
  // keeps no LISTEN: or give a URL that reaches PostgreSQL directly).
  std::string work_listen_url;
  // A read replica (server/replica_reads.h): the contract's replica_ok reads go there while
  // it answers and lags at most read_max_lag; empty = every call on database_url.
  std::string read_database_url;
  int read_pool_size = 8;
  absl::Duration read_max_lag = absl::Seconds(10);
  // Events partitions (server/pg/event_partitions.h): one per UTC "day", "week" or "month".
  std::string events_partition = "month";
  // Events older than this are dropped a whole partition at a time by the maintenance
  // (kept at most one partition period longer); zero keeps them. At least one hour.
  absl::Duration events_retention = absl::ZeroDuration();
};

// Applies migrations and exits: the `migrate` command.
absl::StatusOr<int> MigrateDatabase(const ServerOptions& options);

class Server {
 public:
  // Starts serving; returns once the port is bound. Applies pending migrations first
  // unless migrate_on_start is off.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options);
  ~Server();

  // The port actually bound (useful with ":0").
  int port() const { return port_; }
  // The console's port; 0 when it is off.
  int console_port() const;
  // Reports NOT_SERVING, keeps accepting calls for shutdown_grace, then refuses new calls
  // (UNAVAILABLE), lets in-flight calls finish for up to drain_timeout (the rest are
  // cancelled) and closes the pool. Safe to call more than once and from any thread.
  void Shutdown();
  // Blocks until Shutdown() has completed.
  void Wait();
  // Re-reads the API keys file (main does on SIGHUP): a key removed from it is rejected
  // from then on. On error the old keys stay in force.
  absl::Status ReloadApiKeys();

 private:
  struct Parts;
  Server() = default;
  void MonitorHealth();
  void SetServing(bool serving);
  void RunMaintenance();

  ServerOptions options_;
  std::unique_ptr<Parts> parts_;
  std::unique_ptr<rpc::Authenticator> authenticator_;  // outlives grpc_server_
  std::unique_ptr<grpc::Server> grpc_server_;
  // Before parts_ goes (its stores): Shutdown closes it first.
  std::unique_ptr<Console> console_;
  int port_ = 0;
  std::thread health_thread_;
  std::thread maintenance_thread_;
  std::mutex mu_;
  std::condition_variable state_changed_;
  bool stopping_ = false;
  bool stopped_ = false;
  bool serving_ = false;
  bool health_known_ = false;  // set by the first SetServing
};

}  // namespace flowmonkey
