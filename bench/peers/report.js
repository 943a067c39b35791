#!/usr/bin/env node
// Reads the JSON lines run.sh collected (peers.js results and FlowMonkey's, one per system
// and round) and prints one Markdown table: per system the median over the rounds, every
// round's processing rate, and ratios of medians to FlowMonkey through the server.
'use strict';
const fs = require('fs');

const rows = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l));
const label = {
  'flowmonkey-server': 'FlowMonkey `jobs` through the server (gRPC)',
  'flowmonkey-direct': 'FlowMonkey `jobs` direct (in-process store, no server)',
  'flowmonkey-push': 'FlowMonkey `JobStore.Work` push, C++ JobWorker (batch = credits per worker)',
  'graphile-worker': 'graphile-worker, defaults (1 job per fetch, 1 per complete)',
  'graphile-worker-batched': 'graphile-worker, localQueue + completeJobBatchDelay',
  'pg-boss': 'pg-boss, work({batchSize}) × concurrency',
  'pg-boss-fetch': 'pg-boss, fetch({batchSize}) + complete(ids) loops',
};
const median = xs => {
  const s = xs.filter(x => x != null).sort((a, b) => a - b);
  if (!s.length) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : Math.round((s[s.length / 2 - 1] + s[s.length / 2]) / 2);
};

const order = ['flowmonkey-server', 'flowmonkey-push', 'flowmonkey-direct'];
for (const r of rows) if (!order.includes(r.mode)) order.push(r.mode);
const systems = order.map(mode => {
  const rs = rows.filter(r => r.mode === mode).sort((a, b) => a.round - b.round);
  return rs.length && {
    mode, version: rs[0].version, batch: rs[0].batch,
    enqueue: median(rs.map(r => r.enqueue_per_s)),
    process: median(rs.map(r => r.process_per_s)),
    e2e: median(rs.map(r => r.end_to_end_per_s)),
    rounds: rs.map(r => r.process_per_s).join(' / '),
    others: rs.map(r => r.other_cores).join(' / '),
  };
}).filter(Boolean);

const fm = systems.find(s => s.mode === 'flowmonkey-server');
const ratio = v => (fm && fm.process > 0 ? `${(v / fm.process).toFixed(2)}x` : 'n/a');
console.log('| system | version | batch | enqueue jobs/s | process jobs/s | vs FlowMonkey | ' +
  'end-to-end jobs/s | vs FlowMonkey | process jobs/s per round | other CPU per round (cores) |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const s of systems) {
  console.log(`| ${label[s.mode] || s.mode} | ${s.version} | ${s.batch} | ${s.enqueue ?? '—'} | ` +
    `${s.process} | ${ratio(s.process)} | ${s.e2e} | ${ratio(s.e2e)} | ${s.rounds} | ${s.others} |`);
}

const push = rows.filter(r => r.mode === 'flowmonkey-push');
if (push.length) {
  const ms = xs => median(xs.map(x => Math.round(Number(x) * 1000))) / 1000;
  console.log();
  console.log(`FlowMonkey push latency, a Create's acknowledgement to the idle worker's handler ` +
    `(500 jobs one at a time, median of rounds): p50 ${ms(push.map(r => r.p50_ms))} ms, ` +
    `p99 ${ms(push.map(r => r.p99_ms))} ms; errors ${push.map(r => r.errors).join(' / ')}.`);
}
