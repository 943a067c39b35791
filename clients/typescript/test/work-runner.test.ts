// WorkRunner (FlowMonkey's JobRunner over JobStore.Work) against a real server (FM_TARGET,
// set by scripts/with-test-server), through the installed package. Every test uses its own
// handler names, so the runners of one test never see another's jobs. Waits are on
// conditions, bounded; nothing asserts on timing.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { it, target } from './server';
import { connect, Execution, HandlerParams, Job, Stores, WorkRunner, WorkRunnerOptions } from '@flowmonkey/store-client';

let stores: Stores;
before(async () => {
  stores = await connect({ target, loadFlows: false });
});
after(() => stores.close());

const kWaitMs = 60_000;

/** Waits until check() answers true; a runner stopped by its stream's ending throws that error. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, runners: WorkRunner[] = []): Promise<void> {
  const deadline = Date.now() + kWaitMs;
  for (;;) {
    for (const runner of runners) if (runner.error) throw runner.error;
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

async function newExecution(): Promise<Execution> {
  const now = Date.now();
  const e: Execution = {
    id: `ts-work-${randomUUID()}`, flowId: 'work-flow', flowVersion: '1.0.0', currentStepId: 'run',
    status: 'waiting', context: { customer: 'c-1' }, stepCount: 1, createdAt: now, updatedAt: now,
  };
  await stores.stateStore.save(e);
  return e;
}

async function createJobs(handler: string, count: number): Promise<Job[]> {
  const e = await newExecution();
  const jobs: Job[] = [];
  for (let n = 0; n < count; ++n) {
    jobs.push(await stores.jobStore.getOrCreate({ executionId: e.id, stepId: `step-${n}`, handler, input: { n } }));
  }
  return jobs;
}

function newRunner(options: WorkRunnerOptions = {}): WorkRunner {
  return new WorkRunner(stores.connection, { heartbeatIntervalMs: 1000, onError: () => {}, ...options });
}

async function statuses(jobs: Job[]): Promise<Job[]> {
  return Promise.all(jobs.map(async (j) => {
    const job = await stores.jobStore.get(j.id);
    assert.ok(job, j.id);
    return job;
  }));
}

describe('WorkRunner (JobStore.Work)', () => {
  it('3 runners run N jobs exactly once; completedCount sums to N; every job completed', async () => {
    const handler = `ts-work-a-${randomUUID()}`;
    const runs = new Map<number, number>();
    const runners = [1, 2, 3].map(() => newRunner({ concurrency: 3 }));
    for (const runner of runners) {
      runner.registerHandler(handler, {
        async execute({ input }: HandlerParams) {
          const { n } = input as { n: number };
          runs.set(n, (runs.get(n) ?? 0) + 1);
          await new Promise((resolve) => setImmediate(resolve));
          return { outcome: 'success', output: { n } };
        },
      });
    }
    const total = () => runners.reduce((sum, r) => sum + r.completedCount(), 0);
    try {
      await Promise.all(runners.map((r) => r.start()));
      const N = 30;
      const jobs = await createJobs(handler, N);
      await waitFor(`${N} completions`, () => total() >= N, runners);
      for (const runner of runners) await runner.stop();
      assert.equal(total(), N);
      assert.equal(runners.reduce((sum, r) => sum + r.failedCount(), 0), 0);
      assert.equal(runs.size, N);
      for (const [n, count] of runs) assert.equal(count, 1, `job ${n} ran ${count} times`);
      for (const job of await statuses(jobs)) {
        assert.equal(job.status, 'completed', job.id);
        assert.ok(runners.some((r) => r.runnerId === job.runnerId), `${job.id} ran for ${job.runnerId}`);
        assert.deepEqual(job.result, { outcome: 'success', output: job.input });
      }
      for (const runner of runners) assert.equal(runner.activeCount(), 0);
    } finally {
      await Promise.all(runners.map((r) => r.stop()));
    }
  });

  it('a handler that throws fails its job with the error code; failedCount counts it', async () => {
    const handler = `ts-work-b-${randomUUID()}`;
    const runner = newRunner({ concurrency: 2 });
    runner.registerHandler(handler, {
      async execute() {
        throw Object.assign(new Error('card declined'), { code: 'E_CARD' });
      },
    });
    try {
      await runner.start();
      const [job] = await createJobs(handler, 1);
      await waitFor('the failure', () => runner.failedCount() >= 1, [runner]);
      await runner.stop();
      assert.equal(runner.failedCount(), 1);
      assert.equal(runner.completedCount(), 0);
      const [failed] = await statuses([job]);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error?.code, 'E_CARD');
      assert.equal(failed.error?.message, 'card declined');
      assert.equal(failed.attempts, 1);
    } finally {
      await runner.stop();
    }
  });

  it('stop() waits for the running job; jobs pushed but not started are pending again', async () => {
    const handler = `ts-work-c-${randomUUID()}`;
    // One slot and two jobs pushed ahead of it: three of the four jobs are this runner's,
    // one runs (blocked on the gate), two wait for the slot, one stays in the store.
    const runner = newRunner({ concurrency: 1, prefetch: 2 });
    const release = gate();
    const started: string[] = [];
    runner.registerHandler(handler, {
      async execute({ step }: HandlerParams) {
        started.push(step.id);
        await release.wait;
        return { outcome: 'success' };
      },
    });
    try {
      await runner.start();
      const jobs = await createJobs(handler, 4);
      await waitFor('one job started and three held', async () => {
        if (started.length !== 1) return false;
        const held = (await statuses(jobs)).filter((j) => j.status === 'running' && j.runnerId === runner.runnerId);
        return held.length === 3;
      }, [runner]);
      assert.equal(runner.activeCount(), 1);
      const stopped = runner.stop();
      release.open();
      await stopped;
      assert.equal(started.length, 1, `started: ${started.join(', ')}`);
      assert.equal(runner.completedCount(), 1);
      assert.equal(runner.activeCount(), 0);
      for (const job of await statuses(jobs)) {
        if (job.stepId === started[0]) {
          assert.equal(job.status, 'completed');
          continue;
        }
        assert.equal(job.status, 'pending', `${job.stepId} is ${job.status}`);
        assert.equal(job.runnerId, undefined);
        assert.equal(job.instanceId, undefined);
        assert.equal(job.attempts, 0, `${job.stepId}: a released attempt is not counted`);
      }
    } finally {
      release.open();
      await runner.stop();
    }
  });

  it('a job created while the runner is idle reaches it (no polling by the client)', async () => {
    const handler = `ts-work-d-${randomUUID()}`;
    const runner = newRunner({ concurrency: 1 });
    runner.registerHandler(handler, { execute: async ({ input }: HandlerParams) => ({ outcome: 'success', output: input }) });
    try {
      await runner.start();
      const [first] = await createJobs(handler, 1);
      await waitFor('the first job', () => runner.completedCount() >= 1, [runner]);
      // Now idle, its one credit back: the next job must be pushed to it.
      const [second] = await createJobs(handler, 1);
      await waitFor('the job created while idle', () => runner.completedCount() >= 2, [runner]);
      const done = await statuses([first, second]);
      assert.deepEqual(done.map((j) => j.status), ['completed', 'completed']);
      assert.equal(done[1].runnerId, runner.runnerId);
    } finally {
      await runner.stop();
    }
  });

  it('checkpoints and heartbeats go through the stream while the job runs', async () => {
    const handler = `ts-work-e-${randomUUID()}`;
    const runner = newRunner({ concurrency: 1, heartbeatIntervalMs: 100 });
    const release = gate();
    let restored: unknown;
    runner.registerHandler(handler, {
      async execute({ checkpoints, execution, signal }: HandlerParams) {
        assert.ok(checkpoints);
        assert.equal(execution.currentStepId, 'run');
        assert.equal(signal?.aborted, false);
        await checkpoints.save('page', { next: 2 });
        await checkpoints.save('total', 7);
        restored = await checkpoints.restore('page');
        await release.wait;
        return { outcome: 'success' };
      },
    });
    try {
      await runner.start();
      const [job] = await createJobs(handler, 1);
      await waitFor('the checkpoint', async () => {
        const saved = await stores.jobStore.getCheckpoint(job.id) as Record<string, unknown> | null;
        return saved?.total === 7;
      }, [runner]);
      assert.deepEqual(await stores.jobStore.getCheckpoint(job.id), { page: { next: 2 }, total: 7 });
      assert.deepEqual(restored, { next: 2 });
      const first = (await stores.jobStore.get(job.id))?.heartbeatAt ?? 0;
      await waitFor('a heartbeat', async () => ((await stores.jobStore.get(job.id))?.heartbeatAt ?? 0) > first, [runner]);
      release.open();
      await waitFor('the completion', () => runner.completedCount() >= 1, [runner]);
      assert.equal((await stores.jobStore.get(job.id))?.status, 'completed');
    } finally {
      release.open();
      await runner.stop();
    }
  });

  it('start() with no handler registered is refused (an empty subscription takes every job)', async () => {
    const runner = newRunner();
    await assert.rejects(runner.start(), /no handler registered/);
    await runner.stop();
  });
});
