#!/usr/bin/env node
// Samples, every 250 ms, the CPU used by processes that are NOT part of this benchmark, so
// a run on a shared machine says how much of it someone else (e.g. a C++ build) took.
// "Ours" = descendants of ROOT_PID (scripts/with-test-server: run.sh, node, flowmonkey-server,
// flowmonkey-bench) and of POSTMASTER_PID (the throwaway PostgreSQL). Appends
// "epoch_ms other_cores" lines to OUT until killed. Short-lived processes that start and
// exit between two samples are missed.
//
//   node othercpu.js ROOT_PID POSTMASTER_PID OUT
'use strict';
const fs = require('fs');

const [rootPid, postmasterPid, out] = process.argv.slice(2);
const ours = new Set([Number(rootPid), Number(postmasterPid), process.pid]);
const hz = 100;  // USER_HZ; Linux reports /proc/*/stat times in it on every common platform

function snapshot() {
  const procs = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try { stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8'); } catch { continue; }
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');  // after "pid (comm) "
    procs.set(Number(name), { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) });
  }
  return procs;
}

function isOurs(pid, procs) {
  for (let p = pid, depth = 0; p > 1 && depth < 64; depth++) {
    if (ours.has(p)) return true;
    const info = procs.get(p);
    if (!info) return false;
    p = info.ppid;
  }
  return false;
}

let prev = snapshot();
let prevAt = Date.now();
setInterval(() => {
  const now = snapshot();
  const at = Date.now();
  let ticks = 0;
  for (const [pid, info] of now) {
    if (isOurs(pid, now)) continue;
    const before = prev.get(pid);
    ticks += before ? Math.max(0, info.ticks - before.ticks) : info.ticks;
  }
  const cores = ticks / hz / ((at - prevAt) / 1000);
  fs.appendFileSync(out, `${at} ${cores.toFixed(3)}\n`);
  prev = now;
  prevAt = at;
}, 250);
