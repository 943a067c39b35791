// FlowMonkey's EventStore over flowmonkey.v1.EventStore. record() resolves once the event
// is durable.
import { compact, fromJson, opt, toJson } from './convert';
import { Connection, ServiceClient } from './grpc';
import { newRequestId } from './retry';
import type { EventQuery, ExecutionEvent } from './types';

function eventToProto(e: ExecutionEvent): object {
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

export class RemoteEventStore {
  private readonly rpc: ServiceClient;

  constructor(connection: Connection) {
    this.rpc = connection.service('flowmonkey.v1.EventStore');
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
