#!/usr/bin/env node
// One job-queue library, one mode, one measured cycle: enqueue N no-op jobs in bulk, then
// process them with C concurrent workers; prints one JSON line with the rates. Called by
// run.sh (which starts the throwaway PostgreSQL); usable alone with FM_DATABASE_URL set:
//
//   FM_DATABASE_URL='host=127.0.0.1 port=5432 user=postgres dbname=postgres' \
//     node peers.js --mode=graphile-worker-batched --jobs=20000 --concurrency=8 --batch=100
//
// Modes:
//   graphile-worker          run({concurrency}) with library defaults: each worker fetches
//                            one job per query and completes it with one query.
//   graphile-worker-batched  + preset.worker.localQueue.size = batch (one query locks a batch,
//                            workers are served from memory) and completeJobBatchDelay
//                            (completions of several jobs are merged into one query).
//   pg-boss                  `concurrency` × boss.work(queue, {batchSize, pollingIntervalSeconds
//                            = 0.5 (the minimum)}, handler(jobs[])); pg-boss completes the
//                            batch in one query after the handler resolves.
//   pg-boss-fetch            `concurrency` loops of boss.fetch(queue, {batchSize}) → handler →
//                            await boss.complete(queue, ids): the same queries as work(), but
//                            without work()'s polling sleep between batches.
//
// Processing time runs from starting the workers until PostgreSQL shows every job finished
// (graphile-worker deletes a job on success; pg-boss sets state = 'completed'), so batched
// completions still in flight count as unfinished. To keep the check from loading the
// database during the run, it starts once the handlers have seen all N jobs, then polls
// every 20 ms on a separate connection. Every job id must reach the handler exactly once.
//
// PEERS_DEBUG=1 prints progress every 10,000 jobs and when the handlers have seen all.
'use strict';

const { Client } = require('pg');

function args() {
  const out = { jobs: 20000, concurrency: 8, batch: 100, 'enqueue-chunk': 1000,
    'complete-delay': 0, warmup: 2000, mode: 'graphile-worker' };
  for (const a of process.argv.slice(2)) {
    const m = /^--([a-z-]+)=(.*)$/.exec(a);
    if (!m || !(m[1] in out)) throw new Error(`peers.js: unknown argument ${a}`);
    out[m[1]] = m[1] === 'mode' ? m[2] : Number(m[2]);
  }
  return out;
}

// libpq keyword/value ("host=... port=...") or a URL, as node-postgres wants it.
function connectionString(url) {
  if (/^postgres(ql)?:\/\//.test(url)) return url;
  const kv = Object.fromEntries(url.trim().split(/\s+/).map(p => p.split('=')));
  const auth = kv.user ? `${encodeURIComponent(kv.user)}${kv.password ? ':' + encodeURIComponent(kv.password) : ''}@` : '';
  return `postgres://${auth}${kv.host || '127.0.0.1'}:${kv.port || 5432}/${kv.dbname || 'postgres'}`;
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

async function waitUntil(client, sql, params, done) {
  for (;;) {
    const { rows } = await client.query(sql, params);
    if (done(Number(rows[0].n))) return;
    await sleep(20);
  }
}

// Job ids the handlers saw; `all` resolves once `n` distinct ids have been handled.
class Seen {
  constructor(n) {
    this.n = n; this.ids = new Set(); this.duplicates = 0;
    this.all = new Promise(resolve => { this.resolve = resolve; });
    if (n === 0) this.resolve();
  }
  add(id) {
    if (this.ids.has(id)) { this.duplicates++; return; }
    this.ids.add(id);
    if (process.env.PEERS_DEBUG && this.ids.size % 10000 === 0) console.error(`${new Date().toISOString().slice(17, 23)} ${this.ids.size}`);
    if (this.ids.size === this.n) this.resolve();
  }
}

function chunks(n, size, make) {
  const out = [];
  for (let i = 0; i < n; i += size) {
    out.push(Array.from({ length: Math.min(size, n - i) }, (_, k) => make(i + k)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
async function graphile(o, url, probe, n, batched) {
  const { makeWorkerUtils, run, Logger } = require('graphile-worker');
  const logger = new Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') console.error(`graphile-worker ${level}: ${message}`);
  });
  const utils = await makeWorkerUtils({ connectionString: url, logger });
  await utils.migrate();
  const tag = `${Date.now()}`;
  let t0 = process.hrtime.bigint();
  for (const chunk of chunks(n, o['enqueue-chunk'], i => ({ identifier: 'noop', payload: { tag, i } }))) {
    await utils.addJobs(chunk);
  }
  const enqueueS = Number(process.hrtime.bigint() - t0) / 1e9;
  const seen = new Seen(n);
  const preset = batched
    ? { worker: { localQueue: { size: o.batch }, completeJobBatchDelay: o['complete-delay'] } }
    : {};
  t0 = process.hrtime.bigint();
  const runner = await run({
    connectionString: url,
    concurrency: o.concurrency,
    maxPoolSize: o.concurrency + 2,
    noHandleSignals: true,
    logger,
    preset,
    taskList: { noop: async (_payload, helpers) => { seen.add(helpers.job.id); } },
  });
  await seen.all;
  if (process.env.PEERS_DEBUG) console.error(`handlers saw all ${n} after ${Number(process.hrtime.bigint() - t0) / 1e9} s`);
  await waitUntil(probe, 'SELECT count(*) AS n FROM graphile_worker._private_jobs', [], left => left === 0);
  const processS = Number(process.hrtime.bigint() - t0) / 1e9;
  await runner.stop();
  await utils.release();
  const version = require('graphile-worker/package.json').version;
  return { enqueueS, processS, seen, version };
}

// ---------------------------------------------------------------------------------------
async function pgboss(o, url, probe, n, fetchLoop) {
  const PgBoss = require('pg-boss');
  // No background maintenance or cron during the measurement; nothing in the workload
  // needs it (no expiry, no retries, no schedules).
  const boss = new PgBoss({ connectionString: url, max: o.concurrency + 2, supervise: false,
    schedule: false });
  boss.on('error', e => console.error(`pg-boss error: ${e.message}`));
  await boss.start();
  const queue = `noop-${fetchLoop ? 'fetch' : 'work'}-${Date.now()}`;
  await boss.createQueue(queue);
  let t0 = process.hrtime.bigint();
  for (const chunk of chunks(n, o['enqueue-chunk'], i => ({ name: queue, data: { i } }))) {
    await boss.insert(chunk);
  }
  const enqueueS = Number(process.hrtime.bigint() - t0) / 1e9;
  const seen = new Seen(n);
  const handler = async jobs => { for (const j of jobs) seen.add(j.id); };
  t0 = process.hrtime.bigint();
  let loops = [];
  if (fetchLoop) {
    loops = Array.from({ length: o.concurrency }, async () => {
      for (;;) {
        const jobs = await boss.fetch(queue, { batchSize: o.batch });
        if (!jobs || jobs.length === 0) return;  // everything was enqueued up front
        await handler(jobs);
        await boss.complete(queue, jobs.map(j => j.id));
      }
    });
  } else {
    for (let w = 0; w < o.concurrency; w++) {
      await boss.work(queue, { batchSize: o.batch, pollingIntervalSeconds: 0.5 }, handler);
    }
  }
  await seen.all;
  if (process.env.PEERS_DEBUG) console.error(`handlers saw all ${n} after ${Number(process.hrtime.bigint() - t0) / 1e9} s`);
  await waitUntil(probe, "SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state = 'completed'",
    [queue], done => done === n);
  const processS = Number(process.hrtime.bigint() - t0) / 1e9;
  await Promise.all(loops);
  if (!fetchLoop) await boss.offWork(queue);
  await boss.stop({ graceful: true, wait: true, timeout: 5000 });
  const version = require('pg-boss/package.json').version;
  return { enqueueS, processS, seen, version };
}

// ---------------------------------------------------------------------------------------
async function main() {
  const o = args();
  const url = connectionString(process.env.FM_DATABASE_URL || '');
  if (!process.env.FM_DATABASE_URL) throw new Error('peers.js: FM_DATABASE_URL is not set');
  const probe = new Client({ connectionString: url });
  await probe.connect();
  const cycle = n => {
    switch (o.mode) {
      case 'graphile-worker': return graphile(o, url, probe, n, false);
      case 'graphile-worker-batched': return graphile(o, url, probe, n, true);
      case 'pg-boss': return pgboss(o, url, probe, n, false);
      case 'pg-boss-fetch': return pgboss(o, url, probe, n, true);
      default: throw new Error(`peers.js: unknown mode ${o.mode}`);
    }
  };
  if (o.warmup > 0) await cycle(o.warmup);  // JIT, prepared statements, schema install
  const cpu0 = process.cpuUsage();
  const r = await cycle(o.jobs);
  const cpu = process.cpuUsage(cpu0);
  await probe.end();
  const missing = o.jobs - r.seen.ids.size;
  const result = {
    mode: o.mode, version: r.version, jobs: o.jobs, concurrency: o.concurrency,
    batch: /batched|pg-boss/.test(o.mode) ? o.batch : 1,
    enqueue_s: +r.enqueueS.toFixed(3), process_s: +r.processS.toFixed(3),
    enqueue_per_s: Math.round(o.jobs / r.enqueueS), process_per_s: Math.round(o.jobs / r.processS),
    end_to_end_per_s: Math.round(o.jobs / (r.enqueueS + r.processS)),
    node_cpu_ms_per_1k_jobs: +((cpu.user + cpu.system) / 1000 / (o.jobs / 1000)).toFixed(1),
    duplicates: r.seen.duplicates, missing,
  };
  console.log(JSON.stringify(result));
  if (missing !== 0 || r.seen.duplicates !== 0) process.exit(1);
}

main().catch(e => { console.error(e); process.exit(1); });
