// WorkRunner against an in-process fake JobStore (grpc-js, the package's own protos): what a
// real server cannot be made to do on cue. A stream that breaks (unstarted jobs released,
// a new stream with the slots that are free, the running job completed by the fenced unary
// call, retried while the server is unavailable, its slot given to the new stream) and acks
// that refuse (not counted; a refused heartbeat aborts the handler).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Connection } from '../src/grpc';
import type { Execution, HandlerParams } from '../src/types';
import { WorkRunner, WorkRunnerOptions } from '../src/work-runner';

const root = join(__dirname, '..', '..', 'proto');
const definition = protoLoader.loadSync([join(root, 'flowmonkey', 'v1', 'job.proto')], {
  keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [root],
});
const jobStoreService = (grpc.loadPackageDefinition(definition) as any).flowmonkey.v1.JobStore.service;

interface WorkCall {
  call: grpc.ServerDuplexStream<any, any>;
  messages: any[];
}

/** A JobStore with Work, Complete, Fail, Heartbeat and Release; onMessage answers stream messages. */
async function fakeServer(onMessage: (work: WorkCall, message: any) => void = () => {}, unavailableCompletes = 0) {
  const works: WorkCall[] = [];
  const unary: Record<string, any[]> = { Complete: [], Fail: [], Heartbeat: [], Release: [] };
  const server = new grpc.Server();
  server.addService(jobStoreService, {
    Work(call: grpc.ServerDuplexStream<any, any>) {
      const work = { call, messages: [] as any[] };
      works.push(work);
      call.on('data', (message) => {
        work.messages.push(message);
        onMessage(work, message);
      });
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
    Complete: (call: any, callback: any) => {
      const n = unary.Complete.push(call.request);
      if (n <= unavailableCompletes) callback({ code: grpc.status.UNAVAILABLE, details: 'restarting' });
      else callback(null, { updated_at: n });
    },
    Fail: (call: any, callback: any) => callback(null, { updated_at: unary.Fail.push(call.request) }),
    Heartbeat: (call: any, callback: any) => callback(null, { heartbeat_at: unary.Heartbeat.push(call.request) }),
    Release: (call: any, callback: any) => callback(null, { released: unary.Release.push(call.request) }),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0',
    grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))));
  return { works, unary, server, target: `127.0.0.1:${port}` };
}

function pushedJob(id: string, instanceId: string, runnerId: string): object {
  return {
    id, execution_id: 'e-1', step_id: `step-${id}`, handler: 'h', status: 'JOB_STATUS_RUNNING',
    input_json: JSON.stringify({ id }), runner_id: runnerId, instance_id: instanceId, attempts: 1, max_attempts: 3,
    heartbeat_ms: 30_000, created_at: 1, updated_at: 1,
  };
}

const execution = async (id: string): Promise<Execution> => ({
  id, flowId: 'f', flowVersion: '1.0.0', currentStepId: 's', status: 'waiting', context: {}, stepCount: 1,
  createdAt: 1, updatedAt: 1,
});

function runnerFor(target: string, options: WorkRunnerOptions): { runner: WorkRunner; connection: Connection } {
  const connection = new Connection({ target });
  const runner = new WorkRunner(connection, {
    runnerId: 'r-1', initialBackoffMs: 10, heartbeatIntervalMs: 60_000, onError: () => {}, stateStore: { load: execution },
    ...options,
  });
  return { runner, connection };
}

async function waitFor(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('a broken stream: unstarted jobs released, a new stream for the free slots, the running job completed unary', async () => {
  // Complete answers UNAVAILABLE 4 times (more than the unary call's own 3 attempts).
  const fake = await fakeServer(undefined, 4);
  const { runner, connection } = runnerFor(fake.target, { concurrency: 1, prefetch: 1 });
  let open = (): void => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const started: string[] = [];
  runner.registerHandler('h', {
    async execute({ input }: HandlerParams) {
      started.push((input as { id: string }).id);
      await gate;
      return { outcome: 'success' };
    },
  });
  try {
    await runner.start();
    await waitFor('the subscription', () => fake.works[0]?.messages.length === 1);
    const subscribe = fake.works[0].messages[0].subscribe;
    assert.equal(subscribe.runner_id, 'r-1');
    assert.deepEqual(subscribe.handlers, ['h']);
    assert.equal(subscribe.credits, 2);
    fake.works[0].call.write({ jobs: [pushedJob('a', 'i-a', 'r-1'), pushedJob('b', 'i-b', 'r-1')] });
    await waitFor('job a started', () => started.length === 1);
    fake.works[0].call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'going away' });

    await waitFor('a second stream', () => fake.works[1]?.messages.length === 1);
    assert.equal(fake.unary.Release.length, 1);
    assert.deepEqual(fake.unary.Release[0], { job_ids: ['b'], instance_ids: ['i-b'] });
    assert.equal(fake.works[1].messages[0].subscribe.credits, 1, 'one slot is still taken by job a');

    open();
    await waitFor('the completion', () => runner.completedCount() === 1);
    assert.equal(fake.unary.Complete.length, 5);
    const complete = fake.unary.Complete[4];
    assert.deepEqual([complete.job_id, complete.runner_id, complete.instance_id, complete.result_json],
      ['a', 'r-1', 'i-a', JSON.stringify({ outcome: 'success' })]);
    await waitFor('the slot given to the new stream', () => fake.works[1].messages.length === 2);
    assert.equal(fake.works[1].messages[1].credits, 1);
    await runner.stop();
    assert.deepEqual(started, ['a']);
    assert.equal(fake.works.length, 2);
  } finally {
    open();
    await runner.stop();
    connection.close();
    fake.server.forceShutdown();
  }
});

test('acks: OK is counted, FAILED_PRECONDITION is not; a refused heartbeat aborts the handler', async () => {
  const fake = await fakeServer((work, message) => {
    const acks = [
      ...message.complete.map((c: any) => ({ job_id: c.job_id, op: 'OP_COMPLETE', code: 0 })),
      ...message.fail.map((f: any) => ({ job_id: f.job_id, op: 'OP_FAIL', code: grpc.status.FAILED_PRECONDITION, message: 'not held' })),
      ...message.heartbeat.filter((id: string) => id === 'y')
        .map((id: string) => ({ job_id: id, op: 'OP_HEARTBEAT', code: grpc.status.FAILED_PRECONDITION, message: 'reset' })),
    ];
    if (acks.length > 0) work.call.write({ acks });
  });
  const { runner, connection } = runnerFor(fake.target, { concurrency: 2, heartbeatIntervalMs: 20 });
  runner.registerHandler('h', {
    async execute({ input, signal }: HandlerParams) {
      if ((input as { id: string }).id === 'x') return { outcome: 'success' };
      await new Promise((resolve) => signal?.addEventListener('abort', resolve));
      throw new Error('aborted');
    },
  });
  try {
    await runner.start();
    await waitFor('the subscription', () => fake.works[0]?.messages.length === 1);
    fake.works[0].call.write({ jobs: [pushedJob('x', 'i-x', 'r-1'), pushedJob('y', 'i-y', 'r-1')] });
    await waitFor('the completion of x', () => runner.completedCount() === 1);
    await waitFor('the failure of y', () => fake.works[0].messages.some((m) => m.fail.length > 0));
    await waitFor('y done', () => runner.activeCount() === 0);
    assert.equal(runner.failedCount(), 0, 'a refused failure is not counted');
    const complete = fake.works[0].messages.find((m) => m.complete.length > 0);
    assert.equal(complete.complete[0].job_id, 'x');
    assert.equal(complete.credits, 1);
    const fail = fake.works[0].messages.find((m) => m.fail.length > 0);
    assert.equal(fail.fail[0].error.code, 'EXECUTION_ERROR');
    assert.equal(fail.credits, 1);
    await runner.stop();
    assert.ok(fake.works[0].messages.every((m) => m.credits === 0 || m.complete.length + m.fail.length > 0 || m.subscribe),
      'credits only with an outcome');
  } finally {
    await runner.stop();
    connection.close();
    fake.server.forceShutdown();
  }
});
