#!/usr/bin/env bash
# Peer comparison for docs/BENCHMARKS.md ("Peers"): the same job workload on graphile-worker
# and pg-boss (installed from the npm registry into bench/peers/node_modules by `npm ci`),
# then FlowMonkey's own `jobs` scenario, all against one throwaway PostgreSQL, so every
# figure is a ratio from one run. Prints one Markdown table.
#
#   bench/peers/run.sh [--jobs=20000] [--concurrency=8] [--batch=100] [--warmup=2000]
#                      [--enqueue-chunk=1000] [--complete-delay=0] [--duration=10]
#                      [--modes=graphile-worker,graphile-worker-batched,pg-boss,pg-boss-fetch]
#
#   --jobs            no-op jobs each peer enqueues and then processes (measured cycle)
#   --concurrency     workers for the peers, callers for flowmonkey-bench
#   --batch           jobs per fetch for the batched peer modes (graphile-worker localQueue
#                     size, pg-boss batchSize)
#   --warmup          jobs of an unmeasured cycle each peer runs first (0: none)
#   --enqueue-chunk   jobs per addJobs()/insert() call while enqueueing
#   --complete-delay  graphile-worker completeJobBatchDelay (ms) in the batched mode
#   --duration        seconds flowmonkey-bench measures each of its two modes (after 1 s warm-up)
#   --modes           peer modes to run, comma-separated (see peers.js); "" for none
#
# Environment: FM_SERVER_BINARY (default build/flowmonkey-server, read by
# scripts/with-test-server) and FM_BENCH_BINARY (default build/flowmonkey-bench); no build
# is run. PostgreSQL and the server come from scripts/with-test-server (initdb in a temp
# dir, fsync=off, free ports) and are stopped at the end. Node.js >= 20 and npm are needed
# (scripts/install-deps).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

jobs=20000 concurrency=8 batch=100 warmup=2000 enqueue_chunk=1000 complete_delay=0 duration=10
modes="graphile-worker,graphile-worker-batched,pg-boss,pg-boss-fetch"
for arg in "$@"; do
  case "$arg" in
    --jobs=*) jobs="${arg#*=}" ;;
    --concurrency=*) concurrency="${arg#*=}" ;;
    --batch=*) batch="${arg#*=}" ;;
    --warmup=*) warmup="${arg#*=}" ;;
    --enqueue-chunk=*) enqueue_chunk="${arg#*=}" ;;
    --complete-delay=*) complete_delay="${arg#*=}" ;;
    --duration=*) duration="${arg#*=}" ;;
    --modes=*) modes="${arg#*=}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

export FM_BENCH_BINARY="${FM_BENCH_BINARY:-$root/${FM_BUILD_DIR:-build}/flowmonkey-bench}"

if [ -z "${FM_PEERS_INNER:-}" ]; then
  [ -x "$FM_BENCH_BINARY" ] || { echo "run.sh: $FM_BENCH_BINARY not built (scripts/build, or set FM_BENCH_BINARY)" >&2; exit 1; }
  # Install the pinned libraries unless node_modules already matches the lock file.
  if ! [ "$here/node_modules/.package-lock.json" -nt "$here/package-lock.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  FM_PEERS_INNER=1 exec "$root/scripts/with-test-server" "$0" "$@"
fi

# ---- inside scripts/with-test-server: FM_DATABASE_URL and FM_TARGET are exported ----------
out="$(mktemp /tmp/fm-peers-XXXXXX)"
trap 'rm -f "$out" "$out.bench"' EXIT
load() { awk '{print $1, $2, $3}' /proc/loadavg; }

pg_version="$(psql "$FM_DATABASE_URL" -Atc 'SHOW server_version')"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; PostgreSQL $pg_version" \
  "(fsync=$(psql "$FM_DATABASE_URL" -Atc 'SHOW fsync'), shared_buffers=$(psql "$FM_DATABASE_URL" -Atc 'SHOW shared_buffers'));" \
  "node $(node --version)"
echo "FlowMonkey: ${FM_SERVER_BINARY:-$root/build/flowmonkey-server}, $FM_BENCH_BINARY (worktree $(git -C "$root" rev-parse --short HEAD))"
echo "workload: $jobs no-op jobs, concurrency $concurrency, batch $batch, warm-up $warmup jobs, enqueue chunk $enqueue_chunk"
echo "uptime at start: $(uptime)"

IFS=',' read -r -a mode_list <<<"$modes"
for mode in "${mode_list[@]}"; do
  echo "[$mode] load before: $(load)" >&2
  (cd "$here" && node peers.js --mode="$mode" --jobs="$jobs" --concurrency="$concurrency" \
    --batch="$batch" --warmup="$warmup" --enqueue-chunk="$enqueue_chunk" \
    --complete-delay="$complete_delay") | tee -a "$out" >&2
done

echo "[flowmonkey] load before: $(load)" >&2
"$FM_BENCH_BINARY" --database_url="$FM_DATABASE_URL" --target="$FM_TARGET" --scenario=jobs \
  --concurrency="$concurrency" --duration="$duration" --rows=1 | tee "$out.bench" >&2
version="$(git -C "$root" rev-parse --short HEAD)"
# | jobs | direct | conc | calls/s | p50 ms | p99 ms | errors | vs direct |  → JSON lines; the
# server row goes first so the table leads with it.
bench_load="$(load | cut -d' ' -f1)"
for m in server direct; do
  awk -F'|' -v m="$m" -v v="$version" -v l="$bench_load" '
    { gsub(/ /, "", $2); gsub(/ /, "", $3) }
    $2 == "jobs" && $3 == m {
      printf "{\"mode\":\"flowmonkey-%s\",\"version\":\"%s\",\"batch\":1,\"process_per_s\":%d,\"end_to_end_per_s\":%d,\"p50_ms\":%s,\"p99_ms\":%s,\"errors\":%d,\"load_after\":\"%s\"}\n",
        m, v, $5, $5, $6, $7, $8, l
    }' "$out.bench"
done >"$out.fm"
cat "$out" >>"$out.fm" && mv "$out.fm" "$out"

echo "uptime at end: $(uptime)"
echo
node "$here/report.js" "$out"
