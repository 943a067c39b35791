// @flowmonkey/store-client: FlowMonkey's store interfaces backed by FlowMonkey Store.
//
//   const stores = await connect({ target: 'store:50051' });
//   const engine = new Engine(stores.stateStore, handlers, stores.flowRegistry);
import { RemoteContextStorage, kContextService } from './context-storage';
import { RemoteEventStore } from './event-store';
import { RemoteFlowRegistry } from './flow-registry';
import { Connection, ConnectOptions } from './grpc';
import { RemoteJobStore } from './job-store';
import { RemoteResumeTokenManager } from './resume-tokens';
import { RemoteStateStore } from './state-store';

export * from './types';
export { Code, Connection, ConnectOptions, isCode, CallError } from './grpc';
export { executionFromProto, executionToProto } from './convert';
export { RemoteStateStore } from './state-store';
export { RemoteFlowRegistry } from './flow-registry';
export { RemoteJobStore, CreateJobParams, Runner } from './job-store';
export { RemoteResumeTokenManager, GenerateOptions } from './resume-tokens';
export { RemoteEventStore } from './event-store';
export { RemoteContextStorage, ContextReference } from './context-storage';
export { compareSemVer } from './semver';

export interface Stores {
  connection: Connection;
  stateStore: RemoteStateStore;
  /** Loaded once by connect(); reads are served from memory. */
  flowRegistry: RemoteFlowRegistry;
  jobStore: RemoteJobStore;
  resumeTokenManager: RemoteResumeTokenManager;
  eventStore: RemoteEventStore;
  /** Undefined when the loaded contract has no ContextStorage service. */
  contextStorage?: RemoteContextStorage;
  /** Serving status of the standard health service: 'SERVING', 'NOT_SERVING', ... */
  health(): Promise<string>;
  close(): void;
}

/** Connects and loads the flow registry (the seed's createPgStores, remotely). */
export async function connect(options: ConnectOptions & { loadFlows?: boolean } = {}): Promise<Stores> {
  const connection = new Connection(options);
  const stores: Stores = {
    connection,
    stateStore: new RemoteStateStore(connection),
    flowRegistry: new RemoteFlowRegistry(connection),
    jobStore: new RemoteJobStore(connection),
    resumeTokenManager: new RemoteResumeTokenManager(connection),
    eventStore: new RemoteEventStore(connection),
    contextStorage: connection.hasService(kContextService) ? new RemoteContextStorage(connection) : undefined,
    async health() {
      const r = await connection.service('grpc.health.v1.Health').call('Check', { service: '' });
      return r.status;
    },
    close: () => connection.close(),
  };
  if (options.loadFlows ?? true) await stores.flowRegistry.load();
  return stores;
}
