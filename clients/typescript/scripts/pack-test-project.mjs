// Makes an empty npm project that depends on the packed tarball, with a lockfile built from
// this package's committed one (its runtime dependencies, same versions and integrity), so
// `npm ci --offline` installs it from the npm cache that `npm ci` here filled: no network.
//
//   node scripts/pack-test-project.mjs <dir holding the .tgz> <tarball file name>
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [dir, tarball] = process.argv.slice(2);
if (!dir || !tarball) {
  console.error('usage: pack-test-project.mjs <dir> <tarball>');
  process.exit(2);
}
const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(here, 'package-lock.json'), 'utf8'));
const spec = `file:${tarball}`;
const integrity = `sha512-${createHash('sha512').update(readFileSync(join(dir, tarball))).digest('base64')}`;

const packages = {
  '': { name: 'fm-store-client-pack-test', version: '0.0.0', dependencies: { [pkg.name]: spec } },
  [`node_modules/${pkg.name}`]: {
    version: pkg.version, resolved: spec, integrity, license: pkg.license,
    dependencies: pkg.dependencies, engines: pkg.engines,
  },
};
for (const [path, entry] of Object.entries(lock.packages)) {
  if (path === '' || entry.dev) continue;
  packages[path] = entry;
}
writeFileSync(join(dir, 'package.json'), JSON.stringify({
  name: 'fm-store-client-pack-test', version: '0.0.0', private: true, dependencies: { [pkg.name]: spec },
}, null, 2) + '\n');
writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({
  name: 'fm-store-client-pack-test', version: '0.0.0', lockfileVersion: 3, requires: true, packages,
}, null, 2) + '\n');
