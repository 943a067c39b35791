// Checks a Grafana dashboard against a live /metrics scrape of flowmonkey-server (issue 19):
//
//   node check.mjs DASHBOARD.json SCRAPE.txt [--quiet]
//
// - the dashboard parses as JSON;
// - every panel (rows' nested panels too) has a unique integer id; every panel but a row has
//   a datasource, and it is the ${datasource} template variable (no hard-coded uid); every
//   such panel has targets, each with a non-empty `expr` and a unique refId;
// - every metric name an `expr` (or a variable's label_values query) selects is a series name
//   in the scrape (histograms: family_bucket, _sum, _count), except names on the allow-list
//   below: metrics a server exports only in a configuration check.sh does not start, each
//   with its reason; an allow-listed name must appear, quoted, in server/metrics.cc, so the
//   list cannot hide a typo;
// - every $variable an expression uses is a dashboard variable or one of Grafana's own, and
//   its (), {} and [] balance.
// Prints `FAIL ...` lines and exits 1 on any failure; otherwise prints one summary line.
// No npm dependencies (Node.js 20).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const metricsSource = join(here, '..', '..', 'server', 'metrics.cc');

// Metrics the dashboard may use although check.sh's server does not export them: name ->
// [configuration in which the server exports it, why]. check.sh starts one server against
// one PostgreSQL (scripts/with-test-server), without --read-database-url.
const allowList = {
  flowmonkey_replica_usable: ['--read-database-url',
    'registered on the first replica check (Metrics::SetReplica), only when the server has a read replica'],
  flowmonkey_replica_lag_seconds: ['--read-database-url', 'as flowmonkey_replica_usable'],
  flowmonkey_replica_lag_bytes: ['--read-database-url', 'as flowmonkey_replica_usable'],
  flowmonkey_replica_reads_total: ['--read-database-url',
    'registered with the other replica metrics (Metrics::CountReplicaRead / SetReplica)'],
};

// Grafana's built-in variables an expression may use besides the dashboard's own.
const builtinVariables = new Set(['__rate_interval', '__interval', '__interval_ms', '__range',
  '__range_s', '__range_ms', '__from', '__to', '__dashboard', '__org', '__user', '__name']);
// PromQL words that are not metric names where a metric name could stand.
const aggregations = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count',
  'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
const keywords = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left',
  'group_right', 'offset', 'bool', 'atan2', 'inf', 'nan', 'Inf', 'NaN']);
const grouping = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

const args = process.argv.slice(2).filter((a) => a !== '--quiet');
const quiet = process.argv.includes('--quiet');
if (args.length !== 2) {
  console.error('usage: node check.mjs DASHBOARD.json SCRAPE.txt [--quiet]');
  process.exit(2);
}
const [dashboardPath, scrapePath] = args;
const failures = [];
const fail = (message) => failures.push(message);

function finish(summary) {
  if (failures.length) {
    if (!quiet) for (const f of failures) console.log(`FAIL ${f}`);
    console.log(`grafana: ${failures.length} failure(s) in ${dashboardPath}`);
    process.exit(1);
  }
  console.log(summary);
  process.exit(0);
}

// ---- The scrape: series names, and the family each belongs to.
const scrape = readFileSync(scrapePath, 'utf8');
const types = new Map();  // family -> counter | gauge | histogram | summary | untyped
const seriesNames = new Set();
for (const line of scrape.split('\n')) {
  const type = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)/);
  if (type) { types.set(type[1], type[2]); continue; }
  if (line.startsWith('#') || line.trim() === '') continue;
  const name = line.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*/);
  if (name) seriesNames.add(name[0]);
}
if (!seriesNames.has('flowmonkey_build_info')) {
  fail(`${scrapePath}: no flowmonkey_build_info sample: not a flowmonkey-server scrape`);
}
// The family a series name belongs to: histograms and summaries add _bucket, _sum, _count.
function familyOf(name) {
  const m = name.match(/^(.*)_(bucket|sum|count)$/);
  if (m && (types.get(m[1]) === 'histogram' || (m[2] !== 'bucket' && types.get(m[1]) === 'summary'))) {
    return m[1];
  }
  return name;
}

// ---- The dashboard.
let dashboard;
try {
  dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8'));
} catch (error) {
  fail(`${dashboardPath}: ${error.message}`);
  finish();
}

const variables = new Set((dashboard.templating?.list ?? []).map((v) => v.name));
const datasourceVariable = (dashboard.templating?.list ?? []).find(
  (v) => v.type === 'datasource' && v.query === 'prometheus');
if (!datasourceVariable) fail('templating: no Prometheus datasource variable');
for (const name of ['instance', 'method']) {
  if (!variables.has(name)) fail(`templating: no "${name}" variable`);
}
const dsRefs = datasourceVariable
  ? new Set([`$${datasourceVariable.name}`, `\${${datasourceVariable.name}}`]) : new Set();
function checkDatasource(where, datasource) {
  if (datasource == null) { fail(`${where}: no datasource`); return; }
  const uid = typeof datasource === 'string' ? datasource : datasource.uid;
  if (!dsRefs.has(uid)) fail(`${where}: datasource ${JSON.stringify(datasource)} is not the datasource variable`);
}

// Removes PromQL string literals (label values, regexes), keeping their length out of the way.
const stripStrings = (expr) => expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');

// The metric names a PromQL expression selects (identifiers that are neither functions,
// aggregations, keywords, label names in {} or grouping lists, nor durations in []).
function metricNames(expr, where) {
  for (const m of expr.matchAll(/\$\{([^}:]+)(?::[^}]*)?\}|\$([a-zA-Z_]\w*)|\[\[([^\]:]+)(?::[^\]]*)?\]\]/g)) {
    const name = m[1] ?? m[2] ?? m[3];
    if (!variables.has(name) && !builtinVariables.has(name)) fail(`${where}: unknown variable $${name} in ${expr}`);
  }
  const code = stripStrings(expr).replace(/\$\{[^}]*\}|\$\w+|\[\[[^\]]*\]\]/g, ' ');
  const stack = [];
  const pairs = { ')': '(', '}': '{', ']': '[' };
  for (const c of code) {
    if ('({['.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) { fail(`${where}: unbalanced '${c}' in ${expr}`); return []; }
  }
  if (stack.length) { fail(`${where}: unclosed '${stack.at(-1)}' in ${expr}`); return []; }

  const tokens = code.match(/[a-zA-Z_:][a-zA-Z0-9_:]*|[0-9][0-9a-zA-Z.]*|\S/g) ?? [];
  const names = [];
  let brace = 0;
  let bracket = 0;
  let groupingDepth = 0;  // > 0 inside by (...), on (...), ...
  let paren = 0;
  let groupingAt = -1;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === '{') brace++;
    else if (t === '}') brace--;
    else if (t === '[') bracket++;
    else if (t === ']') bracket--;
    else if (t === '(') {
      paren++;
      if (grouping.has(tokens[i - 1])) { groupingDepth++; groupingAt = paren; }
    } else if (t === ')') {
      if (groupingDepth && paren === groupingAt) { groupingDepth--; groupingAt = -1; }
      paren--;
    } else if (/^[a-zA-Z_:]/.test(t)) {
      if (brace || bracket || groupingDepth) continue;
      if (keywords.has(t) || aggregations.has(t) || tokens[i + 1] === '(') continue;
      names.push(t);
    }
  }
  return names;
}

const used = new Map();  // metric name as written -> where (first use)
function useMetrics(expr, where) {
  for (const name of metricNames(expr, where)) if (!used.has(name)) used.set(name, where);
}

let queries = 0;
let variableQueries = 0;
const ids = new Map();
function walk(panels, path) {
  for (const panel of panels ?? []) {
    const where = `panel ${panel.id ?? '(no id)'} "${panel.title ?? ''}"`;
    if (!Number.isInteger(panel.id)) fail(`${path}${where}: id is not an integer`);
    else if (ids.has(panel.id)) fail(`${where}: duplicate panel id (also "${ids.get(panel.id)}")`);
    else ids.set(panel.id, panel.title);
    const g = panel.gridPos;
    if (!g || ![g.h, g.w, g.x, g.y].every(Number.isInteger) || g.x + g.w > 24) {
      fail(`${where}: gridPos missing or wider than 24 columns`);
    }
    if (panel.type === 'row') { walk(panel.panels, `${where} > `); continue; }
    checkDatasource(where, panel.datasource);
    if (!Array.isArray(panel.targets) || panel.targets.length === 0) { fail(`${where}: no targets`); continue; }
    const refIds = new Set();
    for (const [i, target] of panel.targets.entries()) {
      const at = `${where} target ${target.refId ?? i}`;
      if (refIds.has(target.refId)) fail(`${at}: duplicate refId`);
      refIds.add(target.refId);
      if (target.datasource !== undefined) checkDatasource(at, target.datasource);
      if (typeof target.expr !== 'string' || target.expr.trim() === '') { fail(`${at}: no expr`); continue; }
      queries++;
      useMetrics(target.expr, at);
    }
  }
}
if (!Array.isArray(dashboard.panels) || dashboard.panels.length === 0) fail('no panels');
walk(dashboard.panels, '');

for (const v of dashboard.templating?.list ?? []) {
  if (v.type !== 'query') continue;
  const where = `variable $${v.name}`;
  checkDatasource(where, v.datasource);
  const query = typeof v.query === 'string' ? v.query : v.query?.query;
  if (typeof query !== 'string' || query.trim() === '') { fail(`${where}: no query`); continue; }
  variableQueries++;
  const lv = query.match(/^\s*label_values\s*\((.*),\s*[a-zA-Z_]\w*\s*\)\s*$/s);
  const qr = query.match(/^\s*query_result\s*\((.*)\)\s*$/s);
  if (lv) useMetrics(lv[1], where);
  else if (qr) useMetrics(qr[1], where);
  else if (!/^\s*label_values\s*\(\s*[a-zA-Z_]\w*\s*\)\s*$/.test(query)) fail(`${where}: query not understood: ${query}`);
}

// ---- Every name in the scrape, or allow-listed and registered in server/metrics.cc.
let source = '';
try { source = readFileSync(metricsSource, 'utf8'); } catch (error) { fail(`${metricsSource}: ${error.message}`); }
const families = new Set();
const onlyWith = new Map();  // configuration -> families used that only it exports
for (const [name, where] of used) {
  const family = familyOf(name);
  families.add(family);
  if (seriesNames.has(name)) continue;
  const allowed = allowList[family] ?? allowList[name];
  if (!allowed) {
    fail(`${where}: ${name} is not in the scrape` +
      (types.has(name) ? ` (a ${types.get(name)}: use ${name}_bucket, _sum or _count)` : ''));
    continue;
  }
  const key = allowList[family] ? family : name;
  if (!source.includes(`"${key}"`)) {
    fail(`${where}: ${key} is allow-listed (${allowed[0]}) but "${key}" is not in ${metricsSource}`);
    continue;
  }
  if (!onlyWith.has(allowed[0])) onlyWith.set(allowed[0], new Set());
  onlyWith.get(allowed[0]).add(key);
}

const extra = [...onlyWith].map(([config, names]) => `${names.size} only with ${config}`).join(', ');
finish(`grafana: ${queries} queries (+${variableQueries} variable queries), ${families.size} metrics, ` +
  `all exported${extra ? ` (${extra})` : ''}; ${ids.size} panels in ${dashboardPath}`);
