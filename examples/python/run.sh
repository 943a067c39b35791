#!/usr/bin/env bash
# Generates the flowmonkey.v1 Python stubs into a temp dir and runs example.py with them.
#
#   FM_TARGET=127.0.0.1:50051 examples/python/run.sh   against a running server (scripts/run)
#   examples/python/run.sh                             FM_TARGET unset: against a throwaway
#                                                      server (scripts/with-test-server; set
#                                                      FM_SERVER_BINARY to pick the binary)
#
# Needs Debian 12's python3-grpcio, protoc and grpc_python_plugin (scripts/install-deps).
# Debian's python3-grpc-tools cannot be used: its bundled protoc 3.5.1 rejects the proto3
# `optional` fields of the contract.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# Debian's python3-grpcio is installed for /usr/bin/python3; a python3 earlier in PATH
# (pyenv, a venv) would not see it.
python="${FM_PYTHON:-/usr/bin/python3}"

plugin="$(command -v grpc_python_plugin)" ||
  { echo "run.sh: grpc_python_plugin not found (scripts/install-deps)" >&2; exit 1; }

stubs="$(mktemp -d /tmp/fm-python-stubs-XXXXXX)"
trap 'rm -rf "$stubs"' EXIT
protoc -I "$root/proto" --python_out="$stubs" --grpc_out="$stubs" \
  --plugin=protoc-gen-grpc="$plugin" "$root"/proto/flowmonkey/v1/*.proto

example=(env PYTHONPATH="$stubs" "$python" "$root/examples/python/example.py")
if [ -n "${FM_TARGET:-}" ]; then
  "${example[@]}"
else
  "$root/scripts/with-test-server" "${example[@]}"
fi
