#pragma once

// A fixed-size pool of PostgreSQL connections. Connections open lazily, prepare every
// registered statement by name, and are replaced when they break: after a connection loss
// every connection opened before it is discarded, so the pool recovers on its own when the
// database comes back instead of failing once per stale connection.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <pqxx/transaction_base>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/pg/errors.h"
#include "server/pg/log_limiter.h"
#include "server/pg/params.h"

namespace flowmonkey::pg {

// A named query. Table names carry the prefix marker: "{fm_}jobs" is the jobs table.
struct Statement {
  std::string_view name;
  std::string_view sql;
};

// The events table's partitions (event_partitions.h): one per UTC day, week (from Monday)
// or month.
enum class PartitionPeriod { kDay, kWeek, kMonth };

struct PoolOptions {
  std::string database_url;
  int size = 16;
  std::string table_prefix = "fm_";
  // Off for PgBouncer in transaction mode without prepared-statement support.
  bool prepare_statements = true;
  absl::Duration acquire_timeout = absl::Seconds(5);
  // The period of the events partitions this pool creates.
  PartitionPeriod events_partition = PartitionPeriod::kMonth;
};

// Checks a table prefix: lower-case letters, digits and '_', starting with a letter, at
// most 32 bytes. It is the one configured name spliced into SQL text.
absl::Status ValidateTablePrefix(std::string_view prefix);
// Where the configured table prefix goes in SQL text (statements and migrations): each
// marker is replaced by the prefix, and nothing else in the text is touched.
inline constexpr std::string_view kPrefixMarker = "{fm_}";
// `sql` with every kPrefixMarker replaced by `prefix`.
std::string WithPrefix(std::string_view sql, std::string_view prefix);

class ConnectionPool;
class EventPartitions;

// True when `sql` may change data: it contains INSERT, UPDATE, DELETE, MERGE or TRUNCATE
// as a word (case-insensitive). Conservative: "SELECT ... FOR UPDATE" counts as a write.
bool MayWrite(std::string_view sql);

// What a store sees while it holds a connection.
class Session {
 public:
  pqxx::connection& connection() { return *connection_; }
  ConnectionPool& pool() { return *pool_; }
  pqxx::result Exec(pqxx::transaction_base& tx, const Statement& statement,
                    const Params& params = Params());
  // Exec with the parameters as arguments: an rvalue std::string is moved into the driver
  // rather than copied (Params copies).
  template <typename... Args>
  pqxx::result ExecArgs(pqxx::transaction_base& tx, const Statement& statement, Args&&... args);
  // Closes this connection when it goes back to the pool (a fresh one replaces it): after
  // a large value went through it, since libpq never shrinks its send and receive buffers.
  void RetireAfterUse() { retire_ = true; }

  // True once a statement that may write was handed to libpq outside a transaction block
  // (pqxx::nontransaction: it commits on its own). A connection lost after that leaves
  // the write's outcome unknown; inside a transaction block PostgreSQL rolls back what a
  // lost connection did not commit, and a lost COMMIT is pqxx::in_doubt_error.
  bool autocommit_write_sent() const { return autocommit_write_sent_; }

 private:
  friend class ConnectionPool;
  Session(ConnectionPool* pool, pqxx::connection* connection)
      : pool_(pool), connection_(connection) {}
  // Called by every way of sending a statement, before it is sent.
  void NoteSend(pqxx::transaction_base& tx, const Statement& statement);

  ConnectionPool* pool_;
  pqxx::connection* connection_;
  bool retire_ = false;
  bool autocommit_write_sent_ = false;
};

class ConnectionPool {
 public:
  explicit ConnectionPool(PoolOptions options);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Makes `statement` available to Session::Exec on every connection.
  void Register(const Statement& statement);
  void Register(std::initializer_list<Statement> statements) {
    for (const auto& s : statements) Register(s);
  }

  // Runs fn on a pooled connection. Exceptions become a Status (errors.h); UNAVAILABLE
  // when no connection can be opened or none frees up within acquire_timeout. A connection
  // the server closed while it was idle is replaced before fn runs. A connection lost after
  // fn sent a write that commits on its own is UNKNOWN (outcome unknown), not UNAVAILABLE.
  template <typename T>
  absl::StatusOr<T> Run(std::string_view what,
                        const std::function<absl::StatusOr<T>(Session&)>& fn);
  absl::Status RunVoid(std::string_view what, const std::function<absl::Status(Session&)>& fn);

  // SELECT 1 on a pooled connection: is the database reachable right now?
  absl::Status Ping();

  const PoolOptions& options() const { return options_; }
  std::string Sql(std::string_view sql) const { return WithPrefix(sql, options_.table_prefix); }
  int InUse() const { return in_use_.load(); }
  int Open() const;
  // The prefixed SQL of a registered statement (std::out_of_range when none has the name):
  // what the bench hands to pgbench, so that both run the very same statement.
  const std::string& SqlFor(std::string_view name);
  // The events' partitions as this pool knows them (event_partitions.h).
  EventPartitions& event_partitions() { return *event_partitions_; }

 private:
  friend class Session;
  struct Slot {
    std::unique_ptr<pqxx::connection> connection;
    uint64_t generation = 0;
    size_t prepared = 0;  // how many of statements_ this connection has prepared
    bool busy = false;
  };

  absl::StatusOr<Slot*> Acquire();
  // Reads what the server sent on an idle connection, without blocking: a connection the
  // server closed (restart, failover, pg_terminate_backend) is found before a statement is
  // sent on it, where losing it could only be answered UNKNOWN.
  static absl::Status Probe(pqxx::connection& connection);
  // broken: the connection was lost (and probably every one opened before it);
  // retire: this one is closed on purpose (Session::RetireAfterUse).
  void Release(Slot* slot, bool broken, bool retire = false);
  absl::Status EnsureReady(Slot& slot);

  const PoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable freed_;
  std::vector<Slot> slots_;
  std::vector<std::pair<std::string, std::string>> statements_;  // name, prefixed SQL
  std::unordered_map<std::string, size_t> statement_index_;
  uint64_t generation_ = 1;  // bumped on every connection loss
  std::atomic<int> in_use_{0};
  // While the database is down every call fails to connect: one line per 5 s, not per call.
  LogLimiter connect_failures_{absl::Seconds(5)};
  std::unique_ptr<EventPartitions> event_partitions_;
};

template <typename... Args>
pqxx::result Session::ExecArgs(pqxx::transaction_base& tx, const Statement& statement,
                               Args&&... args) {
  NoteSend(tx, statement);
  if (pool_->options_.prepare_statements) {
    return tx.exec_prepared(std::string(statement.name), std::forward<Args>(args)...);
  }
  return tx.exec_params(pool_->SqlFor(statement.name), std::forward<Args>(args)...);
}

template <typename T>
absl::StatusOr<T> ConnectionPool::Run(std::string_view what,
                                      const std::function<absl::StatusOr<T>(Session&)>& fn) {
  absl::StatusOr<Slot*> slot = Acquire();
  if (!slot.ok()) return slot.status();
  if (!Probe(*(*slot)->connection).ok()) {
    // Closed by the server while idle (restart, failover): nothing was sent on it, so the
    // call runs on a new connection (every connection older than this one is dropped too).
    Release(*slot, true);
    slot = Acquire();
    if (!slot.ok()) return slot.status();
  }
  Session session(this, (*slot)->connection.get());
  try {
    absl::StatusOr<T> result = fn(session);
    Release(*slot, false, session.retire_);
    return result;
  } catch (const std::exception& e) {
    Release(*slot, IsConnectionLoss(e) || !(*slot)->connection->is_open(), session.retire_);
    return StatusFromException(
        e, what, session.autocommit_write_sent() ? Sent::kWrite : Sent::kNothingCommitted);
  }
}

}  // namespace flowmonkey::pg
