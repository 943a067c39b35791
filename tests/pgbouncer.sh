#!/usr/bin/env bash
# The conformance suites (PostgreSQL store and remote client) with PgBouncer in transaction
# pooling mode between every connection and PostgreSQL, prepared statements off: proves no
# store relies on session state. Run by scripts/test; needs the conformance binary built.
#
#   tests/pgbouncer.sh [gtest arguments]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
binary="$root/${FM_BUILD_DIR:-build}/tests/conformance_tests"
[ -x "$binary" ] || { echo "pgbouncer.sh: $binary not built (scripts/build)" >&2; exit 1; }
export FM_PGBOUNCER=1 FM_NO_SERVER=1
# Two gtest shards side by side, as ctest runs the tier (tests/CMakeLists.txt): the suite
# waits on the database far more than it computes. Fails if either shard fails.
# shellcheck disable=SC2016  # expanded by the inner shell, after with-test-server exports it
exec "$root/scripts/with-test-server" sh -c '
  export FM_TEST_DATABASE_URL="$FM_DATABASE_URL" FM_TEST_PREPARE_STATEMENTS=false
  GTEST_TOTAL_SHARDS=2 GTEST_SHARD_INDEX=0 "$@" & first=$!
  GTEST_TOTAL_SHARDS=2 GTEST_SHARD_INDEX=1 "$@" & second=$!
  status=0
  wait "$first" || status=1
  wait "$second" || status=1
  exit "$status"' \
  sh "$binary" "$@"
