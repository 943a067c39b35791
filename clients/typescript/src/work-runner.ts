// FlowMonkey's JobRunner over flowmonkey.v1.JobStore/Work (push delivery, job.proto): one
// bidirectional stream subscribed to the registered handlers' names; the server pushes jobs
// as the runner has room (one credit each), the runner completes, fails, heartbeats and
// checkpoints them on the stream, and every such write is acknowledged once durable.
//
//   const runner = new WorkRunner(stores.connection, { concurrency: 4 });
//   runner.registerHandler('email-send', emailHandler);   // a FlowMonkey StepHandler
//   await runner.start();
//   ...
//   await runner.stop();   // waits for running jobs; unstarted ones go back to pending
//
// Credits: the subscription asks for concurrency + prefetch jobs and each completion or
// failure sends one credit back (credits are not returned by the server). When the stream
// ends with a code worth retrying (UNAVAILABLE, a broken connection, ...) the runner opens
// a new one with backoff; the jobs it still runs are then completed, failed and
// heartbeated with the unary calls, fenced by their runner and instance ids, and the jobs
// it had been pushed but not started are released at once.
import { randomUUID } from 'node:crypto';
import type { ClientDuplexStream, StatusObject } from '@grpc/grpc-js';
import { fromJson, toJson } from './convert';
import { Code, Connection, isCode, ServiceClient } from './grpc';
import { jobFromProto, RemoteJobStore, Runner } from './job-store';
import { RemoteStateStore } from './state-store';
import type {
  CheckpointManager, ContextHelpers, Execution, HandlerParams, JobError, JobHandler, JobRunner, ScheduledJob,
} from './types';

export interface WorkRunnerOptions {
  /** Job.runnerId of every job this runner takes. Default `ts-<random uuid>`. */
  runnerId?: string;
  /** Jobs run at once. Default 5 (FlowMonkey's). */
  concurrency?: number;
  /**
   * Jobs pushed ahead of a free slot, held (running for this runner, heartbeated, not yet
   * started) until one frees up. Default 0: the stream's credits are `concurrency`.
   */
  prefetch?: number;
  /** How often the runner heartbeats the jobs it holds. Default 10,000 (FlowMonkey's). */
  heartbeatIntervalMs?: number;
  /** Only jobs of this tenant's executions (a tenant-bound API key implies its tenant). */
  tenantId?: string;
  /** Where a job's execution is loaded from for the handler; default the connection's ExecutionStore. */
  stateStore?: { load(id: string): Promise<Execution | null> };
  /** Pause before reopening a broken stream, doubled each time up to maxBackoffMs. Default 100. */
  initialBackoffMs?: number;
  /** Default 5,000. */
  maxBackoffMs?: number;
  /** Reconnects, lost jobs, writes that could not be made (default console.error). */
  onError?: (error: unknown) => void;
}

type AckOp = 'OP_COMPLETE' | 'OP_FAIL' | 'OP_HEARTBEAT' | 'OP_CHECKPOINT';

/** A WorkAck as it arrives (code: a google.rpc code, 0 once durable). */
interface Ack {
  job_id: string;
  op: AckOp;
  code: number;
  message: string;
  will_retry: boolean;
  next_run_at: number;
}

// Stream endings that are not worth a reconnect: the server will answer the same again.
const kFatalCodes = new Set<number>([
  Code.INVALID_ARGUMENT, Code.NOT_FOUND, Code.ALREADY_EXISTS, Code.PERMISSION_DENIED, Code.FAILED_PRECONDITION,
  Code.OUT_OF_RANGE, Code.UNIMPLEMENTED, Code.DATA_LOSS, Code.UNAUTHENTICATED,
]);

/** One JobStore.Work call; its acks are matched to the writes waiting for them by op and job id. */
class WorkStream {
  private readonly waiters = new Map<string, Array<(ack: Ack | null) => void>>();
  private finished = false;
  private halfClosed = false;
  /** Settles with the call's status once it is over, OK or not. */
  readonly status: Promise<StatusObject>;
  readonly openedAt = Date.now();

  constructor(private readonly call: ClientDuplexStream<object, any>, onMessage: (message: any) => void) {
    this.status = new Promise<StatusObject>((resolve) => {
      call.on('data', (message: any) => {
        for (const ack of message.acks as Ack[]) this.settle(`${ack.op}/${ack.job_id}`, ack);
        onMessage(message);
      });
      call.on('error', () => {});  // the same status follows on 'status'
      call.on('status', (status: StatusObject) => {
        this.finished = true;
        for (const waiting of this.waiters.values()) for (const resolveAck of waiting) resolveAck(null);
        this.waiters.clear();
        resolve(status);
      });
    });
  }

  /** Open and not half-closed by this side: writes are accepted and will be acknowledged. */
  get live(): boolean {
    return !this.finished && !this.halfClosed;
  }

  /** Whether this side half-closed it (end()). */
  get ended(): boolean {
    return this.halfClosed;
  }

  write(message: object): boolean {
    if (!this.live) return false;
    this.call.write(message);
    return true;
  }

  /** Writes message and answers the acks of `expect` (op, job id) in order; null: none came (the stream ended). */
  send(message: object, expect: Array<[AckOp, string]>): Promise<Array<Ack | null>> {
    if (!this.live) return Promise.resolve(expect.map(() => null));
    const acks = Promise.all(expect.map(([op, jobId]) => new Promise<Ack | null>((resolve) => {
      const key = `${op}/${jobId}`;
      const waiting = this.waiters.get(key);
      if (waiting) waiting.push(resolve);
      else this.waiters.set(key, [resolve]);
    })));
    this.call.write(message);
    return acks;
  }

  end(): void {
    if (!this.live) return;
    this.halfClosed = true;
    this.call.end();
  }

  private settle(key: string, ack: Ack): void {
    const waiting = this.waiters.get(key);
    const resolveAck = waiting?.shift();
    if (waiting && waiting.length === 0) this.waiters.delete(key);
    resolveAck?.(ack);
  }
}

/** A job pushed to this runner: running for it on the server, started here or waiting for a slot. */
interface Held {
  job: ScheduledJob;
  instanceId: string;
  stream: WorkStream;
  started: boolean;
  abort: AbortController;
  /** The job's checkpoint as this runner last wrote it (it is the only writer while it runs it). */
  checkpoint: Record<string, unknown>;
}

type Outcome = { result: unknown } | { error: JobError };

/** FlowMonkey's JobRunner, fed by the server (JobStore.Work) instead of polling. */
export class WorkRunner implements JobRunner {
  readonly runnerId: string;
  private readonly rpc: ServiceClient;
  private readonly jobStore: RemoteJobStore;
  private readonly stateStore: { load(id: string): Promise<Execution | null> };
  private readonly handlers = new Map<string, JobHandler>();
  private readonly concurrency: number;
  private readonly prefetch: number;
  private readonly heartbeatIntervalMs: number;
  private readonly tenantId?: string;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly onError: (error: unknown) => void;
  /** Pushed jobs not finished yet, in the order they came (started or waiting for a slot). */
  private readonly held = new Map<string, Held>();
  private stream?: WorkStream;
  private streamClosed?: Promise<void>;
  private running = false;
  private stopping?: Promise<void>;
  private heartbeatTimer?: ReturnType<typeof setInterval>;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private backoffMs: number;
  private idleWaiters: Array<() => void> = [];
  private stats = { active: 0, completed: 0, failed: 0 };
  private fatal?: unknown;

  constructor(connection: Connection, options: WorkRunnerOptions = {}) {
    this.rpc = connection.service('flowmonkey.v1.JobStore');
    this.jobStore = new RemoteJobStore(connection);
    this.stateStore = options.stateStore ?? new RemoteStateStore(connection);
    this.runnerId = options.runnerId ?? `ts-${randomUUID()}`;
    this.concurrency = Math.max(1, options.concurrency ?? 5);
    this.prefetch = Math.max(0, options.prefetch ?? 0);
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 10_000;
    this.tenantId = options.tenantId;
    this.initialBackoffMs = options.initialBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.backoffMs = this.initialBackoffMs;
    this.onError = options.onError ?? ((error) => console.error('WorkRunner:', error));
  }

  /** The handler for jobs of this name. Registered after start(): subscribed from the next stream on. */
  registerHandler(name: string, handler: JobHandler): void {
    this.handlers.set(name, handler);
  }

  /**
   * Opens the stream and subscribes; resolves once the subscription is sent. A stream the
   * server refuses for good (UNIMPLEMENTED, PERMISSION_DENIED, ...) stops the runner:
   * see error and onError.
   */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.stopping) await this.stopping;
    // An empty subscription would take the jobs of every handler.
    if (this.handlers.size === 0) throw new Error('WorkRunner.start: no handler registered');
    this.fatal = undefined;
    this.backoffMs = this.initialBackoffMs;
    this.open();
    this.running = true;
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.heartbeatIntervalMs);
  }

  /**
   * Takes no more jobs, waits for the running ones to finish and be acknowledged, then
   * closes the stream (the server gives the jobs pushed but not started back: pending
   * again, their attempt not counted) and resolves once the server has finished it.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  activeCount(): number {
    return this.stats.active;
  }

  /** Completions the server acknowledged as durable. */
  completedCount(): number {
    return this.stats.completed;
  }

  /** Failures the server acknowledged as durable (final, or pending again for a retry). */
  failedCount(): number {
    return this.stats.failed;
  }

  /** The stream ending that stopped the runner (a code not worth a reconnect), if any. */
  get error(): unknown {
    return this.fatal;
  }

  private async shutdown(): Promise<void> {
    this.running = false;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.stats.active > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.stream?.end();
    await this.streamClosed;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private open(): void {
    const stream = new WorkStream(this.rpc.duplex('Work'), (message) => this.onMessage(stream, message));
    this.stream = stream;
    this.streamClosed = stream.status.then((status) => this.onClosed(stream, status));
    stream.write({
      subscribe: {
        runner_id: this.runnerId, handlers: [...this.handlers.keys()], credits: this.freeSlots(),
        tenant_id: this.tenantId,
      },
    });
  }

  private freeSlots(): number {
    return Math.max(0, this.concurrency + this.prefetch - this.held.size);
  }

  private onMessage(stream: WorkStream, message: any): void {
    this.backoffMs = this.initialBackoffMs;
    for (const p of message.jobs) {
      const job = jobFromProto(p);
      const checkpoint = job.checkpoint;
      this.held.set(job.id, {
        job, instanceId: job.instanceId ?? '', stream, started: false, abort: new AbortController(),
        checkpoint: typeof checkpoint === 'object' && checkpoint !== null ? { ...checkpoint } : {},
      });
    }
    this.pump();
  }

  private async onClosed(stream: WorkStream, status: StatusObject): Promise<void> {
    if (this.stream === stream) this.stream = undefined;
    const unstarted = [...this.held.values()].filter((h) => h.stream === stream && !h.started);
    for (const h of unstarted) this.held.delete(h.job.id);
    const clean = stream.ended && status.code === Code.OK;
    // Closed by this side: the server released them. Broken: release them now rather than
    // leave them to the heartbeat reaper.
    if (unstarted.length > 0 && !clean) {
      try {
        await this.rpc.call('Release', {
          job_ids: unstarted.map((h) => h.job.id), instance_ids: unstarted.map((h) => h.instanceId),
        });
      } catch (error) {
        this.onError(error);
      }
    }
    if (!this.running) {
      if (!clean) this.onError(streamError(status));
      return;
    }
    const error = streamError(status);
    if (kFatalCodes.has(status.code)) {
      this.running = false;
      this.fatal = error;
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
      this.onError(error);
      return;
    }
    this.onError(error);
    // A stream that lasted is not a failing one: start the backoff over.
    if (Date.now() - stream.openedAt > this.maxBackoffMs) this.backoffMs = this.initialBackoffMs;
    const delay = this.backoffMs / 2 + Math.random() * (this.backoffMs / 2);
    this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.running) return;
      try {
        this.open();
      } catch (e) {
        this.running = false;
        this.fatal = e;
        this.onError(e);
      }
    }, delay);
  }

  /** Starts held jobs while there is a free slot (none once stopping). */
  private pump(): void {
    if (!this.running) return;
    for (const h of this.held.values()) {
      if (this.stats.active >= this.concurrency) return;
      if (h.started) continue;
      h.started = true;
      ++this.stats.active;
      this.execute(h).catch((error) => this.onError(error)).finally(() => {
        --this.stats.active;
        if (this.stats.active === 0) {
          for (const resolve of this.idleWaiters.splice(0)) resolve();
        }
        this.pump();
      });
    }
  }

  private async execute(h: Held): Promise<void> {
    let outcome: Outcome;
    try {
      const handler = this.handlers.get(h.job.handler);
      if (!handler) throw new Error(`No handler registered for type: ${h.job.handler}`);
      const execution = await this.stateStore.load(h.job.executionId);
      if (!execution) throw new Error(`Execution ${h.job.executionId} not found`);
      outcome = { result: await handler.execute(this.params(h, execution)) };
      toJson(outcome.result);  // a result that is not JSON fails the job
    } catch (error) {
      outcome = { error: jobErrorOf(error) };
    }
    await this.finish(h, outcome);
  }

  /** Records the outcome: on the job's stream while it is open, else with the fenced unary call. */
  private async finish(h: Held, outcome: Outcome): Promise<void> {
    const jobId = h.job.id;
    this.held.delete(jobId);
    // The slot is free again: one more job for this stream (none once stopping).
    const credits = this.running ? 1 : 0;
    const completing = 'result' in outcome;
    if (h.stream.live) {
      const [ack] = completing
        ? await h.stream.send({ complete: [{ job_id: jobId, result_json: toJson(outcome.result) }], credits },
          [['OP_COMPLETE', jobId]])
        : await h.stream.send({ fail: [{ job_id: jobId, error: jobErrorToProto(outcome.error) }], credits },
          [['OP_FAIL', jobId]]);
      if (ack && ack.code === Code.OK) {
        this.count(completing);
        return;
      }
      if (ack && (ack.code === Code.FAILED_PRECONDITION || ack.code === Code.NOT_FOUND)) {
        this.onError(new Error(`job ${jobId} is no longer this runner's (${ack.message}); its outcome was not recorded`));
        return;
      }
      if (ack) this.onError(new Error(`job ${jobId}: the stream could not record the outcome (code ${ack.code}: ${ack.message}); retrying with the unary call`));
    } else if (credits > 0) {
      // A job of a stream that is gone: its slot goes to the current one.
      this.stream?.write({ credits });
    }
    if (await this.recordUnary(h, outcome) || await this.landed(jobId, outcome)) {
      this.count(completing);
    } else {
      this.onError(new Error(`job ${jobId} is no longer this runner's; its outcome was not recorded`));
    }
  }

  // The fenced unary Complete/Fail. The server may be restarting (the stream broke): retried
  // on UNAVAILABLE (the call did not run) with backoff for as long as the job could still
  // be this runner's (three of its heartbeat intervals, at least 30 s).
  private async recordUnary(h: Held, outcome: Outcome): Promise<boolean> {
    const who: Runner = { runnerId: this.runnerId, instanceId: h.instanceId };
    const deadline = Date.now() + Math.max(30_000, 3 * h.job.heartbeatMs);
    for (let backoff = this.initialBackoffMs; ; backoff = Math.min(this.maxBackoffMs, backoff * 2)) {
      try {
        return 'result' in outcome
          ? await this.jobStore.complete(h.job.id, who, outcome.result)
          : (await this.jobStore.failJob(h.job.id, who, outcome.error)) !== null;
      } catch (error) {
        if (!isCode(error, Code.UNAVAILABLE) || Date.now() + backoff > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, backoff));
      }
    }
  }

  // Whether a write sent on a stream that broke before its ack was made after all (the
  // unary retry is then refused: the job is no longer running).
  private async landed(jobId: string, outcome: Outcome): Promise<boolean> {
    const job = await this.jobStore.get(jobId);
    if (!job || job.runnerId !== undefined && job.runnerId !== this.runnerId) return false;
    if ('result' in outcome) return job.status === 'completed';
    return (job.status === 'failed' || job.status === 'pending') && job.error?.code === outcome.error.code;
  }

  private count(completed: boolean): void {
    if (completed) ++this.stats.completed;
    else ++this.stats.failed;
  }

  /** Heartbeats every held job: on the stream, or fenced unary for jobs of a stream that is gone. */
  private heartbeat(): void {
    const stream = this.stream;
    const onStream: Held[] = [];
    for (const h of this.held.values()) {
      if (stream && h.stream === stream && stream.live) {
        onStream.push(h);
      } else if (!h.stream.live) {
        this.jobStore.heartbeat(h.job.id, { runnerId: this.runnerId, instanceId: h.instanceId })
          .then((ok) => ok || this.lose(h, 'its heartbeat was refused'))
          .catch((error) => this.onError(error));
      }
    }
    if (!stream || onStream.length === 0) return;
    stream.send({ heartbeat: onStream.map((h) => h.job.id) }, onStream.map((h) => ['OP_HEARTBEAT', h.job.id]))
      .then((acks) => acks.forEach((ack, i) => {
        if (ack && (ack.code === Code.FAILED_PRECONDITION || ack.code === Code.NOT_FOUND)) this.lose(onStream[i], ack.message);
      }))
      .catch((error) => this.onError(error));
  }

  /** A job reset (or cancelled) behind this runner's back: abort its handler, or drop it unstarted. */
  private lose(h: Held, why: string): void {
    if (this.held.get(h.job.id) !== h) return;
    h.abort.abort();
    if (!h.started) {
      this.held.delete(h.job.id);
      if (this.running) this.stream?.write({ credits: 1 });
    }
    this.onError(new Error(`job ${h.job.id} is no longer this runner's: ${why}`));
  }

  private params(h: Held, execution: Execution): HandlerParams {
    const context = (execution.context ?? {}) as Record<string, unknown>;
    return {
      input: h.job.input,
      step: {
        id: h.job.stepId, type: h.job.handler, config: {}, input: { type: 'full' }, transitions: { onSuccess: null },
      },
      context,
      ctx: contextHelpers(context),
      execution,
      checkpoints: this.checkpoints(h),
      signal: h.abort.signal,
    };
  }

  // Checkpoints: one JSON object per job, key by key; written on the stream (acknowledged
  // once durable), or fenced unary once the job's stream is gone.
  private checkpoints(h: Held): CheckpointManager {
    const who: Runner = { runnerId: this.runnerId, instanceId: h.instanceId };
    const write = async (next: Record<string, unknown>): Promise<void> => {
      let ok: boolean;
      const [ack] = await h.stream.send({ checkpoint: [{ job_id: h.job.id, checkpoint_json: toJson(next) }] },
        [['OP_CHECKPOINT', h.job.id]]);
      if (ack === null) {
        ok = await this.jobStore.saveCheckpoint(h.job.id, who, next);
      } else if (ack.code === Code.OK || ack.code === Code.FAILED_PRECONDITION || ack.code === Code.NOT_FOUND) {
        ok = ack.code === Code.OK;
      } else {
        throw Object.assign(new Error(`checkpoint of job ${h.job.id}: ${ack.message}`), { code: ack.code });
      }
      if (!ok) throw new Error(`Instance ${h.instanceId} is no longer active for job ${h.job.id}`);
      h.checkpoint = next;
    };
    return {
      save: (key, data) => write({ ...h.checkpoint, [key]: fromJson(toJson(data)) }),
      restore: async <T>(key: string) => (key in h.checkpoint ? h.checkpoint[key] as T : null),
      list: async () => Object.keys(h.checkpoint),
      delete: async (key) => {
        const { [key]: _removed, ...rest } = h.checkpoint;
        await write(rest);
      },
      clear: () => write({}),
    };
  }
}

function streamError(status: StatusObject): Error & { code: number } {
  return Object.assign(new Error(`JobStore.Work ended: ${status.code} ${Code[status.code] ?? ''}: ${status.details}`),
    { code: status.code, details: status.details });
}

/** FlowMonkey's mapping of a handler's throw: its code when it has one, else EXECUTION_ERROR. */
function jobErrorOf(error: unknown): JobError {
  const code = typeof error === 'object' && error !== null && 'code' in error && (error as { code: unknown }).code
    ? String((error as { code: unknown }).code) : 'EXECUTION_ERROR';
  return {
    code,
    message: error instanceof Error ? error.message : String(error),
    details: error instanceof Error && error.stack ? { stack: error.stack } : undefined,
  };
}

function jobErrorToProto(error: JobError): object {
  return { code: error.code, message: error.message, details_json: toJson(error.details) };
}

// The execution's context in memory, as FlowMonkey's job runner gives it to handlers.
function contextHelpers(context: Record<string, unknown>): ContextHelpers {
  return {
    get: async <T>(key: string) => context[key] as T,
    set: async (key, value) => {
      context[key] = value;
    },
    has: (key) => key in context,
    delete: async (key) => {
      delete context[key];
    },
    getAll: async <T>(keys: string[]) => Object.fromEntries(keys.map((k) => [k, context[k]])) as T,
  };
}
