// The retry policy (src/retry.ts) and the retry loop (ServiceClient.call), without a server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Connection, ServiceClient } from '../src/grpc';
import { isIdempotent, newRequestId } from '../src/retry';
import { CommitError, TransactionBuilder } from '../src/transaction';

test('UNKNOWN may be retried only for calls that are safe to repeat', () => {
  assert.equal(isIdempotent('flowmonkey.v1.ExecutionStore', 'Get', {}), true);
  assert.equal(isIdempotent('flowmonkey.v1.JobStore', 'Create', {}), true);
  assert.equal(isIdempotent('flowmonkey.v1.EventStore', 'Record', { request_id: 'r' }), true);
  assert.equal(isIdempotent('flowmonkey.v1.EventStore', 'Record', {}), false);
  assert.equal(isIdempotent('flowmonkey.v1.ResumeTokens', 'Generate', { request_id: 'r' }), true);
  assert.equal(isIdempotent('flowmonkey.v1.ExecutionStore', 'Create', { execution: { idempotency_key: 'k' } }), true);
  assert.equal(isIdempotent('flowmonkey.v1.ExecutionStore', 'Create', { execution: {} }), false);
  for (const method of ['Claim', 'ClaimNext', 'Complete', 'Fail']) {
    assert.equal(isIdempotent('flowmonkey.v1.JobStore', method, {}), false, method);
  }
  assert.equal(isIdempotent('flowmonkey.v1.ExecutionStore', 'Save', {}), false);
  assert.equal(isIdempotent('flowmonkey.v1.ResumeTokens', 'MarkUsed', {}), false);
  assert.equal(isIdempotent('flowmonkey.v1.Transactions', 'Commit', { request_id: 'r' }), true);
  assert.equal(isIdempotent('flowmonkey.v1.Transactions', 'Commit', {}), false);
  assert.notEqual(newRequestId(), newRequestId());
});

// A client whose `Record` answers the given codes in turn (then OK), noting each request.
function fakeClient(codes: grpc.status[], seen: any[]): grpc.Client {
  return {
    Record(request: any, _metadata: unknown, _options: unknown, callback: Function) {
      seen.push(request);
      const code = codes.shift();
      if (code === undefined) callback(null, { event: {} });
      else callback(Object.assign(new Error(`code ${code}`), { code, details: '', metadata: new grpc.Metadata() }));
    },
  } as unknown as grpc.Client;
}

test('calls are retried with the same request, boundedly, only where safe', async () => {
  const connection = new Connection({ maxAttempts: 3, initialBackoffMs: 0 });
  const run = async (codes: grpc.status[], request: object) => {
    const seen: any[] = [];
    const client = new ServiceClient(fakeClient(codes, seen), connection, 'flowmonkey.v1.EventStore');
    const outcome = await client.call('Record', request).then(() => grpc.status.OK, (e) => e.code);
    return { outcome, attempts: seen.length, seen };
  };
  const withId = { event: {}, request_id: 'req-1' };
  let r = await run([grpc.status.UNKNOWN], withId);
  assert.deepEqual([r.outcome, r.attempts], [grpc.status.OK, 2]);
  assert.equal(r.seen[1].request_id, 'req-1');
  r = await run([grpc.status.UNKNOWN], { event: {} });
  assert.deepEqual([r.outcome, r.attempts], [grpc.status.UNKNOWN, 1]);
  r = await run([grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE], { event: {} });
  assert.deepEqual([r.outcome, r.attempts], [grpc.status.OK, 3]);
  r = await run([grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE], withId);
  assert.deepEqual([r.outcome, r.attempts], [grpc.status.UNAVAILABLE, 3]);
  r = await run([grpc.status.ABORTED], withId);
  assert.deepEqual([r.outcome, r.attempts], [grpc.status.ABORTED, 1]);
  connection.close();
});

// A Transactions client whose `Commit` answers the given errors in turn (then `response`).
function fakeTransactions(errors: { code: grpc.status; details: string }[], response: object, seen: any[]): grpc.Client {
  return {
    Commit(request: any, _metadata: unknown, _options: unknown, callback: Function) {
      seen.push(request);
      const error = errors.shift();
      if (!error) callback(null, response);
      else callback(Object.assign(new Error(`${error.code}: ${error.details}`), { ...error, metadata: new grpc.Metadata() }));
    },
  } as unknown as grpc.Client;
}

test('a commit carries a request id, the same on each retry, and decodes one result per operation', async () => {
  const connection = new Connection({ maxAttempts: 3, initialBackoffMs: 0 });
  const seen: any[] = [];
  const response = {
    results: [
      { save_execution: { version: 4, created: false, created_at: 1, updated_at: 2 } },
      { record_events: { events: [{ id: 7, execution_id: 'e1', event_type: 'resumed', step_id: 's', data_json: '', created_at: 3 }] } },
    ],
  };
  const rpc = new ServiceClient(fakeTransactions([{ code: grpc.status.UNKNOWN, details: 'connection lost' }], response, seen),
    connection, 'flowmonkey.v1.Transactions');
  const execution = {
    id: 'e1', flowId: 'f', status: 'running' as const, context: {}, stepCount: 1, createdAt: 1, updatedAt: 1,
    currentStepId: 's', flowVersion: '1.0.0',
  };
  const [saved, recorded] = await new TransactionBuilder(rpc)
    .ifExecutionVersion('e1', 3)
    .saveExecution(execution, { expectedVersion: 3 })
    .recordEvents([{ executionId: 'e1', eventType: 'resumed', stepId: 's' }])
    .commit();
  assert.equal(seen.length, 2);
  assert.match(seen[0].request_id, /^req-/);
  assert.equal(seen[1].request_id, seen[0].request_id);
  assert.deepEqual(seen[0].conditions, [{ execution_version: { execution_id: 'e1', version: 3 } }]);
  assert.deepEqual(seen[0].operations.map((o: object) => Object.keys(o)), [['save_execution'], ['record_events']]);
  assert.equal(seen[0].operations[0].save_execution.expected_version, 3);
  assert.deepEqual(saved, { op: 'saveExecution', version: 4, created: false, createdAt: 1, updatedAt: 2 });
  assert.deepEqual(recorded, {
    op: 'recordEvents', events: [{ id: 7, executionId: 'e1', eventType: 'resumed', stepId: 's', createdAt: 3 }],
  });

  // The caller's own request id is sent as it is; an ABORTED commit is not retried.
  seen.length = 0;
  const aborted = new ServiceClient(fakeTransactions([{ code: grpc.status.ABORTED, details: 'conditions[0]: version 4, not 3' }],
    response, seen), connection, 'flowmonkey.v1.Transactions');
  await assert.rejects(new TransactionBuilder(aborted).ifExecutionVersion('e1', 3).deleteExecution('e1').commit({ requestId: 'mine' }),
    (error: CommitError) => error.code === grpc.status.ABORTED && error.conditionIndex === 0 && error.operationIndex === undefined);
  assert.deepEqual(seen.map((r) => r.request_id), ['mine']);
  connection.close();
});

test('a rejected commit names the failed operation by index and builder method', async () => {
  const connection = new Connection({ maxAttempts: 1 });
  const rpc = new ServiceClient(fakeTransactions([{ code: grpc.status.INVALID_ARGUMENT, details: 'operations[1]: event_type: empty' }],
    {}, []), connection, 'flowmonkey.v1.Transactions');
  await assert.rejects(new TransactionBuilder(rpc).markResumeTokenUsed('t').recordEvents([]).commit(),
    (error: CommitError) => error.code === grpc.status.INVALID_ARGUMENT && error.operationIndex === 1 &&
      error.operation === 'recordEvents' && error.conditionIndex === undefined);
  connection.close();
});
