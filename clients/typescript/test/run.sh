#!/usr/bin/env bash
# The TypeScript client's tests:
#  1. npm ci (the committed lockfile; it also fills the npm cache used offline below);
#  2. npm pack (prepack builds: protos synced into the package, tsc, the ESM entry);
#  3. the packed tarball installed into an empty project outside the repository
#     (npm ci --offline, from the npm cache);
#  4. the type-level conformance test there: test/types/conformance.ts compiled under
#     strict against the installed declarations and test/types/flowmonkey-core.d.ts
#     (FlowMonkey's interfaces restated), plus an ESM import check; any error fails;
#  5. the behaviour tests, run in that project against the installed package and a
#     real flowmonkey-server on a throwaway PostgreSQL (scripts/with-test-server; set
#     FM_SERVER_BINARY or FM_BUILD_DIR to use a server built elsewhere), together with the
#     retry and WorkRunner fake-server unit tests (no real server needed) and an ESM import check.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg="$PWD"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

project="$(mktemp -d /tmp/fm-ts-client-XXXXXX)"
trap 'rm -rf "$project"' EXIT
tarball="$(npm pack --silent --pack-destination "$project" | tail -n 1)"
echo "packed $tarball ($(tar tzf "$project/$tarball" | wc -l) files)"
if tar tzf "$project/$tarball" | grep -q '\.\./'; then echo "tarball has paths above the package" >&2; exit 1; fi

# Behaviour tests, compiled here, run in the empty project against the installed tarball.
rm -rf dist-test
npx --no-install tsc -p test/tsconfig.json
node scripts/pack-test-project.mjs "$project" "$tarball"
install_offline() { (cd "$project" && npm ci --offline --no-audit --no-fund --loglevel=error); }
if ! install_offline; then
  # The npm cache was emptied since node_modules was installed: fill it again from the
  # committed lockfile, then install offline.
  npm ci --no-audit --no-fund --loglevel=error
  install_offline
fi

# Type-level conformance, against the installed package's declarations as a user's
# compiler sees them (its package.json "exports", node16 resolution): the CommonJS view
# (conformance.ts) and the ESM one (esm-check.mts). 0 errors or the run fails.
mkdir -p "$project/types"
cp test/types/conformance.ts test/types/flowmonkey-core.d.ts "$project/types/"
cat >"$project/types/esm-check.mts" <<'MTS'
import { connect, RemoteStateStore, FlowValidationError, type StateStore, type ResumeTokenManager } from '@flowmonkey/store-client';
export async function esm(): Promise<[StateStore, ResumeTokenManager, typeof RemoteStateStore, typeof FlowValidationError]> {
  const stores = await connect({ target: '127.0.0.1:50051' });
  return [stores.stateStore, stores.resumeTokenManager, RemoteStateStore, FlowValidationError];
}
MTS
cat >"$project/types/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022", "module": "node16", "moduleResolution": "node16", "lib": ["ES2022"],
    "types": ["node"], "strict": true, "noEmit": true, "skipLibCheck": false
  },
  "files": ["conformance.ts", "esm-check.mts"]
}
JSON
if ! npx --no-install tsc -p "$project/types/tsconfig.json"; then
  echo "type-level conformance: FAILED (errors above)" >&2
  exit 1
fi
echo "type-level conformance: 0 errors"
mkdir -p "$project/test"
cp dist-test/test/server.js dist-test/test/stores.test.js dist-test/test/flowmonkey.test.js \
  dist-test/test/transaction.test.js dist-test/test/work-runner.test.js \
  dist-test/test/wakeup-watcher.test.js "$project/test/"
cat >"$project/test/esm.test.mjs" <<'MJS'
// The package's ESM entry: named imports, the same classes as require(), and a real call.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { connect, RemoteStateStore, FlowValidationError } from '@flowmonkey/store-client';

test('ESM entry point: named exports, one copy of the code, a working connection', async () => {
  const cjs = createRequire(import.meta.url)('@flowmonkey/store-client');
  assert.equal(RemoteStateStore, cjs.RemoteStateStore);
  assert.equal(typeof FlowValidationError, 'function');
  const stores = await connect({ target: process.env.FM_TARGET, flowRefreshMs: 0 });
  try {
    assert.equal(await stores.health(), 'SERVING');
  } finally {
    stores.close();
  }
});
MJS
# Every service exists now: a skipped test (UNIMPLEMENTED) is a failure.
FM_TS_STRICT="${FM_TS_STRICT:-1}" ../../scripts/with-test-server \
  bash -c 'cd "$1" && node --test "$2/dist-test/test/retry.test.js" "$2/dist-test/test/work-runner-fake.test.js" test/*.test.js test/*.test.mjs' _ "$project" "$pkg"
