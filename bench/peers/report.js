#!/usr/bin/env node
// Reads the JSON lines run.sh collected (peers.js results and FlowMonkey's) and prints one
// Markdown table; ratios are to FlowMonkey through the server.
'use strict';
const fs = require('fs');

const rows = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l));
const fm = rows.find(r => r.mode === 'flowmonkey-server');
const label = {
  'graphile-worker': 'graphile-worker, defaults (1 job per fetch, 1 per complete)',
  'graphile-worker-batched': 'graphile-worker, localQueue + completeJobBatchDelay',
  'pg-boss': 'pg-boss, work({batchSize}) × concurrency',
  'pg-boss-fetch': 'pg-boss, fetch({batchSize}) + complete(ids) loops',
  'flowmonkey-server': 'FlowMonkey, flowmonkey-bench jobs through the server (gRPC)',
  'flowmonkey-direct': 'FlowMonkey, flowmonkey-bench jobs direct (in-process store, no server)',
};
const ratio = v => (fm && fm.process_per_s > 0 ? `${(v / fm.process_per_s).toFixed(2)}x` : 'n/a');
const num = v => (v == null ? '—' : String(v));

console.log('| system | version | batch | enqueue jobs/s | process jobs/s | end-to-end jobs/s | process vs FlowMonkey | end-to-end vs FlowMonkey | load after |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${label[r.mode] || r.mode} | ${r.version} | ${r.batch} | ${num(r.enqueue_per_s)} | ` +
    `${r.process_per_s} | ${r.end_to_end_per_s} | ${ratio(r.process_per_s)} | ${ratio(r.end_to_end_per_s)} | ${num(r.load_after)} |`);
}
