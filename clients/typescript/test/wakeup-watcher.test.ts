// WakeupWatcher (ExecutionStore.WatchWakeups) against a real server (FM_TARGET, set by
// scripts/with-test-server), through the installed package; and, last, against an
// in-process fake ExecutionStore for what a real server cannot be made to do on cue (a
// stream that breaks while a handler runs). Every real-server test saves its executions
// under a tenant of its own and watches (and claims) only that tenant, so other tests'
// waiting executions never reach it. Waits are on conditions, bounded; nothing asserts on
// timing.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { it, target } from './server';
import {
  connect, Connection, Execution, Stores, Wakeup, WakeupHandler, WakeupWatcher, WakeupWatcherOptions,
} from '@flowmonkey/store-client';

let stores: Stores;
before(async () => {
  stores = await connect({ target, loadFlows: false });
});
after(() => stores?.close());

const kWaitMs = 60_000;

/** Waits until check() answers true; a watcher stopped by its stream's ending throws that error. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, watchers: WakeupWatcher[] = []): Promise<void> {
  const deadline = Date.now() + kWaitMs;
  for (;;) {
    for (const watcher of watchers) if (watcher.error) throw watcher.error;
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A promise the test resolves when it wants a handler to go on. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

const newTenant = (): string => `ts-wake-${randomUUID()}`;

/** A waiting execution of this tenant (wakeAt, waitStartedAt, ... from `fields`). */
async function saveWaiting(tenantId: string, fields: Partial<Execution>): Promise<Execution> {
  const now = Date.now();
  const e: Execution = {
    id: `ts-wake-${randomUUID()}`, flowId: 'wake-flow', flowVersion: '1.0.0', currentStepId: 'wait',
    status: 'waiting', context: { n: 1 }, stepCount: 1, createdAt: now, updatedAt: now, tenantId, ...fields,
  };
  await stores.stateStore.save(e);
  return e;
}

/** The unary ClaimWakeups of this tenant (leases what it returns for 1 s). */
async function claim(tenantId: string): Promise<Array<{ execution_id: string; wake_at?: number }>> {
  const r = await stores.connection.service('flowmonkey.v1.ExecutionStore').call('ClaimWakeups', {
    limit: 1000, ack_timeout_ms: 1000, ids_only: true, tenant_id: tenantId,
  });
  return r.wakeups;
}

function newWatcher(handler: WakeupHandler, options: WakeupWatcherOptions = {}, errors: unknown[] = []): WakeupWatcher {
  return new WakeupWatcher(stores.connection, handler, { onError: (e) => errors.push(e), ...options });
}

/** Counts handler calls by execution id. */
function recorder(): { calls: Map<string, number>; seen: Wakeup[]; record: (w: Wakeup) => void } {
  const calls = new Map<string, number>();
  const seen: Wakeup[] = [];
  return {
    calls, seen,
    record: (w) => {
      calls.set(w.executionId, (calls.get(w.executionId) ?? 0) + 1);
      seen.push(w);
    },
  };
}

describe('WakeupWatcher (ExecutionStore.WatchWakeups)', () => {
  it('each due wake-up is delivered once and acked; the future one is not delivered; ClaimWakeups finds nothing after', async () => {
    const tenantId = newTenant();
    const now = Date.now();
    const due: Execution[] = [];
    for (let n = 1; n <= 5; ++n) due.push(await saveWaiting(tenantId, { wakeAt: now - n * 1000 }));
    // A wait that timed out: its deadline is waitStartedAt + waitTimeoutMs.
    const timedOut = await saveWaiting(tenantId, { waitStartedAt: now - 10_000, timeoutConfig: { waitTimeoutMs: 5_000 } });
    const future = await saveWaiting(tenantId, { wakeAt: now + 3_600_000 });
    const { calls, seen, record } = recorder();
    const errors: unknown[] = [];
    const watcher = newWatcher(async (w) => {
      record(w);
      await new Promise((resolve) => setImmediate(resolve));
    }, { tenantId }, errors);
    try {
      await watcher.start();
      await waitFor('6 acks', () => watcher.ackedCount() >= 6, [watcher]);
      await watcher.stop();
      assert.deepEqual(errors, []);
      assert.equal(watcher.deliveredCount(), 6);
      assert.equal(watcher.ackedCount(), 6);
      assert.equal(watcher.failedCount(), 0);
      assert.equal(watcher.activeCount(), 0);
      assert.deepEqual([...calls.keys()].sort(), [...due, timedOut].map((e) => e.id).sort());
      for (const [id, count] of calls) assert.equal(count, 1, `${id} delivered ${count} times`);
      assert.ok(!calls.has(future.id), 'the future wake-up was delivered');
      for (const e of due) {
        const w = seen.find((s) => s.executionId === e.id);
        assert.ok(w);
        assert.equal(w.wakeAt, e.wakeAt);
        assert.equal(w.waitDeadlineAt, undefined);
        assert.equal(w.execution?.id, e.id);
        assert.equal(w.execution?.status, 'waiting');
        assert.equal(w.execution?.tenantId, tenantId);
        assert.deepEqual(w.execution?.context, { n: 1 });
      }
      const wait = seen.find((s) => s.executionId === timedOut.id);
      assert.equal(wait?.waitDeadlineAt, now - 10_000 + 5_000);
      assert.equal(wait?.wakeAt, undefined);
      // All acknowledged (stop() resolved after the server finished the stream, which it
      // does once the acks it read are written).
      assert.deepEqual(await claim(tenantId), []);
      // A new wake_at of an acknowledged execution is a new wake-up.
      await stores.stateStore.save({ ...due[0], wakeAt: now - 500, updatedAt: Date.now() });
      assert.deepEqual((await claim(tenantId)).map((w) => [w.execution_id, w.wake_at]), [[due[0].id, now - 500]]);
    } finally {
      await watcher.stop();
    }
  });

  it('two watchers: each of 30 due wake-ups goes to exactly one of them', async () => {
    const tenantId = newTenant();
    const deliveries = new Map<string, number>();
    const byWatcher = [0, 0];
    const errors: unknown[] = [];
    const watchers = [0, 1].map((i) => newWatcher(async (w) => {
      deliveries.set(w.executionId, (deliveries.get(w.executionId) ?? 0) + 1);
      ++byWatcher[i];
      await new Promise((resolve) => setTimeout(resolve, 5));
    }, { tenantId, maxUnacked: 4 }, errors));
    const total = () => watchers.reduce((sum, w) => sum + w.ackedCount(), 0);
    try {
      await Promise.all(watchers.map((w) => w.start()));
      const now = Date.now();
      const ids: string[] = [];
      for (let n = 0; n < 30; ++n) ids.push((await saveWaiting(tenantId, { wakeAt: now - 1000 - n })).id);
      await waitFor('30 acks', () => total() >= 30, watchers);
      await Promise.all(watchers.map((w) => w.stop()));
      assert.deepEqual(errors, []);
      assert.equal(total(), 30);
      assert.equal(watchers.reduce((sum, w) => sum + w.deliveredCount(), 0), 30);
      assert.deepEqual([...deliveries.keys()].sort(), [...ids].sort());
      for (const [id, count] of deliveries) assert.equal(count, 1, `${id} delivered ${count} times`);
      assert.equal(byWatcher[0] + byWatcher[1], 30);
      assert.deepEqual(await claim(tenantId), []);
    } finally {
      await Promise.all(watchers.map((w) => w.stop()));
    }
  });

  it('a handler that throws: that wake-up is not acked (released by stop(), claimable at once); the others are', async () => {
    const tenantId = newTenant();
    const now = Date.now();
    const executions: Execution[] = [];
    for (let n = 0; n < 5; ++n) executions.push(await saveWaiting(tenantId, { wakeAt: now - 1000 - n }));
    const bad = executions[2];
    const errors: unknown[] = [];
    const { calls, record } = recorder();
    // A long ack timeout: the failed one is not delivered again while the test runs.
    const watcher = newWatcher(async (w) => {
      record(w);
      if (w.executionId === bad.id) throw new Error('resume failed');
    }, { tenantId, ackTimeoutMs: 600_000 }, errors);
    try {
      await watcher.start();
      await waitFor('4 acks and a failure', () => watcher.ackedCount() >= 4 && watcher.failedCount() >= 1, [watcher]);
      await watcher.stop();
      assert.equal(watcher.deliveredCount(), 5);
      assert.equal(watcher.ackedCount(), 4);
      assert.equal(watcher.failedCount(), 1);
      assert.equal(calls.get(bad.id), 1);
      assert.equal(errors.length, 1);
      assert.match(String(errors[0]), /resume failed/);
      // The clean close released the one it held (not waiting for the 10-minute lease).
      assert.deepEqual((await claim(tenantId)).map((w) => w.execution_id), [bad.id]);
    } finally {
      await watcher.stop();
    }
  });

  it('stop() waits for the running handler, acks it, and resolves once the stream is over; idsOnly delivers no execution', async () => {
    const tenantId = newTenant();
    const now = Date.now();
    const executions: Execution[] = [];
    for (let n = 0; n < 3; ++n) executions.push(await saveWaiting(tenantId, { wakeAt: now - 1000 - n }));
    const release = gate();
    const { seen, record } = recorder();
    const errors: unknown[] = [];
    const watcher = newWatcher(async (w) => {
      record(w);
      await release.wait;
    }, { tenantId, idsOnly: true }, errors);
    try {
      await watcher.start();
      await waitFor('3 handlers running', () => watcher.activeCount() === 3, [watcher]);
      let stopped = false;
      const stopping = watcher.stop().then(() => {
        stopped = true;
      });
      // Give stop() every chance to resolve early: it must not while handlers run.
      for (let n = 0; n < 10; ++n) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(stopped, false, 'stop() resolved while handlers were running');
      assert.equal(watcher.ackedCount(), 0);
      release.open();
      await stopping;
      assert.equal(watcher.activeCount(), 0);
      assert.equal(watcher.ackedCount(), 3);
      assert.equal(watcher.error, undefined);
      assert.deepEqual(errors, []);
      assert.equal(seen.length, 3);
      for (const w of seen) {
        assert.equal(w.execution, undefined, 'idsOnly: no execution');
        assert.ok(!('execution' in w));
        assert.equal(w.wakeAt, executions.find((e) => e.id === w.executionId)?.wakeAt);
      }
      // The acks were sent before the stream closed, and the server wrote them before ending it.
      assert.deepEqual(await claim(tenantId), []);
      await watcher.stop();  // again: nothing to do
    } finally {
      release.open();
      await watcher.stop();
    }
  });

  it('a subscription the server refuses (INVALID_ARGUMENT) stops the watcher with that error', async () => {
    const errors: unknown[] = [];
    const watcher = newWatcher(async () => {}, { ackTimeoutMs: 10, tenantId: newTenant() }, errors);
    await watcher.start();
    await waitFor('the refusal', () => watcher.error !== undefined);
    assert.equal((watcher.error as { code: number }).code, grpc.status.INVALID_ARGUMENT);
    assert.equal(errors.length, 1);
    await watcher.stop();
  });
});

// --- against a fake ExecutionStore -------------------------------------------------------------

const protoRoot = join(dirname(require.resolve('@flowmonkey/store-client/package.json')), 'proto');
const executionStoreService = (grpc.loadPackageDefinition(protoLoader.loadSync(
  [join(protoRoot, 'flowmonkey', 'v1', 'execution.proto')],
  { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [protoRoot] },
)) as any).flowmonkey.v1.ExecutionStore.service;

interface WatchCall {
  call: grpc.ServerDuplexStream<any, any>;
  messages: any[];
  ended: boolean;
}

async function fakeServer() {
  const watches: WatchCall[] = [];
  const acks: any[] = [];
  const server = new grpc.Server();
  server.addService(executionStoreService, {
    WatchWakeups(call: grpc.ServerDuplexStream<any, any>) {
      const watch: WatchCall = { call, messages: [], ended: false };
      watches.push(watch);
      call.on('data', (message) => watch.messages.push(message));
      call.on('end', () => {
        watch.ended = true;
        call.end();
      });
      call.on('error', () => {});
    },
    AckWakeups: (call: any, callback: any) => {
      acks.push(call.request);
      callback(null, { acknowledged: call.request.wakeups.length });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0',
    grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))));
  return { watches, acks, server, target: `127.0.0.1:${port}` };
}

const pushed = (id: string, wakeAt: number) => ({ execution_id: id, wake_at: wakeAt, lease_until: 1_000 + wakeAt });
const ackedIds = (watch: WatchCall): string[] => watch.messages.flatMap((m) => m.ack ?? []);

test('a stream that breaks: reopened with the subscription; a handler of the old one is acked with AckWakeups', async () => {
  const fake = await fakeServer();
  const connection = new Connection({ target: fake.target });
  const release = gate();
  const handled: string[] = [];
  const errors: unknown[] = [];
  const watcher = new WakeupWatcher(connection, async (w) => {
    handled.push(w.executionId);
    if (w.executionId === 'b') await release.wait;
  }, { maxUnacked: 3, ackTimeoutMs: 5_000, initialBackoffMs: 10, onError: (e) => errors.push(e) });
  try {
    await watcher.start();
    await waitFor('the subscription', () => fake.watches[0]?.messages.length === 1);
    assert.equal(fake.watches[0].messages[0].subscribe.max_unacked, 3);
    assert.equal(fake.watches[0].messages[0].subscribe.ack_timeout_ms, 5_000);
    assert.equal(fake.watches[0].messages[0].subscribe.ids_only, false);
    // a and c resolve at once (acked together, in one message), b waits for the gate.
    fake.watches[0].call.write({ wakeups: [pushed('a', 1), pushed('b', 2), pushed('c', 3)] });
    await waitFor('a and c acked', () => ackedIds(fake.watches[0]).length === 2);
    assert.deepEqual(fake.watches[0].messages.slice(1).map((m) => m.ack), [['a', 'c']]);
    fake.watches[0].call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'going away' });
    await waitFor('a new stream', () => fake.watches.length === 2 && fake.watches[1].messages.length === 1);
    assert.equal(fake.watches[1].messages[0].subscribe.max_unacked, 3);
    assert.equal(watcher.error, undefined);
    // b finishes: its stream is gone, so it is acked by its values with the unary call.
    release.open();
    await waitFor('the unary ack', () => fake.acks.length === 1);
    assert.deepEqual(fake.acks[0].wakeups.map((w: any) => [w.execution_id, w.wake_at, w.lease_until]), [['b', 2, 1_002]]);
    assert.equal(fake.acks[0].release, false);
    // The new stream delivers and acks as the first did.
    fake.watches[1].call.write({ wakeups: [pushed('d', 4)] });
    await waitFor('d acked', () => ackedIds(fake.watches[1]).length === 1);
    await watcher.stop();
    assert.ok(fake.watches[1].ended, 'stop() half-closes the stream');
    assert.deepEqual(handled.sort(), ['a', 'b', 'c', 'd']);
    assert.equal(watcher.deliveredCount(), 4);
    assert.equal(watcher.ackedCount(), 4);
    assert.equal(watcher.failedCount(), 0);
    assert.ok(errors.some((e) => (e as { code?: number }).code === grpc.status.UNAVAILABLE));
  } finally {
    release.open();
    await watcher.stop();
    connection.close();
    fake.server.forceShutdown();
  }
});
