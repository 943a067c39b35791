#pragma once

// Helpers shared by the integration tests that drive a server from outside: a
// flowmonkey-server child process, a steady write load of execution Saves that records
// what was acknowledged, and health checks.

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "core/execution_store.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/server.h"
#include "tests/support/test_database.h"  // FreeLoopbackPort

namespace flowmonkey::testing {

std::shared_ptr<grpc::Channel> InsecureChannelTo(int port);

// The health of `service` ("" = the whole server), or the RPC's failure.
struct HealthResult {
  grpc::Status rpc;
  grpc::health::v1::HealthCheckResponse::ServingStatus status =
      grpc::health::v1::HealthCheckResponse::UNKNOWN;
  bool serving() const {
    return rpc.ok() && status == grpc::health::v1::HealthCheckResponse::SERVING;
  }
  bool not_serving() const {
    return rpc.ok() && status == grpc::health::v1::HealthCheckResponse::NOT_SERVING;
  }
};
HealthResult CheckHealth(grpc::Channel& channel, const std::string& service = "",
                         absl::Duration timeout = absl::Seconds(2));

// The text of http://127.0.0.1:<port>/metrics (curl); empty when it cannot be fetched.
std::string Scrape(int port);

// A valid execution to save, with the given id.
v1::Execution NewExecution(const std::string& id);

// flowmonkey-server (FM_SERVER_BINARY) as a child process; SIGKILLed if still running
// when destroyed. With `output_file`, its stdout and stderr (the log) go to that file.
class ServerProcess {
 public:
  explicit ServerProcess(const std::vector<std::string>& args, const std::string& output_file = "");
  ~ServerProcess();
  pid_t pid() const { return pid_; }
  void Signal(int signal);
  // Waits up to `timeout` for the process to exit; its wait status, or nullopt.
  std::optional<int> WaitExit(absl::Duration timeout);

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
};

// `threads` threads each Save new executions ("<prefix><thread>-<n>") back to back until
// Stop(). Every id the server acknowledged with OK is kept, every failure counted by code.
class SaveLoad {
 public:
  SaveLoad(ExecutionStore& store, std::string id_prefix, int threads);
  ~SaveLoad();
  void Stop();

  std::set<std::string> Acknowledged() const;
  std::map<absl::StatusCode, int> Failures() const;
  int Attempts() const { return attempts_.load(); }
  int Ok() const;

 private:
  void Run(int thread);

  ExecutionStore& store_;
  const std::string id_prefix_;
  std::atomic<bool> stop_{false};
  std::atomic<int> attempts_{0};
  mutable std::mutex mu_;
  std::set<std::string> acknowledged_;
  std::map<absl::StatusCode, int> failures_;
  std::vector<std::thread> threads_;
};

// The first column of every row `sql` returns, read with plain SQL.
std::set<std::string> SelectIds(const std::string& database_url, const std::string& sql);

// The ids of every execution stored under `prefix`, read with plain SQL.
std::set<std::string> StoredExecutionIds(const std::string& database_url,
                                         const std::string& prefix);

// An in-process server over `database_url` and a client of it that retries nothing (every
// failure is seen), with calls of at most 5 s: what the tests that kill PostgreSQL under
// load drive. The client goes before the server.
struct ServerAndClient {
  std::unique_ptr<Server> server;
  client::Stores stores;
};
absl::StatusOr<ServerAndClient> StartServerAndClient(const std::string& database_url,
                                                     const std::string& table_prefix,
                                                     int pool_size);

// An in-process server with /metrics on a free port, and a client of it with
// `client_options` (their target set to the server). The client goes before the server.
struct MeteredServer {
  std::unique_ptr<Server> server;
  client::Stores stores;
  int metrics_port = 0;
};
absl::StatusOr<MeteredServer> StartMeteredServer(
    ServerOptions options, client::ClientOptions client_options = client::ClientOptions());

// Human-readable "CODE=n, ..." of a failure map.
std::string FormatFailures(const std::map<absl::StatusCode, int>& failures);

}  // namespace flowmonkey::testing
