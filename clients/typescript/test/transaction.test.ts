// stores.transaction() against a real server (FM_TARGET, set by scripts/with-test-server),
// through the installed package: a commit writes all of its operations or none of them.
// Every "wrote nothing" is checked by reading back each record the commit would have
// changed. A server without Transactions (UNIMPLEMENTED) is a skip, or a failure under
// FM_TS_STRICT=1 (test/run.sh's default).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { it, target } from './server';
import {
  Code, CommitError, connect, Execution, executionVersion, isCode, ResumeToken, Stores,
} from '@flowmonkey/store-client';

let stores: Stores;
before(async () => {
  stores = await connect({ target, loadFlows: false });
});
after(() => stores.close());

function newExecution(overrides: Partial<Execution> = {}): Execution {
  const now = Date.now();
  return {
    id: `tx-${randomUUID()}`, flowId: 'order-flow', flowVersion: '1.0.0', currentStepId: 'approve',
    status: 'waiting', context: { order: 7 }, stepCount: 2, createdAt: now, updatedAt: now,
    waitReason: 'manager approval', waitStartedAt: now, ...overrides,
  };
}

/** A stored execution waiting at 'approve', its version and an active token for the step. */
async function waitingForApproval(): Promise<{ execution: Execution; version: number; token: ResumeToken }> {
  const e = newExecution();
  await stores.stateStore.save(e);
  const token = await stores.resumeTokenManager.generate(e.id, 'approve', { expiresInMs: 60_000 });
  const loaded = await stores.stateStore.loadWithVersion(e.id);
  assert.ok(loaded);
  return { execution: loaded.execution, version: loaded.version, token };
}

/** FlowMonkey's resumed execution: running at the next step, no longer waiting. */
function resumed(e: Execution): Execution {
  const { waitReason: _reason, waitStartedAt: _started, ...rest } = e;
  return { ...rest, status: 'running', currentStepId: 'ship', stepCount: e.stepCount + 1 };
}

/** The records a resume commit touches are as they were before it. */
async function assertUntouched(execution: Execution, version: number, token: string): Promise<void> {
  const now = await stores.stateStore.loadWithVersion(execution.id);
  assert.equal(now?.version, version, 'execution version unchanged');
  assert.equal(now?.execution.status, execution.status);
  assert.equal(now?.execution.currentStepId, execution.currentStepId);
  assert.equal((await stores.resumeTokenManager.get(token))?.status, 'active', 'token still active');
  assert.deepEqual(await stores.resumeTokenManager.validate(token), { valid: true });
  assert.deepEqual(await stores.eventStore.forExecution(execution.id), [], 'no event recorded');
}

/** Asserts the commit rejected with this code, naming this condition or operation. */
function rejectedWith(code: Code, failed: { condition: number } | { operation: number; op: string }) {
  return (error: CommitError): boolean => {
    if (isCode(error, Code.UNIMPLEMENTED)) throw error;  // a server without Transactions: it() decides
    assert.equal(error.code, code, error.message);
    if ('condition' in failed) {
      assert.equal(error.conditionIndex, failed.condition, error.message);
      assert.equal(error.operationIndex, undefined);
      assert.match(error.details, new RegExp(`^conditions\\[${failed.condition}\\]: `));
    } else {
      assert.equal(error.operationIndex, failed.operation, error.message);
      assert.equal(error.operation, failed.op);
      assert.equal(error.conditionIndex, undefined);
      assert.match(error.details, new RegExp(`^operations\\[${failed.operation}\\]: `));
    }
    return true;
  };
}

describe('Transactions', () => {
  it('an atomic resume (token used, execution saved at expectedVersion, resumed recorded) commits all', async () => {
    const { execution, version, token } = await waitingForApproval();
    const [used, saved, recorded] = await stores.transaction()
      .ifTokenPending(token.token)
      .markResumeTokenUsed(token.token)
      .saveExecution(resumed(execution), { expectedVersion: version })
      .recordEvents([{ executionId: execution.id, eventType: 'resumed', stepId: 'approve', data: { by: 'manager' } }])
      .commit();

    assert.equal(used.op, 'markResumeTokenUsed');
    assert.equal(used.token.status, 'used');
    assert.equal(used.token.token, token.token);
    assert.equal(used.token.executionId, execution.id);
    assert.equal(used.token.stepId, 'approve');
    assert.equal(saved.op, 'saveExecution');
    assert.equal(saved.version, version + 1);
    assert.equal(saved.created, false);
    assert.equal(recorded.op, 'recordEvents');
    assert.equal(recorded.events.length, 1);
    const [event] = recorded.events;
    assert.equal(typeof event.id, 'number');
    assert.ok((event.id ?? 0) > 0);
    assert.equal(event.eventType, 'resumed');
    assert.deepEqual(event.data, { by: 'manager' });

    const now = await stores.stateStore.load(execution.id);
    assert.ok(now);
    assert.deepEqual(now, resumed(execution));
    assert.equal(executionVersion(now), version + 1);
    assert.equal((await stores.resumeTokenManager.get(token.token))?.status, 'used');
    const events = await stores.eventStore.forExecution(execution.id);
    assert.deepEqual(events.map((e) => [e.id, e.eventType, e.stepId]), [[event.id, 'resumed', 'approve']]);

    // The same resume again: the token is no longer pending, and nothing more is written.
    await assert.rejects(stores.transaction()
      .ifTokenPending(token.token)
      .markResumeTokenUsed(token.token)
      .saveExecution(resumed(execution), { expectedVersion: version + 1 })
      .recordEvents([{ executionId: execution.id, eventType: 'resumed', stepId: 'approve' }])
      .commit(), rejectedWith(Code.FAILED_PRECONDITION, { condition: 0 }));
    assert.equal(executionVersion((await stores.stateStore.load(execution.id))!), version + 1);
    assert.equal((await stores.eventStore.forExecution(execution.id)).length, 1);
  });

  it('a stale expectedVersion rejects with ABORTED and writes nothing (token still active, no event)', async () => {
    const { execution, version, token } = await waitingForApproval();
    // Another writer saves in between: `version` is now stale.
    await stores.stateStore.save({ ...execution, context: { order: 7, note: 'edited' } });
    const current = version + 1;
    assert.equal((await stores.stateStore.loadWithVersion(execution.id))?.version, current);

    await assert.rejects(stores.transaction()
      .markResumeTokenUsed(token.token)
      .saveExecution(resumed(execution), { expectedVersion: version })
      .recordEvents([{ executionId: execution.id, eventType: 'resumed', stepId: 'approve' }])
      .commit(), rejectedWith(Code.ABORTED, { operation: 1, op: 'saveExecution' }));
    await assertUntouched(execution, current, token.token);

    // The same guard as a condition: checked before any operation.
    await assert.rejects(stores.transaction()
      .ifTokenPending(token.token)
      .ifExecutionVersion(execution.id, version)
      .markResumeTokenUsed(token.token)
      .saveExecution(resumed(execution))
      .recordEvents([{ executionId: execution.id, eventType: 'resumed', stepId: 'approve' }])
      .commit(), rejectedWith(Code.ABORTED, { condition: 1 }));
    await assertUntouched(execution, current, token.token);
  });

  it('an invalid operation rejects with INVALID_ARGUMENT naming its index, and writes nothing', async () => {
    const { execution, version, token } = await waitingForApproval();
    await assert.rejects(stores.transaction()
      .markResumeTokenUsed(token.token)
      .saveExecution(resumed(execution), { expectedVersion: version })
      .recordEvents([{ executionId: execution.id, eventType: '', stepId: 'approve' }])
      .commit(), rejectedWith(Code.INVALID_ARGUMENT, { operation: 2, op: 'recordEvents' }));
    await assertUntouched(execution, version, token.token);

    // The same commit with a valid event commits: only the event made the difference.
    const [, saved] = await stores.transaction()
      .markResumeTokenUsed(token.token)
      .saveExecution(resumed(execution), { expectedVersion: version })
      .recordEvents([{ executionId: execution.id, eventType: 'resumed', stepId: 'approve' }])
      .commit();
    assert.equal(saved.version, version + 1);
  });

  it('a step: new execution, events, job, token and context value, with ids, versions and token values', async () => {
    const parent = newExecution({ status: 'running', currentStepId: 'fan-out' });
    await stores.stateStore.save(parent);
    const child = newExecution({ status: 'pending', currentStepId: 'start', parentExecutionId: parent.id });
    const results = await stores.transaction()
      .ifExecutionAbsent(child.id)
      .createExecution(child)
      .saveExecution({ ...parent, status: 'waiting', currentStepId: 'wait-children' }, { expectedVersion: 1 })
      .recordEvents([
        { executionId: parent.id, eventType: 'step.completed', stepId: 'fan-out' },
        { executionId: parent.id, eventType: 'child.created', data: { child: child.id } },
        { executionId: child.id, eventType: 'execution.created' },
      ])
      .createJob({ executionId: child.id, stepId: 'start', handler: 'email-send', input: { to: 'a@b.c' }, maxAttempts: 2 })
      .generateResumeToken(parent.id, 'wait-children', { expiresInMs: 60_000, metadata: { waitingFor: child.id } })
      .setContext(child.id, 'input', { rows: [1, 2, 3] })
      .commit();
    assert.deepEqual(results.map((r) => r.op),
      ['createExecution', 'saveExecution', 'recordEvents', 'createJob', 'generateResumeToken', 'setContext']);
    const [created, saved, recorded, job, generated, context] = results;

    assert.equal(created.created, true);
    assert.equal(created.execution.id, child.id);
    assert.equal(created.execution.parentExecutionId, parent.id);
    assert.equal(executionVersion(created.execution), 1);
    assert.equal(saved.version, 2);
    const ids = recorded.events.map((e) => e.id ?? 0);
    assert.equal(ids.length, 3);
    assert.ok(ids[0] > 0 && ids[0] < ids[1] && ids[1] < ids[2], `ids in request order: ${ids}`);
    assert.deepEqual(recorded.events[1].data, { child: child.id });
    assert.equal(job.created, true);
    assert.ok(job.job.id.length > 0);
    assert.equal(job.job.status, 'pending');
    assert.equal(job.job.maxAttempts, 2);
    assert.equal(generated.token.status, 'active');
    assert.deepEqual(generated.token.metadata, { waitingFor: child.id });
    assert.equal(context.reference._ref, `storage://${child.id}/input`);

    // Everything is there, as each store reads it.
    assert.equal((await stores.stateStore.load(child.id))?.status, 'pending');
    assert.equal((await stores.stateStore.loadWithVersion(parent.id))?.version, 2);
    assert.deepEqual((await stores.eventStore.forExecution(parent.id)).map((e) => e.id), ids.slice(0, 2));
    assert.equal((await stores.jobStore.get(job.job.id))?.executionId, child.id);
    const validated = await stores.resumeTokenManager.validate(generated.token.token);
    assert.deepEqual(validated, { valid: true });
    if (stores.contextStorage) assert.deepEqual(await stores.contextStorage.get(child.id, 'input'), { rows: [1, 2, 3] });

    // The child exists now: the same condition fails, and this commit's job is not made.
    await assert.rejects(stores.transaction()
      .ifExecutionAbsent(child.id)
      .createJob({ executionId: child.id, stepId: 'other', handler: 'h', input: {} })
      .commit(), rejectedWith(Code.FAILED_PRECONDITION, { condition: 0 }));
    assert.deepEqual((await stores.jobStore.listForExecution(child.id)).map((j) => j.id), [job.job.id]);
  });

  it('a repeat with the same requestId answers the first results and writes nothing more', async () => {
    const e = newExecution({ status: 'running' });
    await stores.stateStore.save(e);
    const requestId = `req-${randomUUID()}`;
    const commit = () => stores.transaction()
      .ifExecutionVersion(e.id, 1)
      .saveExecution({ ...e, currentStepId: 'next' }, { expectedVersion: 1 })
      .recordEvents([{ executionId: e.id, eventType: 'step.completed', stepId: 'approve' }])
      .commit({ requestId });
    const first = await commit();
    const again = await commit();
    assert.equal(again[0].version, first[0].version);
    assert.equal(again[1].events[0].id, first[1].events[0].id);
    assert.equal((await stores.stateStore.loadWithVersion(e.id))?.version, 2);
    assert.equal((await stores.eventStore.forExecution(e.id)).length, 1);
  });

  it('fenced job completion: another runner is refused whole; the job\'s runner completes it with the execution', async () => {
    const e = newExecution({ status: 'running', currentStepId: 'send' });
    await stores.stateStore.save(e);
    const job = await stores.jobStore.getOrCreate({ executionId: e.id, stepId: 'send', handler: 'email-send', input: {} });
    assert.equal(await stores.jobStore.claimWithInstance(job.id, 'worker-1', 'instance-1'), true);

    await assert.rejects(stores.transaction()
      .ifJobRunning(job.id, 'worker-2')
      .completeJob(job.id, 'worker-2', { sent: true })
      .saveExecution({ ...e, currentStepId: 'done' }, { expectedVersion: 1 })
      .commit(), rejectedWith(Code.FAILED_PRECONDITION, { condition: 0 }));
    assert.equal((await stores.jobStore.get(job.id))?.status, 'running');
    assert.equal((await stores.stateStore.loadWithVersion(e.id))?.version, 1);

    const [completed, saved] = await stores.transaction()
      .ifJobRunning(job.id, { runnerId: 'worker-1', instanceId: 'instance-1' })
      .completeJob(job.id, { runnerId: 'worker-1', instanceId: 'instance-1' }, { sent: true })
      .saveExecution({ ...e, currentStepId: 'done' }, { expectedVersion: 1 })
      .commit();
    assert.equal(completed.op, 'completeJob');
    assert.ok(completed.updatedAt > 0);
    assert.equal(saved.version, 2);
    const done = await stores.jobStore.get(job.id);
    assert.equal(done?.status, 'completed');
    assert.deepEqual(done?.result, { sent: true });
  });

  it('a lease: writes under ifLeaseHeld(lock) and releaseLock(lock) in one commit; a released lease fails the condition', async () => {
    const e = newExecution({ status: 'running' });
    await stores.stateStore.save(e);
    const lock = await stores.stateStore.acquireLock(e.id, 30_000);
    assert.ok(lock);
    assert.equal(lock.executionId, e.id);
    const [saved, released] = await stores.transaction()
      .ifLeaseHeld(lock)
      .saveExecution({ ...e, currentStepId: 'next' })
      .releaseLock(lock)
      .commit();
    assert.equal(saved.version, 2);
    assert.equal(released.released, true);

    await assert.rejects(stores.transaction()
      .ifLeaseHeld(e.id, lock.owner, lock.fencingToken)
      .saveExecution({ ...e, currentStepId: 'stale' })
      .commit(), rejectedWith(Code.FAILED_PRECONDITION, { condition: 0 }));
    assert.equal((await stores.stateStore.load(e.id))?.currentStepId, 'next');
    const again = await stores.stateStore.acquireLock(e.id, 30_000);
    assert.ok(again, 'the lease was released by the commit');
    await again.release();
  });
});
