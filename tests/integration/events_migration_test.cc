// Migration 10 (sql/migrations/0010_events_partitioned.sql, ADR 0017) on a live table of a
// million events: while it runs, writers of the previous server version (its prepared
// INSERT, on connections opened before) keep recording events. Afterwards every event is
// there with its id, the old table is the first partition, writers never failed, and the
// new table takes events of any time. Prints how long the migration took and the longest
// time a writer waited: the lock a live deployment sees.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/clock.h"
#include "server/pg/event_partitions.h"
#include "server/pg/event_store.h"
#include "server/pg/migrations.h"
#include "tests/support/backends.h"
#include "tests/support/sql.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

constexpr int64_t kRows = 1'000'000;
constexpr int kWriters = 4;

TEST(EventsMigrationTest, AMillionLiveEventsBecomeTheFirstPartition) {
  const std::string prefix = TestDatabase::Instance().NewPrefix();
  std::unique_ptr<pg::ConnectionPool> pool = TestPool(prefix, 4);
  absl::StatusOr<int> version = pg::ApplyMigrations(*pool, 9);
  ASSERT_TRUE(version.ok()) << version.status();
  ASSERT_EQ(*version, 9);

  // A million events of the last ~17 minutes, on 5,000 executions; every 100,000th with a
  // client request id.
  const int64_t now = NowMs();
  ASSERT_EQ(RunSql(prefix,
                   absl::StrCat("INSERT INTO fm_events (execution_id, event_type, data, created_at,"
                                " request_id) SELECT 'e-' || (g % 5000), CASE WHEN g % 3 = 0 THEN"
                                " 'step.started' ELSE 'step.completed' END, '{}', ",
                                now,
                                " - g, CASE WHEN g % 100000 = 0 THEN 'req-' || g END"
                                " FROM generate_series(1, ",
                                kRows, ") AS g"),
                   /*affected=*/true),
            kRows);
  const int64_t max_id = RunSql(prefix, "SELECT max(id) FROM fm_events");
  const int64_t id_sum = RunSql(prefix, "SELECT sum(id) FROM fm_events");

  // The previous version's writers: a statement prepared before the migration, run in a
  // loop on connections of their own until the migration is over.
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::mutex mu;
  std::vector<int64_t> acknowledged;
  int64_t longest_wait_ms = 0;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      pqxx::connection connection(TestDatabase::Instance().url());
      connection.prepare("insert",
                         absl::StrCat("INSERT INTO ", prefix,
                                      "events (execution_id, event_type, created_at)"
                                      " VALUES ($1, 'during.migration', $2) RETURNING id"));
      while (!stop.load()) {
        const absl::Time start = absl::Now();
        try {
          pqxx::nontransaction tx(connection);
          const int64_t id =
              tx.exec_prepared("insert", absl::StrCat("w-", w), NowMs())[0][0].as<int64_t>();
          std::lock_guard lock(mu);
          acknowledged.push_back(id);
          longest_wait_ms =
              std::max(longest_wait_ms, absl::ToInt64Milliseconds(absl::Now() - start));
        } catch (const std::exception& e) {
          ++failures;
          ADD_FAILURE() << "writer " << w << ": " << e.what();
          return;
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(200));  // the writers are writing
  const absl::Time start = absl::Now();
  version = pg::ApplyMigrations(*pool);
  const absl::Duration took = absl::Now() - start;
  absl::SleepFor(absl::Milliseconds(200));  // and write again after it
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_GE(*version, 10);
  std::cout << "[ migration ] " << kRows << " events partitioned in " << took
            << "; longest writer wait " << longest_wait_ms << " ms, " << acknowledged.size()
            << " events written meanwhile\n";

  // Nothing lost, nothing renumbered, every acknowledged write there.
  EXPECT_EQ(failures.load(), 0);
  ASSERT_FALSE(acknowledged.empty());
  EXPECT_EQ(RunSql(prefix, absl::StrCat("SELECT sum(id) FROM fm_events WHERE id <= ", max_id)),
            id_sum);
  EXPECT_EQ(RunSql(prefix, "SELECT count(*) FROM fm_events"),
            kRows + static_cast<int64_t>(acknowledged.size()));
  EXPECT_EQ(RunSql(prefix, absl::StrCat("SELECT count(*) FROM fm_events WHERE id IN (",
                                        absl::StrJoin(acknowledged, ","), ")")),
            static_cast<int64_t>(acknowledged.size()));

  // The old table is the first partition, up to a month boundary after now.
  absl::StatusOr<std::vector<pg::EventPartition>> partitions = pool->event_partitions().List();
  ASSERT_TRUE(partitions.ok()) << partitions.status();
  ASSERT_EQ(partitions->size(), 1u);
  EXPECT_EQ(partitions->front().name, prefix + "events_legacy");
  EXPECT_EQ(partitions->front().lo, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(partitions->front().hi, pg::NextPeriodStart(pg::PartitionPeriod::kMonth, now));

  // The store takes events beyond it (a partition is made) and ids go on from the sequence.
  pg::PgEventStore store(*pool);
  v1::RecordEventRequest later;
  later.mutable_event()->set_execution_id("e-1");
  later.mutable_event()->set_event_type("after.migration");
  later.mutable_event()->set_created_at(partitions->front().hi + 86'400'000);
  auto recorded = store.Record(later);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_GT(recorded->event().id(), *std::max_element(acknowledged.begin(), acknowledged.end()));

  // Paging by execution and over the whole history reads the migrated rows in id order.
  v1::GetEventsByExecutionRequest by_execution;
  by_execution.set_execution_id("e-1");
  by_execution.set_limit(1000);
  auto history = store.GetByExecution(by_execution);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->events_size(), kRows / 5000 + 1);
  for (int i = 1; i < history->events_size(); ++i) {
    ASSERT_LT(history->events(i - 1).id(), history->events(i).id());
  }
  v1::QueryEventsRequest first_page;
  first_page.set_limit(10);
  auto page = store.Query(first_page);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->events_size(), 10);
  EXPECT_EQ(page->events(0).id(), RunSql(prefix, "SELECT min(id) FROM fm_events"));
  // A retry of a request recorded before the migration still finds its events.
  EXPECT_EQ(RunSql(prefix, "SELECT count(*) FROM fm_events WHERE request_id = 'req-500000'"), 1);
}

}  // namespace
}  // namespace flowmonkey::testing
