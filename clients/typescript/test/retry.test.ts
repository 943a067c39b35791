// The retry policy (src/retry.ts) and the retry loop (ServiceClient.call), without a server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Connection, ServiceClient } from '../src/grpc';
import { isIdempotent, newRequestId } from '../src/retry';

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
