#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "flowmonkey/v1/admin.fm_service.h"
#include "flowmonkey/v1/event.fm_service.h"
#include "flowmonkey/v1/execution.fm_service.h"
#include "flowmonkey/v1/job.fm_service.h"
#include "flowmonkey/v1/resume_token.fm_service.h"
#include "flowmonkey/v1/transaction.fm_service.h"
#include "server/console.h"
#include "server/metrics.h"
#include "server/pg/admin.h"
#include "server/pg/event_partitions.h"
#include "server/pg/job_listener.h"
#include "server/pg/maintenance.h"
#include "server/pg/migrations.h"
#include "server/pg/pool.h"
#include "server/pg/stack.h"
#include "server/reflection_v1.h"
#include "server/replica_reads.h"
#include "server/rpc/context_service.h"
#include "server/rpc/execution_service.h"
#include "server/rpc/flow_service.h"
#include "server/rpc/job_service.h"
#include "server/rpc/parse_errors.h"
#include "server/rpc/wakeups.h"
#include "server/rpc/work.h"
#include "server/tenant_guard.h"
#include "server/version.h"
#include "spdlog/spdlog.h"

namespace flowmonkey {
namespace {

// The services gRPC itself adds (health, reflection v1alpha) and reflection v1.
const char* const kInfrastructureServices[] = {"grpc.health.v1.Health",
                                               "grpc.reflection.v1alpha.ServerReflection",
                                               "grpc.reflection.v1.ServerReflection"};

// A contract service with its full name ("flowmonkey.v1.JobStore").
struct Served {
  grpc::Service* service;
  const char* name;
};
template <typename Service>
Served Entry(Service& service) {
  return {&service, Service::service_full_name()};
}

pg::PoolOptions PoolOptionsFrom(const ServerOptions& options) {
  pg::PoolOptions pool;
  pool.database_url = options.database_url;
  pool.size = options.pool_size;
  pool.table_prefix = options.table_prefix;
  pool.prepare_statements = options.prepare_statements;
  // Checked by Server::Start and MigrateDatabase first.
  pool.events_partition =
      pg::ParsePartitionPeriod(options.events_partition).value_or(pg::PartitionPeriod::kMonth);
  return pool;
}

// Start-up waits for a database that is still coming up (a container starting beside us).
absl::StatusOr<int> MigrateWithRetry(pg::ConnectionPool& pool, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    absl::StatusOr<int> version = pg::ApplyMigrations(pool);
    if (version.ok() || version.status().code() != absl::StatusCode::kUnavailable ||
        absl::Now() > deadline) {
      return version;
    }
    spdlog::warn("database not reachable yet, retrying: {}", version.status().ToString());
    absl::SleepFor(absl::Seconds(1));
  }
}

// The store stack, with each group-commit batch's size reported to the metrics.
pg::StackOptions StackOptionsFor(const ServerOptions& options, Metrics& metrics) {
  pg::StackOptions stack;
  stack.batching = options.batching;
  stack.max_context_bytes = options.max_context_bytes;
  stack.batch.on_batch = [&metrics](const char* op, size_t n) { metrics.ObserveBatch(op, n); };
  stack.event_batch.on_batch = stack.batch.on_batch;
  return stack;
}

rpc::WorkOptions WorkOptionsFor(const ServerOptions& options, Metrics& metrics) {
  rpc::WorkOptions work;
  work.poll = options.work_poll;
  work.on_push = [&metrics](size_t n) { metrics.CountJobsPushed(n); };
  return work;
}

rpc::WakeupOptions WakeupOptionsFor(const ServerOptions& options, Metrics& metrics) {
  rpc::WakeupOptions wakeups;
  wakeups.poll = options.work_poll;
  wakeups.on_push = [&metrics](size_t n) { metrics.CountWakeupsPushed(n); };
  return wakeups;
}

std::unique_ptr<ReplicaReads> ReplicaFor(const ServerOptions& options, pg::ConnectionPool& pool,
                                         pg::StoreStack& stores, Metrics& metrics) {
  if (options.read_database_url.empty()) return nullptr;
  ReplicaOptions replica;
  replica.database_url = options.read_database_url;
  replica.pool_size = options.read_pool_size;
  replica.max_lag = options.read_max_lag;
  return std::make_unique<ReplicaReads>(replica, pool, stores, metrics);
}

}  // namespace

struct Server::Parts {
  explicit Parts(const ServerOptions& options)
      : pool(PoolOptionsFrom(options)),
        stores(pool, StackOptionsFor(options, metrics)),
        replica(ReplicaFor(options, pool, stores, metrics)),
        executions(replica ? replica->executions() : stores.executions()),
        events(stores.events()),
        flows(replica ? replica->flows() : stores.flows()),
        contexts(stores.contexts()),
        jobs(replica ? replica->jobs() : stores.jobs()),
        tokens(replica ? replica->tokens() : stores.tokens()),
        maintenance(pool, {.events_retention = options.events_retention}),
        admin(pool, options.table_prefix),
        work(jobs, executor, WorkOptionsFor(options, metrics)),
        wakeups(executions, executor, WakeupOptionsFor(options, metrics)),
        executor(std::max(options.workers, options.pool_size)),
        execution_service(executions, executor, wakeups),
        admin_service(admin, executor),
        event_service(events, executor),
        flow_service(flows, executor),
        context_budget(options.max_inflight_context_bytes),
        context_service(contexts, executor, options.max_context_bytes, context_budget),
        job_service(jobs, executor, work),
        token_service(tokens, executor),
        transaction_service(stores.transactions(), executor) {}

  Metrics metrics;
  pg::ConnectionPool pool;
  // Stores before the executor: its destructor still runs queued tasks that use them.
  pg::StoreStack stores;
  // Null without --read-database-url. Events stay on the primary: their cursors rely on
  // the primary's insert gate (docs/adr/0016-read-replicas.md).
  std::unique_ptr<ReplicaReads> replica;
  ExecutionStore& executions;
  EventStore& events;
  FlowStore& flows;
  ContextStorage& contexts;
  JobStore& jobs;
  ResumeTokens& tokens;
  pg::PgMaintenance maintenance;
  pg::PgAdmin admin;
  // Before the executor, whose tasks use it; set when API keys are configured.
  std::unique_ptr<TenantGuard> tenant_guard;
  // Before the executor, whose tasks (a stream's writes) use it; it only keeps a reference
  // to the executor until streams open.
  rpc::WorkDispatcher work;
  rpc::WakeupDispatcher wakeups;  // as `work`
  rpc::Executor executor;
  // Wakes `work` on new jobs; null with --work-listen-url=off.
  std::unique_ptr<pg::JobListener> job_listener;
  rpc::ExecutionStoreService execution_service;
  rpc::AdminService admin_service;
  rpc::EventStoreService event_service;
  rpc::FlowStoreService flow_service;
  rpc::ByteBudget context_budget;
  rpc::ContextStorageService context_service;
  rpc::JobStoreService job_service;
  rpc::ResumeTokensService token_service;
  rpc::TransactionsService transaction_service;

  // The contract's services, registered from this one list, which also names them for
  // health, metrics and reflection.
  std::vector<Served> Services() {
    return {Entry(execution_service), Entry(admin_service),      Entry(token_service),
            Entry(job_service),       Entry(event_service),      Entry(flow_service),
            Entry(context_service),   Entry(transaction_service)};
  }
  std::vector<std::string> ServiceNames() {
    std::vector<std::string> names;
    for (const Served& served : Services()) names.emplace_back(served.name);
    return names;
  }
  // Every service served: the method labels of the metrics, and what reflection lists.
  std::vector<std::string> ServedServices() {
    std::vector<std::string> names = ServiceNames();
    names.insert(names.end(), std::begin(kInfrastructureServices),
                 std::end(kInfrastructureServices));
    return names;
  }

  // gRPC's plugin serves v1alpha; this, v1 (server/reflection_v1.h).
  ReflectionV1Service reflection_v1{ServedServices()};
};

absl::StatusOr<int> MigrateDatabase(const ServerOptions& options) {
  if (auto s = pg::ValidateTablePrefix(options.table_prefix); !s.ok()) return s;
  if (auto s = pg::ParsePartitionPeriod(options.events_partition).status(); !s.ok()) return s;
  pg::ConnectionPool pool(PoolOptionsFrom(options));
  return MigrateWithRetry(pool, options.startup_timeout);
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  if (auto s = pg::ValidateTablePrefix(options.table_prefix); !s.ok()) return s;
  if (options.pool_size < 1 || options.pool_size > 1000) {
    return absl::InvalidArgumentError("pool size: must be between 1 and 1000");
  }
  if (options.max_context_bytes < 1 || options.max_context_bytes > kMaxContextBytesLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("max context bytes: must be between 1 and ", kMaxContextBytesLimit));
  }
  if (options.max_inflight_context_bytes < options.max_context_bytes) {
    return absl::InvalidArgumentError(
        "max in-flight context bytes: must be at least the max context bytes (one value)");
  }
  if (options.work_poll < absl::Milliseconds(10) || options.work_poll > absl::Seconds(60)) {
    return absl::InvalidArgumentError("work poll: must be between 10 ms and 60 s");
  }
  if (!options.read_database_url.empty() &&
      (options.read_pool_size < 1 || options.read_pool_size > 1000)) {
    return absl::InvalidArgumentError("read pool size: must be between 1 and 1000");
  }
  if (options.read_max_lag < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("read max lag: must not be negative");
  }
  if (auto s = pg::ParsePartitionPeriod(options.events_partition).status(); !s.ok()) return s;
  if (options.events_retention != absl::ZeroDuration() &&
      options.events_retention < absl::Hours(1)) {
    return absl::InvalidArgumentError("events retention: must be 0 (keep) or at least 1 hour");
  }
  std::unique_ptr<Server> server(new Server());
  server->options_ = options;
  absl::StatusOr<std::unique_ptr<rpc::Authenticator>> authenticator =
      LoadAuthenticator(options.security);
  if (!authenticator.ok()) return authenticator.status();
  server->authenticator_ = *std::move(authenticator);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(options.security, server->authenticator_.get());
  if (!credentials.ok()) return credentials.status();
  server->parts_ = std::make_unique<Parts>(options);
  if (server->authenticator_ != nullptr) {
    server->parts_->tenant_guard =
        std::make_unique<TenantGuard>(*server->authenticator_, server->parts_->pool);
    server->parts_->executor.set_guard(server->parts_->tenant_guard.get());
  }
  if (options.migrate_on_start) {
    absl::StatusOr<int> version = MigrateWithRetry(server->parts_->pool, options.startup_timeout);
    if (!version.ok()) return version.status();
    spdlog::info("schema at version {}", *version);
  }
  // Partitions for the events of the coming periods, before the first call (maintenance
  // keeps them coming; inserts create any other on demand).
  if (absl::StatusOr<int> created = server->parts_->pool.event_partitions().CreateAhead(
          absl::ToUnixMillis(absl::Now()), pg::MaintenanceOptions().event_partitions_ahead);
      !created.ok()) {
    spdlog::warn("events partitions: {}", created.status().ToString());
  }

  if (options.work_listen_url != "off") {
    rpc::WorkDispatcher* work = &server->parts_->work;
    server->parts_->job_listener = std::make_unique<pg::JobListener>(
        options.work_listen_url.empty() ? options.database_url : options.work_listen_url,
        options.table_prefix, [work] { work->Wake(); });
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.AddListeningPort(options.listen, *credentials, &server->port_);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(rpc::ParseErrorInterceptorFactory());
  if (!options.metrics_listen.empty()) {
    if (!server->parts_->metrics.Serve(options.metrics_listen)) {
      return absl::UnavailableError(
          absl::StrCat("cannot serve metrics on ", options.metrics_listen));
    }
    creators.push_back(
        server->parts_->metrics.InterceptorFactory(server->parts_->ServedServices()));
    server->parts_->executor.set_on_submit(
        [metrics = &server->parts_->metrics] { metrics->CountWorkerCall(); });
  }
  builder.experimental().SetInterceptorCreators(std::move(creators));
  for (const Served& served : server->parts_->Services()) builder.RegisterService(served.service);
  builder.RegisterService(&server->parts_->reflection_v1);
  server->grpc_server_ = builder.BuildAndStart();
  if (!server->grpc_server_ || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  if (!options.console_listen.empty()) {
    Parts& parts = *server->parts_;
    auto api =
        std::make_unique<ConsoleApi>(ConsoleStores{parts.executions, parts.events, parts.jobs,
                                                   parts.tokens, parts.flows, parts.contexts},
                                     server->authenticator_.get(), parts.tenant_guard.get(),
                                     ConsoleOptions().max_response_bytes);
    ConsoleOptions console;
    console.listen = options.console_listen;
    console.tls_cert_file = options.security.tls_cert_file;
    console.tls_key_file = options.security.tls_key_file;
    absl::StatusOr<std::unique_ptr<Console>> started =
        Console::Start(console, std::move(api), server->authenticator_ != nullptr);
    if (!started.ok()) return started.status();  // ~Server stops the rest
    server->console_ = *std::move(started);
  }
  server->SetServing(server->parts_->pool.Ping().ok());
  server->health_thread_ = std::thread([s = server.get()] { s->MonitorHealth(); });
  if (options.maintenance_interval > absl::ZeroDuration()) {
    server->maintenance_thread_ = std::thread([s = server.get()] { s->RunMaintenance(); });
  }
  spdlog::info(
      "flowmonkey-server {} serving on port {} (--listen {}), metrics {}, console {}", Version(),
      server->port_, options.listen,
      options.metrics_listen.empty()
          ? std::string("off")
          : absl::StrCat("on http://", options.metrics_listen, "/metrics"),
      server->console_ == nullptr
          ? std::string("off")
          : absl::StrCat("on ", server->console_->tls() ? "https" : "http", "://",
                         options.console_listen, " (port ", server->console_->port(), ")"));
  return server;
}

Server::~Server() { Shutdown(); }

int Server::console_port() const { return console_ ? console_->port() : 0; }

absl::Status Server::ReloadApiKeys() {
  if (authenticator_ == nullptr) return absl::FailedPreconditionError("no --api-keys-file");
  absl::StatusOr<rpc::ApiKeys> keys = rpc::ApiKeys::Load(options_.security.api_keys_file);
  if (!keys.ok()) return keys.status();
  spdlog::info("api keys reloaded: {} keys", keys->size());
  authenticator_->Replace(*std::move(keys));
  return absl::OkStatus();
}

void Server::SetServing(bool serving) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && serving) return;             // never report SERVING again once draining
    if (serving != serving_ || !health_known_) {  // the first check is a change too
      spdlog::log(serving ? spdlog::level::info : spdlog::level::warn, "health: {}",
                  serving ? "SERVING (database reachable)" : "NOT_SERVING (database unreachable)");
    }
    serving_ = serving;
    health_known_ = true;
  }
  auto* health = grpc_server_->GetHealthCheckService();
  health->SetServingStatus("", serving);  // the server as a whole
  for (const std::string& name : parts_->ServiceNames()) health->SetServingStatus(name, serving);
}

void Server::MonitorHealth() {
  std::unique_lock lock(mu_);
  for (int64_t check = 0; !stopping_; ++check) {
    lock.unlock();
    const bool reachable = parts_->pool.Ping().ok();
    SetServing(reachable);
    if (parts_->replica) parts_->replica->Check();
    parts_->metrics.SetPool(parts_->pool.InUse(), parts_->pool.Open(), options_.pool_size);
    parts_->metrics.SetContextBytes(parts_->context_budget.used(), parts_->context_budget.limit());
    // The job queue's depth, for /metrics only, every fifth check (a count over an index).
    if (!options_.metrics_listen.empty() && reachable && check % 5 == 0) {
      if (auto depth = parts_->maintenance.CountQueuedJobs(); depth.ok()) {
        parts_->metrics.SetJobDepth(depth->pending, depth->running);
      }
    }
    lock.lock();
    state_changed_.wait_for(lock, absl::ToChronoMilliseconds(options_.health_interval),
                            [this] { return stopping_; });
  }
}

void Server::RunMaintenance() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    absl::StatusOr<pg::MaintenanceCounts> counts =
        parts_->maintenance.RunOnce(absl::ToUnixMillis(absl::Now()));
    if (!counts.ok()) {
      spdlog::warn("maintenance: {}", counts.status().ToString());
    } else if (counts->total() > 0) {
      spdlog::info(
          "maintenance: {} stalled jobs requeued, {} failed (STALLED), {} resume tokens "
          "expired, {} idempotency keys deleted, {} scheduled jobs created, {} events "
          "partitions created, {} dropped ({} events)",
          counts->jobs_requeued, counts->jobs_failed, counts->tokens_expired,
          counts->idempotency_keys_deleted, counts->jobs_scheduled,
          counts->event_partitions_created, counts->event_partitions_dropped,
          counts->events_dropped);
    }
    lock.lock();
    state_changed_.wait_for(lock, absl::ToChronoMilliseconds(options_.maintenance_interval),
                            [this] { return stopping_; });
  }
}

void Server::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !grpc_server_) return;
    stopping_ = true;
  }
  state_changed_.notify_all();
  // NOT_SERVING first, for every service, and for good: later SetServingStatus calls
  // (the health thread) are ignored once the health service is shut down.
  grpc_server_->GetHealthCheckService()->Shutdown();
  spdlog::info("shutting down: health NOT_SERVING, accepting calls for {} more",
               absl::FormatDuration(options_.shutdown_grace));
  absl::SleepFor(options_.shutdown_grace);
  if (health_thread_.joinable()) health_thread_.join();
  if (maintenance_thread_.joinable()) maintenance_thread_.join();
  spdlog::info("shutting down: refusing new calls, draining in-flight calls (up to {})",
               absl::FormatDuration(options_.drain_timeout));
  // Work streams last as long as their workers: drain them now (no more jobs; each ends
  // once its worker has finished what it holds), or they would hold the drain to its
  // timeout.
  parts_->work.Shutdown();
  parts_->wakeups.Shutdown();
  grpc_server_->Shutdown(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(options_.drain_timeout));
  grpc_server_->Wait();
  console_.reset();  // its calls use the stores
  parts_.reset();    // joins the workers, then closes the pool
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  state_changed_.notify_all();
  spdlog::info("shut down");
}

void Server::Wait() {
  std::unique_lock lock(mu_);
  state_changed_.wait(lock, [this] { return stopped_; });
}

}  // namespace flowmonkey
