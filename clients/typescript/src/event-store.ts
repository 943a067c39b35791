// FlowMonkey's EventStore over flowmonkey.v1.EventStore. record() resolves once the event
// is durable.
import { compact, fromJson, opt, toJson } from './convert';
import { Connection, ServiceClient } from './grpc';
import { newRequestId } from './retry';
import type { EventBus, EventQuery, ExecutionEvent, StepResult } from './types';

export function eventToProto(e: ExecutionEvent): object {
  return {
    execution_id: e.executionId, event_type: e.eventType, step_id: e.stepId,
    data_json: toJson(e.data), created_at: e.createdAt ?? 0,
  };
}

export function eventFromProto(p: any): ExecutionEvent {
  return compact<ExecutionEvent>({
    id: p.id,
    executionId: p.execution_id,
    eventType: p.event_type,
    stepId: opt(p.step_id),
    data: fromJson(p.data_json),
    createdAt: p.created_at,
  });
}

/**
 * FlowMonkey's event store: record/query/getByExecution/deleteOld, and FlowMonkey's EventBus,
 * so it can be the engine's 4th constructor argument (new Engine(store, handlers, flows,
 * stores.eventStore)). As in @flowmonkey/postgres, the bus methods record in the background
 * and never throw into the engine; flush() waits for the writes in flight and rethrows the
 * first failure since the last flush, and onError (when set) sees each failure.
 */
export class RemoteEventStore implements EventBus {
  private readonly rpc: ServiceClient;
  private readonly inFlight = new Set<Promise<unknown>>();
  private failure: unknown;
  /** Called with each failed background write of the EventBus methods. */
  onError?: (error: unknown, event: ExecutionEvent) => void;

  constructor(connection: Connection) {
    this.rpc = connection.service('flowmonkey.v1.EventStore');
  }

  onExecutionCreated(e: { executionId: string; flowId: string; context: Record<string, unknown> }): void {
    this.background('execution.created', e.executionId, undefined, e);
  }
  onExecutionStarted(e: { executionId: string; flowId: string; stepId: string }): void {
    this.background('execution.started', e.executionId, e.stepId, e);
  }
  onStepStarted(e: { executionId: string; stepId: string; input: unknown }): void {
    this.background('step.started', e.executionId, e.stepId, e);
  }
  onStepCompleted(e: { executionId: string; stepId: string; result: StepResult; durationMs: number }): void {
    this.background('step.completed', e.executionId, e.stepId, e);
  }
  onExecutionCompleted(e: { executionId: string; context: Record<string, unknown>; totalSteps: number }): void {
    this.background('execution.completed', e.executionId, undefined, e);
  }
  onExecutionFailed(e: { executionId: string; stepId: string; error: { code: string; message: string } }): void {
    this.background('execution.failed', e.executionId, e.stepId, e);
  }
  onExecutionWaiting(e: { executionId: string; stepId: string; wakeAt?: number; reason?: string }): void {
    this.background('execution.waiting', e.executionId, e.stepId, e);
  }
  onExecutionResumed(e: { executionId: string; flowId: string; stepId: string }): void {
    this.background('execution.resumed', e.executionId, e.stepId, e);
  }
  onExecutionCancelled(e: {
    executionId: string; source: string; reason?: string; childrenCancelled: number; tokensInvalidated: number;
  }): void {
    this.background('execution.cancelled', e.executionId, undefined, e);
  }

  /** Waits for the EventBus writes in flight; rejects with the first failure since the last flush. */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    const failure = this.failure;
    this.failure = undefined;
    if (failure !== undefined) throw failure;
  }

  private background(eventType: string, executionId: string, stepId: string | undefined, data: unknown): void {
    const event = compact<ExecutionEvent>({ executionId, eventType, stepId, data });
    const write: Promise<unknown> = this.record(event).catch((error) => {
      if (this.failure === undefined) this.failure = error;
      this.onError?.(error, event);
    }).finally(() => this.inFlight.delete(write));
    this.inFlight.add(write);
  }

  /**
   * Records once however often the call is retried: a retry carries the same request id
   * (`requestId`, or a new random one), and the server answers it with the first result.
   */
  async record(event: ExecutionEvent, requestId: string = newRequestId()): Promise<ExecutionEvent> {
    return eventFromProto((await this.rpc.call('Record', { event: eventToProto(event), request_id: requestId })).event);
  }

  /** All or none; once, as record(). */
  async recordBatch(events: ExecutionEvent[], requestId: string = newRequestId()): Promise<ExecutionEvent[]> {
    const r = await this.rpc.call('RecordBatch', { events: events.map(eventToProto), request_id: requestId });
    return r.events.map(eventFromProto);
  }

  async query(q: EventQuery = {}): Promise<ExecutionEvent[]> {
    return (await this.queryPage(q)).events;
  }

  /** One page plus the cursor (afterId) for the next one; 0 when there is none. */
  async queryPage(q: EventQuery): Promise<{ events: ExecutionEvent[]; nextAfterId: number }> {
    const r = await this.rpc.call('Query', {
      execution_id: q.executionId, event_types: q.eventTypes ?? [], after: q.after, before: q.before,
      after_id: q.afterId ?? 0, limit: q.limit ?? 0, descending: q.descending ?? false,
    });
    return { events: r.events.map(eventFromProto), nextAfterId: r.next_after_id };
  }

  /** Every event of one execution, oldest first. */
  async forExecution(executionId: string): Promise<ExecutionEvent[]> {
    const out: ExecutionEvent[] = [];
    let afterId = 0;
    for (;;) {
      const r = await this.rpc.call('GetByExecution', { execution_id: executionId, after_id: afterId, limit: 1000 });
      out.push(...r.events.map(eventFromProto));
      if (!r.next_after_id || r.events.length === 0) return out;
      afterId = r.next_after_id;
    }
  }

  /** The seed's name for forExecution. */
  getByExecution(executionId: string): Promise<ExecutionEvent[]> {
    return this.forExecution(executionId);
  }

  async deleteOld(before: number): Promise<number> {
    return (await this.rpc.call('DeleteOld', { before })).deleted_count;
  }
}
