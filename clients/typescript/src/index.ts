// @flowmonkey/store-client: FlowMonkey's store interfaces backed by FlowMonkey Store.
//
//   const stores = await connect({ target: 'store:50051' });
//   const engine = new Engine(stores.stateStore, handlers, stores.flowRegistry, stores.eventStore,
//     { tokenManager: stores.resumeTokenManager });
//   await stores.transaction().markResumeTokenUsed(token).saveExecution(e, { expectedVersion })
//     .recordEvents([{ executionId: e.id, eventType: 'resumed' }]).commit();  // all or nothing
import { RemoteContextStorage, kContextService } from './context-storage';
import { RemoteEventStore } from './event-store';
import { FlowRegistryOptions, RemoteFlowRegistry } from './flow-registry';
import { Connection, ConnectOptions } from './grpc';
import { RemoteJobStore } from './job-store';
import { RemoteResumeTokenManager } from './resume-tokens';
import { RemoteStateStore } from './state-store';
import { TransactionBuilder, kTransactionsService } from './transaction';

export * from './types';
export { Code, Connection, ConnectOptions, isCode, CallError } from './grpc';
export { executionFromProto, executionToProto, executionVersion } from './convert';
export { RemoteStateStore, RemoteLock } from './state-store';
export { RemoteFlowRegistry, FlowRegistryOptions } from './flow-registry';
export { FlowMonkeyError, FlowValidationError, validateFlow } from './validation';
export { RemoteJobStore, Runner } from './job-store';
export { WorkRunner, WorkRunnerOptions } from './work-runner';
export { WakeupWatcher, WakeupWatcherOptions, Wakeup, WakeupHandler } from './wakeup-watcher';
export { RemoteResumeTokenManager, GenerateOptions, tokenStatusFromWire, tokenStatusToWire } from './resume-tokens';
export { RemoteEventStore } from './event-store';
export { RemoteContextStorage } from './context-storage';
export {
  TransactionBuilder, Transaction, OperationResults, OperationResult, OperationName, CommitOptions, CommitError,
} from './transaction';
export { compareSemVer } from './semver';

export interface Stores {
  connection: Connection;
  stateStore: RemoteStateStore;
  /** Loaded by connect(); reads are served from memory, refreshed every flowRefreshMs. */
  flowRegistry: RemoteFlowRegistry;
  jobStore: RemoteJobStore;
  resumeTokenManager: RemoteResumeTokenManager;
  /** Also FlowMonkey's EventBus (the engine's 4th constructor argument). */
  eventStore: RemoteEventStore;
  /** Undefined when the loaded contract has no ContextStorage service. */
  contextStorage?: RemoteContextStorage;
  /**
   * A new, empty commit of conditions and operations done all or nothing
   * (flowmonkey.v1.Transactions/Commit): add to it, then commit().
   */
  transaction(): TransactionBuilder;
  /** Serving status of the standard health service: 'SERVING', 'NOT_SERVING', ... */
  health(): Promise<string>;
  /** Stops the flow refresh and closes the channels. */
  close(): void;
}

export interface StoresOptions extends ConnectOptions {
  /** Load every flow into the registry before answering (default true). */
  loadFlows?: boolean;
  /** Reload the flow cache from the server this often, in ms (default 10,000; 0: never). */
  flowRefreshMs?: number;
  /** Failed background flow writes and refreshes (default console.error). */
  onFlowError?: FlowRegistryOptions['onError'];
}

/** Connects, loads the flow registry and starts its refresh (@flowmonkey/postgres's createPgStores, remotely). */
export async function connect(options: StoresOptions = {}): Promise<Stores> {
  const connection = new Connection(options);
  const flowRegistry = new RemoteFlowRegistry(connection, {
    refreshIntervalMs: options.flowRefreshMs, onError: options.onFlowError,
  });
  const stores: Stores = {
    connection,
    stateStore: new RemoteStateStore(connection),
    flowRegistry,
    jobStore: new RemoteJobStore(connection),
    resumeTokenManager: new RemoteResumeTokenManager(connection),
    eventStore: new RemoteEventStore(connection),
    contextStorage: connection.hasService(kContextService) ? new RemoteContextStorage(connection) : undefined,
    transaction: () => new TransactionBuilder(connection.service(kTransactionsService)),
    async health() {
      const r = await connection.service('grpc.health.v1.Health').call('Check', { service: '' });
      return r.status;
    },
    close: () => {
      flowRegistry.close();
      connection.close();
    },
  };
  try {
    if (options.loadFlows ?? true) {
      await flowRegistry.load();
      flowRegistry.startRefresh();
    }
  } catch (error) {
    stores.close();
    throw error;
  }
  return stores;
}
