// flowmonkey-bench: load generator. Runs each scenario in up to four modes in one
// invocation, `--rounds` times each (interleaved), and prints the median round of each:
//   direct   the plain per-statement store in process (one SQL statement per operation over
//            libpqxx);
//   pgbench  PostgreSQL's pgbench running the very statement the store registers (its SQL
//            taken from the connection pool, its parameters from the store's own encoder),
//            on the same schema and data: the floor any service in front of PostgreSQL is
//            compared with (save and get);
//   pgbatch  pgbench running the store's 50-row group-commit upsert (save): the ceiling
//            group commit can reach; calls/s and CPU per row;
//   server   through a flowmonkey-server with the C++ client (blocking stubs, a thread per
//            caller);
//   async    through the server with gRPC's callback API: `--concurrency` calls in flight
//            from one thread, so the load generator costs little CPU (save, get,
//            record-batch, floor).
// Scenario `floor` is an empty RecordBatch, answered on gRPC's thread without the database:
// what gRPC and the request path cost per call at the least (server and async modes).
// --tls_ca and --api_key: the production configuration (scripts/bench with FM_BENCH_TLS=1).
// Each row has calls/s, p50, p99 and CPU µs per call of the server, of PostgreSQL and of
// the load generator (pgbench itself in that mode), and ratios to direct and to pgbench.
//
//   flowmonkey-bench --database-url=... --target=127.0.0.1:50051
//       --scenario=save,get,create --concurrency=32 --duration=10 --rounds=3

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/nontransaction>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "client/client.h"
#include "client/request_id.h"
#include "client/transaction.h"
#include "client/worker.h"
#include "core/clock.h"
#include "flowmonkey/v1/event.grpc.pb.h"
#include "flowmonkey/v1/execution.grpc.pb.h"
#include "server/pg/event_store.h"
#include "server/pg/execution_codec.h"
#include "server/pg/execution_store.h"
#include "server/pg/job_store.h"
#include "server/pg/migrations.h"
#include "server/pg/pool.h"
#include "server/pg/transactions.h"

ABSL_FLAG(std::string, database_url, "", "PostgreSQL for seeding and the direct baseline");
ABSL_FLAG(std::string, target, "127.0.0.1:50051", "flowmonkey-server address");
ABSL_FLAG(std::string, table_prefix, "fm_", "table prefix the server uses");
ABSL_FLAG(std::string, scenario, "save,get,create",
          "comma-separated: save, get, create, jobs, record, record-batch, step (one "
          "Transactions.Commit per engine step), step-rpcs (the same step as 5 calls), work "
          "(JobStore.Work workers drain a backlog, mode push)");
ABSL_FLAG(int, concurrency, 32, "concurrent callers");
ABSL_FLAG(double, duration, 10, "seconds of measurement per scenario and mode");
ABSL_FLAG(int, rows, 100000, "executions in the table for save/get");
ABSL_FLAG(bool, direct, true, "measure the direct per-statement baseline");
ABSL_FLAG(bool, remote, true, "measure through the server");
ABSL_FLAG(int, server_pid, 0,
          "the server's process id: its CPU per call is printed (scripts/bench passes it)");
ABSL_FLAG(int, rounds, 3, "rounds of every mode (interleaved); the median round is printed");
ABSL_FLAG(std::string, pgbench, "pgbench",
          "pgbench binary for the pgbench mode (save, get); empty: no pgbench mode");
ABSL_FLAG(bool, async, true, "also measure through the server with the callback API");
ABSL_FLAG(int, work_jobs, 20000,
          "scenario work: jobs in the backlog the workers drain (the peers' workload)");
ABSL_FLAG(int, work_credits, 16,
          "scenario work: jobs each of the --concurrency workers runs at once");
ABSL_FLAG(int, work_batch, 1000,
          "scenario work: outcomes per message at most (WorkerOptions::max_reports_per_message; "
          "1 = a message per job)");
ABSL_FLAG(std::string, tls_ca, "", "TLS to the server: the CA (PEM file) its certificate has");
ABSL_FLAG(std::string, api_key, "", "API key sent on every call");

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
// name. With `children`, also those of its children that have exited and been waited for.
double ProcessCpu(const std::string& pid, std::string* comm = nullptr, bool children = false) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  const size_t open = line.find('('), close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return -1;
  if (comm != nullptr) *comm = line.substr(open + 1, close - open - 1);
  std::vector<std::string> fields = absl::StrSplit(line.substr(close + 2), ' ');
  // After the name: state is field 3 of stat(5), utime 14, stime 15, cutime 16, cstime 17.
  if (fields.size() < 15) return -1;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double cpu = std::stod(fields[11]) + std::stod(fields[12]);
  if (children) cpu += std::stod(fields[13]) + std::stod(fields[14]);
  return cpu / ticks;
}

// CPU seconds of every process named "postgres" (the postmaster, its backends, the WAL
// writer...): what the database spends, whoever it serves. Backends that have exited (a
// pgbench run's, when it disconnects) count through the postmaster's children times.
double PostgresCpu() {
  double total = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::string comm;
    const double cpu = ProcessCpu(name, &comm, /*children=*/true);
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

v1::Event MakeEvent(std::mt19937_64& rng) {
  v1::Event event;
  event.set_execution_id(absl::StrCat("bench-", rng() % 1000));
  event.set_event_type("step.completed");
  event.set_step_id("step");
  event.set_data_json(absl::StrCat(R"({"duration":)", rng() % 1000, R"(,"ok":true})"));
  return event;
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

// Fills `r` from latencies (ms) and CPU seconds over `elapsed` seconds of measurement.
void Summarise(std::vector<double> all, double elapsed, double client_cpu, double postgres_cpu,
               double server_cpu, Result& r) {
  std::sort(all.begin(), all.end());
  r.ops_per_s = static_cast<double>(all.size()) / elapsed;
  if (all.empty()) return;
  const double calls = static_cast<double>(all.size());
  r.client_us = client_cpu * 1e6 / calls;
  r.postgres_us = postgres_cpu * 1e6 / calls;
  if (server_cpu >= 0) r.server_us = server_cpu * 1e6 / calls;
  r.p50_ms = all[all.size() / 2];
  r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
}

// CPU counters at the start of a measured window.
struct CpuMark {
  double client = SelfCpu();
  double postgres = PostgresCpu();
  double server = absl::GetFlag(FLAGS_server_pid) > 0
                      ? ProcessCpu(std::to_string(absl::GetFlag(FLAGS_server_pid)))
                      : -1;
  double ServerSince() const {
    if (server < 0) return -1;
    const double now = ProcessCpu(std::to_string(absl::GetFlag(FLAGS_server_pid)));
    return now < 0 ? -1 : now - server;
  }
};

// What one measured window took: wall seconds and CPU seconds of each party.
struct Window {
  double elapsed = 0;
  double client_cpu = 0;
  double postgres_cpu = 0;
  double server_cpu = -1;
};

// After a second of warm-up, sets `measuring` for `seconds` and returns what that cost.
Window MeasureWindow(double seconds, std::atomic<bool>& measuring) {
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // warm-up
  const CpuMark mark;
  measuring = true;
  const auto begin = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  measuring = false;
  Window w;
  w.elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  w.client_cpu = SelfCpu() - mark.client;
  w.postgres_cpu = PostgresCpu() - mark.postgres;
  w.server_cpu = mark.ServerSince();
  return w;
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
  const Window window = MeasureWindow(seconds, measuring);
  stop = true;
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  Result r;
  r.errors = errors;
  Summarise(std::move(all), window.elapsed, window.client_cpu, window.postgres_cpu,
            window.server_cpu, r);
  return r;
}

// Starts one call and reports its outcome through `done`, from whatever thread finishes it.
using AsyncOp = std::function<void(std::mt19937_64& rng, std::function<void(bool)> done)>;

// Like Measure, with `concurrency` calls kept in flight by completion callbacks instead of
// a thread per caller: the load generator's own cost stays small next to the server's.
Result MeasureAsync(int concurrency, double seconds, const AsyncOp& op) {
  struct Slot {
    std::mt19937_64 rng;
    std::vector<double> latencies;
    std::chrono::steady_clock::time_point start;
  };
  std::atomic<bool> measuring{false}, stop{false};
  std::atomic<int64_t> errors{0};
  absl::Mutex mu;
  int running = concurrency;
  std::vector<Slot> slots(concurrency);
  std::function<void(int)> issue = [&](int i) {
    Slot& slot = slots[i];
    slot.start = std::chrono::steady_clock::now();
    op(slot.rng, [&, i](bool ok) {
      Slot& s = slots[i];
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s.start)
              .count();
      if (measuring.load(std::memory_order_relaxed)) {
        if (!ok) errors++;
        s.latencies.push_back(ms);
      }
      if (stop.load(std::memory_order_relaxed)) {
        absl::MutexLock lock(&mu);
        --running;
        return;
      }
      issue(i);
    });
  };
  for (int i = 0; i < concurrency; ++i) {
    slots[i].rng.seed(i * 7919 + 1);
    slots[i].latencies.reserve(1 << 16);
    issue(i);
  }
  const Window window = MeasureWindow(seconds, measuring);
  stop = true;
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &running));
  }
  Result r;
  r.errors = errors;
  std::vector<double> all;
  for (auto& slot : slots) all.insert(all.end(), slot.latencies.begin(), slot.latencies.end());
  Summarise(std::move(all), window.elapsed, window.client_cpu, window.postgres_cpu,
            window.server_cpu, r);
  return r;
}

// A call of the callback API with the objects it needs to outlive it.
template <typename Request, typename Response>
struct AsyncCall {
  grpc::ClientContext context;
  Request request;
  Response response;
};

// The stubs of the async mode.
struct AsyncStubs {
  std::unique_ptr<v1::ExecutionStore::Stub> executions;
  std::unique_ptr<v1::EventStore::Stub> events;
  std::string api_key;  // empty: none
};

// The async mode's operation for `scenario`, or nothing when it has none.
std::optional<AsyncOp> AsyncScenarioOp(const std::string& scenario, AsyncStubs& stubs, int rows) {
  v1::ExecutionStore::Stub& stub = *stubs.executions;
  // A call's deadline, and its API key (what the client library sends) when there is one.
  const auto deadline = [&stubs](grpc::ClientContext& context) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!stubs.api_key.empty()) context.AddMetadata("authorization", "Bearer " + stubs.api_key);
  };
  if (scenario == "save") {
    return [&stub, rows, deadline](std::mt19937_64& rng, std::function<void(bool)> done) {
      auto call =
          std::make_shared<AsyncCall<v1::SaveExecutionRequest, v1::SaveExecutionResponse>>();
      deadline(call->context);
      *call->request.mutable_execution() =
          MakeExecution(absl::StrCat("bench-", rng() % static_cast<uint64_t>(rows)), rng);
      stub.async()->Save(&call->context, &call->request, &call->response,
                         [call, done = std::move(done)](const grpc::Status& s) { done(s.ok()); });
    };
  }
  if (scenario == "get") {
    return [&stub, rows, deadline](std::mt19937_64& rng, std::function<void(bool)> done) {
      auto call = std::make_shared<AsyncCall<v1::GetExecutionRequest, v1::GetExecutionResponse>>();
      deadline(call->context);
      call->request.set_execution_id(absl::StrCat("bench-", rng() % static_cast<uint64_t>(rows)));
      stub.async()->Get(&call->context, &call->request, &call->response,
                        [call, done = std::move(done)](const grpc::Status& s) { done(s.ok()); });
    };
  }
  if (scenario == "record-batch") {  // 100 events per call, built per call as in `server`
    v1::EventStore::Stub& events = *stubs.events;
    return [&events, deadline](std::mt19937_64& rng, std::function<void(bool)> done) {
      auto call =
          std::make_shared<AsyncCall<v1::RecordEventBatchRequest, v1::RecordEventBatchResponse>>();
      deadline(call->context);
      for (int i = 0; i < 100; ++i) *call->request.add_events() = MakeEvent(rng);
      // As the client library does (client/request_id.h): the batch is written once.
      call->request.set_request_id(client::NewRequestId());
      events.async()->RecordBatch(
          &call->context, &call->request, &call->response,
          [call, done = std::move(done)](const grpc::Status& s) { done(s.ok()); });
    };
  }
  if (scenario == "floor") {
    v1::EventStore::Stub& events = *stubs.events;
    return [&events, deadline](std::mt19937_64&, std::function<void(bool)> done) {
      auto call =
          std::make_shared<AsyncCall<v1::RecordEventBatchRequest, v1::RecordEventBatchResponse>>();
      deadline(call->context);
      events.async()->RecordBatch(
          &call->context, &call->request, &call->response,
          [call, done = std::move(done)](const grpc::Status& s) { done(s.ok()); });
    };
  }
  return std::nullopt;
}

// A pgbench script running one registered statement per transaction on random seeded
// executions ("bench-<n>"), and its -D variable definitions.
struct PgbenchScript {
  std::string text;
  std::vector<std::string> defines;
  int rows_per_statement = 1;
};

// `sql` with each $k replaced by fixed[k] (an SQL expression) when given, and otherwise
// bound to params[k-1] through a pgbench variable `<prefix><k>` defined in `defines` (NULL
// spelled out); pgbench sends variables as parameters (-M prepared), so values are never
// spliced into the text. With `batch` > 1 the statement is a group-commit one whose
// parameters are arrays ("$k::type[]"): each bound parameter becomes an array of `batch`
// copies of its value, of that element type.
std::string Bind(const std::string& sql, const pg::Params& params,
                 const std::map<size_t, std::string>& fixed, int batch, const std::string& prefix,
                 std::vector<std::string>& defines) {
  std::string text;
  const auto& values = params.values();
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] != '$' || i + 1 >= sql.size() ||
        !std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      text += sql[i];
      continue;
    }
    size_t end = i + 1;
    while (end < sql.size() && std::isdigit(static_cast<unsigned char>(sql[end]))) ++end;
    const size_t k = std::stoul(sql.substr(i + 1, end - i - 1));
    i = end - 1;
    if (auto it = fixed.find(k); it != fixed.end()) {
      text += it->second;
      continue;
    }
    if (k == 0 || k > values.size()) continue;
    const bool null = values[k - 1] == nullptr;
    const std::string variable = absl::StrCat(":", prefix, k);
    if (!null) defines.push_back(absl::StrCat(prefix, k, "=", values[k - 1]));
    if (batch == 1) {
      text += null ? "NULL" : variable;
      continue;
    }
    const size_t type_end = sql.find("[]", end);
    const std::string type = sql.compare(end, 2, "::") == 0 && type_end != std::string::npos
                                 ? sql.substr(end + 2, type_end - end - 2)
                                 : "text";
    absl::StrAppend(
        &text, "array_fill(",
        null ? absl::StrCat("NULL::", type) : absl::StrCat("CAST(", variable, " AS ", type, ")"),
        ", ARRAY[", batch, "])");
  }
  return text;
}

// A seeded execution's id drawn at random by the script ("\set n").
constexpr std::string_view kRandomId = "('bench-' || CAST(:n AS bigint))";

// A script running `sql` once per transaction, $1 being a random seeded execution's id (or,
// with `batch` > 1, `batch` distinct ones in one global order, so that concurrent batches
// cannot deadlock).
PgbenchScript ScriptFor(const std::string& sql, const pg::Params& params, int rows, int batch = 1) {
  PgbenchScript script;
  script.rows_per_statement = batch;
  const std::string ids =
      batch == 1
          ? std::string(kRandomId)
          : absl::StrCat("ARRAY(SELECT 'bench-' || ((CAST(:n AS bigint) + g * ", rows / batch,
                         ") % ", rows, ") FROM generate_series(0, ", batch - 1, ") g ORDER BY 1)");
  script.text = absl::StrCat("\\set n random(0, ", rows - 1, ")\n",
                             Bind(sql, params, {{1, ids}}, batch, "p", script.defines), ";\n");
  return script;
}

// The statements of one engine step, in one BEGIN ... COMMIT: the versioned update of a
// seeded execution (its expected version read in the statement), three events, one job.
PgbenchScript StepScript(pg::ConnectionPool& pool, int rows) {
  std::mt19937_64 rng(2);
  PgbenchScript script;
  pg::Params execution;
  pg::AddExecutionParams(execution, MakeExecution("bench-0", rng), NowMs());
  const size_t expected = static_cast<size_t>(pg::ExecutionWrite().count) + 1;
  const std::string id(kRandomId);
  const std::string update =
      Bind(pool.SqlFor("exec_update_versioned"), execution,
           {{1, id},
            {expected, absl::StrCat("(SELECT version FROM ", pool.Sql("{fm_}executions"),
                                    " WHERE id = ", id, ")")}},
           1, "a", script.defines);
  pg::Params event;
  event.Add("bench-0").Add("step.completed").Add("step").Add(R"({"ok":true})").Add(NowMs());
  const std::string events = Bind(
      pool.SqlFor("event_insert_batch"), event,
      {{1, absl::StrCat("array_fill(CAST(", id, " AS text), ARRAY[3])")}}, 3, "b", script.defines);
  pg::Params job;
  job.Add("job").Add("bench-0").Add("step").Add("bench").Add(R"({"ok":true})").Add(int64_t{30000});
  job.Add(int64_t{3}).Add(NowMs()).Add(NowMs()).Add(int32_t{0}).AddNull().AddNull();
  const std::string create_job =
      Bind(pool.SqlFor("job_insert"), job,
           {{1, "('pgbench-' || :client_id || '-' || CAST(:r AS bigint))"}, {2, id}}, 1, "c",
           script.defines);
  script.text =
      absl::StrCat("\\set n random(0, ", rows - 1, ")\n", "\\set r random(1, 1000000000000)\n",
                   "BEGIN;\n", update, ";\n", events, ";\n", create_job, ";\nCOMMIT;\n");
  return script;
}

// The pgbench scripts of `scenario` by mode name (the store's statements are registered
// with `pool`): the per-statement one, for save also the 50-row group-commit statement, for
// step the step's statements in one transaction.
std::vector<std::pair<std::string, PgbenchScript>> PgbenchFor(const std::string& scenario,
                                                              pg::ConnectionPool& pool, int rows) {
  std::mt19937_64 rng(1);
  pg::Params params;
  if (scenario == "save") {
    pg::AddExecutionParams(params, MakeExecution("bench-0", rng), NowMs());
    return {{"pgbench", ScriptFor(pool.SqlFor("exec_upsert"), params, rows)},
            {"pgbatch", ScriptFor(pool.SqlFor("exec_upsert_batch"), params, rows, 50)}};
  }
  if (scenario == "get") {
    return {{"pgbench", ScriptFor(pool.SqlFor("exec_get"), params.Add("bench-0"), rows)}};
  }
  if (scenario == "step" || scenario == "step-rpcs") return {{"pgbench", StepScript(pool, rows)}};
  if (scenario == "record-batch") {
    // The store's own 100-event insert (event_insert_batch), one per transaction: counted per
    // statement, as each RecordBatch call is (events/s = calls/s x 100).
    params.Add("bench-0").Add("step.completed").Add("step").Add(R"({"duration":1,"ok":true})");
    params.Add(NowMs());
    PgbenchScript script = ScriptFor(pool.SqlFor("event_insert_batch"), params, rows, 100);
    script.rows_per_statement = 1;
    return {{"pgbench", std::move(script)}};
  }
  return {};
}

// Runs pgbench with `script` (-M prepared, `concurrency` clients, 2 threads) for `seconds`
// and measures it like the other modes: latencies from its per-transaction log, its own
// CPU (a child's) as the load generator's, PostgreSQL's over the run.
Result RunPgbench(const PgbenchScript& script, int concurrency, double seconds) {
  Result r;
  r.errors = -1;
  char dir_template[] = "/tmp/fm-pgbench-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) return r;
  const std::string script_path = absl::StrCat(dir, "/script.sql");
  std::ofstream(script_path) << script.text;
  std::vector<std::string> args = {absl::GetFlag(FLAGS_pgbench),
                                   "-n",
                                   "-M",
                                   "prepared",
                                   "-c",
                                   std::to_string(concurrency),
                                   "-j",
                                   "2",
                                   "-T",
                                   std::to_string(static_cast<int>(std::max(1.0, seconds))),
                                   "-l",
                                   absl::StrCat("--log-prefix=", dir, "/log"),
                                   "-f",
                                   script_path};
  for (const auto& d : script.defines) {
    args.emplace_back("-D");
    args.push_back(d);
  }
  args.push_back(absl::GetFlag(FLAGS_database_url));
  rusage before{};
  getrusage(RUSAGE_CHILDREN, &before);
  const CpuMark mark;
  const auto begin = std::chrono::steady_clock::now();
  std::fflush(stdout);  // or the child flushes our buffered output again
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (freopen("/dev/null", "w", stdout) == nullptr) _exit(127);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "pgbench failed (exit %d); script in %s\n", WEXITSTATUS(status), dir);
    return r;
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  const double postgres_cpu = PostgresCpu() - mark.postgres;
  const double server_cpu = mark.ServerSince();
  rusage after{};
  getrusage(RUSAGE_CHILDREN, &after);
  const auto seconds_of = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  const double client_cpu = seconds_of(after.ru_utime) + seconds_of(after.ru_stime) -
                            seconds_of(before.ru_utime) - seconds_of(before.ru_stime);
  // Log lines: client_id transaction_no latency_us script_no epoch_s epoch_us.
  std::vector<double> latencies;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("log", 0) != 0) continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      int64_t client = 0, number = 0;
      double latency_us = 0;
      if (fields >> client >> number >> latency_us) latencies.push_back(latency_us / 1000);
    }
  }
  std::filesystem::remove_all(dir);
  r.errors = 0;
  // pgbench measures from its own start (connections open first): the run's wall time is a
  // little longer than -T, which slightly understates its rate.
  Summarise(std::move(latencies), std::min(wall, std::max(1.0, seconds)), client_cpu, postgres_cpu,
            server_cpu, r);
  // A group-commit statement: per row, as the server's batched calls are counted.
  if (const int n = script.rows_per_statement; n > 1) {
    r.ops_per_s *= n;
    r.client_us /= n;
    r.postgres_us /= n;
  }
  return r;
}

// The round with the median throughput.
Result Median(std::vector<Result> rounds) {
  std::sort(rounds.begin(), rounds.end(),
            [](const Result& a, const Result& b) { return a.ops_per_s < b.ops_per_s; });
  return rounds[rounds.size() / 2];
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
  Transactions& transactions;
};

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
  if (scenario == "step" || scenario == "step-rpcs") {
    // One engine step on the caller's own execution: save it at its expected version,
    // record three events, create a job. "step": one Transactions.Commit; "step-rpcs": five
    // separate calls (Save, 3 × Record, Create).
    auto versions = std::make_shared<std::vector<int64_t>>(4096, 0);
    const bool one_commit = scenario == "step";
    return [&target, run_tag, versions, one_commit](int thread, int64_t n, std::mt19937_64& rng) {
      const std::string id = absl::StrCat("step-", run_tag, "-", thread);
      int64_t& version = versions->at(static_cast<size_t>(thread));
      v1::Execution execution = MakeExecution(id, rng);
      if (version == 0) {  // the caller's execution, once
        v1::SaveExecutionRequest create;
        *create.mutable_execution() = execution;
        auto created = target.executions.Save(create);
        if (!created.ok()) return false;
        version = created->version();
      }
      std::vector<v1::Event> events(3, MakeEvent(rng));
      for (auto& event : events) event.set_execution_id(id);
      v1::CreateJobRequest job;
      job.set_execution_id(id);
      job.set_step_id("step");
      job.set_handler("bench");
      job.set_input_json(absl::StrCat(R"({"n":)", n, "}"));
      if (one_commit) {
        auto committed = client::Transaction(target.transactions)
                             .SaveExecution(execution, version)
                             .RecordEvents(events)
                             .CreateJob(job)
                             .Commit();
        if (!committed.ok()) return false;
        version = committed->results(0).save_execution().version();
        return true;
      }
      v1::SaveExecutionRequest save;
      *save.mutable_execution() = execution;
      save.set_expected_version(version);
      auto saved = target.executions.Save(save);
      if (!saved.ok()) return false;
      version = saved->version();
      for (const auto& event : events) {
        v1::RecordEventRequest record;
        *record.mutable_event() = event;
        if (!target.events.Record(record).ok()) return false;
      }
      return target.jobs.Create(job).ok();
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
  if (scenario == "floor") {
    // An empty RecordBatch: answered OK on gRPC's thread with no hand-off and no database,
    // so it measures gRPC, the interceptors and the request path alone: a call's least cost.
    return [&target](int, int64_t, std::mt19937_64&) {
      return target.events.RecordBatch(v1::RecordEventBatchRequest()).ok();
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

// Scenario `work`, mode `push` (JobStore.Work, client/worker.h): `concurrency` workers of
// `credits` jobs each drain a backlog of `jobs` no-op jobs created beforehand (calls/s =
// jobs processed per second, CPU per job), as bench/peers does for graphile-worker and
// pg-boss. Then, with the workers idle, 500 jobs are created one at a time: p50/p99 are
// from each Create's acknowledgement to the worker's handler receiving the job.
Result MeasureWork(const client::Stores& remote, const client::CallOptions& call, int concurrency,
                   int credits, int jobs, const std::string& run) {
  const std::string handler = "bench-" + run;
  v1::CreateExecutionRequest execution;
  std::mt19937_64 rng(7);
  *execution.mutable_execution() = MakeExecution("work-" + run, rng);
  Result r;
  if (!remote.executions->Create(execution).ok()) {
    r.errors = 1;
    return r;
  }
  std::atomic<int64_t> errors{0};
  auto create = [&](const std::string& step) {
    v1::CreateJobRequest request;
    request.set_execution_id("work-" + run);
    request.set_step_id(step);
    request.set_handler(handler);
    request.set_input_json("{}");
    if (!remote.jobs->Create(request).ok()) errors++;
  };
  {
    std::vector<std::thread> creators;
    for (int t = 0; t < 8; ++t) {
      creators.emplace_back([&, t] {
        for (int i = t; i < jobs; i += 8) create(absl::StrCat("backlog-", i));
      });
    }
    for (auto& t : creators) t.join();
  }
  // Receipt times of the latency phase, by step id.
  absl::Mutex mu;
  std::map<std::string, std::chrono::steady_clock::time_point> received;
  std::atomic<int64_t> processed{0};
  auto run_job = [&](const v1::Job& job) -> absl::StatusOr<std::string> {
    if (job.step_id().rfind("latency-", 0) == 0) {
      absl::MutexLock lock(&mu);
      received[job.step_id()] = std::chrono::steady_clock::now();
    }
    processed++;
    return std::string();
  };
  const CpuMark mark;
  const auto begin = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<client::JobWorker>> workers;
  std::vector<std::thread> threads;
  for (int w = 0; w < concurrency; ++w) {
    client::WorkerOptions options;
    options.runner_id = absl::StrCat("bench-worker-", w);
    options.handlers = {handler};
    options.concurrency = credits;
    options.max_reports_per_message = absl::GetFlag(FLAGS_work_batch);
    workers.push_back(std::make_unique<client::JobWorker>(remote.channel, call, options, run_job));
    threads.emplace_back([worker = workers.back().get()] { (void)worker->Run(); });
  }
  auto completed = [&] {
    int64_t n = 0;
    for (const auto& w : workers) n += w->completed();
    return n;
  };
  const auto limit = begin + std::chrono::seconds(300);
  while (completed() < jobs && std::chrono::steady_clock::now() < limit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  const double client_cpu = SelfCpu() - mark.client;
  const double postgres_cpu = PostgresCpu() - mark.postgres;
  const double server_cpu = mark.ServerSince();
  const int64_t done = completed();
  errors += jobs - done;
  // Latency: one job at a time, the workers idle.
  std::vector<double> latencies;
  for (int i = 0; i < 500; ++i) {
    const std::string step = absl::StrCat("latency-", i);
    create(step);
    const auto acked = std::chrono::steady_clock::now();
    const auto deadline = acked + std::chrono::seconds(5);
    for (;;) {
      {
        absl::MutexLock lock(&mu);
        auto it = received.find(step);
        if (it != received.end()) {
          latencies.push_back(
              std::max(0.0, std::chrono::duration<double, std::milli>(it->second - acked).count()));
          break;
        }
      }
      if (std::chrono::steady_clock::now() > deadline) {
        errors++;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  for (auto& w : workers) w->Stop();
  for (auto& t : threads) t.join();
  std::sort(latencies.begin(), latencies.end());
  r.ops_per_s = static_cast<double>(done) / elapsed;
  r.errors = errors;
  if (done > 0) {
    r.client_us = client_cpu * 1e6 / static_cast<double>(done);
    r.postgres_us = postgres_cpu * 1e6 / static_cast<double>(done);
    if (server_cpu >= 0) r.server_us = server_cpu * 1e6 / static_cast<double>(done);
  }
  if (!latencies.empty()) {
    r.p50_ms = latencies[latencies.size() / 2];
    r.p99_ms = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
  }
  return r;
}

// "1.23x", or "-" when either side is missing.
std::string Ratio(const Result& r, const Result* baseline) {
  if (baseline == nullptr || baseline->ops_per_s <= 0 || r.ops_per_s <= 0) return "-";
  return absl::StrCat(absl::SixDigits(r.ops_per_s / baseline->ops_per_s), "x");
}

void Print(const std::string& scenario, const char* mode, int concurrency, const Result& r,
           const Result* direct, const Result* pgbench) {
  std::printf(
      "| %-12s | %-7s | %4d | %10.0f | %8.3f | %8.3f | %6lld | %9s | %7.0f | %9.0f | %9s | %10s "
      "|\n",
      scenario.c_str(), mode, concurrency, r.ops_per_s, r.p50_ms, r.p99_ms,
      static_cast<long long>(r.errors),
      r.server_us < 0 ? "-" : absl::StrCat(static_cast<int64_t>(r.server_us)).c_str(),
      r.postgres_us, r.client_us, Ratio(r, direct).c_str(), Ratio(r, pgbench).c_str());
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
  pg::PgTransactions direct_transactions(pool);
  const Target direct{direct_executions, direct_jobs, direct_events, direct_transactions};
  client::ClientOptions client_options;
  client_options.target = absl::GetFlag(FLAGS_target);
  client_options.max_attempts = 1;
  client_options.api_key = absl::GetFlag(FLAGS_api_key);
  if (!absl::GetFlag(FLAGS_tls_ca).empty()) {
    absl::StatusOr<client::TlsOptions> tls =
        client::TlsOptionsFromFiles(absl::GetFlag(FLAGS_tls_ca), "", "");
    if (!tls.ok()) {
      std::fprintf(stderr, "tls: %s\n", tls.status().ToString().c_str());
      return 1;
    }
    client_options.tls = *std::move(tls);
  }
  absl::StatusOr<client::Stores> remote;
  if (absl::GetFlag(FLAGS_remote)) {
    remote = client::Connect(client_options);
    if (!remote.ok()) {
      std::fprintf(stderr, "connect: %s\n", remote.status().ToString().c_str());
      return 1;
    }
  }
  std::optional<AsyncStubs> async_stubs;
  if (remote.ok() && absl::GetFlag(FLAGS_async)) {
    async_stubs = AsyncStubs{v1::ExecutionStore::NewStub(remote->channel),
                             v1::EventStore::NewStub(remote->channel), client_options.api_key};
  }
  std::printf(
      "| scenario     | mode    | conc | calls/s    | p50 ms   | p99 ms   | errors | server µs | "
      "pg µs   | client µs | vs direct | vs pgbench |\n");
  std::printf(
      "|--------------|---------|------|------------|----------|----------|--------|-----------|"
      "---------|-----------|-----------|------------|\n");
  const std::string tag =
      std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  const std::vector<std::string> scenarios =
      absl::StrSplit(absl::GetFlag(FLAGS_scenario), ',', absl::SkipEmpty());
  const int rounds = std::max(1, absl::GetFlag(FLAGS_rounds));
  for (const std::string& scenario : scenarios) {
    std::vector<std::pair<std::string, PgbenchScript>> scripts;
    if (!absl::GetFlag(FLAGS_pgbench).empty()) scripts = PgbenchFor(scenario, pool, rows);
    std::optional<AsyncOp> async_op;
    if (async_stubs) async_op = AsyncScenarioOp(scenario, *async_stubs, rows);
    // Rounds interleave the modes, so that a slow spell of the machine hits all of them.
    std::map<std::string, std::vector<Result>> by_mode;
    for (int round = 0; round < rounds; ++round) {
      const std::string run = absl::StrCat(tag, "-", round);
      if (scenario == "work") {  // push delivery: through the server only
        if (remote.ok()) {
          client::CallOptions call;
          call.api_key = client_options.api_key;
          by_mode["push"].push_back(MeasureWork(*remote, call, concurrency,
                                                absl::GetFlag(FLAGS_work_credits),
                                                absl::GetFlag(FLAGS_work_jobs), run));
        }
        continue;
      }
      if (absl::GetFlag(FLAGS_direct) && scenario != "floor") {  // floor: the server's alone
        by_mode["direct"].push_back(
            Measure(concurrency, seconds, ScenarioOp(scenario, direct, rows, run + "d")));
      }
      for (const auto& [mode, script] : scripts) {
        by_mode[mode].push_back(RunPgbench(script, concurrency, seconds));
      }
      if (remote.ok()) {
        const Target through_server{*remote->executions, *remote->jobs, *remote->events,
                                    *remote->transactions};
        by_mode["server"].push_back(
            Measure(concurrency, seconds, ScenarioOp(scenario, through_server, rows, run + "r")));
      }
      if (async_op) by_mode["async"].push_back(MeasureAsync(concurrency, seconds, *async_op));
    }
    std::map<std::string, Result> median;
    for (auto& [mode, results] : by_mode) median[mode] = Median(results);
    const auto find = [&](const char* mode) -> const Result* {
      auto it = median.find(mode);
      return it == median.end() ? nullptr : &it->second;
    };
    for (const char* mode : {"direct", "pgbench", "pgbatch", "server", "async", "push"}) {
      if (const Result* r = find(mode)) {
        Print(scenario, mode, concurrency, *r, find("direct"), find("pgbench"));
      }
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
