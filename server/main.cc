// flowmonkey-server: serves the FlowMonkey Store gRPC API over PostgreSQL.
//
//   flowmonkey-server [flags]           migrate, then serve until SIGTERM/SIGINT
//   flowmonkey-server migrate [flags]   apply pending migrations and exit
//   flowmonkey-server --help | --version

#include <malloc.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/env.h"
#include "server/server.h"
#include "server/version.h"
#include "spdlog/spdlog.h"

namespace {

using flowmonkey::EnvBoolOr;
using flowmonkey::EnvInt64Or;
using flowmonkey::EnvIntOr;
using flowmonkey::EnvOr;

// Accepts --database-url as well as absl's --database_url: dashes in a flag's name (not in
// its value) become underscores.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (auto& arg : args) {
    if (arg.rfind("--", 0) != 0) continue;
    const size_t end = std::min(arg.find('='), arg.size());
    std::replace(arg.begin() + 2, arg.begin() + static_cast<ptrdiff_t>(end), '-', '_');
  }
  return args;
}

// Every default is ServerOptions'; a flag only says where else the value may come from.
const flowmonkey::ServerOptions kDefaults;

int Ms(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

}  // namespace

ABSL_FLAG(std::string, listen, EnvOr("FM_LISTEN", kDefaults.listen.c_str()),
          "address:port to serve gRPC on (env FM_LISTEN)");
ABSL_FLAG(std::string, database_url, EnvOr("DATABASE_URL", kDefaults.database_url.c_str()),
          "PostgreSQL connection string or URI (env DATABASE_URL)");
ABSL_FLAG(int, pool_size, EnvIntOr("FM_POOL_SIZE", kDefaults.pool_size),
          "PostgreSQL connections, 1 to 1000, opened lazily (env FM_POOL_SIZE)");
ABSL_FLAG(std::string, table_prefix, EnvOr("FM_TABLE_PREFIX", kDefaults.table_prefix.c_str()),
          "prefix of every table name (env FM_TABLE_PREFIX)");
ABSL_FLAG(std::string, log_level, EnvOr("FM_LOG_LEVEL", "info"),
          "trace, debug, info, warn, error, critical, off (env FM_LOG_LEVEL); debug logs "
          "every request");
ABSL_FLAG(bool, prepare_statements,
          EnvBoolOr("FM_PREPARE_STATEMENTS", kDefaults.prepare_statements),
          "use server-side prepared statements (off for PgBouncer without support for them) "
          "(env FM_PREPARE_STATEMENTS)");
ABSL_FLAG(int, workers, EnvIntOr("FM_WORKERS", kDefaults.workers),
          "threads that run store calls and wait on group commits; at least --pool-size are "
          "started (env FM_WORKERS)");
ABSL_FLAG(bool, batching, EnvBoolOr("FM_BATCHING", kDefaults.batching),
          "group commit: concurrent execution Saves and Gets, event Records and RecordBatches "
          "and job Completes become one statement each (env FM_BATCHING)");
ABSL_FLAG(std::string, console_listen, EnvOr("FM_CONSOLE_LISTEN", kDefaults.console_listen.c_str()),
          "host:port for the operator console (a web page), off when empty; a non-loopback "
          "address needs --api-keys-file (env FM_CONSOLE_LISTEN)");
ABSL_FLAG(std::string, metrics_listen, EnvOr("FM_METRICS_LISTEN", kDefaults.metrics_listen.c_str()),
          "host:port for the Prometheus /metrics endpoint, off when empty (env FM_METRICS_LISTEN)");
ABSL_FLAG(int64_t, max_context_bytes,
          EnvInt64Or("FM_MAX_CONTEXT_BYTES", kDefaults.max_context_bytes),
          "largest context value in bytes, at most 256 MiB (env FM_MAX_CONTEXT_BYTES)");
ABSL_FLAG(int64_t, max_inflight_context_bytes,
          EnvInt64Or("FM_MAX_INFLIGHT_CONTEXT_BYTES", kDefaults.max_inflight_context_bytes),
          "bytes of context values all calls in flight may hold (Set and Get), beyond it "
          "RESOURCE_EXHAUSTED; at least --max-context-bytes (env FM_MAX_INFLIGHT_CONTEXT_BYTES)");
ABSL_FLAG(bool, migrate, kDefaults.migrate_on_start, "apply pending migrations at start-up");
ABSL_FLAG(int, maintenance_interval_ms,
          EnvIntOr("FM_MAINTENANCE_INTERVAL_MS", Ms(kDefaults.maintenance_interval)),
          "background maintenance every this many ms, 0 = off: requeue or fail stalled jobs, "
          "expire resume tokens, delete expired idempotency keys (env "
          "FM_MAINTENANCE_INTERVAL_MS)");
ABSL_FLAG(int, work_poll_ms, EnvIntOr("FM_WORK_POLL_MS", Ms(kDefaults.work_poll)),
          "JobStore.Work: look for claimable jobs for waiting workers this often even without "
          "a notification (jobs whose run_at came, retries), 10..60000 (env FM_WORK_POLL_MS)");
ABSL_FLAG(std::string, work_listen_url,
          EnvOr("FM_WORK_LISTEN_URL", kDefaults.work_listen_url.c_str()),
          "JobStore.Work: where to LISTEN for new jobs, on one dedicated connection; empty = "
          "--database-url, off = poll only (behind PgBouncer in transaction mode, give a URL "
          "that reaches PostgreSQL directly, or off) (env FM_WORK_LISTEN_URL)");
ABSL_FLAG(std::string, read_database_url,
          EnvOr("FM_READ_DATABASE_URL", kDefaults.read_database_url.c_str()),
          "a read replica (hot standby; or several hosts with "
          "target_session_attrs=prefer-standby): the reads the contract marks replica_ok "
          "(lists) go there while it answers and lags at most --read-max-lag-ms; empty = off "
          "(env FM_READ_DATABASE_URL)");
ABSL_FLAG(int, read_pool_size, EnvIntOr("FM_READ_POOL_SIZE", kDefaults.read_pool_size),
          "connections to --read-database-url, 1 to 1000 (env FM_READ_POOL_SIZE)");
ABSL_FLAG(int, read_max_lag_ms, EnvIntOr("FM_READ_MAX_LAG_MS", Ms(kDefaults.read_max_lag)),
          "reads go to the primary while the replica is further behind than this (env "
          "FM_READ_MAX_LAG_MS)");
ABSL_FLAG(std::string, events_partition,
          EnvOr("FM_EVENTS_PARTITION", kDefaults.events_partition.c_str()),
          "the events table's partitions: one per UTC day, week or month (env "
          "FM_EVENTS_PARTITION)");
ABSL_FLAG(std::string, events_retention, EnvOr("FM_EVENTS_RETENTION", "0"),
          "drop events older than this, a whole partition at a time: e.g. 90d, 36h; 0 keeps "
          "them (env FM_EVENTS_RETENTION)");
ABSL_FLAG(int, drain_timeout_ms, EnvIntOr("FM_DRAIN_TIMEOUT_MS", Ms(kDefaults.drain_timeout)),
          "on SIGTERM, how long in-flight calls may finish (env FM_DRAIN_TIMEOUT_MS)");
ABSL_FLAG(int, shutdown_grace_ms, EnvIntOr("FM_SHUTDOWN_GRACE_MS", Ms(kDefaults.shutdown_grace)),
          "on SIGTERM, how long health reports NOT_SERVING while calls are still accepted, "
          "before new calls are refused (env FM_SHUTDOWN_GRACE_MS)");
ABSL_FLAG(std::string, tls_cert, EnvOr("FM_TLS_CERT", kDefaults.security.tls_cert_file.c_str()),
          "PEM certificate chain: serve TLS instead of plain text (env FM_TLS_CERT)");
ABSL_FLAG(std::string, tls_key, EnvOr("FM_TLS_KEY", kDefaults.security.tls_key_file.c_str()),
          "PEM private key of --tls-cert (env FM_TLS_KEY)");
ABSL_FLAG(std::string, tls_client_ca,
          EnvOr("FM_TLS_CLIENT_CA", kDefaults.security.tls_client_ca_file.c_str()),
          "PEM CA bundle: mutual TLS, client certificates signed by it are required "
          "(env FM_TLS_CLIENT_CA)");
ABSL_FLAG(std::string, api_keys_file,
          EnvOr("FM_API_KEYS_FILE", kDefaults.security.api_keys_file.c_str()),
          "API keys, one '<sha256-hex-of-key> <tenant or *>' per line; needs TLS; re-read "
          "on SIGHUP (env FM_API_KEYS_FILE)");
ABSL_FLAG(int, max_message_bytes, EnvIntOr("FM_MAX_MESSAGE_BYTES", kDefaults.max_message_bytes),
          "largest request accepted; larger ones get RESOURCE_EXHAUSTED (env "
          "FM_MAX_MESSAGE_BYTES)");

namespace {

// --help lists the flags of this file: abseil's default matches none of them, because it
// looks for flags in a file named after the program. --helpfull still lists every flag.
void ConfigureUsage() {
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "server/main.cc");
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  config.version_string = [] {
    return absl::StrCat("flowmonkey-server ", flowmonkey::Version(), "\n");
  };
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(
      "flowmonkey-server [migrate] [--flags]\n\n"
      "Serves the FlowMonkey Store gRPC API over PostgreSQL; `migrate` applies pending\n"
      "migrations and exits. Dashes and underscores in flag names are equivalent\n"
      "(--database-url = --database_url); most flags have an FM_* environment fallback.");
}

// An environment value that does not parse (FM_POOL_SIZE=abc) stops start-up rather than
// becoming 0 or the default: the operator meant something by it.
bool ReportEnvProblems() {
  const std::vector<std::string> problems = flowmonkey::EnvProblems();
  for (const std::string& problem : problems) {
    std::cerr << "flowmonkey-server: invalid environment variable " << problem << "\n";
  }
  return !problems.empty();
}

// --events-retention: "0", whole days ("90d"), or an abseil duration ("36h", "90m").
bool ParseRetention(const std::string& text, absl::Duration* out) {
  int64_t days = 0;
  if (absl::EndsWith(text, "d") && absl::SimpleAtoi(text.substr(0, text.size() - 1), &days) &&
      days >= 0 && days <= 36500) {
    *out = absl::Hours(24 * days);
    return true;
  }
  return absl::ParseDuration(text, out) && *out >= absl::ZeroDuration();
}

}  // namespace

int main(int argc, char** argv) {
  ConfigureUsage();
  // Debian's abseil is built with mutex deadlock detection on: a global cycle graph updated
  // on every lock of every absl::Mutex (gRPC's included). It showed in profiles; turn it off.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // glibc raises its mmap threshold after a large block is freed, so later large context
  // values come from per-thread arenas that keep the memory (1.1 GiB idle after 24 values
  // of 20 MiB). A fixed 1 MiB threshold maps every large block and unmaps it when freed.
  // See docs/adr/0007-context-memory.md. glibc's own MALLOC_MMAP_THRESHOLD_, when set, wins.
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
  std::vector<std::string> normalized = NormalizeFlagNames(argc, argv);
  std::vector<char*> raw;
  for (auto& arg : normalized) raw.push_back(arg.data());
  std::vector<char*> args = absl::ParseCommandLine(static_cast<int>(raw.size()), raw.data());
  const std::string log_level = absl::GetFlag(FLAGS_log_level);
  const spdlog::level::level_enum level = spdlog::level::from_str(log_level);
  if (level == spdlog::level::off && log_level != "off") {
    // spdlog maps an unknown name to "off", which would hide every error that follows.
    std::cerr << "flowmonkey-server: --log-level " << log_level
              << ": not one of trace, debug, info, warn, error, critical, off\n";
    return 2;
  }
  spdlog::set_level(level);
  setenv("PGCONNECT_TIMEOUT", "2", /*overwrite=*/0);  // fail fast while the database is down

  flowmonkey::ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.database_url = absl::GetFlag(FLAGS_database_url);
  options.pool_size = absl::GetFlag(FLAGS_pool_size);
  options.workers = absl::GetFlag(FLAGS_workers);
  options.batching = absl::GetFlag(FLAGS_batching);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.console_listen = absl::GetFlag(FLAGS_console_listen);
  options.table_prefix = absl::GetFlag(FLAGS_table_prefix);
  options.prepare_statements = absl::GetFlag(FLAGS_prepare_statements);
  options.migrate_on_start = absl::GetFlag(FLAGS_migrate);
  options.max_context_bytes = absl::GetFlag(FLAGS_max_context_bytes);
  options.max_inflight_context_bytes = absl::GetFlag(FLAGS_max_inflight_context_bytes);
  options.drain_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_drain_timeout_ms));
  options.shutdown_grace = absl::Milliseconds(absl::GetFlag(FLAGS_shutdown_grace_ms));
  options.security.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.security.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.security.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  options.security.api_keys_file = absl::GetFlag(FLAGS_api_keys_file);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.maintenance_interval = absl::Milliseconds(absl::GetFlag(FLAGS_maintenance_interval_ms));
  options.work_poll = absl::Milliseconds(absl::GetFlag(FLAGS_work_poll_ms));
  options.work_listen_url = absl::GetFlag(FLAGS_work_listen_url);
  options.read_database_url = absl::GetFlag(FLAGS_read_database_url);
  options.read_pool_size = absl::GetFlag(FLAGS_read_pool_size);
  options.read_max_lag = absl::Milliseconds(absl::GetFlag(FLAGS_read_max_lag_ms));
  options.events_partition = absl::GetFlag(FLAGS_events_partition);
  if (!ParseRetention(absl::GetFlag(FLAGS_events_retention), &options.events_retention)) {
    std::cerr << "flowmonkey-server: --events-retention: expected 0, <n>d or a duration such as "
                 "36h, got \""
              << absl::GetFlag(FLAGS_events_retention) << "\"\n";
    return 2;
  }
  if (ReportEnvProblems()) return 2;  // after every GetFlag: each default has been computed
  if (options.database_url.empty()) {
    std::cerr << "flowmonkey-server: set --database-url or DATABASE_URL\n";
    return 2;
  }

  if (args.size() > 1) {
    if (std::string(args[1]) != "migrate" || args.size() > 2) {
      std::cerr << "flowmonkey-server: unknown command; usage: flowmonkey-server [migrate]\n";
      return 2;
    }
    absl::StatusOr<int> version = flowmonkey::MigrateDatabase(options);
    if (!version.ok()) {
      spdlog::error("migrate: {}", version.status().ToString());
      return 1;
    }
    spdlog::info("schema at version {}", *version);
    return 0;
  }

  // Block the stop signals (and SIGHUP: reload API keys) in every thread; one thread
  // waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<std::unique_ptr<flowmonkey::Server>> server = flowmonkey::Server::Start(options);
  if (!server.ok()) {
    spdlog::error("start-up failed: {}", server.status().ToString());
    return 1;
  }
  std::thread signal_waiter([&] {
    int signal = 0;
    while (sigwait(&stop_signals, &signal) == 0 && signal == SIGHUP) {
      const absl::Status reloaded = (*server)->ReloadApiKeys();
      if (!reloaded.ok()) spdlog::warn("SIGHUP: {}", reloaded.ToString());
    }
    spdlog::info("received signal {}", signal);
    (*server)->Shutdown();
  });
  (*server)->Wait();
  signal_waiter.join();
  return 0;
}
