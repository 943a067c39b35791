// FlowMonkey's FlowRegistry over flowmonkey.v1.FlowStore, synchronous as FlowMonkey's is:
// every flow is held in memory (loaded at connect time by the ListAll stream), register()
// validates locally with FlowMonkey's rules and throws FlowMonkey's FlowValidationError at
// once, then caches the flow and writes it through to the server in the background.
// Other processes' registrations arrive by a periodic refresh (ListAll again; every
// `refreshIntervalMs`, default 10 s, and on demand with refresh()).
import { compareSemVer } from './semver';
import { Code, Connection, isCode, ServiceClient } from './grpc';
import type { Flow, FlowRegistry, ValidationIssue } from './types';
import { FlowValidationError, validateFlow } from './validation';

export interface FlowRegistryOptions {
  /** Reload every flow from the server this often (ms); 0: never. Default 10,000. */
  refreshIntervalMs?: number;
  /**
   * Called when a background write of register() fails (the flow is then dropped from the
   * cache) or a periodic refresh fails. Default: console.error, as FlowMonkey's PgFlowStore.
   */
  onError?: (error: unknown, flow?: Flow) => void;
}

interface Entry {
  flow: Flow;
  archived: boolean;
}

interface LocalWrite {
  flow: Flow;
  /** When the server confirmed it (Date.now()); undefined while in flight. */
  confirmedAt?: number;
}

const key = (id: string, version: string) => `${id}@${version}`;

export class RemoteFlowRegistry implements FlowRegistry {
  private readonly rpc: ServiceClient;
  private flows = new Map<string, Map<string, Entry>>();
  private readonly local = new Map<string, LocalWrite>();
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private timer?: ReturnType<typeof setInterval>;
  private loaded = false;
  private refreshing?: Promise<void>;
  readonly refreshIntervalMs: number;
  onError: (error: unknown, flow?: Flow) => void;

  constructor(connection: Connection, options: FlowRegistryOptions = {}) {
    this.rpc = connection.service('flowmonkey.v1.FlowStore');
    this.refreshIntervalMs = options.refreshIntervalMs ?? 10_000;
    this.onError = options.onError ?? ((error, flow) => {
      console.error(`FlowRegistry: ${flow ? `saving flow "${key(flow.id, flow.version)}"` : 'refresh'} failed:`, error);
    });
  }

  /** Loads every stored flow into the cache once (connect() calls it). */
  async load(): Promise<void> {
    if (!this.loaded) await this.refresh();
  }

  /** Reloads every flow from the server (ListAll); flows registered here and still in flight are kept. */
  refresh(): Promise<void> {
    this.refreshing ??= this.reload().finally(() => { this.refreshing = undefined; });
    return this.refreshing;
  }

  /** Starts the periodic refresh (connect() does, unless refreshIntervalMs is 0). */
  startRefresh(): void {
    if (this.timer || this.refreshIntervalMs <= 0) return;
    this.timer = setInterval(() => { this.refresh().catch((error) => this.onError(error)); }, this.refreshIntervalMs);
    this.timer.unref?.();
  }

  stopRefresh(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * FlowMonkey's register: throws FlowValidationError (message `Flow "<id>" is invalid:
   * <first issue>`) for an invalid flow and Error(`Flow "<id>@<version>" already
   * registered`) for a version already known, synchronously; otherwise the flow is served
   * at once and saved in the background (flush() waits for it).
   */
  register(flow: Flow): void {
    const errors = this.validate(flow).filter((i) => i.severity === 'error');
    if (errors.length > 0) throw new FlowValidationError(flow.id, errors);
    if (this.flows.get(flow.id)?.has(flow.version)) {
      throw new Error(`Flow "${key(flow.id, flow.version)}" already registered`);
    }
    this.remember(flow, false);
    const write: LocalWrite = { flow };
    this.local.set(key(flow.id, flow.version), write);
    const saving: Promise<void> = this.save(flow).then(
      () => { write.confirmedAt = Date.now(); },
      (error) => {
        this.local.delete(key(flow.id, flow.version));
        if (this.flows.get(flow.id)?.get(flow.version)?.flow === flow) this.forget(flow.id, flow.version);
        if (this.failure === undefined) this.failure = error;
        this.onError(error, flow);
      },
    ).finally(() => { this.inFlight.delete(saving); });
    this.inFlight.add(saving);
  }

  /** register(), then waits for the server: rejects with the server's error (gRPC) when it refuses. */
  registerAndWait(flow: Flow): Promise<void> {
    this.register(flow);
    return this.flush();
  }

  /** Waits for the background writes in flight; rejects with the first failure since the last flush. */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    const failure = this.failure;
    this.failure = undefined;
    if (failure !== undefined) throw failure;
  }

  /** FlowMonkey's validateFlow: every issue found (nothing is sent). */
  validate(flow: Flow): ValidationIssue[] {
    return validateFlow(flow);
  }

  /** One version, or without version the latest (highest semantic version not archived). */
  get(id: string, version?: string): Flow | undefined {
    if (version !== undefined) return this.getVersion(id, version);
    const versions = this.flows.get(id);
    if (!versions) return undefined;
    for (const v of this.versions(id)) {
      const entry = versions.get(v);
      if (entry && !entry.archived) return entry.flow;
    }
    return undefined;
  }

  getVersion(id: string, version: string): Flow | undefined {
    return this.flows.get(id)?.get(version)?.flow;
  }

  has(id: string): boolean {
    return this.flows.has(id);
  }

  flowIds(): string[] {
    return [...this.flows.keys()].sort();
  }

  /** Newest first, by semantic-version precedence (as the server orders them). */
  versions(id: string): string[] {
    return [...(this.flows.get(id)?.keys() ?? [])].sort((a, b) => compareSemVer(b, a));
  }

  /** Stops the periodic refresh. */
  close(): void {
    this.stopRefresh();
  }

  private async save(flow: Flow): Promise<void> {
    await this.rpc.call('Save', {
      flow: {
        id: flow.id, version: flow.version, name: flow.name,
        description: (flow as { description?: string }).description,
        status: 'FLOW_STATUS_PUBLISHED', definition_json: JSON.stringify(flow),
      },
    });
  }

  private async reload(): Promise<void> {
    const started = Date.now();
    const next = new Map<string, Map<string, Entry>>();
    try {
      for await (const item of this.rpc.stream('ListAll', {})) {
        const flow = flowFromProto(item.flow);
        let versions = next.get(flow.id);
        if (!versions) next.set(flow.id, (versions = new Map()));
        versions.set(flow.version, { flow, archived: item.flow.status === 'FLOW_STATUS_ARCHIVED' });
      }
    } catch (error) {
      // A server without FlowStore serves nothing: keep what is cached.
      if (isCode(error, Code.UNIMPLEMENTED)) return;
      throw error;
    }
    this.flows = next;
    for (const [k, write] of this.local) {
      if (!this.getVersion(write.flow.id, write.flow.version)) this.remember(write.flow, false);
      // Confirmed before this reload began: the reload saw it; no need to keep it.
      if (write.confirmedAt !== undefined && write.confirmedAt < started) this.local.delete(k);
    }
    this.loaded = true;
  }

  private remember(flow: Flow, archived: boolean): void {
    let versions = this.flows.get(flow.id);
    if (!versions) this.flows.set(flow.id, (versions = new Map()));
    versions.set(flow.version, { flow, archived });
  }

  private forget(id: string, version: string): void {
    const versions = this.flows.get(id);
    versions?.delete(version);
    if (versions && versions.size === 0) this.flows.delete(id);
  }
}

function flowFromProto(p: any): Flow {
  const definition = p.definition_json ? JSON.parse(p.definition_json) : {};
  return { ...definition, id: p.id, version: p.version };
}
