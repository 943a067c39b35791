#!/usr/bin/env bash
# Does PostgreSQL keep a generic plan for the store's list statements, or plan every call
# again? Seeds the growth bench's two deployments (10k and 1M rows; bench/seed.h), then for
# each statement: PREPARE, 12 EXECUTEs (past the plan cache's 5 custom plans), and EXPLAIN
# ANALYZE of one more. A planning time well above 0.05 ms is a custom plan, made again on
# every call. The statements are copies of the store's (server/pg/*.cc) with the table
# prefix filled in. docs/BENCHMARKS.md, run 12. Needs build/.
#
#   FM_NO_SERVER=1 scripts/with-test-server bench/plan-cache-probe.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build/flowmonkey-growth-bench --small=10000 --large=1000000 --reps=5 >/dev/null 2>&1
now=$(date +%s%3N)
probe() {  # name, "(types) AS statement", execute arguments
  {
    echo "PREPARE q$2;"
    for _ in $(seq 1 12); do echo "EXECUTE q($3);"; done
    echo "EXPLAIN (ANALYZE) EXECUTE q($3);"
  } | psql "$FM_DATABASE_URL" -X -q 2>&1 | grep -E "Planning Time|Execution Time" | tr -s ' \n' ' ' |
    sed "s/^/$p $1:/"
  echo
}
for p in growth10000_ growth1000000_; do
  probe exec_by_status "(text,text,text,text,int) AS SELECT * FROM ${p}executions WHERE status = \$1 AND id > \$2 AND (\$3::text IS NULL OR tenant_id = \$3) AND (\$4::text IS NULL OR flow_id = \$4) ORDER BY id LIMIT \$5" "'running', '', NULL, NULL, 100"
  probe exec_wake_ready "(bigint,int,text) AS SELECT * FROM ${p}executions WHERE status = 'waiting' AND wake_at IS NOT NULL AND wake_at <= \$1 AND (\$3::text IS NULL OR tenant_id = \$3) ORDER BY wake_at, id LIMIT \$2" "$now, 100, NULL"
  probe exec_timed_out "(bigint,text,int) AS SELECT * FROM ${p}executions WHERE status IN ('pending', 'running', 'waiting', 'cancelling') AND execution_deadline_at <= (SELECT \$1::bigint) AND ((SELECT \$2::text) IS NULL OR tenant_id = (SELECT \$2::text)) ORDER BY execution_deadline_at LIMIT \$3" "$now + 86400000, NULL, 100"
  probe exec_timed_out_waits "(bigint,text,int) AS SELECT * FROM ${p}executions WHERE status = 'waiting' AND wait_started_at IS NOT NULL AND wait_deadline_at <= \$1 AND (\$2::text IS NULL OR tenant_id = \$2) ORDER BY wait_deadline_at LIMIT \$3" "$now + 604800000, NULL, 100"
  probe event_query_desc "(bigint,bigint,text[],bigint,bigint,int,text) AS SELECT id, execution_id, event_type, step_id, data::text, created_at FROM ${p}events WHERE id < \$1 AND id <= \$2 AND (\$3::text[] IS NULL OR event_type = ANY(\$3::text[])) AND (\$4::bigint IS NULL OR created_at > \$4) AND (\$5::bigint IS NULL OR created_at < \$5) AND (\$7::text IS NULL OR EXISTS (SELECT 1 FROM ${p}executions e WHERE e.id = ${p}events.execution_id AND e.tenant_id = \$7)) ORDER BY id DESC LIMIT \$6" "9223372036854775807, 9223372036854775807, NULL, NULL, NULL, 101, NULL"
done
