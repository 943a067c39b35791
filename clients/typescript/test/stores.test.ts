// Runs FlowMonkey's store interfaces against a real server (FM_TARGET, set by
// scripts/with-test-server), through the installed package (test/run.sh runs this file in a
// temporary project where the packed tarball is installed). Services missing from proto/
// are reported as skipped.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { it, target } from './server';
import { Code, connect, isCode, Execution, executionVersion, Stores } from '@flowmonkey/store-client';

let stores: Stores;
before(async () => {
  stores = await connect({ target, loadFlows: false });
});
after(() => stores.close());

function newExecution(overrides: Partial<Execution> = {}): Execution {
  const now = Date.now();
  return {
    id: `ts-${randomUUID()}`,
    flowId: 'order-flow',
    flowVersion: '1.0.0',
    currentStepId: 'validate',
    status: 'running',
    context: { order: { id: 42, items: ['a', 'b'] }, approved: false },
    stepCount: 1,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

describe('StateStore', () => {
  it('save/load round trip keeps camelCase fields and leaves optionals undefined', async () => {
    const e = newExecution();
    await stores.stateStore.save(e);
    const loaded = await stores.stateStore.load(e.id);
    assert.ok(loaded);
    assert.equal(loaded.currentStepId, 'validate');
    assert.equal(loaded.status, 'running');
    assert.deepEqual(loaded.context, e.context);
    assert.equal(loaded.flowId, 'order-flow');
    assert.equal(loaded.stepCount, 1);
    for (const key of ['wakeAt', 'waitReason', 'error', 'tenantId', 'metadata', 'idempotencyKey',
      'cancellation', 'parentExecutionId', 'waitStartedAt', 'history', 'version'] as const) {
      assert.ok(!Object.keys(loaded).includes(key), key);
    }
    assert.ok(!Object.values(loaded).includes(null), 'no nulls');
    assert.ok((executionVersion(loaded) ?? 0) >= 1, 'the version is reachable');
  });

  it('optional and nested fields survive a save', async () => {
    const e = newExecution({
      status: 'failed', tenantId: 'acme', metadata: { source: 'api' },
      history: [{ stepId: 'validate', handlerType: 'noop', outcome: 'success', startedAt: 1, completedAt: 2, durationMs: 1 }],
      error: { code: 'E_CARD', message: 'card declined', stepId: 'charge', details: { retry: false }, timestamp: 5 },
      waitReason: 'approval', retryAttempts: { charge: 2 }, parentExecutionId: 'parent-1',
    });
    await stores.stateStore.save(e);
    const loaded = await stores.stateStore.load(e.id);
    assert.ok(loaded);
    assert.equal(loaded.tenantId, 'acme');
    assert.deepEqual(loaded.metadata, { source: 'api' });
    assert.deepEqual(loaded.history, e.history);
    assert.equal(loaded.error?.code, 'E_CARD');
    assert.equal(loaded.error?.stepId, 'charge');
    assert.deepEqual(loaded.error?.details, { retry: false });
    assert.deepEqual(loaded.retryAttempts, { charge: 2 });
    assert.equal(loaded.waitReason, 'approval');
    const children = await stores.stateStore.findChildren('parent-1');
    assert.ok(children.some((c) => c.id === e.id));
  });

  it('load of a missing id is null; delete answers whether it removed', async () => {
    assert.equal(await stores.stateStore.load(`missing-${randomUUID()}`), null);
    const e = newExecution();
    await stores.stateStore.save(e);
    assert.equal(await stores.stateStore.delete(e.id), true);
    assert.equal(await stores.stateStore.delete(e.id), false);
  });

  it('listWakeReady returns waiting executions whose wakeAt has passed', async () => {
    const now = Date.now();
    const due = newExecution({ status: 'waiting', wakeAt: now - 1000, waitStartedAt: now - 2000 });
    const later = newExecution({ status: 'waiting', wakeAt: now + 3_600_000, waitStartedAt: now });
    await stores.stateStore.save(due);
    await stores.stateStore.save(later);
    const ids = await stores.stateStore.listWakeReady(now, 1000);
    assert.ok(ids.includes(due.id));
    assert.ok(!ids.includes(later.id));
    const waiting = await stores.stateStore.listByStatus('waiting', 1000);
    assert.ok(waiting.some((w) => w.id === later.id && w.wakeAt === later.wakeAt));
  });

  it('acquireLock excludes a second holder; extend and release', async () => {
    const e = newExecution();
    await stores.stateStore.save(e);
    const lock = await stores.stateStore.acquireLock(e.id, 30_000);
    assert.ok(lock);
    assert.equal(await stores.stateStore.acquireLock(e.id, 30_000), null);
    assert.equal(await lock.extend(60_000), true);
    await lock.release();
    assert.equal(await lock.extend(60_000), false);
    const again = await stores.stateStore.acquireLock(e.id, 30_000);
    assert.ok(again);
    assert.ok(again.fencingToken > lock.fencingToken);
    await again.release();
  });

  it('findByIdempotencyKey finds a live key', async () => {
    const key = randomUUID();
    const e = newExecution({ idempotencyKey: key, idempotencyExpiresAt: Date.now() + 60_000 });
    await stores.stateStore.save(e);
    const found = await stores.stateStore.findByIdempotencyKey('order-flow', key, 60_000);
    assert.equal(found?.id, e.id);
    assert.equal(await stores.stateStore.findByIdempotencyKey('order-flow', randomUUID(), 60_000), null);
  });

  it('timeout queries find overdue executions and waits', async () => {
    const now = Date.now();
    const old = newExecution({ createdAt: now - 10_000, timeoutConfig: { executionTimeoutMs: 1000 } });
    const wait = newExecution({
      status: 'waiting', waitStartedAt: now - 10_000, timeoutConfig: { waitTimeoutMs: 1000 },
    });
    await stores.stateStore.save(old);
    await stores.stateStore.save(wait);
    const timedOut = await stores.stateStore.findTimedOutExecutions(now);
    assert.ok(timedOut.some((x) => x.id === old.id));
    const waits = await stores.stateStore.findTimedOutWaits(now);
    assert.ok(waits.some((x) => x.id === wait.id));
  });
});

describe('JobStore', () => {
  it('create is idempotent; claim, heartbeat, complete; fencing', async () => {
    const e = newExecution();
    await stores.stateStore.save(e);
    const params = { executionId: e.id, stepId: 'send-email', handler: 'email-send', input: { to: 'a@b.c' }, maxAttempts: 3 };
    const job = await stores.jobStore.getOrCreate(params);
    assert.equal(job.status, 'pending');
    assert.deepEqual(job.input, { to: 'a@b.c' });
    assert.equal(job.runnerId, undefined);
    assert.equal((await stores.jobStore.getOrCreate(params)).id, job.id);

    assert.equal(await stores.jobStore.claim(job.id, 'worker-1'), true);
    const claimed = await stores.jobStore.get(job.id);
    assert.equal(claimed?.status, 'running');
    assert.equal(claimed?.runnerId, 'worker-1');
    assert.equal(await stores.jobStore.claim(job.id, 'worker-2'), false);
    assert.equal(await stores.jobStore.heartbeat(job.id, 'worker-1'), true);
    assert.equal(await stores.jobStore.complete(job.id, 'worker-2', { sent: true }), false);
    assert.equal(await stores.jobStore.complete(job.id, 'worker-1', { sent: true }), true);

    const done = await stores.jobStore.get(job.id);
    assert.equal(done?.status, 'completed');
    assert.deepEqual(done?.result, { sent: true });
    assert.equal((await stores.jobStore.getForStep(e.id, 'send-email'))?.id, job.id);
    assert.deepEqual((await stores.jobStore.listForExecution(e.id)).map((j) => j.id), [job.id]);
    assert.equal(await stores.jobStore.get(`missing-${randomUUID()}`), null);
  });

  it('fail records the error', async () => {
    const e = newExecution();
    await stores.stateStore.save(e);
    const job = await stores.jobStore.getOrCreate({ executionId: e.id, stepId: 's', handler: 'h', input: {} });
    await stores.jobStore.claim(job.id, 'w');
    assert.equal(await stores.jobStore.fail(job.id, 'w', { code: 'SMTP', message: 'refused' }), true);
    const failed = await stores.jobStore.get(job.id);
    assert.ok(failed?.status === 'failed' || failed?.status === 'pending', failed?.status);
    assert.equal(failed?.error?.code, 'SMTP');
  });

  it('runAt, priority and a retry policy schedule the claims', async () => {
    const e = newExecution();
    await stores.stateStore.save(e);
    const handler = `sched-${randomUUID()}`;
    const now = Date.now();
    const hour = 3_600_000;
    const later = await stores.jobStore.create({ executionId: e.id, stepId: 'later', handler, input: {}, runAt: now + hour });
    assert.equal(later.job.runAt, now + hour);
    assert.equal(later.job.priority, 0);
    assert.deepEqual(await stores.jobStore.claimNext('w', [handler], 10), []);
    assert.equal(await stores.jobStore.claim(later.job.id, 'w'), false);

    const low = await stores.jobStore.create({ executionId: e.id, stepId: 'low', handler, input: {}, runAt: now - 2000, priority: 1 });
    const high = await stores.jobStore.create({ executionId: e.id, stepId: 'high', handler, input: {}, runAt: now - 1000, priority: 5 });
    assert.deepEqual((await stores.jobStore.claimNext('w', [handler], 10)).map((j) => j.id), [high.job.id, low.job.id]);

    const retry = { initialBackoffMs: hour, maxBackoffMs: 2 * hour };
    const retried = await stores.jobStore.create({ executionId: e.id, stepId: 'retry', handler, input: {}, maxAttempts: 2, retry });
    assert.deepEqual(retried.job.retry, retry);
    assert.equal(await stores.jobStore.claim(retried.job.id, 'w'), true);
    const before = Date.now();
    const first = await stores.jobStore.failJob(retried.job.id, 'w', { code: 'E', message: 'again' });
    const after = Date.now();
    assert.ok(first?.willRetry);
    assert.ok(first.nextRunAt >= before + hour / 2 && first.nextRunAt <= after + hour, String(first.nextRunAt));
    const pending = await stores.jobStore.get(retried.job.id);
    assert.equal(pending?.status, 'pending');
    assert.equal(pending?.runnerId, undefined);
    assert.equal(await stores.jobStore.claim(retried.job.id, 'w'), false);  // not due yet
    assert.equal(await stores.jobStore.failJob(retried.job.id, 'w', { code: 'E', message: 'x' }), null);
  });
});

describe('ResumeTokenManager', () => {
  it('generate, validate, markUsed once; the second markUsed fails', async () => {
    const e = newExecution({ status: 'waiting' });
    await stores.stateStore.save(e);
    const t = await stores.resumeTokenManager.generate(e.id, 'approval', {
      expiresInMs: 60_000, metadata: { approver: 'manager@example.com' },
    });
    assert.ok(t.token.length >= 40);
    assert.equal(t.status, 'active');
    assert.deepEqual((await stores.resumeTokenManager.validate(t.token)).valid, true);
    const info = await stores.resumeTokenManager.get(t.token);
    assert.equal(info?.executionId, e.id);
    assert.deepEqual(info?.metadata, { approver: 'manager@example.com' });

    await stores.resumeTokenManager.markUsed(t.token);
    assert.equal((await stores.resumeTokenManager.get(t.token))?.status, 'used');
    await assert.rejects(stores.resumeTokenManager.markUsed(t.token),
      (err: unknown) => isCode(err, Code.FAILED_PRECONDITION));
    assert.equal((await stores.resumeTokenManager.validate(t.token)).valid, false);
    assert.equal((await stores.resumeTokenManager.listByExecution(e.id)).length, 1);
    assert.equal(typeof (await stores.resumeTokenManager.cleanupExpired()), 'number');
  });
});

describe('EventStore', () => {
  it('record, query by type, forExecution', async () => {
    const id = `ts-${randomUUID()}`;
    await stores.eventStore.record({ executionId: id, eventType: 'step.started', stepId: 'a' });
    await stores.eventStore.record({ executionId: id, eventType: 'step.completed', stepId: 'a', data: { ms: 150 } });
    const all = await stores.eventStore.forExecution(id);
    assert.deepEqual(all.map((e) => e.eventType), ['step.started', 'step.completed']);
    assert.equal(all[0].data, undefined);
    const completed = await stores.eventStore.query({ executionId: id, eventTypes: ['step.completed'] });
    assert.equal(completed.length, 1);
    assert.deepEqual(completed[0].data, { ms: 150 });
    assert.equal(completed[0].stepId, 'a');
  });
});

describe('FlowRegistry', () => {
  it('register then get latest by semantic version', async (t) => {
    if (!(await serves('flowmonkey.v1.FlowStore', 'Latest', { flow_id: 'x' }))) {
      t.skip('server does not serve flowmonkey.v1.FlowStore');
      return;
    }
    const id = `flow-${randomUUID()}`;
    const flow = (version: string) => ({
      id, version, name: 'Order', initialStepId: 'start',
      steps: {
        start: { id: 'start', type: 'noop', config: {}, input: { type: 'full' as const }, transitions: { onSuccess: 'end' } },
        end: { id: 'end', type: 'noop', config: {}, input: { type: 'full' as const }, transitions: {} },
      },
    });
    stores.flowRegistry.register(flow('1.9.0'));
    stores.flowRegistry.register(flow('1.10.0'));
    await stores.flowRegistry.flush();
    assert.equal(stores.flowRegistry.get(id)?.version, '1.10.0');
    assert.equal(stores.flowRegistry.get(id, '1.9.0')?.initialStepId, 'start');
    assert.ok(stores.flowRegistry.has(id));
    assert.deepEqual(stores.flowRegistry.versions(id), ['1.10.0', '1.9.0']);

    const fresh = await connect({ target, flowRefreshMs: 0 });  // loads the cache from the server
    try {
      assert.equal(fresh.flowRegistry.get(id)?.version, '1.10.0');
      assert.ok(fresh.flowRegistry.flowIds().includes(id));
    } finally {
      fresh.close();
    }
  });
});

describe('ContextStorage', () => {
  it('set, get, list, delete', async (t) => {
    const storage = stores.contextStorage;
    if (!storage || !(await serves('flowmonkey.v1.ContextStorage', 'List', { execution_id: 'x' }))) {
      t.skip('server does not serve flowmonkey.v1.ContextStorage');
      return;
    }
    const e = newExecution();
    await stores.stateStore.save(e);
    const ref = await storage.set(e.id, 'big', { rows: [1, 2, 3] });
    assert.equal(ref._ref, `storage://${e.id}/big`);
    assert.deepEqual(await storage.get(e.id, 'big'), { rows: [1, 2, 3] });
    assert.deepEqual(await storage.list(e.id), ['big']);
    await storage.delete(e.id, 'big');
    assert.equal(await storage.find(e.id, 'big'), undefined);
  });
});

it('health reports SERVING', async () => {
  assert.equal(await stores.health(), 'SERVING');
});

/** False when the server answers UNIMPLEMENTED (the service is not built into it). */
async function serves(service: string, method: string, request: object): Promise<boolean> {
  if (!stores.connection.hasService(service)) return false;
  try {
    await stores.connection.service(service).call(method, request);
  } catch (error) {
    if (isCode(error, Code.UNIMPLEMENTED)) return false;
  }
  return true;
}
