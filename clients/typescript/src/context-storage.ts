// FlowMonkey's ContextStorage over flowmonkey.v1.ContextStorage (DESIGN.md §2: Set, Get,
// Delete, List, ClearExecution). Values are JSON; set() answers a storage reference.
import { fromJson } from './convert';
import { Code, Connection, isCode, ServiceClient } from './grpc';

export const kContextService = 'flowmonkey.v1.ContextStorage';
const kChunkBytes = 1024 * 1024;

export interface ContextReference {
  ref: string;
  summary?: string;
  sizeBytes: number;
  createdAt: number;
}

function referenceFromProto(p: any): ContextReference {
  const r = p.reference ?? p;
  return { ref: r.ref, summary: r.summary || undefined, sizeBytes: r.size_bytes, createdAt: r.created_at };
}

export class RemoteContextStorage {
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

  /** Reassembles the streamed value (reference first, then chunks); undefined when absent. */
  async get<T = unknown>(executionId: string, key: string): Promise<T | undefined> {
    try {
      const messages = await this.rpc.serverStream('Get', { execution_id: executionId, key });
      const chunks = messages.map((m: any) => Buffer.from(m.value_json_chunk ?? []));
      return fromJson<T>(Buffer.concat(chunks).toString('utf8'));
    } catch (error) {
      if (isCode(error, Code.NOT_FOUND)) return undefined;
      throw error;
    }
  }

  async delete(executionId: string, key: string): Promise<boolean> {
    return (await this.rpc.call('Delete', { execution_id: executionId, key })).deleted;
  }

  async list(executionId: string): Promise<ContextReference[]> {
    const r = await this.rpc.call('List', { execution_id: executionId });
    return (r.references ?? []).map(referenceFromProto);
  }

  /** Removes every value of the execution; answers how many. */
  async cleanup(executionId: string): Promise<number> {
    const r = await this.rpc.call('ClearExecution', { execution_id: executionId });
    return Number(r.deleted_count ?? r.count ?? 0);
  }

  /** The seed's name for cleanup. */
  clearExecution(executionId: string): Promise<number> {
    return this.cleanup(executionId);
  }
}
