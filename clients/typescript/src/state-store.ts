// StateStore over flowmonkey.v1.ExecutionStore.
import { randomUUID } from 'node:crypto';
import { executionFromProto, executionToProto, executionVersion, toEnum } from './convert';
import { Code, Connection, isCode, ServiceClient } from './grpc';
import type { Execution, ExecutionStatus, Lock, StateStore } from './types';

/** FlowMonkey's Lock, plus this service's fencing token. */
export interface RemoteLock extends Lock {
  /** Grows every time the lease changes hands. */
  readonly fencingToken: number;
  readonly executionId: string;
  /** The lease's owner (random per acquireLock), for a transaction's ifLeaseHeld/releaseLock. */
  readonly owner: string;
}

export class RemoteStateStore implements StateStore {
  private readonly rpc: ServiceClient;

  constructor(connection: Connection) {
    this.rpc = connection.service('flowmonkey.v1.ExecutionStore');
  }

  async load(id: string): Promise<Execution | null> {
    try {
      const r = await this.rpc.call('Get', { execution_id: id });
      return executionFromProto(r.execution);
    } catch (error) {
      if (isCode(error, Code.NOT_FOUND)) return null;
      throw error;
    }
  }

  async save(execution: Execution): Promise<void> {
    await this.rpc.call('Save', { execution: executionToProto(execution) });
  }

  /** Inserts; with an idempotency key returns the existing execution (created=false). */
  async create(execution: Execution): Promise<{ execution: Execution; created: boolean }> {
    const r = await this.rpc.call('Create', { execution: executionToProto(execution) });
    return { execution: executionFromProto(r.execution), created: r.created };
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.rpc.call('Delete', { execution_id: id });
    return r.deleted;
  }

  async listWakeReady(now: number, limit?: number): Promise<string[]> {
    const r = await this.rpc.call('ListWakeReady', { now, limit: limit ?? 0, ids_only: true });
    return r.execution_ids;
  }

  async listByStatus(status: ExecutionStatus, limit?: number): Promise<Execution[]> {
    const r = await this.rpc.call('FindByStatus', {
      status: toEnum('EXECUTION_STATUS', status), limit: limit ?? 0,
    });
    return r.executions.map(executionFromProto);
  }

  async acquireLock(id: string, ttlMs: number): Promise<RemoteLock | null> {
    const owner = randomUUID();
    const r = await this.rpc.call('AcquireLock', { execution_id: id, owner, ttl_ms: ttlMs });
    if (!r.acquired) return null;
    const rpc = this.rpc;
    const fencingToken: number = r.fencing_token;
    return {
      fencingToken,
      executionId: id,
      owner,
      async release() {
        await rpc.call('ReleaseLock', { execution_id: id, owner, fencing_token: fencingToken });
      },
      async extend(ttl: number) {
        try {
          await rpc.call('ExtendLock', { execution_id: id, owner, fencing_token: fencingToken, ttl_ms: ttl });
          return true;
        } catch (error) {
          if (isCode(error, Code.FAILED_PRECONDITION)) return false;
          throw error;
        }
      },
    };
  }

  /**
   * FlowMonkey's rule: an execution of the flow with this key whose idempotencyExpiresAt is
   * set and still in the future. windowMs is not used for matching (the engine already
   * turned it into idempotencyExpiresAt when it created the execution), as in FlowMonkey's
   * MemoryStore.
   */
  async findByIdempotencyKey(flowId: string, key: string, _windowMs: number): Promise<Execution | null> {
    const r = await this.rpc.call('FindByIdempotencyKey', { flow_id: flowId, idempotency_key: key, window_ms: 0 });
    if (!r.found) return null;
    const execution = executionFromProto(r.execution);
    const expiresAt = execution.idempotencyExpiresAt;
    return expiresAt !== undefined && expiresAt > Date.now() ? execution : null;
  }

  /** load() plus this service's optimistic-concurrency version (also executionVersion(e)). */
  async loadWithVersion(id: string): Promise<{ execution: Execution; version: number } | null> {
    const execution = await this.load(id);
    return execution ? { execution, version: executionVersion(execution) ?? 0 } : null;
  }

  async findChildren(parentId: string): Promise<Execution[]> {
    const out: Execution[] = [];
    let pageToken = '';
    do {
      const r = await this.rpc.call('FindChildren', {
        parent_execution_id: parentId, limit: 1000, page_token: pageToken,
      });
      out.push(...r.executions.map(executionFromProto));
      pageToken = r.next_page_token;
    } while (pageToken);
    return out;
  }

  async findTimedOutExecutions(now: number, limit?: number): Promise<Execution[]> {
    const r = await this.rpc.call('FindTimedOutExecutions', { now, limit: limit ?? 0 });
    return r.executions.map(executionFromProto);
  }

  async findTimedOutWaits(now: number, limit?: number): Promise<Execution[]> {
    const r = await this.rpc.call('FindTimedOutWaits', { now, limit: limit ?? 0 });
    return r.executions.map(executionFromProto);
  }

  /** Executions of one tenant (optionally in one status). */
  async findByTenant(tenantId: string, status?: ExecutionStatus, limit?: number): Promise<Execution[]> {
    const r = await this.rpc.call('FindByTenant', {
      tenant_id: tenantId, status: status ? toEnum('EXECUTION_STATUS', status) : 'EXECUTION_STATUS_UNSPECIFIED',
      limit: limit ?? 0,
    });
    return r.executions.map(executionFromProto);
  }
}
