#include "tests/support/backends.h"

#include <cstdlib>
#include <iostream>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "server/pg/migrations.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

template <typename T>
T OrDie(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::cerr << what << ": " << value.status() << "\n";
    std::abort();
  }
  return *std::move(value);
}

// FM_TEST_PREPARE_STATEMENTS=false: behind PgBouncer in transaction mode (tests/pgbouncer.sh).
bool PrepareStatements() {
  const char* value = std::getenv("FM_TEST_PREPARE_STATEMENTS");
  return value == nullptr || std::string_view(value) != "false";
}

}  // namespace

std::unique_ptr<pg::ConnectionPool> TestPool(const std::string& prefix, int size) {
  pg::PoolOptions options;
  options.database_url = TestDatabase::Instance().url();
  options.size = size;
  options.table_prefix = prefix;
  options.prepare_statements = PrepareStatements();
  return std::make_unique<pg::ConnectionPool>(options);
}

absl::Status CreateRunningExecution(ExecutionStore& executions, const std::string& id) {
  v1::CreateExecutionRequest request;
  v1::Execution& e = *request.mutable_execution();
  e.set_id(id);
  e.set_flow_id("flow");
  e.set_flow_version("1.0.0");
  e.set_current_step_id("step");
  e.set_status(v1::EXECUTION_STATUS_RUNNING);
  return executions.Create(request).status();
}

ServerOptions TestServerOptions(const std::string& prefix) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.database_url = TestDatabase::Instance().url();
  options.pool_size = 8;
  options.table_prefix = prefix;
  options.prepare_statements = PrepareStatements();
  options.startup_timeout = absl::Seconds(5);
  options.drain_timeout = absl::Seconds(5);
  // Off, so no pass races a test that ages rows by hand; maintenance_test turns it on.
  options.maintenance_interval = absl::ZeroDuration();
  return options;
}

InProcessBackend::InProcessBackend(bool batching) : prefix_(TestDatabase::Instance().NewPrefix()) {
  pool_ = TestPool(prefix_, 16);
  OrDie(pg::ApplyMigrations(*pool_), "migrate");
  pg::StackOptions options;
  options.batching = batching;
  options.batch.flushers = 1;
  options.batch.max_batch = 8;
  options.event_batch.flushers = 1;
  options.event_batch.max_records = 8;
  options.event_batch.max_rows = 64;
  stack_ = std::make_unique<pg::StoreStack>(*pool_, options);
}

RemoteBackend::RemoteBackend() : prefix_(TestDatabase::Instance().NewPrefix()) {
  server_ = OrDie(Server::Start(TestServerOptions(prefix_)), "start server");
  client::ClientOptions options;
  options.target = absl::StrCat("127.0.0.1:", server_->port());
  stores_ = OrDie(client::Connect(options), "connect");
}

RemoteBackend::~RemoteBackend() {
  stores_ = client::Stores();
  server_->Shutdown();
}

}  // namespace flowmonkey::testing
