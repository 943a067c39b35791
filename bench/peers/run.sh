#!/usr/bin/env bash
# Peer comparison for docs/BENCHMARKS.md ("Peers"): the same job workload on graphile-worker
# and pg-boss (installed from the npm registry into bench/peers/node_modules by `npm ci`),
# and FlowMonkey's own `jobs` scenario, all against one throwaway PostgreSQL, so every
# figure is a ratio from one run. Prints one Markdown table.
#
#   bench/peers/run.sh [--jobs=20000] [--concurrency=8] [--batch=100] [--warmup=2000]
#                      [--enqueue-chunk=1000] [--complete-delay=0] [--duration=10]
#                      [--modes=graphile-worker,graphile-worker-batched,pg-boss,pg-boss-fetch]
#                      [--rounds=3] [--push-credits=16]
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
#   --push-credits    flowmonkey-push: jobs each of the --concurrency JobStore.Work workers
#                     runs at once (its credits); its p50/p99 are from a Create's ack to the
#                     worker receiving the job, with the workers idle
#   --rounds          times every system runs (order rotated each round); the table shows the
#                     median and every round's figure
#
# Environment: FM_SERVER_BINARY (default build/flowmonkey-server, read by
# scripts/with-test-server) and FM_BENCH_BINARY (default build/flowmonkey-bench); no build
# is run. PostgreSQL and the server come from scripts/with-test-server (initdb in a temp
# dir, fsync=off, free ports) and are stopped at the end. Node.js >= 20 and npm are needed
# (scripts/install-deps).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

jobs=20000 concurrency=8 batch=100 warmup=2000 enqueue_chunk=1000 complete_delay=0 duration=10 rounds=3
push_credits=16
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
    --rounds=*) rounds="${arg#*=}" ;;
    --push-credits=*) push_credits="${arg#*=}" ;;
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
sampler_pid=""
cleanup() {
  if [ -n "$sampler_pid" ]; then kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; fi
  rm -f "$out" "$out.bench" "$out.cpu"
}
trap cleanup EXIT
sql() { psql "$FM_DATABASE_URL" -Atc "$1"; }

# CPU taken by processes outside this run (see othercpu.js), averaged per phase: the
# machine is shared, and the 1-minute load average also counts this run's own threads.
postmaster_pid="$(sql "SELECT split_part(pg_read_file('/proc/self/stat'), ' ', 4)")"
: >"$out.cpu"
node "$here/othercpu.js" "$PPID" "$postmaster_pid" "$out.cpu" &
sampler_pid=$!
now_ms() { date +%s%3N; }
other_cores() {  # mean over the samples taken between $1 and $2 (epoch ms)
  awk -v a="$1" -v b="$2" '$1 > a && $1 <= b { s += $2; n++ } END { printf "%.2f", n ? s / n : 0 }' "$out.cpu"
}

echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; PostgreSQL $(sql 'SHOW server_version')" \
  "(fsync=$(sql 'SHOW fsync'), shared_buffers=$(sql 'SHOW shared_buffers')); node $(node --version)"
echo "FlowMonkey: ${FM_SERVER_BINARY:-$root/build/flowmonkey-server}, $FM_BENCH_BINARY (worktree $(git -C "$root" rev-parse --short HEAD))"
echo "workload: $jobs no-op jobs, concurrency $concurrency, batch $batch, warm-up $warmup jobs, enqueue chunk $enqueue_chunk"
echo "uptime at start: $(uptime)"

version="$(git -C "$root" rev-parse --short HEAD)"
run_peer() {  # mode round
  echo "[round $2: $1] $(uptime)" >&2
  local t0 line
  t0="$(now_ms)"
  line="$(cd "$here" && node peers.js --mode="$1" --jobs="$jobs" --concurrency="$concurrency" \
    --batch="$batch" --warmup="$warmup" --enqueue-chunk="$enqueue_chunk" \
    --complete-delay="$complete_delay")"
  line="${line%\}},\"round\":$2,\"other_cores\":$(other_cores "$t0" "$(now_ms)")}"
  echo "$line" | tee -a "$out" >&2
}
run_flowmonkey() {  # round
  echo "[round $1: flowmonkey] $(uptime)" >&2
  local t0 others m
  t0="$(now_ms)"
  "$FM_BENCH_BINARY" --database_url="$FM_DATABASE_URL" --target="$FM_TARGET" --scenario=jobs \
    --concurrency="$concurrency" --duration="$duration" --rows=1 | tee "$out.bench" >&2
  others="$(other_cores "$t0" "$(now_ms)")"
  # | jobs | direct | conc | calls/s | p50 ms | p99 ms | errors | vs direct |  → JSON lines
  for m in server direct; do
    awk -F'|' -v m="$m" -v v="$version" -v o="$others" -v r="$1" '
      { gsub(/ /, "", $2); gsub(/ /, "", $3) }
      $2 == "jobs" && $3 == m {
        printf "{\"mode\":\"flowmonkey-%s\",\"version\":\"%s\",\"batch\":1,\"process_per_s\":%d,\"end_to_end_per_s\":%d,\"p50_ms\":%s,\"p99_ms\":%s,\"errors\":%d,\"round\":%d,\"other_cores\":%s}\n",
          m, v, $5, $5, $6, $7, $8, r, o
      }' "$out.bench" | tee -a "$out" >&2
  done
}

run_flowmonkey_push() {  # round: JobStore.Work workers drain the same backlog (the peers' workload)
  echo "[round $1: flowmonkey-push] $(uptime)" >&2
  local t0 others
  t0="$(now_ms)"
  "$FM_BENCH_BINARY" --database_url="$FM_DATABASE_URL" --target="$FM_TARGET" --scenario=work \
    --concurrency="$concurrency" --work_jobs="$jobs" --work_credits="$push_credits" --rounds=1 \
    --rows=1 --direct=false --pgbench= --async=false | tee "$out.bench" >&2
  others="$(other_cores "$t0" "$(now_ms)")"
  # | work | push | conc | jobs/s | p50 ms | p99 ms | errors | ...  (p50/p99: Create ack → worker)
  awk -F'|' -v v="$version" -v o="$others" -v r="$1" -v c="$push_credits" '
    { gsub(/ /, "", $2); gsub(/ /, "", $3) }
    $2 == "work" && $3 == "push" {
      printf "{\"mode\":\"flowmonkey-push\",\"version\":\"%s\",\"batch\":%d,\"process_per_s\":%d,\"end_to_end_per_s\":%d,\"p50_ms\":%s,\"p99_ms\":%s,\"errors\":%d,\"round\":%d,\"other_cores\":%s}\n",
        v, c, $5, $5, $6, $7, $8, r, o
    }' "$out.bench" | tee -a "$out" >&2
}

# Each round runs every system once; the order rotates by one per round so no system is
# always first or last (the tables grow, other work on the machine comes and goes).
IFS=',' read -r -a systems <<<"flowmonkey,flowmonkey-push${modes:+,$modes}"
for ((r = 1; r <= rounds; r++)); do
  for ((i = 0; i < ${#systems[@]}; i++)); do
    system="${systems[$(((i + r - 1) % ${#systems[@]}))]}"
    case "$system" in
      flowmonkey) run_flowmonkey "$r" ;;
      flowmonkey-push) run_flowmonkey_push "$r" ;;
      *) run_peer "$system" "$r" ;;
    esac
  done
done

echo "uptime at end: $(uptime)"
echo
node "$here/report.js" "$out"
