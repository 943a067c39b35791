#pragma once

// The two implementations every conformance suite runs against:
//   PgBackend     — the PostgreSQL stores, in process;
//   RemoteBackend — the C++ client talking to a real flowmonkey Server on a loopback port.
// Each instance gets its own freshly migrated table prefix in the test database.

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "client/client.h"
#include "core/context_storage.h"
#include "core/event_store.h"
#include "core/execution_store.h"
#include "core/flow_store.h"
#include "core/resume_tokens.h"
#include "core/job_store.h"
#include "server/pg/context_storage.h"
#include "server/pg/event_store.h"
#include "server/pg/execution_store.h"
#include "server/pg/flow_store.h"
#include "server/pg/resume_token_store.h"
#include "server/pg/job_store.h"
#include "server/pg/pool.h"
#include "server/server.h"

namespace flowmonkey::testing {

class PgBackend {
 public:
  static constexpr const char* kName = "Pg";
  PgBackend();
  ExecutionStore& executions() { return *executions_; }
  ResumeTokens& tokens() { return *tokens_; }
  JobStore& jobs() { return *jobs_; }
  EventStore& events() { return *events_; }
  FlowStore& flows() { return *flows_; }
  ContextStorage& contexts() { return *contexts_; }
  pg::ConnectionPool& pool() { return *pool_; }
  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
  std::unique_ptr<pg::ConnectionPool> pool_;
  std::unique_ptr<pg::PgExecutionStore> executions_;
  std::unique_ptr<pg::PgResumeTokenStore> tokens_;
  std::unique_ptr<pg::PgJobStore> jobs_;
  std::unique_ptr<pg::PgEventStore> events_;
  std::unique_ptr<pg::PgFlowStore> flows_;
  std::unique_ptr<pg::PgContextStorage> contexts_;
};

class RemoteBackend {
 public:
  static constexpr const char* kName = "Remote";
  RemoteBackend();
  ~RemoteBackend();
  ExecutionStore& executions() { return *stores_.executions; }
  ResumeTokens& tokens() { return *stores_.tokens; }
  JobStore& jobs() { return *stores_.jobs; }
  EventStore& events() { return *stores_.events; }
  FlowStore& flows() { return *stores_.flows; }
  ContextStorage& contexts() { return *stores_.contexts; }
  Server& server() { return *server_; }
  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
  std::unique_ptr<Server> server_;
  client::Stores stores_;
};

// Every conformance suite runs over both: TYPED_TEST_SUITE(Suite, Backends, BackendNames).
using Backends = ::testing::Types<PgBackend, RemoteBackend>;
struct BackendNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

// Server options for a test server on a free loopback port with a fresh prefix.
ServerOptions TestServerOptions(const std::string& prefix);

// A direct pool on the test database, for assertions made in SQL.
std::unique_ptr<pg::ConnectionPool> TestPool(const std::string& prefix, int size = 4);

}  // namespace flowmonkey::testing
