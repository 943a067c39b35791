// flowmonkey-bench: load generator. Runs each scenario twice in one invocation — directly
// against PostgreSQL with the plain per-statement store in process (the baseline: one SQL
// statement per operation over libpqxx), and through a flowmonkey-server with the C++
// client — and prints ops/s, p50, p99 and the ratio of the two.
//
//   flowmonkey-bench --database-url=... --target=127.0.0.1:50051
//       --scenario=save,get,create --concurrency=32 --duration=10

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <pqxx/nontransaction>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "client/client.h"
#include "server/pg/event_store.h"
#include "server/pg/execution_store.h"
#include "server/pg/job_store.h"
#include "server/pg/migrations.h"
#include "server/pg/pool.h"

ABSL_FLAG(std::string, database_url, "", "PostgreSQL for seeding and the direct baseline");
ABSL_FLAG(std::string, target, "127.0.0.1:50051", "flowmonkey-server address");
ABSL_FLAG(std::string, table_prefix, "fm_", "table prefix the server uses");
ABSL_FLAG(std::string, scenario, "save,get,create",
          "comma-separated: save, get, create, jobs, record, record-batch");
ABSL_FLAG(int, concurrency, 32, "concurrent callers");
ABSL_FLAG(double, duration, 10, "seconds of measurement per scenario and mode");
ABSL_FLAG(int, rows, 100000, "executions in the table for save/get");
ABSL_FLAG(bool, direct, true, "measure the direct per-statement baseline");
ABSL_FLAG(bool, remote, true, "measure through the server");
ABSL_FLAG(int, server_pid, 0,
          "the server's process id: its CPU per call is printed (scripts/bench passes it)");

namespace flowmonkey::bench {
namespace {

struct Result {
  double ops_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int64_t errors = 0;
  // CPU per call over the measured window, µs: this process (the load generator, and the
  // store itself in direct mode), the server process, every PostgreSQL process.
  double client_us = 0;
  double server_us = -1;  // -1: not measured
  double postgres_us = 0;
};

// User + system CPU time in seconds.
double SelfCpu() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// User + system CPU seconds of process `pid` from /proc/<pid>/stat, or -1; `comm` gets its
// name.
double ProcessCpu(const std::string& pid, std::string* comm = nullptr) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  const size_t open = line.find('('), close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return -1;
  if (comm != nullptr) *comm = line.substr(open + 1, close - open - 1);
  std::vector<std::string> fields = absl::StrSplit(line.substr(close + 2), ' ');
  // After the name: state is field 3 of stat(5), utime 14 and stime 15.
  if (fields.size() < 13) return -1;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
}

// CPU seconds of every process named "postgres" (the postmaster, its backends, the WAL
// writer...): what the database spends, whoever it serves.
double PostgresCpu() {
  double total = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::string comm;
    const double cpu = ProcessCpu(name, &comm);
    if (cpu >= 0 && comm == "postgres") total += cpu;
  }
  return total;
}

// ~2 KB JSON object, different per call so nothing is trivially compressible.
std::string Context(std::mt19937_64& rng) {
  std::string items;
  for (int i = 0; i < 24; ++i) {
    absl::StrAppend(&items, i ? "," : "", R"({"sku":"SKU-)", rng() % 1000000, R"(","qty":)",
                    rng() % 10, R"(,"price":)", rng() % 10000, R"(,"note":"lorem ipsum dolor"})");
  }
  return absl::StrCat(R"({"customer":{"id":)", rng() % 100000, R"(,"tier":"gold"},"items":[)",
                      items, "]}");
}

v1::Execution MakeExecution(std::string id, std::mt19937_64& rng) {
  v1::Execution e;
  e.set_id(std::move(id));
  e.set_flow_id("bench-flow");
  e.set_flow_version("1.0.0");
  e.set_current_step_id("step");
  e.set_status(v1::EXECUTION_STATUS_RUNNING);
  e.set_context_json(Context(rng));
  return e;
}

using Op = std::function<bool(int thread, int64_t n, std::mt19937_64& rng)>;

Result Measure(int concurrency, double seconds, const Op& op) {
  std::atomic<bool> measuring{false}, stop{false};
  std::atomic<int64_t> errors{0};
  std::vector<std::vector<double>> latencies(concurrency);
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t * 7919 + 1);
      latencies[t].reserve(1 << 16);
      for (int64_t n = 0; !stop.load(std::memory_order_relaxed); ++n) {
        const auto start = std::chrono::steady_clock::now();
        const bool ok = op(t, n, rng);
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        if (!measuring.load(std::memory_order_relaxed)) continue;
        if (!ok) errors++;
        latencies[t].push_back(ms);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // warm-up
  const std::string server = std::to_string(absl::GetFlag(FLAGS_server_pid));
  const bool server_known = absl::GetFlag(FLAGS_server_pid) > 0;
  const double client_cpu0 = SelfCpu(), postgres_cpu0 = PostgresCpu();
  const double server_cpu0 = server_known ? ProcessCpu(server) : -1;
  measuring = true;
  const auto begin = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  measuring = false;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  const double client_cpu = SelfCpu() - client_cpu0, postgres_cpu = PostgresCpu() - postgres_cpu0;
  const double server_cpu = server_known ? ProcessCpu(server) - server_cpu0 : -1;
  stop = true;
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Result r;
  r.errors = errors;
  r.ops_per_s = static_cast<double>(all.size()) / elapsed;
  if (!all.empty()) {
    const double calls = static_cast<double>(all.size());
    r.client_us = client_cpu * 1e6 / calls;
    r.postgres_us = postgres_cpu * 1e6 / calls;
    if (server_known && server_cpu >= 0) r.server_us = server_cpu * 1e6 / calls;
    r.p50_ms = all[all.size() / 2];
    r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return r;
}

void Seed(pg::ConnectionPool& pool, int rows) {
  constexpr std::string_view kSeed =
      "INSERT INTO {fm_}executions (id, flow_id, flow_version, current_step, status, context,"
      " created_at, updated_at) SELECT 'bench-' || g, 'bench-flow', '1.0.0', 'step', 'running',"
      " jsonb_build_object('customer', g, 'items', (SELECT jsonb_agg(jsonb_build_object("
      "'sku', 'SKU-' || (g * 31 + i), 'qty', i % 10, 'price', i * 100, 'note', 'lorem ipsum "
      "dolor'))"
      " FROM generate_series(1, 24) i)), 0, 0 FROM generate_series(0, $1 - 1) g"
      " ON CONFLICT (id) DO NOTHING";
  auto status = pool.RunVoid("seed", [&](pg::Session& s) {
    pqxx::nontransaction tx(s.connection());
    tx.exec_params(pool.Sql(kSeed), rows);
    tx.exec(pool.Sql("VACUUM ANALYZE {fm_}executions"));
    return absl::OkStatus();
  });
  if (!status.ok()) std::fprintf(stderr, "seed: %s\n", status.ToString().c_str());
}

// The stores one mode measures: in process (direct) or through the server (remote).
struct Target {
  ExecutionStore& executions;
  JobStore& jobs;
  EventStore& events;
};

v1::Event MakeEvent(std::mt19937_64& rng) {
  v1::Event event;
  event.set_execution_id(absl::StrCat("bench-", rng() % 1000));
  event.set_event_type("step.completed");
  event.set_step_id("step");
  event.set_data_json(absl::StrCat(R"({"duration":)", rng() % 1000, R"(,"ok":true})"));
  return event;
}

Op ScenarioOp(const std::string& scenario, const Target& target, int rows,
              const std::string& run_tag) {
  ExecutionStore& store = target.executions;
  if (scenario == "jobs") {  // create -> ClaimNext -> Complete, end to end
    return [&target, run_tag](int thread, int64_t n, std::mt19937_64&) {
      v1::CreateJobRequest create;
      create.set_execution_id("bench-0");
      create.set_step_id("step");
      create.set_handler("bench");
      create.set_input_json(
          absl::StrCat(R"({"run":")", run_tag, R"(","t":)", thread, R"(,"n":)", n, "}"));
      if (!target.jobs.Create(create).ok()) return false;
      v1::ClaimNextJobsRequest claim;
      claim.set_runner_id(absl::StrCat("runner-", thread));
      claim.add_handlers("bench");
      claim.set_max_jobs(1);
      auto claimed = target.jobs.ClaimNext(claim);
      if (!claimed.ok()) return false;
      for (const auto& job : claimed->jobs()) {
        v1::CompleteJobRequest complete;
        complete.set_job_id(job.id());
        complete.set_runner_id(claim.runner_id());
        complete.set_result_json(R"({"ok":true})");
        if (!target.jobs.Complete(complete).ok()) return false;
      }
      return true;
    };
  }
  if (scenario == "record") {
    return [&target](int, int64_t, std::mt19937_64& rng) {
      v1::RecordEventRequest request;
      *request.mutable_event() = MakeEvent(rng);
      return target.events.Record(request).ok();
    };
  }
  if (scenario == "record-batch") {  // 100 events per call
    return [&target](int, int64_t, std::mt19937_64& rng) {
      v1::RecordEventBatchRequest request;
      for (int i = 0; i < 100; ++i) *request.add_events() = MakeEvent(rng);
      return target.events.RecordBatch(request).ok();
    };
  }
  if (scenario == "save") {
    return [&store, rows](int, int64_t, std::mt19937_64& rng) {
      v1::SaveExecutionRequest request;
      *request.mutable_execution() =
          MakeExecution(absl::StrCat("bench-", rng() % static_cast<uint64_t>(rows)), rng);
      return store.Save(request).ok();
    };
  }
  if (scenario == "get") {
    return [&store, rows](int, int64_t, std::mt19937_64& rng) {
      v1::GetExecutionRequest request;
      request.set_execution_id(absl::StrCat("bench-", rng() % static_cast<uint64_t>(rows)));
      return store.Get(request).ok();
    };
  }
  if (scenario == "create") {
    return [&store, run_tag](int thread, int64_t n, std::mt19937_64& rng) {
      v1::CreateExecutionRequest request;
      *request.mutable_execution() =
          MakeExecution(absl::StrCat("create-", run_tag, "-", thread, "-", n), rng);
      return store.Create(request).ok();
    };
  }
  std::fprintf(stderr, "unknown scenario %s\n", scenario.c_str());
  std::exit(2);
}

void Print(const std::string& scenario, const char* mode, int concurrency, const Result& r,
           const Result* baseline) {
  std::printf(
      "| %-12s | %-6s | %4d | %10.0f | %8.3f | %8.3f | %6lld | %9s | %7.0f | %9.0f | %s |\n",
      scenario.c_str(), mode, concurrency, r.ops_per_s, r.p50_ms, r.p99_ms,
      static_cast<long long>(r.errors),
      r.server_us < 0 ? "-" : absl::StrCat(static_cast<int64_t>(r.server_us)).c_str(),
      r.postgres_us, r.client_us,
      baseline && baseline->ops_per_s > 0
          ? absl::StrCat(absl::SixDigits(r.ops_per_s / baseline->ops_per_s), "x").c_str()
          : "1x (baseline)");
  std::fflush(stdout);
}

int Main() {
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const double seconds = absl::GetFlag(FLAGS_duration);
  const int rows = absl::GetFlag(FLAGS_rows);
  pg::PoolOptions pool_options;
  pool_options.database_url = absl::GetFlag(FLAGS_database_url);
  pool_options.size = concurrency;
  pool_options.table_prefix = absl::GetFlag(FLAGS_table_prefix);
  pg::ConnectionPool pool(pool_options);
  if (auto migrated = pg::ApplyMigrations(pool); !migrated.ok()) {
    std::fprintf(stderr, "migrate: %s\n", migrated.status().ToString().c_str());
    return 1;
  }
  Seed(pool, rows);
  pg::PgExecutionStore direct_executions(pool);
  pg::PgJobStore direct_jobs(pool);
  pg::PgEventStore direct_events(pool);
  const Target direct{direct_executions, direct_jobs, direct_events};
  client::ClientOptions client_options;
  client_options.target = absl::GetFlag(FLAGS_target);
  client_options.max_attempts = 1;
  absl::StatusOr<client::Stores> remote;
  if (absl::GetFlag(FLAGS_remote)) {
    remote = client::Connect(client_options);
    if (!remote.ok()) {
      std::fprintf(stderr, "connect: %s\n", remote.status().ToString().c_str());
      return 1;
    }
  }
  std::printf(
      "| scenario     | mode   | conc | calls/s    | p50 ms   | p99 ms   | errors | server µs | pg "
      "µs   | client µs | vs direct |\n");
  std::printf(
      "|--------------|--------|------|------------|----------|----------|--------|-----------|----"
      "-----|-----------|-----------|\n");
  const std::string tag =
      std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  const std::vector<std::string> scenarios =
      absl::StrSplit(absl::GetFlag(FLAGS_scenario), ',', absl::SkipEmpty());
  for (const std::string& scenario : scenarios) {
    Result baseline;
    const bool have_baseline = absl::GetFlag(FLAGS_direct);
    if (have_baseline) {
      baseline = Measure(concurrency, seconds, ScenarioOp(scenario, direct, rows, tag + "d"));
      Print(scenario, "direct", concurrency, baseline, nullptr);
    }
    if (remote.ok()) {
      const Target through_server{*remote->executions, *remote->jobs, *remote->events};
      Result through =
          Measure(concurrency, seconds, ScenarioOp(scenario, through_server, rows, tag + "r"));
      Print(scenario, "server", concurrency, through, have_baseline ? &baseline : nullptr);
    }
  }
  return 0;
}

}  // namespace
}  // namespace flowmonkey::bench

int main(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // as the server does
  absl::ParseCommandLine(argc, argv);
  return flowmonkey::bench::Main();
}
