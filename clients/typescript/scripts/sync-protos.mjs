// The package carries its own copy of the contract (./proto, committed), so it builds and
// packs without anything outside this folder. Inside the FlowMonkey Store repository this
// refreshes that copy from the repository's proto/ first (the source of truth; a drift
// shows up in `git status`); elsewhere (an unpacked tarball, a copy of this folder) the
// committed copy is used as it is.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, '..', 'proto');
const repo = join(here, '..', '..', '..');
const source = join(repo, 'proto');
if (existsSync(join(source, 'flowmonkey', 'v1')) && existsSync(join(repo, 'clients', 'typescript', 'package.json'))) {
  rmSync(target, { recursive: true, force: true });
  cpSync(source, target, { recursive: true, filter: (p) => !p.endsWith('.md') });
} else if (!existsSync(join(target, 'flowmonkey', 'v1'))) {
  console.error(`sync-protos: no protos in ${target}`);
  process.exit(1);
}
