// FlowMonkey's semantics, against a real server (FM_TARGET), through the installed package:
// what FlowMonkey's engine and its in-process stores do, the client must do too.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  connect, executionVersion, Execution, Flow, FlowValidationError, ResumeTokenManager, StateStore,
  Stores, tokenStatusFromWire, tokenStatusToWire, ValidationIssue,
} from '@flowmonkey/store-client';
import { target } from './server';


let stores: Stores;
before(async () => {
  stores = await connect({ target, flowRefreshMs: 0 });
});
after(() => stores.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function execution(overrides: Partial<Execution> = {}): Execution {
  const now = Date.now();
  return {
    id: `fm-${randomUUID()}`, flowId: 'order-flow', flowVersion: '1.0.0', currentStepId: 'approve',
    status: 'waiting', context: { order: 7 }, stepCount: 2, createdAt: now, updatedAt: now, ...overrides,
  };
}

function flow(id: string, version = '1.0.0'): Flow {
  return {
    id, version, name: 'Approval', initialStepId: 'ask',
    steps: {
      ask: { id: 'ask', type: 'approval', config: {}, input: { type: 'full' }, transitions: { onSuccess: 'done', onResume: 'done' } },
      done: { id: 'done', type: 'noop', config: {}, input: { type: 'static', value: 1 }, transitions: { onSuccess: null } },
    },
  };
}

// What FlowMonkey's Engine.cancel does with the token manager, step 2 of its cancel: every
// token of the execution whose status is 'active' is revoked by its `token` and counted.
async function invalidateTokensAsEngineCancelDoes(tokens: ResumeTokenManager, executionId: string): Promise<number> {
  let invalidated = 0;
  for (const token of await tokens.listByExecution(executionId)) {
    if (token.status === 'active') {
      await tokens.revoke(token.token);
      invalidated++;
    }
  }
  return invalidated;
}

describe('resume tokens, as FlowMonkey', () => {
  test("statuses are FlowMonkey's and map to the wire both ways", () => {
    for (const status of ['active', 'used', 'expired', 'revoked'] as const) {
      assert.equal(tokenStatusFromWire(tokenStatusToWire(status)), status);
    }
    assert.equal(tokenStatusToWire('active'), 'RESUME_TOKEN_STATUS_PENDING');
  });

  test("cancel revokes the execution's tokens (Engine.cancel's tokensInvalidated)", async () => {
    const e = execution();
    await stores.stateStore.save(e);
    const a = await stores.resumeTokenManager.generate(e.id, 'approve');
    const b = await stores.resumeTokenManager.generate(e.id, 'approve', { metadata: { who: 'ops' } });
    assert.equal(a.status, 'active');
    assert.deepEqual((await stores.resumeTokenManager.listByExecution(e.id)).map((t) => t.status), ['active', 'active']);

    assert.equal(await invalidateTokensAsEngineCancelDoes(stores.resumeTokenManager, e.id), 2);
    for (const t of [a, b]) {
      assert.deepEqual(await stores.resumeTokenManager.validate(t.token), { valid: false, reason: 'Token revoked' });
      assert.equal((await stores.resumeTokenManager.get(t.token))?.status, 'revoked');
    }
    // A second cancel finds nothing active.
    assert.equal(await invalidateTokensAsEngineCancelDoes(stores.resumeTokenManager, e.id), 0);
  });

  test('expiresInMs sets the expiry; an expired token is invalid and cleaned up as expired', async () => {
    const e = execution();
    await stores.stateStore.save(e);
    const t = await stores.resumeTokenManager.generate(e.id, 'approve', { expiresInMs: 60_000 });
    assert.ok(t.expiresAt);
    assert.ok(Math.abs(t.expiresAt - t.createdAt - 60_000) <= 1000, `${t.expiresAt - t.createdAt}`);

    const short = await stores.resumeTokenManager.generate(e.id, 'approve', { expiresInMs: 1 });
    await sleep(50);
    assert.deepEqual(await stores.resumeTokenManager.validate(short.token), { valid: false, reason: 'Token expired' });
    assert.ok((await stores.resumeTokenManager.cleanupExpired()) >= 1);
    assert.equal((await stores.resumeTokenManager.get(short.token))?.status, 'expired');
    assert.deepEqual(await stores.resumeTokenManager.validate(t.token), { valid: true });
  });

  test("a token record carries only FlowMonkey's fields", async () => {
    const e = execution();
    await stores.stateStore.save(e);
    const t = await stores.resumeTokenManager.generate(e.id, 'approve', { expiresInMs: 60_000, metadata: { a: 1 } });
    assert.deepEqual(Object.keys(t).sort(), ['createdAt', 'executionId', 'expiresAt', 'metadata', 'status', 'stepId', 'token']);
    await stores.resumeTokenManager.markUsed(t.token);
    const used = await stores.resumeTokenManager.get(t.token);
    assert.equal(used?.status, 'used');
    assert.equal(typeof used?.usedAt, 'number');
    assert.deepEqual(await stores.resumeTokenManager.validate(t.token), { valid: false, reason: 'Token already used' });
    assert.deepEqual(await stores.resumeTokenManager.validate('x'.repeat(43)), { valid: false, reason: 'Token not found' });
  });
});

describe('flow registry, as FlowMonkey', () => {
  test("an invalid flow throws at once with FlowMonkey's error, and nothing is sent", async () => {
    const id = `bad-${randomUUID()}`;
    const bad = { ...flow(id), initialStepId: 'nope' };
    assert.throws(() => stores.flowRegistry.register(bad), (error: unknown) => {
      assert.ok(error instanceof FlowValidationError);
      assert.equal(error.name, 'FlowValidationError');
      assert.equal(error.code, 'FLOW_INVALID');
      assert.equal(error.flowId, id);
      assert.equal(error.message, `Flow "${id}" is invalid: Step "nope" not found`);
      assert.deepEqual(error.issues, [{ path: 'initialStepId', message: 'Step "nope" not found', severity: 'error' }]);
      return true;
    });
    assert.equal(stores.flowRegistry.has(id), false);
    await stores.flowRegistry.flush();
    const other = await connect({ target, flowRefreshMs: 0 });
    try {
      assert.equal(other.flowRegistry.has(id), false, 'never reached the server');
    } finally {
      other.close();
    }
  });

  test("validate() reports FlowMonkey's issues, paths and messages", () => {
    const issues = (f: unknown): ValidationIssue[] => stores.flowRegistry.validate(f as Flow);
    assert.deepEqual(issues({ id: '', version: '', initialStepId: '', steps: {} }), [
      { path: 'id', message: 'Required', severity: 'error' },
      { path: 'version', message: 'Required', severity: 'error' },
      { path: 'initialStepId', message: 'Required', severity: 'error' },
      { path: 'steps', message: 'At least one step required', severity: 'error' },
    ]);
    const f = flow('f');
    assert.deepEqual(issues(f), []);
    assert.deepEqual(issues({
      ...f,
      steps: {
        ask: { id: 'asked', type: '', transitions: { onSuccess: 'x', onFailure: 'y', onResume: 'z' } },
      },
    }), [
      { path: 'steps.ask.id', message: 'ID mismatch: "asked" vs key "ask"', severity: 'error' },
      { path: 'steps.ask.type', message: 'Required', severity: 'error' },
      { path: 'steps.ask.input', message: 'Required', severity: 'error' },
      { path: 'steps.ask.transitions.onSuccess', message: '"x" not found', severity: 'error' },
      { path: 'steps.ask.transitions.onFailure', message: '"y" not found', severity: 'error' },
      { path: 'steps.ask.transitions.onResume', message: '"z" not found', severity: 'error' },
    ]);
  });

  test('register is synchronous, rejects a known version, and reaches other processes', async () => {
    const id = `flow-${randomUUID()}`;
    const v1 = flow(id, '1.0.0');
    assert.equal(stores.flowRegistry.register(v1), undefined);
    assert.deepEqual(stores.flowRegistry.get(id), v1, 'served at once');
    assert.throws(() => stores.flowRegistry.register(v1), { message: `Flow "${id}@1.0.0" already registered` });
    await stores.flowRegistry.flush();

    const other = await connect({ target, flowRefreshMs: 100 });
    try {
      assert.deepEqual(other.flowRegistry.get(id), v1, 'loaded at connect');
      other.flowRegistry.register(flow(id, '1.1.0'));
      await other.flowRegistry.flush();
      assert.deepEqual(stores.flowRegistry.versions(id), ['1.0.0']);
      await stores.flowRegistry.refresh();
      assert.deepEqual(stores.flowRegistry.versions(id), ['1.1.0', '1.0.0']);
      assert.equal(stores.flowRegistry.get(id)?.version, '1.1.0');

      // The periodic refresh (every 100 ms in `other`) picks up this process's write.
      stores.flowRegistry.register(flow(id, '1.2.0'));
      await stores.flowRegistry.flush();
      for (let i = 0; i < 50 && !other.flowRegistry.get(id, '1.2.0'); i++) await sleep(50);
      assert.equal(other.flowRegistry.get(id)?.version, '1.2.0');
      assert.deepEqual(other.flowRegistry.getVersion(id, '1.0.0'), v1);
    } finally {
      other.close();
    }
  });

  test('a write the server refuses leaves the cache and surfaces through flush() and onError', async () => {
    const id = `flow-${randomUUID()}`;
    const errors: unknown[] = [];
    const a = await connect({ target, flowRefreshMs: 0, onFlowError: (error) => errors.push(error) });
    const b = await connect({ target, flowRefreshMs: 0, onFlowError: (error) => errors.push(error) });
    try {
      a.flowRegistry.register(flow(id));
      await a.flowRegistry.flush();
      // b has not refreshed: it does not know 1.0.0, so its register passes locally, and the
      // server refuses different content under the same version.
      b.flowRegistry.register({ ...flow(id), name: 'Different' });
      assert.equal(b.flowRegistry.get(id)?.name, 'Different');
      await assert.rejects(b.flowRegistry.flush(), /ALREADY_EXISTS/);
      assert.equal(errors.length, 1);
      assert.equal(b.flowRegistry.has(id), false);
      await b.flowRegistry.refresh();
      assert.equal(b.flowRegistry.get(id)?.name, 'Approval');
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('executions, as FlowMonkey', () => {
  test('save then load deep-equals, with every field FlowMonkey has', async () => {
    const now = Date.now();
    const e: Execution = {
      id: `fm-${randomUUID()}`, flowId: 'order-flow', flowVersion: '2.1.0', currentStepId: 'charge',
      status: 'cancelled', context: { order: { id: 42, lines: [{ sku: 'a', qty: 2 }] }, paid: false, note: null },
      wakeAt: now + 1000, waitReason: 'approval', stepCount: 3,
      error: { code: 'E_CARD', message: 'declined', stepId: 'charge', details: { retry: true }, timestamp: now - 5 },
      history: [
        { stepId: 'validate', handlerType: 'check', outcome: 'success', startedAt: now - 30, completedAt: now - 20, durationMs: 10 },
        { stepId: 'charge', handlerType: 'http', outcome: 'failure', startedAt: now - 20, completedAt: now - 10, durationMs: 10, error: { code: 'E' } },
      ],
      createdAt: now - 100, updatedAt: now, tenantId: 'acme', metadata: { source: 'api', tags: ['x'] },
      idempotencyKey: `k-${randomUUID()}`, idempotencyExpiresAt: now + 86_400_000,
      cancellation: { source: 'user', reason: 'customer asked', cancelledAt: now - 1 },
      parentExecutionId: 'parent-1', waitStartedAt: now - 50,
      timeoutConfig: { executionTimeoutMs: 3_600_000, waitTimeoutMs: 60_000 },
      retryAttempts: { charge: 2 },
    };
    await stores.stateStore.save(e);
    const loaded = await stores.stateStore.load(e.id);
    assert.deepStrictEqual(loaded, e);
    assert.ok(loaded && (executionVersion(loaded) ?? 0) >= 1);
    assert.ok(!JSON.stringify(loaded).includes('"version"'));

    const minimal = execution({ status: 'pending', context: {} });
    await stores.stateStore.save(minimal);
    assert.deepStrictEqual(await stores.stateStore.load(minimal.id), minimal);

    // A loaded execution saves back unchanged (what the engine does on every tick).
    await stores.stateStore.save(loaded!);
    assert.deepStrictEqual(await stores.stateStore.load(e.id), e);
    const versioned = await stores.stateStore.loadWithVersion(e.id);
    assert.ok(versioned && versioned.version > executionVersion(loaded!)!);
  });

  test('findByIdempotencyKey matches only while idempotencyExpiresAt is set and in the future', async () => {
    const store: Required<StateStore> = stores.stateStore;
    const now = Date.now();
    const live = `k-${randomUUID()}`;
    // Created two days ago with a 7-day window: found whatever windowMs the caller passes.
    const e = execution({ idempotencyKey: live, idempotencyExpiresAt: now + 5 * 86_400_000, createdAt: now - 2 * 86_400_000 });
    await store.save(e);
    assert.equal((await store.findByIdempotencyKey('order-flow', live, 3_600_000))?.id, e.id);
    assert.equal(await store.findByIdempotencyKey('other-flow', live, 3_600_000), null);

    const noExpiry = `k-${randomUUID()}`;
    await store.save(execution({ idempotencyKey: noExpiry }));
    assert.equal(await store.findByIdempotencyKey('order-flow', noExpiry, 86_400_000), null);

    const expired = `k-${randomUUID()}`;
    await store.save(execution({ idempotencyKey: expired, idempotencyExpiresAt: now - 1000, createdAt: now - 5000 }));
    assert.equal(await store.findByIdempotencyKey('order-flow', expired, 86_400_000), null);
  });
});

describe('context storage, as FlowMonkey', () => {
  test("set answers FlowMonkey's reference; list answers keys; a missing key rejects", async () => {
    const storage = stores.contextStorage;
    assert.ok(storage);
    const e = execution();
    await stores.stateStore.save(e);
    const value = { rows: [1, 2, 3], total: 3 };
    const ref = await storage.set(e.id, 'report', value);
    assert.deepEqual(Object.keys(ref).sort(), ['_ref', 'createdAt', 'size', 'summary']);
    assert.equal(ref._ref, `storage://${e.id}/report`);
    assert.equal(ref.size, Buffer.byteLength(JSON.stringify(value)));
    assert.equal(ref.summary, 'Object {rows, total}');
    assert.equal(typeof ref.createdAt, 'number');
    await storage.set(e.id, 'big', 'x'.repeat(300));
    assert.deepEqual(await storage.list(e.id), ['big', 'report']);
    assert.deepEqual(await storage.get(e.id, 'report'), value);
    await assert.rejects(storage.get(e.id, 'absent'), { message: 'Context key not found: absent' });
    assert.equal(await storage.delete(e.id, 'big'), undefined);
    assert.deepEqual(await storage.list(e.id), ['report']);
    assert.equal(await storage.cleanup(e.id), undefined);
    assert.deepEqual(await storage.list(e.id), []);
  });
});

describe('jobs, as FlowMonkey', () => {
  test('claim answers booleans; instance-fenced checkpoint and progress; stall rule', async () => {
    const e = execution({ status: 'running' });
    await stores.stateStore.save(e);
    const jobs = stores.jobStore;
    const job = await jobs.getOrCreate({ executionId: e.id, stepId: 'export', handler: 'csv', input: { n: 1 }, heartbeatMs: 1000 });
    assert.equal(await jobs.claimWithInstance(job.id, 'runner-1', 'inst-1'), true);
    assert.equal(await jobs.claim(job.id, 'runner-2'), false);
    assert.equal(await jobs.getInstanceId(job.id), 'inst-1');
    assert.equal(await jobs.getCheckpoint(job.id), null);
    assert.equal(await jobs.saveCheckpoint(job.id, 'inst-1', { row: 10 }), true);
    assert.equal(await jobs.saveCheckpoint(job.id, 'inst-2', { row: 99 }), false);
    assert.deepEqual(await jobs.getCheckpoint(job.id), { row: 10 });
    assert.equal(await jobs.updateProgress(job.id, 'inst-1', { percent: 50, message: 'half' }), true);
    assert.deepEqual((await jobs.get(job.id))?.progress, { percent: 50, message: 'half' });
    assert.equal(await jobs.isInstanceActive(job.id, 'inst-1'), true);

    const now = Date.now();
    assert.ok(!(await jobs.findStalled(now)).some((j) => j.id === job.id), 'a fresh heartbeat is not stalled');
    assert.ok((await jobs.findStalled(now + 3_500)).some((j) => j.id === job.id), 'three missed heartbeats are');
    assert.equal(await jobs.resetStalled(job.id), true);
    assert.equal((await jobs.get(job.id))?.status, 'pending');
    assert.equal(await jobs.getInstanceId(job.id), null);
    assert.equal(await jobs.getCheckpoint(`missing-${randomUUID()}`), null);
  });
});

describe('events, as FlowMonkey', () => {
  test("the event store is the engine's EventBus", async () => {
    const id = `fm-${randomUUID()}`;
    stores.eventStore.onExecutionCreated({ executionId: id, flowId: 'order-flow', context: { a: 1 } });
    stores.eventStore.onStepStarted({ executionId: id, stepId: 'ask', input: 1 });
    await stores.eventStore.flush();
    const events = await stores.eventStore.getByExecution(id);
    assert.deepEqual(events.map((e) => e.eventType).sort(), ['execution.created', 'step.started']);
    assert.deepEqual(events.find((e) => e.eventType === 'execution.created')?.data, { executionId: id, flowId: 'order-flow', context: { a: 1 } });
  });
});
