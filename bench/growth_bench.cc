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
      // One job per call: the small deployment's due jobs outlast its calls.
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

// One deployment's stores, and its queries on them.
class Deployment {
 public:
  explicit Deployment(const pg::PoolOptions& options)
      : pool_(options), executions_(pool_), jobs_(pool_), events_(pool_) {}
  const std::vector<Query>& queries() const { return queries_; }

 private:
  pg::ConnectionPool pool_;
  pg::PgExecutionStore executions_;
  pg::PgJobStore jobs_;
  pg::PgEventStore events_;
  std::vector<Query> queries_ = Queries(&executions_, &jobs_, &events_);
};

// Microseconds of one call; a failed call ends the run.
double TimeCall(const Query& query) {
  const auto start = std::chrono::steady_clock::now();
  const absl::Status status = query.call();
  const double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  if (!status.ok()) {
    std::fprintf(stderr, "growth: %s: %s\n", query.name.c_str(), status.ToString().c_str());
    std::exit(1);
  }
  return us;
}

double Median(std::vector<double> us) {
  std::nth_element(us.begin(), us.begin() + us.size() / 2, us.end());
  return us[us.size() / 2];
}

struct Medians {
  double small = 0;
  double large = 0;
};

// Median microseconds per call of each query on each deployment. The calls alternate
// between the two deployments (small then large, then large then small, ...), so what the
// machine does meanwhile (another process, a checkpoint) weighs on both sizes alike: one
// block of calls per size let a burst of load land on one side only, and the worst ratio
// of each earlier run was a different query's.
std::vector<Medians> TimeSideBySide(const Deployment& small, const Deployment& large, int reps) {
  std::vector<Medians> medians;
  for (size_t q = 0; q < small.queries().size(); ++q) {
    const Query& at_small = small.queries()[q];
    const Query& at_large = large.queries()[q];
    for (int i = 0; i < 10; ++i) {  // connections, prepared statements
      TimeCall(at_small);
      TimeCall(at_large);
    }
    std::vector<double> small_us, large_us;
    small_us.reserve(reps);
    large_us.reserve(reps);
    for (int i = 0; i < reps; ++i) {
      if (i % 2 == 0) {
        small_us.push_back(TimeCall(at_small));
        large_us.push_back(TimeCall(at_large));
      } else {
        large_us.push_back(TimeCall(at_large));
        small_us.push_back(TimeCall(at_small));
      }
    }
    medians.push_back({Median(std::move(small_us)), Median(std::move(large_us))});
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
  const Deployment small_tables(Deploy(url, small));
  const Deployment large_tables(Deploy(url, large));
  const std::vector<Medians> medians = TimeSideBySide(small_tables, large_tables, reps);
  const std::vector<Query>& queries = small_tables.queries();
  std::printf("| query | µs at %lld rows | µs at %lld rows | ratio |\n|---|---|---|---|\n",
              static_cast<long long>(small), static_cast<long long>(large));
  double worst = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    const double ratio = medians[i].large / medians[i].small;
    worst = std::max(worst, ratio);
    std::printf("| %s | %.0f | %.0f | %.2fx |\n", queries[i].name.c_str(), medians[i].small,
                medians[i].large, ratio);
  }
  std::printf("worst ratio %.2fx (issue 18's goal: at most 1.3x)\n", worst);
  return 0;
}
