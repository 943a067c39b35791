#!/usr/bin/env bash
# Runs flowmonkeyctl against a real server on a throwaway PostgreSQL (CTest: integration).
#   tools/flowmonkeyctl_test.sh PATH/flowmonkeyctl PATH/flowmonkey-server
set -euo pipefail
ctl="$1"
export FM_SERVER_BINARY="$2"
cd "$(dirname "$0")/.."
exec scripts/with-test-server bash -c '
set -euo pipefail
ctl="$1"; failures=0; passed=0
down="--target=127.0.0.1:1"  # nothing listens there
work="$(mktemp -d)"; trap "rm -rf \"$work\"" EXIT
expect() {  # expect NAME EXPECTED_RC PATTERN -- ARGS...
  local name="$1" rc_want="$2" pattern="$3"; shift 4
  local out rc=0
  out="$("$ctl" --target="$FM_TARGET" "$@" 2>&1)" || rc=$?
  if [ "$rc" -eq "$rc_want" ] && grep -qE -- "$pattern" <<<"$out"; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failures=$((failures + 1)); echo "FAIL $name (rc=$rc): $out"
  fi
}
cat >"$work/order-flow.json" <<JSON
{
  "id": "order-flow",
  "version": "1.0.0",
  "name": "Orders",
  "initialStepId": "charge",
  "steps": {
    "charge": {"id": "charge", "type": "http", "config": {}, "input": {"type": "full"},
               "transitions": {"onSuccess": "ship", "onFailure": null}},
    "ship": {"id": "ship", "type": "delay", "config": {}, "input": {"type": "full"},
             "transitions": {"onSuccess": null}}
  }
}
JSON
cat >"$work/proto-flow.json" <<JSON
{"id": "proto-flow", "version": "2.0.0", "status": "FLOW_STATUS_DRAFT",
 "definitionJson": "{\"initialStepId\":\"a\",\"steps\":{\"a\":{\"id\":\"a\",\"type\":\"t\",\"transitions\":{}}}}"}
JSON
expect "health" 0 "^SERVING$" -- health
expect "health --json" 0 "\"status\":\"SERVING\"" -- --json health
expect "--help, server down" 0 "^usage: flowmonkeyctl" -- "$down" --help
expect "-h, server down" 0 "events tail EXECUTION" -- "$down" -h
expect "help, server down" 0 "flows save -f FILE" -- "$down" help
expect "usage error, server down" 1 "usage: flowmonkeyctl" -- "$down" frobnicate
expect "missing operand, server down" 1 "^flowmonkeyctl: usage: flowmonkeyctl executions get ID$" -- "$down" executions get
expect "executions list (table)" 0 "^ID +FLOW +VERSION +STATUS" -- executions list running
expect "executions get missing: code name" 1 "^flowmonkeyctl: NOT_FOUND: " -- executions get no-such-execution
expect "executions list bad status" 1 "unknown status" -- executions list sleeping
expect "jobs stalled (table)" 0 "^ID +EXECUTION +STEP +HANDLER" -- jobs stalled
expect "jobs list --json" 0 "^$" -- --json jobs list pending
expect "events tail (table)" 0 "^ID +TIME +TYPE" -- events tail no-such-execution
expect "tokens cleanup" 0 "resume tokens marked expired: [0-9]+" -- tokens cleanup
expect "unknown command" 1 "usage" -- frobnicate
expect "unreachable server: code name" 1 "^flowmonkeyctl: UNAVAILABLE: " -- "$down" --timeout_ms=500 health
expect "flows save plain definition" 0 "^saved order-flow 1.0.0$" -- flows save -f "$work/order-flow.json" --tags=shop,eu
expect "flows save plain definition again" 0 "^unchanged order-flow 1.0.0$" -- flows save -f "$work/order-flow.json" --tags=shop,eu
expect "flows save proto-JSON Flow" 0 "^saved proto-flow 2.0.0$" -- flows save -f "$work/proto-flow.json"
echo "{\"hello\": 1}" >"$work/not-a-flow.json"
expect "flows save not a flow" 1 "neither a flow definition" -- flows save -f "$work/not-a-flow.json"
expect "flows get summary: name" 0 "^name: +Orders$" -- flows get order-flow
expect "flows get summary: initial step" 0 "^initial step: +charge$" -- flows get order-flow
expect "flows get summary: steps" 0 "^steps: +2$" -- flows get order-flow 1.0.0
expect "flows get summary: status, tags" 0 "^tags: +shop, eu$" -- flows get order-flow
expect "flows get --json" 0 "\"definition_json\":" -- --json flows get order-flow
expect "flows get draft" 0 "^status: +draft$" -- flows get proto-flow 2.0.0
expect "flows get missing" 1 "^flowmonkeyctl: NOT_FOUND: " -- flows get no-such-flow

# events tail --follow: events inserted after the first listing (its header) show up.
"$ctl" --target="$FM_TARGET" --poll_ms=50 events tail followed-exec --follow \
  >"$work/follow.out" 2>&1 &
follower=$!
for _ in $(seq 200); do grep -q "^ID" "$work/follow.out" && break; sleep 0.1; done
psql -q "$FM_DATABASE_URL" -c "INSERT INTO fm_events (execution_id, event_type, created_at)
  VALUES ('"'"'followed-exec'"'"', '"'"'first'"'"', floor(extract(epoch FROM now()) * 1000)::bigint),
  ('"'"'followed-exec'"'"', '"'"'second'"'"', floor(extract(epoch FROM now()) * 1000)::bigint)"
for _ in $(seq 200); do grep -q " second " "$work/follow.out" && break; sleep 0.1; done
alive=0; kill -0 "$follower" 2>/dev/null && alive=1
# (SIGTERM: a background job of a non-interactive shell ignores SIGINT.)
kill -TERM "$follower" 2>/dev/null || true
for _ in $(seq 50); do kill -0 "$follower" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$follower" 2>/dev/null || true; wait "$follower" 2>/dev/null || true
if [ "$alive" -eq 1 ] && grep -q " first " "$work/follow.out" && grep -q " second " "$work/follow.out"; then
  passed=$((passed + 1)); echo "ok   events tail --follow"
else
  failures=$((failures + 1)); echo "FAIL events tail --follow (alive=$alive): $(cat "$work/follow.out")"
fi
echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
' _ "$ctl"
