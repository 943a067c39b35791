#pragma once

// The events table is partitioned by created_at (docs/adr/0017-partitioned-events.md):
// one partition per period (PoolOptions::events_partition: UTC months by default), named
// <prefix>events_pYYYYMMDD after its first day. A table that existed before migration 10
// is the partition <prefix>events_legacy, from MINVALUE to a month boundary.
//
// Partitions are made three ways, all through CreateMissing: by the server's maintenance
// ahead of time (the previous period through `ahead` periods after now), by the migration
// (last, this and next month), and on demand when an insert carries a created_at that no
// partition covers yet (a back-dated import). They go away only as whole tables: DropBefore,
// which retention (--events-retention) and EventStore.DeleteOld use.
//
// Many replicas may do all this at once: creating and dropping take one transaction-level
// advisory lock and re-read the catalog under it. A partition is created empty and
// attached (SHARE UPDATE EXCLUSIVE on the parent), so inserts and queries of events do not
// wait for it; dropping one takes ACCESS EXCLUSIVE on the parent for an instant, bounded by
// a lock timeout.

#include <cstdint>
#include <exception>
#include <pqxx/except>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

absl::StatusOr<PartitionPeriod> ParsePartitionPeriod(std::string_view name);
std::string_view PartitionPeriodName(PartitionPeriod period);
// The first millisecond (UTC) of the period holding `ms`, and of the period after it.
int64_t PeriodStart(PartitionPeriod period, int64_t ms);
int64_t NextPeriodStart(PartitionPeriod period, int64_t ms);

// A partition's bounds in created_at milliseconds: [lo, hi). INT64_MIN is MINVALUE.
struct EventPartition {
  std::string name;
  int64_t lo = 0;
  int64_t hi = 0;
};

// How many partitions one insert may create on demand: more distinct periods not yet
// covered is INVALID_ARGUMENT (import such history in several calls, oldest first).
inline constexpr int kMaxPartitionsOnDemand = 100;

class EventPartitions {
 public:
  // `pool` must outlive this; it owns one (ConnectionPool::event_partitions()).
  explicit EventPartitions(ConnectionPool& pool) : pool_(pool) {}

  // Before `tx` on `s` inserts events with these created_at values: makes sure a partition
  // covers each. Known ranges answer at once; otherwise the catalog is read on `s`, and the
  // missing periods are created on a connection of their own (committed at once, so they
  // outlive a rollback of `tx`).
  absl::Status Cover(Session& s, pqxx::transaction_base& tx, absl::Span<const int64_t> created_at);

  // Maintenance: partitions for the previous period through `ahead` periods after `now_ms`.
  // Returns how many were created.
  absl::StatusOr<int> CreateAhead(int64_t now_ms, int ahead);

  struct Dropped {
    int partitions = 0;
    int64_t rows = 0;
  };
  // Drops every partition that ends at or before `before_ms`, with the rows it held.
  // FAILED_PRECONDITION when a drop waited too long for the table's lock (nothing dropped).
  absl::StatusOr<Dropped> DropBefore(int64_t before_ms);

  // Every partition, in order of created_at.
  absl::StatusOr<std::vector<EventPartition>> List();

  // After an insert found no partition for a row (another replica dropped it): the known
  // ranges are read again before the next insert.
  void Forget();

 private:
  // Whether known ranges cover [lo, hi] in one piece.
  bool Covers(int64_t lo, int64_t hi) const;
  bool CoversLocked(int64_t value) const;  // mu_ held (shared)
  void Remember(const std::vector<EventPartition>& partitions);
  // Creates what `periods` (their starts) need and no partition covers, under the lock, in
  // one transaction on `connection`; returns the partitions after it.
  absl::StatusOr<std::vector<EventPartition>> CreateMissing(pqxx::connection& connection,
                                                            const std::vector<int64_t>& periods,
                                                            int* created);

  ConnectionPool& pool_;
  // A std::shared_mutex, not an absl::Mutex: Debian's abseil is not built with
  // ThreadSanitizer, which then cannot see its locking and reports races on known_.
  mutable std::shared_mutex mu_;
  // Known partitions' ranges, adjacent ones merged, in order; guarded by mu_.
  std::vector<std::pair<int64_t, int64_t>> known_;
};

// True for the error of an insert that no partition accepts (SQLSTATE 23514).
bool IsMissingPartition(const std::exception& error);

// Runs `insert` (a statement inserting events on `s`); when no partition accepts a row
// (another replica dropped it since), forgets the known ranges and rethrows: the call fails
// with ABORTED (errors.h) and its retry reads the catalog again.
template <typename Insert>
auto InsertEvents(Session& s, Insert&& insert) -> decltype(insert()) {
  try {
    return insert();
  } catch (const pqxx::sql_error& e) {
    if (IsMissingPartition(e)) s.pool().event_partitions().Forget();
    throw;
  }
}

}  // namespace flowmonkey::pg
