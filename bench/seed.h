#pragma once

// The tables of a long-running deployment, for the scan-plan test
// (tests/conformance/plan_test.cc) and the growth bench (bench/growth_bench.cc): most
// executions and jobs finished, a small active set, a long event history. Plain SQL over
// generate_series; tables are named with the prefix marker ({fm_}executions). Header-only.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace flowmonkey::bench {

// INSERTs of `rows` executions, `rows` jobs and `rows` events, timed around `now_ms`:
//  * executions: 85% completed; 5% waiting (every other one with a due wake_at, every
//    third one in a wait that started), 5% running, 5% pending; a tenant on every tenth;
//    every hundredth a child of e-1;
//  * jobs: 90% completed, 10% pending (a third of those not yet due), the rest running;
//    five handlers, on the first 1,000 executions;
//  * events: 200 per execution, on the first rows / 200 executions (an execution's history
//    is as long at any size).
inline std::vector<std::string> GrowthSeedSql(int64_t rows, int64_t now_ms) {
  const std::string now = absl::StrCat(now_ms);
  return {
      absl::StrCat(
          "INSERT INTO {fm_}executions (id, flow_id, flow_version, current_step, status,"
          " created_at, updated_at, wake_at, wait_started_at, tenant_id, parent_execution_id)"
          " SELECT 'e-' || g, 'f', '1.0.0', 's', CASE WHEN g % 20 = 0 THEN 'waiting'"
          " WHEN g % 20 = 1 THEN 'running' WHEN g % 20 = 2 THEN 'pending' ELSE 'completed'"
          " END, ",
          now, " - g, ", now, " - g, CASE WHEN g % 40 = 0 THEN ", now,
          " - g END, CASE WHEN g % 60 = 0 THEN ", now,
          " - g END, CASE WHEN g % 10 = 0 THEN 'tenant-' || (g % 7) END,"
          " CASE WHEN g % 100 = 0 THEN 'e-1' END FROM generate_series(1, ",
          rows, ") AS g"),
      absl::StrCat("INSERT INTO {fm_}jobs (id, execution_id, step_id, handler, status, input,"
                   " heartbeat_at, created_at, updated_at, run_at) SELECT 'j-' || g,"
                   " 'e-' || (g % 1000 + 1), 's-' || g, 'h-' || (g % 5), CASE WHEN g % 10 = 0"
                   " THEN 'pending' WHEN g % 10 = 1 THEN 'running' ELSE 'completed' END, '{}', ",
                   now, " - g, ", now, " - g, ", now, " - g, ", now,
                   " + CASE WHEN g % 30 = 0 THEN 60000 ELSE -g END FROM generate_series(1, ", rows,
                   ") AS g"),
      absl::StrCat("INSERT INTO {fm_}events (execution_id, event_type, data, created_at)"
                   " SELECT 'e-' || (g % ",
                   std::max<int64_t>(1, rows / 200), " + 1), 'step.completed', '{}', ", now,
                   " - g FROM generate_series(1, ", rows, ") AS g"),
  };
}

}  // namespace flowmonkey::bench
