// Issue 18's "cost flat as tables grow": the list and scan statements read an index range,
// never the whole table. The tables are seeded the way a long-running deployment looks
// (most executions and jobs finished, a small active set, a long event history) and
// ANALYZEd (bench/seed.h, which the growth bench also uses), and each statement's plan is checked
// with EXPLAIN. WakeupClaimPlanTest (wakeup_test.cc) does the same for ClaimWakeups.

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/seed.h"
#include "core/clock.h"
#include "server/pg/params.h"
#include "tests/support/backends.h"
#include "tests/support/sql.h"

namespace flowmonkey::testing {
namespace {

constexpr int kRows = 20'000;
constexpr int64_t kLimit = 100;

struct Case {
  const char* statement;
  const char* table;  // the large table it must not scan whole
  pg::Params params;
};

TEST(ScanPlanTest, ListsAndScansReadAnIndexRange) {
  PgBackend backend;
  const int64_t now = NowMs();
  const std::string prefix = backend.prefix();
  for (const std::string& sql : bench::GrowthSeedSql(kRows, now)) {
    ASSERT_EQ(RunSql(prefix, std::regex_replace(sql, std::regex(R"(\{fm_\})"), "fm_"),
                     /*affected=*/true),
              kRows);
  }
  RunSql(prefix, "ANALYZE fm_executions");
  RunSql(prefix, "ANALYZE fm_jobs");
  RunSql(prefix, "ANALYZE fm_events");

  std::vector<Case> cases;
  cases.reserve(24);  // Params point into their own storage: never moved or copied
  auto add = [&](const char* statement, const char* table) -> pg::Params& {
    cases.push_back(Case{statement, table, pg::Params()});
    return cases.back().params;
  };
  // ExecutionStore.FindByStatus, FindByTenant, FindChildren (first pages).
  add("exec_by_status", "executions").Add("running").Add("").AddNull().AddNull().Add(kLimit);
  add("exec_by_status", "executions").Add("running").Add("").AddNull().Add("flow-1").Add(kLimit);
  add("exec_by_tenant", "executions").Add("tenant-3").Add("").AddNull().Add(kLimit);
  add("exec_children", "executions").Add("e-1").Add("").Add(kLimit);
  // ListWakeReady, FindTimedOutExecutions, FindTimedOutWaits.
  add("exec_wake_ready", "executions").Add(now).Add(kLimit).AddNull();
  add("exec_timed_out", "executions").Add(now + 86'400'000).AddNull().Add(kLimit);
  add("exec_timed_out_waits", "executions").Add(now + 604'800'000).AddNull().Add(kLimit);
  // JobStore.ClaimNext (any handler, one handler, several), FindStalled, ListByStatus.
  add("job_claim_next", "jobs")
      .Add("runner")
      .Add(now)
      .Add(int32_t{10})
      .AddNull()
      .Add("{}")
      .Add("{}");
  add("job_claim_next_handler", "jobs")
      .Add("runner")
      .Add(now)
      .Add(int32_t{10})
      .Add("h-1")
      .AddNull()
      .Add("{}")
      .Add("{}");
  add("job_claim_next_handlers", "jobs")
      .Add("runner")
      .Add(now)
      .Add(int32_t{10})
      .Add("{h-1,h-2}")
      .AddNull()
      .Add("{}")
      .Add("{}");
  add("job_find_stalled", "jobs").Add(now).Add(kLimit).AddNull();
  add("job_by_status", "jobs")
      .Add("pending")
      .Add(int64_t{INT64_MAX})
      .Add("")
      .AddNull()
      .AddNull()
      .Add(kLimit);
  add("job_by_status", "jobs")
      .Add("pending")
      .Add(int64_t{INT64_MAX})
      .Add("")
      .AddNull()
      .Add("h-1")
      .Add(kLimit);
  // EventStore.Query: the whole history, and one execution's.
  const int64_t horizon = RunSql(prefix, "SELECT max(id) FROM fm_events");
  add("event_query_asc", "events")
      .Add(int64_t{0})
      .Add(horizon)
      .AddNull()
      .AddNull()
      .AddNull()
      .Add(kLimit)
      .AddNull();
  add("event_query_exec_asc", "events")
      .Add(int64_t{0})
      .Add(horizon)
      .AddNull()
      .AddNull()
      .AddNull()
      .Add(kLimit)
      .Add("e-7")
      .AddNull();

  // The events are partitioned (ADR 0017): the planner may read an empty partition (last
  // or next month's) whole, which costs nothing; never one that holds rows.
  const std::vector<std::string> event_partitions = absl::StrSplit(
      RunSqlText(prefix,
                 "SELECT string_agg(c.relname, ',') FROM pg_inherits i JOIN pg_class c"
                 " ON c.oid = i.inhrelid WHERE i.inhparent = 'fm_events'::regclass"
                 " AND c.reltuples > 0"),
      ',', absl::SkipEmpty());
  ASSERT_FALSE(event_partitions.empty());
  for (const Case& c : cases) {
    absl::StatusOr<std::string> plan = ExplainStatement(backend.pool(), c.statement, c.params);
    ASSERT_TRUE(plan.ok()) << c.statement << ": " << plan.status();
    SCOPED_TRACE(absl::StrCat(c.statement, "\n", *plan));
    std::vector<std::string> large = {prefix + c.table};
    if (std::string(c.table) == "events") large = event_partitions;
    for (const std::string& table : large) {
      EXPECT_EQ(plan->find(absl::StrCat("Seq Scan on ", table, " ")), std::string::npos) << table;
    }
    EXPECT_NE(plan->find("Index"), std::string::npos);
  }
}

}  // namespace
}  // namespace flowmonkey::testing
