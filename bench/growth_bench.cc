// Issue 18's "cost flat as tables grow": the scans and lists an engine and an operator run
// all day, timed on a small and on a large copy of the same deployment (bench/seed.h),
// side by side in one run, and the ratio printed. Direct PostgreSQL stores, one caller: the
// figure is the database's cost of the statement, not the server's.
//
//   scripts/with-test-server build/flowmonkey-growth-bench --small=10000 --large=1000000
//   (or --database_url=... against any PostgreSQL; each size gets its own table prefix)

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <pqxx/nontransaction>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/seed.h"
#include "core/clock.h"
#include "server/pg/event_store.h"
#include "server/pg/execution_store.h"
#include "server/pg/job_store.h"
#include "server/pg/migrations.h"
#include "server/pg/pool.h"

ABSL_FLAG(std::string, database_url, "", "PostgreSQL (default: $FM_DATABASE_URL)");
ABSL_FLAG(int64_t, small, 10'000, "rows per table of the small deployment");
ABSL_FLAG(int64_t, large, 1'000'000, "rows per table of the large deployment");
ABSL_FLAG(int, reps, 200, "calls of each query per size (the median is printed)");

namespace flowmonkey::bench {
namespace {

using Call = std::function<absl::Status()>;

struct Query {
  std::string name;
  Call call;
};

// Tables of `rows` rows under their own prefix, seeded, vacuumed and analyzed.
pg::PoolOptions Deploy(const std::string& url, int64_t rows) {
  pg::PoolOptions options;
  options.database_url = url;
  options.size = 2;
  options.table_prefix = absl::StrCat("growth", rows, "_");
  pg::ConnectionPool pool(options);
  const absl::Status dropped = pool.RunVoid("drop", [&](pg::Session& s) {
    pqxx::nontransaction tx(s.connection());
    for (const char* table : {"events", "jobs", "executions", "idempotency_keys", "execution_locks",
                              "resume_tokens", "schema_migrations"}) {
      tx.exec(pool.Sql(absl::StrCat("DROP TABLE IF EXISTS {fm_}", table, " CASCADE")));
    }
    return absl::OkStatus();
  });
  if (!dropped.ok() || !pg::ApplyMigrations(pool).ok()) {
    std::fprintf(stderr, "growth: cannot set up %s tables\n", options.table_prefix.c_str());
    std::exit(1);
  }
  const auto start = std::chrono::steady_clock::now();
  const absl::Status seeded = pool.RunVoid("seed", [&](pg::Session& s) {
    pqxx::nontransaction tx(s.connection());
    for (const std::string& sql : GrowthSeedSql(rows, NowMs())) tx.exec(pool.Sql(sql));
    for (const char* table : {"executions", "jobs", "events"}) {
      tx.exec(pool.Sql(absl::StrCat("VACUUM ANALYZE {fm_}", table)));
    }
    return absl::OkStatus();
  });
  if (!seeded.ok()) {
    std::fprintf(stderr, "growth: seeding failed: %s\n", seeded.ToString().c_str());
    std::exit(1);
  }
  std::fprintf(stderr, "growth: %lld rows per table seeded in %.1f s\n",
               static_cast<long long>(rows),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return options;
}

std::vector<Query> Queries(pg::PgExecutionStore* executions, pg::PgJobStore* jobs,
                           pg::PgEventStore* events) {
  constexpr int kLimit = 100;
  return {
      {"ExecutionStore.FindByStatus(running)",
       [=] {
         v1::FindByStatusRequest r;
         r.set_status(v1::EXECUTION_STATUS_RUNNING);
         r.set_limit(kLimit);
         return executions->FindByStatus(r).status();
       }},
      {"ExecutionStore.ListWakeReady",
       [=] {
         v1::ListWakeReadyRequest r;
         r.set_limit(kLimit);
         return executions->ListWakeReady(r).status();
       }},
      {"ExecutionStore.FindTimedOutExecutions",
       [=] {
         v1::FindTimedOutExecutionsRequest r;
         r.set_now(NowMs() + 86'400'000);  // every active execution is past its deadline
         r.set_limit(kLimit);
         return executions->FindTimedOutExecutions(r).status();
       }},
      {"ExecutionStore.FindTimedOutWaits",
       [=] {
         v1::FindTimedOutWaitsRequest r;
         r.set_now(NowMs() + 604'800'000);
         r.set_limit(kLimit);
         return executions->FindTimedOutWaits(r).status();
       }},
      // One job per call: the small deployment's due jobs outlast both of its passes.
      {"JobStore.ClaimNext(1)",
       [=] {
         v1::ClaimNextJobsRequest r;
         r.set_runner_id("growth");
         r.set_max_jobs(1);
         return jobs->ClaimNext(r).status();
       }},
      {"JobStore.ListByStatus(pending)",
       [=] {
         v1::ListJobsByStatusRequest r;
         r.set_status(v1::JOB_STATUS_PENDING);
         r.set_limit(kLimit);
         return jobs->ListByStatus(r).status();
       }},
      {"EventStore.Query(newest page)",
       [=] {
         v1::QueryEventsRequest r;
         r.set_descending(true);
         r.set_limit(kLimit);
         return events->Query(r).status();
       }},
      {"EventStore.Query(one execution)",
       [=] {
         v1::QueryEventsRequest r;
         r.set_execution_id("e-7");
         r.set_limit(kLimit);
         return events->Query(r).status();
       }},
  };
}

// Median microseconds per call of each query on one deployment.
std::vector<double> Time(const pg::PoolOptions& options, int reps) {
  pg::ConnectionPool pool(options);
  pg::PgExecutionStore executions(pool);
  pg::PgJobStore jobs(pool);
  pg::PgEventStore events(pool);
  std::vector<double> medians;
  for (const Query& query : Queries(&executions, &jobs, &events)) {
    for (int i = 0; i < 10; ++i) (void)query.call();  // connections, prepared statements
    std::vector<double> us;
    us.reserve(reps);
    for (int i = 0; i < reps; ++i) {
      const auto start = std::chrono::steady_clock::now();
      const absl::Status status = query.call();
      us.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
              .count());
      if (!status.ok()) {
        std::fprintf(stderr, "growth: %s: %s\n", query.name.c_str(), status.ToString().c_str());
        std::exit(1);
      }
    }
    std::nth_element(us.begin(), us.begin() + reps / 2, us.end());
    medians.push_back(us[reps / 2]);
  }
  return medians;
}

}  // namespace
}  // namespace flowmonkey::bench

int main(int argc, char** argv) {
  using namespace flowmonkey::bench;  // NOLINT(google-build-using-namespace): main only
  absl::ParseCommandLine(argc, argv);
  std::string url = absl::GetFlag(FLAGS_database_url);
  if (url.empty() && std::getenv("FM_DATABASE_URL") != nullptr)
    url = std::getenv("FM_DATABASE_URL");
  if (url.empty()) {
    std::fprintf(stderr, "growth: set --database_url or FM_DATABASE_URL\n");
    return 2;
  }
  const int64_t small = absl::GetFlag(FLAGS_small);
  const int64_t large = absl::GetFlag(FLAGS_large);
  const int reps = std::max(1, absl::GetFlag(FLAGS_reps));
  const flowmonkey::pg::PoolOptions small_tables = Deploy(url, small);
  const flowmonkey::pg::PoolOptions large_tables = Deploy(url, large);
  // Interleaved, small then large then small again: the small figure is the better of two,
  // so a slower second half of the run cannot flatter the ratio.
  const std::vector<double> first = Time(small_tables, reps);
  const std::vector<double> at_large = Time(large_tables, reps);
  const std::vector<double> second = Time(small_tables, reps);
  flowmonkey::pg::ConnectionPool names_pool(small_tables);
  flowmonkey::pg::PgExecutionStore e(names_pool);
  flowmonkey::pg::PgJobStore j(names_pool);
  flowmonkey::pg::PgEventStore v(names_pool);
  const std::vector<Query> queries = Queries(&e, &j, &v);
  std::printf("| query | µs at %lld rows | µs at %lld rows | ratio |\n|---|---|---|---|\n",
              static_cast<long long>(small), static_cast<long long>(large));
  double worst = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    const double at_small = std::min(first[i], second[i]);
    const double ratio = at_large[i] / at_small;
    worst = std::max(worst, ratio);
    std::printf("| %s | %.0f | %.0f | %.2fx |\n", queries[i].name.c_str(), at_small, at_large[i],
                ratio);
  }
  std::printf("worst ratio %.2fx (issue 18's goal: at most 1.3x)\n", worst);
  return 0;
}
