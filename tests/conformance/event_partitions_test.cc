// Events partitioned by created_at (server/pg/event_partitions.h, ADR 0017): the schema a
// fresh database gets, partitions made on demand for back-dated events (once, even when
// replicas race for them), DeleteOld and retention dropping whole partitions, and an insert
// into a partition another replica dropped.

#include "server/pg/event_partitions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "client/transaction.h"
#include "core/clock.h"
#include "server/pg/event_store.h"
#include "server/pg/maintenance.h"
#include "tests/support/backends.h"
#include "tests/support/sql.h"

namespace flowmonkey::testing {
namespace {

using ::absl::StatusCode;
using pg::EventPartition;
using pg::PartitionPeriod;

int64_t Ms(int year, int month, int day, int hour = 0) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilHour(year, month, day, hour), absl::UTCTimeZone()));
}

v1::Event At(int64_t created_at, const std::string& type = "step.completed") {
  v1::Event event;
  event.set_execution_id("exec-1");
  event.set_event_type(type);
  event.set_created_at(created_at);
  return event;
}

v1::RecordEventRequest Record(int64_t created_at) {
  v1::RecordEventRequest request;
  *request.mutable_event() = At(created_at);
  return request;
}

std::vector<EventPartition> Partitions(pg::ConnectionPool& pool) {
  absl::StatusOr<std::vector<EventPartition>> list = pool.event_partitions().List();
  EXPECT_TRUE(list.ok()) << list.status();
  return list.ok() ? *list : std::vector<EventPartition>();
}

const EventPartition* Find(const std::vector<EventPartition>& partitions, const std::string& name) {
  for (const EventPartition& p : partitions) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

int64_t CountEvents(const std::string& prefix, const std::string& where = "true") {
  return RunSql(prefix, absl::StrCat("SELECT count(*) FROM fm_events WHERE ", where));
}

TEST(PartitionPeriodTest, PeriodsStartAtUtcDayMondayAndFirstOfTheMonth) {
  const int64_t wednesday = Ms(2026, 12, 2, 15);
  EXPECT_EQ(pg::PeriodStart(PartitionPeriod::kDay, wednesday), Ms(2026, 12, 2));
  EXPECT_EQ(pg::NextPeriodStart(PartitionPeriod::kDay, wednesday), Ms(2026, 12, 3));
  EXPECT_EQ(pg::PeriodStart(PartitionPeriod::kWeek, wednesday), Ms(2026, 11, 30));
  EXPECT_EQ(pg::NextPeriodStart(PartitionPeriod::kWeek, wednesday), Ms(2026, 12, 7));
  EXPECT_EQ(pg::PeriodStart(PartitionPeriod::kMonth, wednesday), Ms(2026, 12, 1));
  EXPECT_EQ(pg::NextPeriodStart(PartitionPeriod::kMonth, wednesday), Ms(2027, 1, 1));
  // A Monday starts its own week; a Sunday belongs to the week before; across a year.
  EXPECT_EQ(pg::PeriodStart(PartitionPeriod::kWeek, Ms(2026, 11, 30)), Ms(2026, 11, 30));
  EXPECT_EQ(pg::PeriodStart(PartitionPeriod::kWeek, Ms(2027, 1, 3, 23)), Ms(2026, 12, 28));
  EXPECT_EQ(pg::NextPeriodStart(PartitionPeriod::kMonth, Ms(9999, 12, 31, 23)), Ms(10000, 1, 1));
  EXPECT_EQ(pg::ParsePartitionPeriod("week").value(), PartitionPeriod::kWeek);
  EXPECT_EQ(pg::ParsePartitionPeriod("year").status().code(), StatusCode::kInvalidArgument);
}

class EventPartitionsTest : public ::testing::Test {
 protected:
  pg::ConnectionPool& pool() { return backend_.pool(); }
  EventStore& events() { return backend_.events(); }
  const std::string& prefix() const { return backend_.prefix(); }
  std::string Name(const std::string& day) const { return prefix() + "events_p" + day; }

  PgBackend backend_;
};

TEST_F(EventPartitionsTest, AFreshSchemaHasLastThisAndNextMonth) {
  const int64_t now = NowMs();
  const std::vector<EventPartition> partitions = Partitions(pool());
  ASSERT_EQ(partitions.size(), 3u);
  const int64_t this_month = pg::PeriodStart(PartitionPeriod::kMonth, now);
  EXPECT_EQ(partitions[0].lo, pg::PeriodStart(PartitionPeriod::kMonth, this_month - 1));
  EXPECT_EQ(partitions[1].lo, this_month);
  EXPECT_EQ(partitions[2].hi,
            pg::NextPeriodStart(PartitionPeriod::kMonth,
                                pg::NextPeriodStart(PartitionPeriod::kMonth, now)));
  for (size_t i = 1; i < partitions.size(); ++i) {
    EXPECT_EQ(partitions[i - 1].hi, partitions[i].lo) << "not contiguous at " << i;
  }
  const absl::CivilDay first =
      absl::ToCivilDay(absl::FromUnixMillis(this_month), absl::UTCTimeZone());
  EXPECT_EQ(partitions[1].name, Name(absl::StrFormat("%04d%02d01", first.year(), first.month())));
  // The migration's key and indexes (ADR 0017).
  EXPECT_EQ(RunSql(prefix(),
                   "SELECT count(*) FROM pg_indexes WHERE tablename = 'fm_events'"
                   " AND indexdef LIKE '%USING brin (created_at)%'"),
            1);
  EXPECT_EQ(RunSql(prefix(),
                   "SELECT count(*) FROM pg_indexes WHERE tablename = 'fm_events'"
                   " AND indexname = 'fm_events_pkey' AND indexdef LIKE"
                   " '%(id, created_at)%'"),
            1);
}

TEST_F(EventPartitionsTest, ABackdatedEventGetsOnePartitionForItsMonth) {
  const size_t before = Partitions(pool()).size();
  auto first = events().Record(Record(Ms(1990, 3, 15, 12)));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_GT(first->event().id(), 0);
  auto second = events().Record(Record(Ms(1990, 3, 31, 23)));
  ASSERT_TRUE(second.ok()) << second.status();

  const std::vector<EventPartition> partitions = Partitions(pool());
  EXPECT_EQ(partitions.size(), before + 1);
  const EventPartition* march = Find(partitions, Name("19900301"));
  ASSERT_NE(march, nullptr);
  EXPECT_EQ(march->lo, Ms(1990, 3, 1));
  EXPECT_EQ(march->hi, Ms(1990, 4, 1));
  EXPECT_EQ(CountEvents(prefix(), absl::StrCat("created_at < ", Ms(1990, 4, 1))), 2);

  v1::QueryEventsRequest query;
  query.set_before(Ms(1990, 4, 1));
  auto found = events().Query(query);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->events_size(), 2);
  EXPECT_EQ(found->events(0).id(), first->event().id());
}

TEST_F(EventPartitionsTest, ABatchNeedingTooManyNewPartitionsIsRejectedWhole) {
  const size_t before = Partitions(pool()).size();
  v1::RecordEventBatchRequest batch;
  for (int i = 0; i <= pg::kMaxPartitionsOnDemand; ++i) {
    *batch.add_events() = At(Ms(1971 + i / 12, 1 + i % 12, 10));
  }
  auto rejected = events().RecordBatch(batch);
  EXPECT_EQ(rejected.status().code(), StatusCode::kInvalidArgument) << rejected.status();
  EXPECT_EQ(Partitions(pool()).size(), before);
  EXPECT_EQ(CountEvents(prefix()), 0);

  // Three months at once are fine: one partition each, every event stored.
  v1::RecordEventBatchRequest three;
  for (int month : {5, 6, 7, 5}) *three.add_events() = At(Ms(1982, month, 2));
  auto recorded = events().RecordBatch(three);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(Partitions(pool()).size(), before + 3);
  EXPECT_EQ(CountEvents(prefix()), 4);
}

TEST_F(EventPartitionsTest, ACommitRecordingBackdatedEventsCreatesTheirPartition) {
  auto committed = client::Transaction(backend_.transactions())
                       .RecordEvents({At(Ms(1971, 2, 3)), At(Ms(1971, 2, 4))})
                       .Commit();
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_NE(Find(Partitions(pool()), Name("19710201")), nullptr);
  EXPECT_EQ(CountEvents(prefix()), 2);
}

TEST_F(EventPartitionsTest, DeleteOldDropsWholePartitionsAndDeletesTheRestRowByRow) {
  for (int64_t t : {Ms(1990, 1, 5), Ms(1990, 1, 20), Ms(1990, 2, 3), Ms(1990, 2, 10),
                    Ms(1990, 2, 20), Ms(1990, 3, 1)}) {
    ASSERT_TRUE(events().Record(Record(t)).ok());
  }
  v1::DeleteOldEventsRequest request;
  request.set_before(Ms(1990, 2, 15));
  auto deleted = events().DeleteOld(request);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->deleted_count(), 4);

  const std::vector<EventPartition> partitions = Partitions(pool());
  EXPECT_EQ(Find(partitions, Name("19900101")), nullptr) << "January was not dropped";
  EXPECT_NE(Find(partitions, Name("19900201")), nullptr) << "February must stay";
  EXPECT_EQ(CountEvents(prefix()), 2);
  EXPECT_EQ(CountEvents(prefix(), absl::StrCat("created_at < ", Ms(1990, 2, 15))), 0);
}

// Replicas recording the first events of the same new months at once: each insert
// succeeds, and each month gets exactly one partition.
TEST_F(EventPartitionsTest, ConcurrentFirstInsertsOfNewMonthsAllSucceedOnce) {
  constexpr int kReplicas = 8;
  constexpr int kMonths = 5;
  const size_t before = Partitions(pool()).size();
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < kReplicas; ++r) {
    threads.emplace_back([&, r] {
      std::unique_ptr<pg::ConnectionPool> replica = TestPool(prefix(), 2);
      pg::PgEventStore store(*replica);
      std::vector<int> months = {1, 2, 3, 4, 5};
      std::shuffle(months.begin(), months.end(), std::mt19937(r));
      for (int month : months) {
        v1::RecordEventBatchRequest batch;
        *batch.add_events() = At(Ms(1980, month, 1 + r));
        *batch.add_events() = At(Ms(1980, month, 2 + r));
        auto recorded = store.RecordBatch(batch);
        (recorded.ok() ? ok : failed)++;
        if (!recorded.ok()) ADD_FAILURE() << recorded.status();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kReplicas * kMonths);
  EXPECT_EQ(failed.load(), 0);
  const std::vector<EventPartition> partitions = Partitions(pool());
  EXPECT_EQ(partitions.size(), before + kMonths);
  for (int month = 1; month <= kMonths; ++month) {
    EXPECT_NE(Find(partitions, Name(absl::StrFormat("1980%02d01", month))), nullptr) << month;
  }
  EXPECT_EQ(CountEvents(prefix()), 2 * kReplicas * kMonths);
}

// Replica A knows a partition that replica B then drops: A's next insert into it is
// ABORTED (retry), and the retry creates the partition again.
TEST_F(EventPartitionsTest, AnInsertIntoAPartitionDroppedElsewhereIsAbortedThenRetried) {
  ASSERT_TRUE(events().Record(Record(Ms(1985, 6, 10))).ok());
  std::unique_ptr<pg::ConnectionPool> other = TestPool(prefix(), 2);
  pg::PgEventStore elsewhere(*other);
  v1::DeleteOldEventsRequest purge;
  purge.set_before(Ms(1985, 7, 1));
  auto purged = elsewhere.DeleteOld(purge);
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(purged->deleted_count(), 1);
  ASSERT_EQ(Find(Partitions(pool()), Name("19850601")), nullptr);

  auto stale = events().Record(Record(Ms(1985, 6, 11)));
  EXPECT_EQ(stale.status().code(), StatusCode::kAborted) << stale.status();
  auto retried = events().Record(Record(Ms(1985, 6, 11)));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(CountEvents(prefix()), 1);
}

// Retention drops a partition once all of it is older than the retention, never one that
// still holds a younger event.
TEST_F(EventPartitionsTest, RetentionDropsOnlyPartitionsWhollyOlderThanIt) {
  const int64_t now = Ms(2030, 6, 15);
  for (int64_t t : {Ms(2030, 3, 1), Ms(2030, 4, 20), Ms(2030, 5, 3), Ms(2030, 6, 10)}) {
    ASSERT_TRUE(events().Record(Record(t)).ok());
  }
  pg::PgMaintenance maintenance(pool(), {.events_retention = absl::Hours(24 * 40)});
  auto counts = maintenance.RunOnce(now);  // keeps events after 2030-05-06
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->events_dropped, 2);  // March's and April's partitions
  EXPECT_EQ(CountEvents(prefix()), 2);
  // 2030-05-03 is older than the retention, but May's partition ends after it: kept.
  EXPECT_EQ(CountEvents(prefix(), absl::StrCat("created_at = ", Ms(2030, 5, 3))), 1);
  // Ahead of `now`: the previous month through three months after the current one.
  const std::vector<EventPartition> partitions = Partitions(pool());
  for (const char* day : {"20300501", "20300601", "20300701", "20300801", "20300901"}) {
    EXPECT_NE(Find(partitions, Name(day)), nullptr) << day;
  }
  EXPECT_EQ(Find(partitions, Name("20300401")), nullptr);
}

// Weekly partitions after monthly ones (the period changed): only the gaps are created.
TEST_F(EventPartitionsTest, WeeklyPartitionsFillOnlyTheGapsAfterMonthlyOnes) {
  pg::PoolOptions options = pool().options();
  options.events_partition = PartitionPeriod::kWeek;
  pg::ConnectionPool weekly(options);
  const std::vector<EventPartition> monthly = Partitions(pool());
  const int64_t end = monthly.back().hi;  // the first day of the month after next
  auto created = weekly.event_partitions().CreateAhead(end + 1, 3);
  ASSERT_TRUE(created.ok()) << created.status();
  const std::vector<EventPartition> after = Partitions(pool());
  EXPECT_EQ(after.size(), monthly.size() + static_cast<size_t>(*created));
  for (size_t i = 1; i < after.size(); ++i) {
    EXPECT_EQ(after[i - 1].hi, after[i].lo) << after[i].name;
  }
  EXPECT_EQ(after.back().hi % (7 * 86'400'000), Ms(1970, 1, 5) % (7 * 86'400'000))
      << "does not end on a Monday";
}

}  // namespace
}  // namespace flowmonkey::testing
