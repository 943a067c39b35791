#!/usr/bin/env bash
# Issue 18: PostgreSQL failover on pg_auto_failover loses no acknowledged write.
#
# Builds, on this machine and under one temp dir, a pg_auto_failover formation: a monitor
# with the fast settings of deploy/ha/monitor-settings.conf, a primary and a synchronous
# secondary (pg_autoctl, as the postgres user). flowmonkey-server connects with the
# multi-host URI of `pg_autoctl show uri` (target_session_attrs=read-write). writer.py runs
# 8 writers at full speed and a health poller; after a few seconds the primary node is
# killed (SIGKILL to its pg_autoctl keeper, its postmaster and every backend, as if the
# machine died); the monitor promotes the secondary; the writers retry until writes are
# served again and go on a few seconds more. Then every write is checked on the new primary
# (tests/failover/writer.py). One summary line; exit 1 if an acknowledged write was lost or a write applied twice, if writes were not
# served again within 10 s of the kill, or if health never went NOT_SERVING.
#
#   tests/failover/run.sh            (scripts/test runs it; about 50 s)
#   FM_SERVER_BINARY=build-x/flowmonkey-server tests/failover/run.sh
#
# Needs postgresql-15-auto-failover and pg-auto-failover-cli (scripts/install-deps), Debian's
# python3-grpcio, protoc and grpc_python_plugin. As root, PostgreSQL and pg_autoctl run as
# postgres through runuser (as in scripts/with-test-server); every server listens on
# 127.0.0.1 only.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
server="${FM_SERVER_BINARY:-$root/${FM_BUILD_DIR:-build}/flowmonkey-server}"
python="${FM_PYTHON:-/usr/bin/python3}"
[ -x "$server" ] || { echo "failover: $server not built (scripts/build)" >&2; exit 1; }
command -v pg_autoctl >/dev/null ||
  { echo "failover: pg_autoctl not found (scripts/install-deps)" >&2; exit 1; }
plugin="$(command -v grpc_python_plugin)" ||
  { echo "failover: grpc_python_plugin not found (scripts/install-deps)" >&2; exit 1; }
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})' 2>/dev/null ||
    "$python" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}
dir="$(mktemp -d /tmp/fm-failover-XXXXXX)"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
# pg_autoctl keeps its configuration, state and pid files under the XDG directories: all of
# them in $dir, so that runs never share anything (nor with a pg_autoctl of the machine).
pg_env=(env HOME="$dir" XDG_CONFIG_HOME="$dir/config" XDG_DATA_HOME="$dir/share"
  XDG_RUNTIME_DIR="$dir/run" PGUSER=postgres)
autoctl() { as_pg "${pg_env[@]}" pg_autoctl "$@"; }

# `pg_autoctl run` of each node, each started with setsid: its process group holds the
# keeper and the postmaster it starts (not the backends: see the kill below).
declare -A group=()
server_pid=""
cleanup() {
  local status=$?
  set +e
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  if [ "$status" -ne 0 ] && [ -d "$dir/monitor" ]; then
    echo "failover: failed; pg_auto_failover events and the server's last log lines:" >&2
    autoctl show events --pgdata "$dir/monitor" --count 20 >&2 2>/dev/null
    tail -n 20 "$dir/server.log" >&2 2>/dev/null
  fi
  for name in "${!group[@]}"; do kill -TERM -- "-${group[$name]}" 2>/dev/null; done
  for _ in $(seq 50); do
    local alive=""
    for name in "${!group[@]}"; do kill -0 -- "-${group[$name]}" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && break
    sleep 0.1
  done
  for name in "${!group[@]}"; do kill -KILL -- "-${group[$name]}" 2>/dev/null; done
  for data in "$dir"/monitor "$dir"/node1 "$dir"/node2; do
    [ -f "$data/postmaster.pid" ] && as_pg "$pg_bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1
  done
  rm -rf "$dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_node() {  # name: runs `pg_autoctl run` for $dir/name in its own process group
  local run=("${pg_env[@]}" pg_autoctl run --pgdata "$dir/$1")
  [ "$(id -u)" -eq 0 ] && run=(runuser -u postgres -- "${run[@]}")
  # Not a process group leader (no job control here), setsid does not fork: $! is the group.
  setsid "${run[@]}" >"$dir/$1.log" 2>&1 &
  group[$1]=$!
  disown  # killed on purpose; no "Killed" job report from bash
}
wait_for() {  # seconds what command...: polls the command every 0.2 s
  local seconds=$1 what=$2
  shift 2
  local end=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || { echo "failover: timed out waiting for $what" >&2; exit 1; }
    sleep 0.2
  done
}

monitor_port="$(free_port)"
node1_port="$(free_port)"
node2_port="$(free_port)"
port="$(free_port)"
start=$SECONDS

# The monitor, then the fast failover settings (reloaded, no restart).
autoctl create monitor --pgctl "$pg_bin/pg_ctl" --pgdata "$dir/monitor" --pgport "$monitor_port" \
  --hostname 127.0.0.1 --auth trust --no-ssl >"$dir/monitor-create.log" 2>&1 ||
  { cat "$dir/monitor-create.log" >&2; exit 1; }
# `create monitor` has no --listen (nodes do): not on every interface with trust auth.
autoctl config set --pgdata "$dir/monitor" postgresql.listen_addresses 127.0.0.1 >/dev/null
start_node monitor
wait_for 30 "the monitor" "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$monitor_port"
monitor_sql() {
  as_pg psql -X -qAt -v ON_ERROR_STOP=1 \
    "host=127.0.0.1 port=$monitor_port user=postgres dbname=pg_auto_failover" -c "$1"
}
wait_for 30 "the monitor's extension" monitor_sql "SELECT 1 FROM pgautofailover.formation"
cp "$root/deploy/ha/monitor-settings.conf" "$dir/monitor-settings.conf"  # readable by postgres
echo "include '$dir/monitor-settings.conf'" >>"$dir/monitor/postgresql.conf"
monitor_sql "SELECT pg_reload_conf()" >/dev/null
settings_loaded() {  # the reload is asynchronous
  [ "$(monitor_sql "SELECT count(*) FROM pg_settings WHERE name LIKE 'pgautofailover.%'
    AND sourcefile = '$dir/monitor-settings.conf'")" -eq 6 ]
}
wait_for 10 "the monitor settings" settings_loaded
monitor_uri="$(autoctl show uri --pgdata "$dir/monitor" --formation monitor)"

# The primary, then the secondary (pg_basebackup from the primary). replication-quorum true
# (the default) makes the primary's synchronous_standby_names 'ANY 1 (...)' with
# synchronous_commit on: a commit is acknowledged once the secondary has flushed it.
for node in node1 node2; do
  node_port=$node1_port
  [ "$node" = node2 ] && node_port=$node2_port
  autoctl create postgres --pgctl "$pg_bin/pg_ctl" --pgdata "$dir/$node" --pgport "$node_port" \
    --listen 127.0.0.1 --hostname 127.0.0.1 --name "$node" --dbname flowmonkey \
    --monitor "$monitor_uri" --auth trust --no-ssl --replication-quorum true \
    >"$dir/$node-create.log" 2>&1 || { cat "$dir/$node-create.log" >&2; exit 1; }
  start_node "$node"
done
states() { autoctl show state --pgdata "$dir/monitor" 2>/dev/null; }
formation_ready() {
  local s
  s="$(states)"
  grep -Eq '^ *node1 .*\| +primary \| +primary *$' <<<"$s" &&
    grep -Eq '^ *node2 .*\| +secondary \| +secondary *$' <<<"$s"
}
wait_for 90 "node1 primary and node2 secondary" formation_ready
sync_names="$(as_pg psql -X -qAt "host=127.0.0.1 port=$node1_port user=postgres dbname=flowmonkey" \
  -c "SHOW synchronous_standby_names")"
sync_commit="$(as_pg psql -X -qAt "host=127.0.0.1 port=$node1_port user=postgres dbname=flowmonkey" \
  -c "SHOW synchronous_commit")"
if [ -z "$sync_names" ] || [ "$sync_commit" != on ]; then
  echo "failover: replication is not synchronous (synchronous_standby_names='$sync_names'," \
    "synchronous_commit=$sync_commit)" >&2
  exit 1
fi
uri="$(autoctl show uri --pgdata "$dir/monitor" --formation default)"
echo "failover: formation up in $((SECONDS - start)) s; synchronous_standby_names '$sync_names'; $uri"

# The server, with the URI as given (libpq takes the user from PGUSER).
PGUSER=postgres "$server" --listen="127.0.0.1:$port" --database-url="$uri" --log-level=info \
  >"$dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  kill -0 "$server_pid" 2>/dev/null || { echo "failover: server exited" >&2; cat "$dir/server.log" >&2; exit 1; }
  sleep 0.1
done

mkdir "$dir/stubs"
protoc -I "$root/proto" --python_out="$dir/stubs" --grpc_out="$dir/stubs" \
  --plugin=protoc-gen-grpc="$plugin" "$root"/proto/flowmonkey/v1/*.proto

# The kill: node1 dies as if its machine did. SIGKILL to its keeper's process group (the
# `pg_autoctl run` supervisor and its services): alive, the keeper would restart postgres
# within a second or two and node1 would stay primary (a restart, not a failover). SIGKILL to
# the postmaster and to every child of it: each backend and the walsender is its own session
# (PostgreSQL calls setsid() in every child), so the group kill does not reach them, and
# orphaned they go on for a moment: a backend still commits, the walsender still streams it
# to the standby, and the commit is acknowledged after the "kill". The postmaster is stopped
# first so that it forks nothing between the listing of its children and the kill.
postmaster_pid="$(head -n 1 "$dir/node1/postmaster.pid")"
kill_command="kill -STOP $postmaster_pid; children=\$(pgrep -P $postmaster_pid | tr '\n' ' ');
  kill -STOP \$children; kill -KILL -- -${group[node1]} $postmaster_pid \$children 2>/dev/null; true"

set +e
PYTHONPATH="$dir/stubs" PGUSER=postgres "$python" "$root/tests/failover/writer.py" \
  --target="127.0.0.1:$port" --kill-command="$kill_command" \
  --psql-uri="$uri" --writers=8
status=$?
set -e
[ "$status" -eq 0 ] || states >&2
echo "failover: took $((SECONDS - start)) s"
exit "$status"
