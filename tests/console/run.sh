#!/usr/bin/env bash
# The operator console's browser test (server/console): Debian's Chromium, headless, driven
# by puppeteer-core (node:test), against a real flowmonkey-server on a throwaway PostgreSQL
# (scripts/with-test-server), seeded through the gRPC API by seed.py. Two runs:
#  1. keys: TLS (a self-signed certificate for 127.0.0.1, made here) and API keys (an
#     operator key and tenant keys acme and globex); the console is served over HTTPS;
#  2. open: no TLS, no keys.
#
#   tests/console/run.sh
#
# Needs /usr/bin/chromium, node and npm, psql, openssl, protoc, grpc_python_plugin and
# Debian's python3-grpcio (scripts/install-deps), and a server built with the console
# (FM_SERVER_BINARY, or FM_BUILD_DIR, default build/). Screenshots of the main pages go to
# FM_CONSOLE_SHOTS (default /tmp/fm-console-shots).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Inside scripts/with-test-server: waits for the console, seeds, runs the browser test.
if [ "${1:-}" = "--inside" ]; then
  mode="$2"
  port="${FM_CONSOLE_LISTEN##*:}"
  for i in $(seq 101); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    [ "$i" -le 100 ] || { echo "run.sh: no console on 127.0.0.1:$port after 10 s" >&2; exit 1; }
    sleep 0.1
  done
  seed_args=()
  [ "$mode" = open ] && seed_args+=(--minimal)
  PYTHONPATH="$FM_STUBS" "${FM_PYTHON:-/usr/bin/python3}" "$here/seed.py" "$FM_SEED_FILE" "${seed_args[@]}"
  cd "$here"
  exec node --test console.test.mjs
fi

[ -x "${FM_CHROMIUM:-/usr/bin/chromium}" ] ||
  { echo "run.sh: /usr/bin/chromium not found (apt-get install chromium; scripts/install-deps)" >&2; exit 1; }
plugin="$(command -v grpc_python_plugin)" ||
  { echo "run.sh: grpc_python_plugin not found (scripts/install-deps)" >&2; exit 1; }
server="${FM_SERVER_BINARY:-$root/${FM_BUILD_DIR:-build}/flowmonkey-server}"
[ -x "$server" ] || { echo "run.sh: $server not built (scripts/build)" >&2; exit 1; }
help="$("$server" --help 2>&1 || true)"  # --help exits 1
grep -qE -- '--console[-_]listen' <<<"$help" ||
  { echo "run.sh: $server has no --console-listen (built before the console?)" >&2; exit 1; }

cd "$here"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

work="$(mktemp -d /tmp/fm-console-browser-XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/stubs"
protoc -I "$root/proto" --python_out="$work/stubs" --grpc_out="$work/stubs" \
  --plugin=protoc-gen-grpc="$plugin" "$root"/proto/flowmonkey/v1/*.proto

# TLS for 127.0.0.1 (the gRPC port and the console), and the API keys (file: sha256 tenant).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=127.0.0.1 -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
key() { openssl rand -hex 24; }
digest() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
operator_key="$(key)" acme_key="$(key)" globex_key="$(key)"
printf '%s *\n%s acme\n%s globex\n' "$(digest "$operator_key")" "$(digest "$acme_key")" \
  "$(digest "$globex_key")" >"$work/api-keys"

export FM_STUBS="$work/stubs" FM_CONSOLE_SHOTS="${FM_CONSOLE_SHOTS:-/tmp/fm-console-shots}"
# No maintenance pass: it would reset the seeded stalled job before the test sees it.
export FM_MAINTENANCE_INTERVAL_MS=0
unset FM_TLS_CERT FM_TLS_KEY FM_TLS_CLIENT_CA FM_API_KEYS_FILE FM_SERVER_ARGS

port="$(free_port)"
echo "console test 1/2: API keys, TLS (https://127.0.0.1:$port)"
FM_CONSOLE_MODE=keys FM_CONSOLE_LISTEN="127.0.0.1:$port" FM_CONSOLE_URL="https://127.0.0.1:$port" \
  FM_TLS_CERT="$work/tls.crt" FM_TLS_KEY="$work/tls.key" FM_API_KEYS_FILE="$work/api-keys" \
  FM_SEED_CA="$work/tls.crt" FM_SEED_KEY="$operator_key" FM_SEED_FILE="$work/seed-keys.json" \
  FM_KEY_OPERATOR="$operator_key" FM_KEY_ACME="$acme_key" FM_KEY_GLOBEX="$globex_key" \
  "$root/scripts/with-test-server" "$here/run.sh" --inside keys

port="$(free_port)"
echo "console test 2/2: no keys (http://127.0.0.1:$port)"
FM_CONSOLE_MODE=open FM_CONSOLE_LISTEN="127.0.0.1:$port" FM_CONSOLE_URL="http://127.0.0.1:$port" \
  FM_SEED_FILE="$work/seed-open.json" \
  "$root/scripts/with-test-server" "$here/run.sh" --inside open
echo "screenshots: $FM_CONSOLE_SHOTS"
