// FlowRegistry over flowmonkey.v1.FlowStore: every flow is loaded once (load()), reads are
// served from memory, register() writes through to the server and the cache.
import { compareSemVer } from './semver';
import { Connection, ServiceClient } from './grpc';
import type { Flow, FlowRegistry } from './types';

export class RemoteFlowRegistry implements FlowRegistry {
  private readonly rpc: ServiceClient;
  private readonly flows = new Map<string, Map<string, Flow>>();
  private loaded = false;

  constructor(connection: Connection) {
    this.rpc = connection.service('flowmonkey.v1.FlowStore');
  }

  /** Loads every stored flow into the cache (ListAll stream). Idempotent. */
  async load(): Promise<void> {
    if (this.loaded) return;
    for await (const item of this.rpc.stream('ListAll', {})) this.remember(flowFromProto(item.flow));
    this.loaded = true;
  }

  /** Saves a version (validated by the server) and caches it. */
  async register(flow: Flow): Promise<void> {
    const r = await this.rpc.call('Save', {
      flow: {
        id: flow.id, version: flow.version, name: flow.name, description: flow.description,
        status: 'FLOW_STATUS_PUBLISHED', definition_json: JSON.stringify(flow),
      },
    });
    this.remember(flowFromProto(r.flow));
  }

  get(id: string, version?: string): Flow | undefined {
    const versions = this.flows.get(id);
    if (!versions) return undefined;
    if (version !== undefined) return versions.get(version);
    const latest = this.versions(id)[0];
    return latest === undefined ? undefined : versions.get(latest);
  }

  has(id: string): boolean {
    return this.flows.has(id);
  }

  flowIds(): string[] {
    return [...this.flows.keys()].sort();
  }

  /** Newest first, by semantic-version order. */
  versions(id: string): string[] {
    return [...(this.flows.get(id)?.keys() ?? [])].sort((a, b) => compareSemVer(b, a));
  }

  private remember(flow: Flow): void {
    let versions = this.flows.get(flow.id);
    if (!versions) this.flows.set(flow.id, (versions = new Map()));
    versions.set(flow.version, flow);
  }
}

function flowFromProto(p: any): Flow {
  const definition = p.definition_json ? JSON.parse(p.definition_json) : {};
  return { ...definition, id: p.id, version: p.version };
}
