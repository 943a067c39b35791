// Validates the deployment files without a cluster or a Docker engine:
// - every object in deploy/k8s/*.yaml is built with kubernetes-models and .validate()d
//   against the Kubernetes OpenAPI schema (unknown kinds and fields are errors);
// - docker-compose.yml and deploy/ha/docker-compose.yml are linted by dclint (compose-spec
//   schema plus best-practice rules).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const k8sDir = join(root, 'deploy', 'k8s');
let failures = 0;
let passed = 0;

function check(name, fn) {
  try {
    fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (error) {
    failures++;
    console.log(`FAIL ${name}: ${error.message ?? error}`);
  }
}

function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const module = group === '' ? `kubernetes-models/${version}` : `kubernetes-models/${group}/${version}`;
  const Model = require(module)[kind];
  if (!Model) throw new Error(`unknown kind ${apiVersion} ${kind}`);
  return Model;
}

// The kinds a complete deployment needs (issue 6): each must be present.
const required = ['Deployment', 'Service', 'ConfigMap', 'Secret', 'HorizontalPodAutoscaler',
  'PodDisruptionBudget', 'Job'];
const seen = new Set();

for (const file of readdirSync(k8sDir).filter((f) => f.endsWith('.yaml')).sort()) {
  const docs = parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8'));
  for (const doc of docs) {
    if (doc.errors.length) {
      check(file, () => { throw doc.errors[0]; });
      continue;
    }
    const object = doc.toJS();
    if (!object) continue;
    if (object.kind === 'Kustomization') {
      check(`${file} Kustomization`, () => {
        for (const r of object.resources ?? []) {
          if (!existsSync(join(k8sDir, r))) throw new Error(`resource ${r} does not exist`);
        }
      });
      continue;
    }
    check(`${file} ${object.kind}/${object.metadata?.name}`, () => {
      const Model = modelFor(object.apiVersion, object.kind);
      new Model(object).validate();
      seen.add(object.kind);
    });
  }
}
check('every required kind is present', () => {
  const missing = required.filter((k) => !seen.has(k));
  if (missing.length) throw new Error(`missing ${missing.join(', ')}`);
});

// The local stack and its high-availability variant (pg_auto_failover, issue 18).
for (const file of ['docker-compose.yml', 'deploy/ha/docker-compose.yml']) {
  check(`${file} (dclint)`, () => {
    const dclint = join(here, 'node_modules', 'dclint', 'bin', 'dclint.cjs');
    try {
      execFileSync(process.execPath, [dclint, '--max-warnings', '0', join(root, file)],
        { stdio: 'pipe', encoding: 'utf8' });
    } catch (error) {
      throw new Error(`${error.stdout ?? ''}${error.stderr ?? ''}`.trim());
    }
  });
}

console.log(`${passed} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
