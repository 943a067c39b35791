// Wake-ups pushed by the server (flowmonkey.v1.ExecutionStore/WatchWakeups, execution.proto;
// docs/adr/0015-wakeups.md): a timer loop that does not poll ListWakeReady. Each due
// wake-up (a waiting execution's wake_at passed, or its wait timed out) goes to one
// subscriber; the handler runs, and once it resolves the wake-up is acknowledged on the
// stream (never delivered again for that value).
//
//   const watcher = new WakeupWatcher(stores.connection, async ({ executionId }) => {
//     await engine.resume(executionId);   // idempotent: a wake-up may come again
//   }, { maxUnacked: 10 });
//   await watcher.start();
//   ...
//   await watcher.stop();   // waits for running handlers; the server releases what is left
//
// A handler that throws is not acknowledged: the server delivers the wake-up again once its
// ack timeout (ackTimeoutMs) has passed, or at once after a clean stop(). When the stream
// ends with a code worth retrying (UNAVAILABLE, a broken connection, ...) the watcher
// opens a new one with backoff; a handler of the old stream that resolves later is
// acknowledged with the unary AckWakeups (by the values it was delivered for).
import type { ClientDuplexStream, StatusObject } from '@grpc/grpc-js';
import { executionFromProto, opt } from './convert';
import { Code, Connection, ServiceClient } from './grpc';
import type { Execution } from './types';

/** A due wake-up of one execution. */
export interface Wakeup {
  executionId: string;
  /** Set when the execution's wakeAt has passed: that wakeAt. */
  wakeAt?: number;
  /** Set when the execution's wait has timed out: its deadline (waitStartedAt + the wait timeout). */
  waitDeadlineAt?: number;
  /** The execution as claimed (absent with idsOnly). */
  execution?: Execution;
}

export type WakeupHandler = (wakeup: Wakeup) => Promise<void> | void;

export interface WakeupWatcherOptions {
  /** Wake-ups delivered and not yet acknowledged at once (handlers running): 1..10,000. Default 10. */
  maxUnacked?: number;
  /** A wake-up not acknowledged within this is delivered again: 1,000..3,600,000. Default 30,000. */
  ackTimeoutMs?: number;
  /** Deliver only ids and wake-up values, not the execution. Default false. */
  idsOnly?: boolean;
  /** Only executions of this tenant (a tenant-bound API key implies its tenant). */
  tenantId?: string;
  /** Pause before reopening a broken stream, doubled each time up to maxBackoffMs. Default 100. */
  initialBackoffMs?: number;
  /** Default 5,000. */
  maxBackoffMs?: number;
  /** Handler failures, reconnects, acknowledgements that could not be made (default console.error). */
  onError?: (error: unknown) => void;
}

/** A WakeupAck (AckWakeups): the values one delivery was for. */
interface AckValues {
  execution_id: string;
  wake_at?: number;
  wait_deadline_at?: number;
  lease_until: number;
}

// Stream endings that are not worth a reconnect: the server will answer the same again.
const kFatalCodes = new Set<number>([
  Code.INVALID_ARGUMENT, Code.NOT_FOUND, Code.ALREADY_EXISTS, Code.PERMISSION_DENIED, Code.FAILED_PRECONDITION,
  Code.OUT_OF_RANGE, Code.UNIMPLEMENTED, Code.DATA_LOSS, Code.UNAUTHENTICATED,
]);
const kMaxAcksPerMessage = 1_000;

/** One WatchWakeups call. */
class WatchStream {
  private finished = false;
  private halfClosed = false;
  /** Deliveries whose handlers resolved, to be acknowledged in the next message. */
  private pending: AckValues[] = [];
  private flushScheduled = false;
  readonly status: Promise<StatusObject>;
  readonly openedAt = Date.now();

  /**
   * onAcked: acks written; onOrphaned: acks queued when the stream ended (to be sent with
   * the unary AckWakeups instead).
   */
  constructor(private readonly call: ClientDuplexStream<object, any>, onMessage: (message: any) => void,
    private readonly onAcked: (count: number) => void, private readonly onOrphaned: (values: AckValues[]) => void) {
    this.status = new Promise<StatusObject>((resolve) => {
      call.on('data', onMessage);
      call.on('error', () => {});  // the same status follows on 'status'
      call.on('status', (status: StatusObject) => {
        this.finished = true;
        this.flush();
        resolve(status);
      });
    });
  }

  /** Open and not half-closed by this side: acks are accepted. */
  get live(): boolean {
    return !this.finished && !this.halfClosed;
  }

  get ended(): boolean {
    return this.halfClosed;
  }

  write(message: object): boolean {
    if (!this.live) return false;
    this.call.write(message);
    return true;
  }

  /** Queues an ack; those queued in the same turn of the event loop go in one message. */
  ack(values: AckValues): void {
    this.pending.push(values);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes the queued acks (by execution id); once the stream is over, hands them to onOrphaned. */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const acks = this.pending.splice(0);
    if (!this.live) {
      this.onOrphaned(acks);
      return;
    }
    for (let i = 0; i < acks.length; i += kMaxAcksPerMessage) {
      this.call.write({ ack: acks.slice(i, i + kMaxAcksPerMessage).map((v) => v.execution_id) });
    }
    this.onAcked(acks.length);
  }

  end(): void {
    if (!this.live) return;
    this.flush();
    this.halfClosed = true;
    this.call.end();
  }
}

/** One delivery of an execution's wake-up: the stream that holds it, and the values it is for. */
interface Delivery {
  stream: WatchStream;
  values: AckValues;
}

/** Runs a handler for every wake-up the server pushes and acknowledges the ones it handled. */
export class WakeupWatcher {
  private readonly rpc: ServiceClient;
  private readonly maxUnacked: number;
  private readonly ackTimeoutMs: number;
  private readonly idsOnly: boolean;
  private readonly tenantId?: string;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly onError: (error: unknown) => void;
  /** Deliveries whose handler runs, by execution id (a redelivery while it runs joins it). */
  private readonly running = new Map<string, Delivery[]>();
  /** Unary acks of deliveries whose stream is gone, in flight. */
  private readonly unaryAcks = new Set<Promise<void>>();
  private stream?: WatchStream;
  private streamClosed?: Promise<void>;
  private started = false;
  private stopping?: Promise<void>;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private backoffMs: number;
  private idleWaiters: Array<() => void> = [];
  private stats = { delivered: 0, acked: 0, failed: 0 };
  private fatal?: unknown;

  constructor(connection: Connection, private readonly handler: WakeupHandler, options: WakeupWatcherOptions = {}) {
    this.rpc = connection.service('flowmonkey.v1.ExecutionStore');
    this.maxUnacked = options.maxUnacked ?? 10;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    this.idsOnly = options.idsOnly ?? false;
    this.tenantId = options.tenantId;
    this.initialBackoffMs = options.initialBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.backoffMs = this.initialBackoffMs;
    this.onError = options.onError ?? ((error) => console.error('WakeupWatcher:', error));
    if (!Number.isInteger(this.maxUnacked) || this.maxUnacked < 1 || this.maxUnacked > 10_000) {
      throw new RangeError('WakeupWatcher: maxUnacked must be an integer in 1..10,000');
    }
  }

  /**
   * Opens the stream and subscribes; resolves once the subscription is sent. A stream the
   * server refuses for good (INVALID_ARGUMENT, UNIMPLEMENTED, PERMISSION_DENIED, ...) stops
   * the watcher: see error and onError.
   */
  async start(): Promise<void> {
    if (this.started) return;
    if (this.stopping) await this.stopping;
    this.fatal = undefined;
    this.backoffMs = this.initialBackoffMs;
    this.open();
    this.started = true;
  }

  /**
   * Takes no more wake-ups, waits for the running handlers (their acks are sent), then
   * closes the stream (the server releases the wake-ups it still holds: delivered again at
   * once) and resolves once the server has finished it.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  /** Wake-ups received and handed to the handler (a redelivery while its handler runs included). */
  deliveredCount(): number {
    return this.stats.delivered;
  }

  /** Wake-ups whose handler resolved and whose ack was sent (on the stream, or with AckWakeups). */
  ackedCount(): number {
    return this.stats.acked;
  }

  /** Handler runs that threw (not acknowledged: delivered again). */
  failedCount(): number {
    return this.stats.failed;
  }

  /** Handlers running now. */
  activeCount(): number {
    return this.running.size;
  }

  /** The stream ending that stopped the watcher (a code not worth a reconnect), if any. */
  get error(): unknown {
    return this.fatal;
  }

  private async shutdown(): Promise<void> {
    this.started = false;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.running.size > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.stream?.end();  // the acks queued go first
    await this.streamClosed;
    await Promise.all([...this.unaryAcks]);
  }

  private open(): void {
    const stream = new WatchStream(this.rpc.duplex('WatchWakeups'), (message) => this.onMessage(stream, message),
      (count) => {
        this.stats.acked += count;
      },
      (values) => this.ackUnary(values));
    this.stream = stream;
    this.streamClosed = stream.status.then((status) => this.onClosed(stream, status));
    stream.write({
      subscribe: {
        max_unacked: this.maxUnacked, ack_timeout_ms: this.ackTimeoutMs, ids_only: this.idsOnly,
        tenant_id: this.tenantId,
      },
    });
  }

  private onMessage(stream: WatchStream, message: any): void {
    this.backoffMs = this.initialBackoffMs;
    // Once stopping, none is started: the server releases them when the stream closes.
    if (!this.started) return;
    for (const w of message.wakeups ?? []) {
      const values: AckValues = {
        execution_id: w.execution_id, wake_at: opt(w.wake_at), wait_deadline_at: opt(w.wait_deadline_at),
        lease_until: w.lease_until,
      };
      ++this.stats.delivered;
      const delivery: Delivery = { stream, values };
      const joined = this.running.get(values.execution_id);
      if (joined) {
        // Delivered again while its handler runs (it outlasted the ack timeout): acked with it.
        joined.push(delivery);
        continue;
      }
      this.running.set(values.execution_id, [delivery]);
      const wakeup: Wakeup = { executionId: values.execution_id };
      if (values.wake_at !== undefined) wakeup.wakeAt = values.wake_at;
      if (values.wait_deadline_at !== undefined) wakeup.waitDeadlineAt = values.wait_deadline_at;
      if (w.execution && !this.idsOnly) wakeup.execution = executionFromProto(w.execution);
      this.run(wakeup);
    }
  }

  private run(wakeup: Wakeup): void {
    const id = wakeup.executionId;
    Promise.resolve()
      .then(() => this.handler(wakeup))
      .then(() => this.acknowledge(this.running.get(id) ?? []), (error) => {
        ++this.stats.failed;
        this.onError(new Error(
          `wake-up of ${id}: the handler threw (not acknowledged: delivered again): ${messageOf(error)}`, { cause: error }));
      })
      .catch((error) => this.onError(error))
      .finally(() => {
        this.running.delete(id);
        if (this.running.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
  }

  /** Acks each delivery: on its stream while that is open, else with the unary AckWakeups. */
  private acknowledge(deliveries: Delivery[]): void {
    const orphaned: AckValues[] = [];
    for (const { stream, values } of deliveries) {
      if (stream.live) stream.ack(values);
      else orphaned.push(values);
    }
    this.ackUnary(orphaned);
  }

  // Wake-ups of a stream that is gone: the server ignores their ids on another stream, but
  // AckWakeups by the values they were delivered for still ends them (unless the execution
  // has moved on, or they were acknowledged meanwhile).
  private ackUnary(values: AckValues[]): void {
    if (values.length === 0) return;
    const unary = this.rpc.call('AckWakeups', { wakeups: values, release: false })
      .then(() => {
        this.stats.acked += values.length;
      }, (error) => {
        this.onError(new Error(
          `wake-ups of ${values.map((v) => v.execution_id).join(', ')}: their stream is gone and AckWakeups failed `
          + `(delivered again after the ack timeout): ${messageOf(error)}`, { cause: error }));
      })
      .finally(() => this.unaryAcks.delete(unary));
    this.unaryAcks.add(unary);
  }

  private onClosed(stream: WatchStream, status: StatusObject): void {
    if (this.stream === stream) this.stream = undefined;
    const clean = stream.ended && status.code === Code.OK;
    if (!this.started) {
      if (!clean) this.onError(streamError(status));
      return;
    }
    const error = streamError(status);
    this.onError(error);
    if (kFatalCodes.has(status.code)) {
      this.started = false;
      this.fatal = error;
      return;
    }
    // A stream that lasted is not a failing one: start the backoff over.
    if (Date.now() - stream.openedAt > this.maxBackoffMs) this.backoffMs = this.initialBackoffMs;
    const delay = this.backoffMs / 2 + Math.random() * (this.backoffMs / 2);
    this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.started) return;
      try {
        this.open();
      } catch (e) {
        this.started = false;
        this.fatal = e;
        this.onError(e);
      }
    }, delay);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function streamError(status: StatusObject): Error & { code: number } {
  return Object.assign(
    new Error(`ExecutionStore.WatchWakeups ended: ${status.code} ${Code[status.code] ?? ''}: ${status.details}`),
    { code: status.code, details: status.details });
}
