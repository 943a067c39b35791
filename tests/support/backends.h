#pragma once

// The three implementations every conformance suite runs against:
//   PgBackend     — the PostgreSQL stores, in process;
//   BatchedBackend — the same stores under the group-commit decorators, in process;
//   RemoteBackend — the C++ client talking to a real flowmonkey Server on a loopback port.
// Each instance gets its own freshly migrated table prefix in the test database.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "client/client.h"
#include "core/context_storage.h"
#include "core/event_store.h"
#include "core/execution_store.h"
#include "core/flow_store.h"
#include "core/job_store.h"
#include "core/resume_tokens.h"
#include "core/transactions.h"
#include "server/pg/pool.h"
#include "server/pg/stack.h"
#include "server/server.h"

namespace flowmonkey::testing {

// The PostgreSQL stores in process, as server/pg/stack.h builds them: plain, or with the
// group-commit decorators on top (`batching`).
class InProcessBackend {
 public:
  explicit InProcessBackend(bool batching);
  ExecutionStore& executions() { return stack_->executions(); }
  ResumeTokens& tokens() { return stack_->tokens(); }
  JobStore& jobs() { return stack_->jobs(); }
  EventStore& events() { return stack_->events(); }
  FlowStore& flows() { return stack_->flows(); }
  ContextStorage& contexts() { return stack_->contexts(); }
  Transactions& transactions() { return stack_->transactions(); }
  pg::ConnectionPool& pool() { return *pool_; }
  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
  std::unique_ptr<pg::ConnectionPool> pool_;
  std::unique_ptr<pg::StoreStack> stack_;
};

class PgBackend : public InProcessBackend {
 public:
  static constexpr const char* kName = "Pg";
  PgBackend() : InProcessBackend(/*batching=*/false) {}
};

// Small batches and one flusher per operation, so that concurrent tests do share batches.
class BatchedBackend : public InProcessBackend {
 public:
  static constexpr const char* kName = "Batched";
  BatchedBackend() : InProcessBackend(/*batching=*/true) {}
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
  Transactions& transactions() { return *stores_.transactions; }
  Server& server() { return *server_; }
  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
  std::unique_ptr<Server> server_;
  client::Stores stores_;
};

// Every conformance suite runs over all three: TYPED_TEST_SUITE(Suite, Backends, BackendNames).
using Backends = ::testing::Types<PgBackend, BatchedBackend, RemoteBackend>;
struct BackendNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

// Creates a running execution `id` (flow "flow" 1.0.0, step "step"): what job tests hang
// their jobs on.
absl::Status CreateRunningExecution(ExecutionStore& executions, const std::string& id);

// Server options for a test server on a free loopback port with a fresh prefix.
ServerOptions TestServerOptions(const std::string& prefix);

// A direct pool on the test database, for assertions made in SQL.
std::unique_ptr<pg::ConnectionPool> TestPool(const std::string& prefix, int size = 4);

}  // namespace flowmonkey::testing
