#!/usr/bin/env bash
# The `jobs` scenario five times on one database, NOTIFY trigger (migration 0006) dropped
# after run 2 and restored after run 4: does job throughput depend on the trigger, or on how
# much fm_jobs has grown? docs/BENCHMARKS.md ("Results with push delivery"). Needs build/.
#
#   bench/jobs-growth-probe.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${FM_TARGET:-}" ]; then exec scripts/with-test-server "$0" "$@"; fi
run() {
  build/flowmonkey-bench --database_url="$FM_DATABASE_URL" --target="$FM_TARGET" --scenario=jobs \
    --concurrency=8 --duration=5 --rounds=1 --pgbench= 2>&1 | grep -E '^\| (scenario|jobs)'
}
q() { psql "$FM_DATABASE_URL" -qAtc "$1"; }
jobs() { echo "fm_jobs rows: $(q 'SELECT count(*) FROM fm_jobs')"; }
echo "== 1: trigger on"; jobs; run
echo "== 2: trigger on"; jobs; run
q "DROP TRIGGER fm_jobs_notify ON fm_jobs"
echo "== 3: trigger off"; jobs; run
echo "== 4: trigger off"; jobs; run
q "CREATE TRIGGER fm_jobs_notify AFTER INSERT ON fm_jobs FOR EACH STATEMENT
   EXECUTE FUNCTION fm_jobs_notify()"
echo "== 5: trigger on"; jobs; run
