// Copies the repository's .proto files into this package (./proto), so the built package
// carries the contract it was compiled against. At run time src/grpc.ts loads them from
// there, falling back to the repository's proto/ directory.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, '..', '..', '..', 'proto');
const target = join(here, '..', 'proto');
if (!existsSync(source)) {
  console.error(`copy-protos: ${source} not found`);
  process.exit(1);
}
rmSync(target, { recursive: true, force: true });
cpSync(source, target, { recursive: true, filter: (p) => !p.endsWith('.md') });
