#include "server/replica_reads.h"

#include <spdlog/spdlog.h>

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/pg/params.h"

namespace flowmonkey {
namespace {

// On the primary: how far its WAL goes (a standby given as the primary: how far it replayed).
constexpr pg::Statement kPrimaryPosition{
    "replica_primary_position",
    "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
    " ELSE pg_current_wal_lsn() END)::text"};
// On the replica, $1 the primary's position: the WAL bytes still to replay, and the age of
// the last transaction replayed. Not in recovery (a primary given as the replica): nothing.
constexpr pg::Statement kReplicaState{
    "replica_state",
    "SELECT pg_is_in_recovery(),"
    " COALESCE(pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()), 0)::float8,"
    " COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)::float8"};

pg::PoolOptions ReplicaPoolOptions(const ReplicaOptions& options, const pg::PoolOptions& primary) {
  pg::PoolOptions pool = primary;
  pool.database_url = options.database_url;
  pool.size = options.pool_size;
  return pool;
}

pg::StackOptions ReplicaStackOptions() {
  pg::StackOptions stack;
  stack.batching = false;  // reads only: nothing to group-commit
  return stack;
}

}  // namespace

ReplicaReads::ReplicaReads(const ReplicaOptions& options, pg::ConnectionPool& primary,
                           pg::StoreStack& primary_stores, Metrics& metrics)
    : max_lag_(options.max_lag),
      primary_(primary),
      metrics_(metrics),
      pool_(ReplicaPoolOptions(options, primary.options())),
      stores_(pool_, ReplicaStackOptions()),
      executions_(primary_stores.executions(), stores_.executions(), *this),
      flows_(primary_stores.flows(), stores_.flows(), *this),
      jobs_(primary_stores.jobs(), stores_.jobs(), *this),
      tokens_(primary_stores.tokens(), stores_.tokens(), *this) {
  primary_.Register(kPrimaryPosition);
  pool_.Register(kReplicaState);
  metrics_.SetReplica(false, 0, 0);
}

void ReplicaReads::Check() {
  absl::StatusOr<std::string> position =
      primary_.Run<std::string>("replica lag: the primary's position", [](pg::Session& s) {
        pqxx::nontransaction tx(s.connection());
        return absl::StatusOr<std::string>(s.Exec(tx, kPrimaryPosition)[0][0].c_str());
      });
  struct State {
    bool in_recovery;
    double bytes;
    double seconds;
  };
  absl::StatusOr<State> state = pool_.Run<State>("replica lag", [&](pg::Session& s) {
    pqxx::nontransaction tx(s.connection());
    pg::Params params;
    position.ok() ? params.Add(*position) : params.AddNull();
    const pqxx::row row = s.Exec(tx, kReplicaState, params)[0];
    return absl::StatusOr<State>(
        State{row[0].as<bool>(), row[1].as<double>(), row[2].as<double>()});
  });
  bool usable = false;
  if (!state.ok()) {
    failures_.Log(spdlog::level::warn,
                  absl::StrCat("read replica: unreachable, reads go to the primary: ",
                               state.status().ToString()));
  } else {
    if (!state->in_recovery || (position.ok() && state->bytes <= 0)) {
      lag_seconds_ = 0;  // not a standby, or it has replayed all the primary wrote
      lag_bytes_ = 0;
    } else if (position.ok()) {
      lag_seconds_ = state->seconds;
      lag_bytes_ = state->bytes;
    }
    usable = lag_seconds_ <= absl::ToDoubleSeconds(max_lag_);
  }
  if (usable != usable_.exchange(usable)) {
    spdlog::info("read replica: {}", usable ? "replica_ok reads go to the replica"
                                            : "replica_ok reads go to the primary");
  }
  metrics_.SetReplica(usable, lag_seconds_, lag_bytes_);
}

void ReplicaReads::ReplicaFailed(const absl::Status& status) {
  // Unreachable: no more reads there until a check finds it again. Other failures (a query
  // cancelled by a conflict with replay) are the one read's.
  if (status.code() == absl::StatusCode::kUnavailable && usable_.exchange(false)) {
    metrics_.SetReplica(false, lag_seconds_, lag_bytes_);
  }
  failures_.Log(spdlog::level::warn,
                absl::StrCat("read replica: a read failed there and was repeated on the primary: ",
                             status.ToString()));
}

}  // namespace flowmonkey
