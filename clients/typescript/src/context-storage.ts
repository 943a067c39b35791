// FlowMonkey's ContextStorage over flowmonkey.v1.ContextStorage (Set, Get, Delete, List,
// ClearExecution). Values are JSON; set() answers FlowMonkey's reference
// { _ref: 'storage://<execution>/<key>', summary, size, createdAt }.
import { fromJson, withHidden } from './convert';
import { Code, Connection, isCode, ServiceClient } from './grpc';
import type { ContextReference, ContextStorage } from './types';

export const kContextService = 'flowmonkey.v1.ContextStorage';
const kChunkBytes = 1024 * 1024;

/** FlowMonkey's reference; the server's updatedAt is a non-enumerable extra. */
export function referenceFromProto(p: any): ContextReference {
  const r = p.reference ?? p;
  const out: ContextReference = { _ref: r.ref, size: Number(r.size_bytes), createdAt: r.created_at };
  if (r.summary) out.summary = r.summary;
  return withHidden(out, { updatedAt: r.updated_at || undefined });
}

export class RemoteContextStorage implements ContextStorage {
  private readonly rpc: ServiceClient;

  constructor(connection: Connection) {
    this.rpc = connection.service(kContextService);
  }

  /** Streams the value in chunks of at most 1 MiB (the contract's client-streaming Set). */
  async set(executionId: string, key: string, value: unknown): Promise<ContextReference> {
    const bytes = Buffer.from(JSON.stringify(value), 'utf8');
    const requests: object[] = [];
    for (let offset = 0; offset === 0 || offset < bytes.length; offset += kChunkBytes) {
      const chunk = bytes.subarray(offset, offset + kChunkBytes);
      requests.push(offset === 0
        ? { execution_id: executionId, key, value_json_chunk: chunk, total_size_bytes: bytes.length }
        : { value_json_chunk: chunk });
    }
    return referenceFromProto(await this.rpc.clientStream('Set', requests));
  }

  /** The value; rejects with Error('Context key not found: <key>') when absent, as FlowMonkey's store does. */
  async get(executionId: string, key: string): Promise<unknown> {
    const value = await this.find(executionId, key);
    if (value === undefined) throw new Error(`Context key not found: ${key}`);
    return value;
  }

  /** The value, or undefined when absent (no error). */
  async find<T = unknown>(executionId: string, key: string): Promise<T | undefined> {
    try {
      const messages = await this.rpc.serverStream('Get', { execution_id: executionId, key });
      const chunks = messages.map((m: any) => Buffer.from(m.value_json_chunk ?? []));
      return fromJson<T>(Buffer.concat(chunks).toString('utf8'));
    } catch (error) {
      if (isCode(error, Code.NOT_FOUND)) return undefined;
      throw error;
    }
  }

  async delete(executionId: string, key: string): Promise<void> {
    await this.rpc.call('Delete', { execution_id: executionId, key });
  }

  /** The keys of the execution's values (FlowMonkey's list()), by key. */
  async list(executionId: string): Promise<string[]> {
    return (await this.references(executionId)).map((r) => (r as ContextReference & { key: string }).key);
  }

  /** The references of the execution's values, by key (each with a non-enumerable `key`). */
  async references(executionId: string): Promise<ContextReference[]> {
    const out: ContextReference[] = [];
    let pageToken = '';
    do {
      const r = await this.rpc.call('List', { execution_id: executionId, limit: 1000, page_token: pageToken });
      for (const p of r.references ?? []) out.push(withHidden(referenceFromProto(p), { key: p.key }));
      pageToken = r.next_page_token;
    } while (pageToken);
    return out;
  }

  /** Removes every value of the execution. */
  async cleanup(executionId: string): Promise<void> {
    await this.clearExecution(executionId);
  }

  /** cleanup() answering how many values it removed (the seed's clearExecution). */
  async clearExecution(executionId: string): Promise<number> {
    const r = await this.rpc.call('ClearExecution', { execution_id: executionId });
    return Number(r.deleted_count ?? r.count ?? 0);
  }
}
