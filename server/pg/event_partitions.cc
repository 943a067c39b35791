#include "server/pg/event_partitions.h"

#include <algorithm>
#include <limits>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/container/btree_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "spdlog/spdlog.h"

namespace flowmonkey::pg {
namespace {

constexpr int64_t kMinValue = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxValue = std::numeric_limits<int64_t>::max();

// Not prepared: they run on maintenance and on the first insert into a new period only.
constexpr std::string_view kPartitions =
    "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_catalog.pg_inherits i"
    " JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid"
    " WHERE i.inhparent = to_regclass('{fm_}events')";
// The same two-key advisory lock space as the events' insert gate (event_sql.h).
constexpr std::string_view kPartitionLock =
    "SELECT pg_advisory_xact_lock(4664, hashtext('{fm_}events_partitions'))";
// Creating waits for nothing but other DDL on the table; a drop waits for every insert and
// query in flight, and everything queues behind it while it waits: bounded.
constexpr std::string_view kCreateLockTimeout = "SET LOCAL lock_timeout = '10s'";
constexpr std::string_view kDropLockTimeout = "SET LOCAL lock_timeout = '2s'";
constexpr std::string_view kLockNotAvailable = "55P03";

absl::CivilDay StartDay(PartitionPeriod period, absl::CivilDay day) {
  switch (period) {
    case PartitionPeriod::kDay:
      return day;
    case PartitionPeriod::kWeek:
      return absl::PrevWeekday(day + 1, absl::Weekday::monday);
    case PartitionPeriod::kMonth:
      return absl::CivilDay(absl::CivilMonth(day));
  }
  return day;
}

absl::CivilDay DayOf(int64_t ms) {
  return absl::ToCivilDay(absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

int64_t MsOf(absl::CivilDay day) {
  return absl::ToUnixMillis(absl::FromCivil(day, absl::UTCTimeZone()));
}

// "FOR VALUES FROM ('1764547200000') TO ('1767225600000')", MINVALUE / MAXVALUE for the
// open ends.
bool ParseBound(std::string_view text, std::string_view keyword, int64_t* value) {
  const size_t at = text.find(keyword);
  if (at == std::string_view::npos) return false;
  text.remove_prefix(at + keyword.size());
  const size_t end = text.find(')');
  if (end == std::string_view::npos) return false;
  std::string_view token = text.substr(0, end);
  if (token == "MINVALUE") return *value = kMinValue, true;
  if (token == "MAXVALUE") return *value = kMaxValue, true;
  if (token.size() >= 2 && token.front() == '\'' && token.back() == '\'') {
    token = token.substr(1, token.size() - 2);
  }
  return absl::SimpleAtoi(absl::string_view(token.data(), token.size()), value);
}

std::vector<EventPartition> ReadPartitions(pqxx::transaction_base& tx, const ConnectionPool& pool) {
  std::vector<EventPartition> partitions;
  for (const auto& row : tx.exec(pool.Sql(kPartitions))) {
    EventPartition p;
    p.name = row[0].c_str();
    const std::string_view bound = row[1].c_str();
    if (!ParseBound(bound, "FROM (", &p.lo) || !ParseBound(bound, "TO (", &p.hi)) {
      spdlog::warn("events partition {}: bound not understood: {}", p.name, bound);
      continue;
    }
    partitions.push_back(std::move(p));
  }
  std::sort(partitions.begin(), partitions.end(),
            [](const EventPartition& a, const EventPartition& b) { return a.lo < b.lo; });
  return partitions;
}

// The pieces of [lo, hi) that no partition covers (partitions in order).
std::vector<std::pair<int64_t, int64_t>> Gaps(const std::vector<EventPartition>& partitions,
                                              int64_t lo, int64_t hi) {
  std::vector<std::pair<int64_t, int64_t>> gaps;
  int64_t at = lo;
  for (const EventPartition& p : partitions) {
    if (p.hi <= at) continue;
    if (p.lo >= hi) break;
    if (p.lo > at) gaps.emplace_back(at, p.lo);
    at = std::max(at, p.hi);
    if (at >= hi) break;
  }
  if (at < hi) gaps.emplace_back(at, hi);
  return gaps;
}

std::string PartitionName(const ConnectionPool& pool, int64_t lo) {
  const absl::CivilDay day = DayOf(lo);
  return absl::StrCat(pool.options().table_prefix, "events_p",
                      absl::StrFormat("%04d%02d%02d", day.year(), day.month(), day.day()));
}

}  // namespace

absl::StatusOr<PartitionPeriod> ParsePartitionPeriod(std::string_view name) {
  if (name == "day") return PartitionPeriod::kDay;
  if (name == "week") return PartitionPeriod::kWeek;
  if (name == "month") return PartitionPeriod::kMonth;
  return absl::InvalidArgumentError(
      absl::StrCat("events partition: \"", std::string(name), "\" is not one of day, week, month"));
}

std::string_view PartitionPeriodName(PartitionPeriod period) {
  switch (period) {
    case PartitionPeriod::kDay:
      return "day";
    case PartitionPeriod::kWeek:
      return "week";
    case PartitionPeriod::kMonth:
      return "month";
  }
  return "month";
}

int64_t PeriodStart(PartitionPeriod period, int64_t ms) {
  return MsOf(StartDay(period, DayOf(ms)));
}

int64_t NextPeriodStart(PartitionPeriod period, int64_t ms) {
  const absl::CivilDay start = StartDay(period, DayOf(ms));
  switch (period) {
    case PartitionPeriod::kDay:
      return MsOf(start + 1);
    case PartitionPeriod::kWeek:
      return MsOf(start + 7);
    case PartitionPeriod::kMonth:
      return MsOf(absl::CivilDay(absl::CivilMonth(start) + 1));
  }
  return MsOf(start + 1);
}

bool IsMissingPartition(const std::exception& error) {
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error);
  return sql != nullptr && sql->sqlstate() == "23514" &&
         absl::StrContains(sql->what(), "no partition of relation");
}

bool EventPartitions::CoversLocked(int64_t value) const {
  auto it = std::upper_bound(known_.begin(), known_.end(), value,
                             [](int64_t v, const auto& range) { return v < range.first; });
  return it != known_.begin() && value < std::prev(it)->second;
}

bool EventPartitions::Covers(int64_t lo, int64_t hi) const {
  std::shared_lock lock(mu_);
  auto it = std::upper_bound(known_.begin(), known_.end(), lo,
                             [](int64_t v, const auto& range) { return v < range.first; });
  return it != known_.begin() && hi < std::prev(it)->second;
}

void EventPartitions::Remember(const std::vector<EventPartition>& partitions) {
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (const EventPartition& p : partitions) {
    if (!ranges.empty() && ranges.back().second == p.lo) {
      ranges.back().second = p.hi;
    } else {
      ranges.emplace_back(p.lo, p.hi);
    }
  }
  std::unique_lock lock(mu_);
  known_ = std::move(ranges);
}

void EventPartitions::Forget() {
  std::unique_lock lock(mu_);
  known_.clear();
}

absl::Status EventPartitions::Cover(Session& s, pqxx::transaction_base& tx,
                                    absl::Span<const int64_t> created_at) {
  if (created_at.empty()) return absl::OkStatus();
  const auto [lo, hi] = std::minmax_element(created_at.begin(), created_at.end());
  if (Covers(*lo, *hi)) return absl::OkStatus();
  Remember(ReadPartitions(tx, pool_));
  absl::btree_set<int64_t> periods;  // starts of the periods not covered
  {
    std::shared_lock lock(mu_);
    for (int64_t t : created_at) {
      if (!CoversLocked(t)) periods.insert(PeriodStart(pool_.options().events_partition, t));
    }
  }
  if (periods.empty()) return absl::OkStatus();
  if (periods.size() > kMaxPartitionsOnDemand) {
    return absl::InvalidArgumentError(
        absl::StrCat("created_at: the events fall in ", periods.size(), " ",
                     std::string(PartitionPeriodName(pool_.options().events_partition)),
                     "s that have no partition yet; at most ", kMaxPartitionsOnDemand,
                     " per call (record older history in several calls)"));
  }
  // A connection of its own: the partitions must not depend on `tx` committing, and the
  // pool may have no connection to spare while `s` holds one.
  try {
    pqxx::connection connection(s.pool().options().database_url);
    int created = 0;
    absl::StatusOr<std::vector<EventPartition>> after =
        CreateMissing(connection, {periods.begin(), periods.end()}, &created);
    if (!after.ok()) return after.status();
    Remember(*after);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return StatusFromException(e, "create events partitions", Sent::kNothingCommitted);
  }
}

absl::StatusOr<std::vector<EventPartition>> EventPartitions::CreateMissing(
    pqxx::connection& connection, const std::vector<int64_t>& periods, int* created) {
  const PartitionPeriod period = pool_.options().events_partition;
  pqxx::work tx(connection);
  tx.exec(pool_.Sql(kPartitionLock));
  tx.exec(pool_.Sql(kCreateLockTimeout));
  std::vector<EventPartition> partitions = ReadPartitions(tx, pool_);
  if (partitions.empty() &&
      tx.exec(pool_.Sql("SELECT to_regclass('{fm_}events')"))[0][0].is_null()) {
    return absl::FailedPreconditionError("events table missing: migrations not applied");
  }
  std::vector<std::pair<int64_t, int64_t>> gaps;
  for (int64_t start : periods) {
    for (const auto& gap : Gaps(partitions, start, NextPeriodStart(period, start))) {
      if (gaps.empty() || gaps.back() != gap) gaps.push_back(gap);
    }
  }
  for (const auto& [lo, hi] : gaps) {
    const std::string name = PartitionName(pool_, lo);
    // Created empty, then attached: ATTACH takes SHARE UPDATE EXCLUSIVE on the parent, so
    // it neither waits for nor blocks inserts (PARTITION OF would take ACCESS EXCLUSIVE).
    tx.exec(pool_.Sql(absl::StrCat(
        "CREATE TABLE ", name, " (LIKE {fm_}events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")));
    tx.exec(pool_.Sql(absl::StrCat("ALTER TABLE {fm_}events ATTACH PARTITION ", name,
                                   " FOR VALUES FROM (", lo, ") TO (", hi, ")")));
    partitions.push_back({name, lo, hi});
  }
  tx.commit();
  *created = static_cast<int>(gaps.size());
  if (!gaps.empty()) {
    spdlog::info("events: {} partition(s) created, from {}", gaps.size(),
                 PartitionName(pool_, gaps.front().first));
  }
  std::sort(partitions.begin(), partitions.end(),
            [](const EventPartition& a, const EventPartition& b) { return a.lo < b.lo; });
  return partitions;
}

absl::StatusOr<int> EventPartitions::CreateAhead(int64_t now_ms, int ahead) {
  const PartitionPeriod period = pool_.options().events_partition;
  std::vector<int64_t> periods;
  int64_t start = PeriodStart(period, PeriodStart(period, now_ms) - 1);  // the previous one
  for (int i = 0; i < ahead + 2; ++i, start = NextPeriodStart(period, start)) {
    periods.push_back(start);
  }
  return pool_.Run<int>("create events partitions", [&](Session& s) -> absl::StatusOr<int> {
    {
      pqxx::nontransaction read(s.connection());
      std::vector<EventPartition> partitions = ReadPartitions(read, pool_);
      bool missing = false;
      for (int64_t p : periods) missing = missing || !Gaps(partitions, p, p + 1).empty();
      if (!missing) {
        Remember(partitions);
        return 0;
      }
    }
    int created = 0;
    absl::StatusOr<std::vector<EventPartition>> after =
        CreateMissing(s.connection(), periods, &created);
    if (!after.ok()) return after.status();
    Remember(*after);
    return created;
  });
}

absl::StatusOr<EventPartitions::Dropped> EventPartitions::DropBefore(int64_t before_ms) {
  absl::StatusOr<Dropped> dropped =
      pool_.Run<Dropped>("drop events partitions", [&](Session& s) -> absl::StatusOr<Dropped> {
        pqxx::work tx(s.connection());
        tx.exec(pool_.Sql(kPartitionLock));
        tx.exec(pool_.Sql(kDropLockTimeout));
        Dropped result;
        std::vector<std::string> names;
        for (const EventPartition& p : ReadPartitions(tx, pool_)) {
          if (p.hi > before_ms) continue;
          result.rows += tx.exec(absl::StrCat("SELECT count(*) FROM ", tx.quote_name(p.name)))[0][0]
                             .as<int64_t>();
          names.push_back(p.name);
        }
        try {
          for (const std::string& name : names)
            tx.exec(absl::StrCat("DROP TABLE ", tx.quote_name(name)));
        } catch (const pqxx::sql_error& e) {
          if (e.sqlstate() != kLockNotAvailable) throw;
          return absl::FailedPreconditionError(
              "drop events partitions: the events table stayed busy (lock timeout)");
        }
        tx.commit();
        result.partitions = static_cast<int>(names.size());
        return result;
      });
  Forget();
  if (dropped.ok() && dropped->partitions > 0) {
    spdlog::info("events: {} partition(s) dropped ({} events) before {}", dropped->partitions,
                 dropped->rows, absl::FormatTime(absl::FromUnixMillis(before_ms)));
  }
  return dropped;
}

absl::StatusOr<std::vector<EventPartition>> EventPartitions::List() {
  return pool_.Run<std::vector<EventPartition>>(
      "list events partitions", [&](Session& s) -> absl::StatusOr<std::vector<EventPartition>> {
        pqxx::nontransaction tx(s.connection());
        return ReadPartitions(tx, pool_);
      });
}

}  // namespace flowmonkey::pg
