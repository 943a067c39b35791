#!/usr/bin/env bash
# Builds the TypeScript client and runs its tests (node --test) against a real
# flowmonkey-server on a throwaway PostgreSQL (scripts/with-test-server).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
# Every service exists now: a skipped test (UNIMPLEMENTED) is a failure.
FM_TS_STRICT="${FM_TS_STRICT:-1}" ../../scripts/with-test-server node --test dist/test/
