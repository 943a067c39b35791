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
expect "health" 0 "^SERVING$" -- health
expect "health --json" 0 "\"status\":\"SERVING\"" -- --json health
expect "executions list (table)" 0 "^ID +FLOW +VERSION +STATUS" -- executions list running
expect "executions get missing" 1 "error 5: " -- executions get no-such-execution
expect "executions list bad status" 1 "unknown status" -- executions list sleeping
expect "jobs stalled (table)" 0 "^ID +EXECUTION +STEP +HANDLER" -- jobs stalled
expect "jobs list --json" 0 "^$" -- --json jobs list pending
expect "events tail (table)" 0 "^ID +TIME +TYPE" -- events tail no-such-execution
expect "tokens cleanup" 0 "resume tokens marked expired: [0-9]+" -- tokens cleanup
expect "unknown command" 1 "usage" -- frobnicate
expect "unreachable server" 1 "flowmonkeyctl: " -- --target=127.0.0.1:1 --timeout_ms=500 health
echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
' _ "$ctl"
