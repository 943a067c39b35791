#!/usr/bin/env bash
# Checks the Grafana dashboard against a live scrape (issue 19): starts a throwaway server
# with metrics on (scripts/with-test-server, FM_METRICS_LISTEN on a free port), makes calls
# so that the labelled families appear (the Python example: executions, jobs, the Work stream,
# resume tokens, a commit; flowmonkeyctl: health, a NOT_FOUND, a list), scrapes /metrics and
# runs check.mjs on the dashboard and the scrape.
#
#   deploy/grafana/check.sh                  deploy/grafana/flowmonkey-store.json
#   deploy/grafana/check.sh OTHER.json       another dashboard (e.g. a copy being edited)
#
# Gauges refreshed in the background (the pool every second, the job queue every few seconds)
# may be missing from the first scrape: it scrapes again, once a second, for up to
# FM_GRAFANA_WAIT_S (default 15) seconds until the check passes, then reports the last check.
# FM_SERVER_BINARY / FM_BUILD_DIR pick the server as for scripts/with-test-server.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dashboard="$(realpath "${1:-$here/flowmonkey-store.json}")"
ctl="$root/${FM_BUILD_DIR:-build}/flowmonkeyctl"
[ -x "$ctl" ] || { echo "check.sh: $ctl not built (scripts/build)" >&2; exit 1; }

port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
scrape="$(mktemp /tmp/fm-grafana-scrape-XXXXXX)"
log="$(mktemp /tmp/fm-grafana-calls-XXXXXX)"
trap 'rm -f "$scrape" "$log"' EXIT

export FM_METRICS_LISTEN="127.0.0.1:$port" FM_GRAFANA_SCRAPE="$scrape" FM_GRAFANA_CTL="$ctl"
export FM_GRAFANA_DASHBOARD="$dashboard" FM_GRAFANA_CHECK="$here/check.mjs" FM_GRAFANA_LOG="$log"
# shellcheck disable=SC2016 # expanded by the inner shell
if ! "$root/scripts/with-test-server" bash -c '
  set -euo pipefail
  "$FM_GRAFANA_CTL" health >>"$FM_GRAFANA_LOG"
  '"$root"'/examples/python/run.sh >>"$FM_GRAFANA_LOG" 2>&1
  "$FM_GRAFANA_CTL" executions get grafana-check-no-such-execution >>"$FM_GRAFANA_LOG" 2>&1 && exit 1
  "$FM_GRAFANA_CTL" jobs list pending >>"$FM_GRAFANA_LOG"
  deadline=$((SECONDS + ${FM_GRAFANA_WAIT_S:-15}))
  while :; do
    curl -sSf "http://$FM_METRICS_LISTEN/metrics" >"$FM_GRAFANA_SCRAPE"
    if node "$FM_GRAFANA_CHECK" --quiet "$FM_GRAFANA_DASHBOARD" "$FM_GRAFANA_SCRAPE" >/dev/null; then break; fi
    [ "$SECONDS" -lt "$deadline" ] || break
    sleep 1
  done
'; then
  echo "check.sh: the calls against the test server failed:" >&2
  cat "$log" >&2
  exit 1
fi
node "$here/check.mjs" "$dashboard" "$scrape"
