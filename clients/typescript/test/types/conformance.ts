// Type-level conformance: compiled under `strict` (test/types/tsconfig.json, against the
// package's published declarations in dist/cjs), never run. Every client class must be
// assignable to the FlowMonkey interface it stands in for, every data type must be the
// same type as FlowMonkey's (same fields, optionality, unions, readonly markers), and the
// engine's constructor must accept the stores exactly as the README shows. Any mismatch is
// a compile error, and test/run.sh fails on any error.
import * as FM from './flowmonkey-core';
import {
  connect,
  FlowValidationError,
  RemoteContextStorage,
  RemoteEventStore,
  RemoteFlowRegistry,
  RemoteJobStore,
  RemoteResumeTokenManager,
  RemoteStateStore,
  WorkRunner,
} from '@flowmonkey/store-client';
import type * as Client from '@flowmonkey/store-client';

// Exact type identity (sensitive to optionality and readonly), and a checker that only
// compiles for `true`.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function same<T extends true>(): T | void {}

// ---- data types: identical to FlowMonkey's ----
same<Same<Client.ExecutionStatus, FM.ExecutionStatus>>();
same<Same<Client.CancellationSource, FM.CancellationSource>>();
same<Same<Client.CancellationInfo, FM.CancellationInfo>>();
same<Same<Client.TimeoutConfig, FM.TimeoutConfig>>();
same<Same<Client.ExecutionError, FM.ExecutionError>>();
same<Same<Client.StepHistory, FM.StepHistory>>();
same<Same<Client.Execution, FM.Execution>>();
same<Same<Client.InputSelector, FM.InputSelector>>();
same<Same<Client.StepTransitions, FM.StepTransitions>>();
same<Same<Client.Step, FM.Step>>();
same<Same<Client.Flow, FM.Flow>>();
same<Same<Client.ValidationIssue, FM.ValidationIssue>>();
same<Same<Client.TokenStatus, FM.TokenStatus>>();
same<Same<Client.ResumeToken, FM.ResumeToken>>();
same<Same<Client.ContextReference, FM.ContextReference>>();
same<Same<Client.JobStatus, FM.JobStatus>>();
same<Same<Client.JobProgress, FM.JobProgress>>();
same<Same<Client.JobError, FM.JobError>>();
same<Same<Client.Job, FM.Job>>();
same<Same<Client.CreateJobParams, FM.CreateJobParams>>();
same<Same<Client.StepResult, FM.StepResult>>();

// ---- the interfaces the client re-declares are FlowMonkey's ----
same<Same<Client.StateStore, FM.StateStore>>();
same<Same<Client.Lock, FM.Lock>>();
same<Same<Client.FlowRegistry, FM.FlowRegistry>>();
same<Same<Client.ResumeTokenManager, FM.ResumeTokenManager>>();
same<Same<Client.ContextStorage, FM.ContextStorage>>();
same<Same<Client.JobStore, FM.JobStore>>();
same<Same<Client.EventBus, FM.EventBus>>();

// ---- every class stands in for FlowMonkey's interface ----
declare const stateStore: RemoteStateStore;
declare const flowRegistry: RemoteFlowRegistry;
declare const tokens: RemoteResumeTokenManager;
declare const context: RemoteContextStorage;
declare const jobs: RemoteJobStore;
declare const events: RemoteEventStore;

export const asStateStore: FM.StateStore = stateStore;
export const asFlowRegistry: FM.FlowRegistry = flowRegistry;
export const asTokenManager: FM.ResumeTokenManager = tokens;
export const asContextStorage: FM.ContextStorage = context;
export const asJobStore: FM.JobStore = jobs;
export const asEventBus: FM.EventBus = events;

// The job runner: FlowMonkey's JobRunner, its handlers FlowMonkey's StepHandlers, and what
// it hands a handler is FlowMonkey's HandlerParams (checked both ways, not only through
// method parameter bivariance).
declare const workRunner: WorkRunner;
declare const stepHandler: FM.StepHandler;
declare const handlerParams: Client.HandlerParams;
export const asJobRunner: FM.JobRunner = workRunner;
export const asJobHandler: Client.JobHandler = stepHandler;
export const asHandlerParams: FM.HandlerParams = handlerParams;
export const runHandler: (params: Client.HandlerParams) => Promise<unknown> = (p) => stepHandler.execute(p);
same<Same<Client.CheckpointManager, FM.CheckpointManager>>();
export const asEventStore: FM.EventStore = events;

// The optional StateStore methods are all there (an engine checks for them at run time).
export const optionalMethods: Required<FM.StateStore> = stateStore;

// Methods return exactly FlowMonkey's types (not merely something assignable).
same<Same<ReturnType<RemoteStateStore['load']>, Promise<FM.Execution | null>>>();
same<Same<ReturnType<RemoteStateStore['findByIdempotencyKey']>, Promise<FM.Execution | null>>>();
same<Same<ReturnType<RemoteFlowRegistry['register']>, void>>();
same<Same<ReturnType<RemoteFlowRegistry['validate']>, FM.ValidationIssue[]>>();
same<Same<ReturnType<RemoteFlowRegistry['versions']>, string[]>>();
same<Same<ReturnType<RemoteResumeTokenManager['generate']>, Promise<FM.ResumeToken>>>();
same<Same<ReturnType<RemoteResumeTokenManager['markUsed']>, Promise<void>>>();
same<Same<ReturnType<RemoteResumeTokenManager['revoke']>, Promise<void>>>();
same<Same<ReturnType<RemoteContextStorage['set']>, Promise<FM.ContextReference>>>();
same<Same<ReturnType<RemoteContextStorage['list']>, Promise<string[]>>>();
same<Same<ReturnType<RemoteContextStorage['delete']>, Promise<void>>>();
same<Same<ReturnType<RemoteContextStorage['cleanup']>, Promise<void>>>();
same<Same<ReturnType<RemoteJobStore['claim']>, Promise<boolean>>>();
same<Same<ReturnType<RemoteJobStore['claimWithInstance']>, Promise<boolean>>>();
same<Same<ReturnType<RemoteJobStore['resetStalled']>, Promise<boolean>>>();
same<Same<ReturnType<RemoteJobStore['getCheckpoint']>, Promise<unknown>>>();
same<Same<ReturnType<RemoteJobStore['getInstanceId']>, Promise<string | null>>>();

// FlowMonkey's option names are the client's.
same<Same<Parameters<FM.ResumeTokenManager['generate']>[2], Parameters<Client.ResumeTokenManager['generate']>[2]>>();
export async function generateWithFlowMonkeysOptions(): Promise<FM.ResumeToken> {
  return tokens.generate('exec', 'step', { expiresInMs: 60_000, metadata: { by: 'me' } });
}

// The validation error has FlowMonkey's FlowValidationError shape.
declare const invalid: FlowValidationError;
export const asValidationError: FM.FlowValidationErrorShape = invalid;

// ---- the README's switch, as FlowMonkey's engine is called ----
declare const handlers: FM.HandlerRegistryLike;
export async function readmeSwitch(): Promise<FM.Engine[]> {
  const stores = await connect({ target: '127.0.0.1:50051' });
  const minimal = new FM.Engine(stores.stateStore, handlers, stores.flowRegistry);
  const full = new FM.Engine(stores.stateStore, handlers, stores.flowRegistry, stores.eventStore, {
    tokenManager: stores.resumeTokenManager,
  });
  const context: FM.ContextStorage | undefined = stores.contextStorage;
  void context;
  return [minimal, full];
}

// A FlowMonkey execution goes into save() and comes back out of load() as FlowMonkey's type.
export async function roundTrip(e: FM.Execution): Promise<FM.Execution | null> {
  await stateStore.save(e);
  return stateStore.load(e.id);
}

// ---- stores.transaction(): FlowMonkey's types in, one typed result per operation out ----
export async function atomicResume(e: FM.Execution, token: string, expectedVersion: number,
  job: FM.CreateJobParams, event: FM.RecordedEvent): Promise<number> {
  const stores = await connect({ target: '127.0.0.1:50051' });
  const lock = await stores.stateStore.acquireLock(e.id, 30_000);
  if (!lock) return 0;
  const results = await stores.transaction()
    .ifTokenPending(token)
    .ifExecutionVersion(e.id, expectedVersion)
    .ifLeaseHeld(lock)
    .markResumeTokenUsed(token)
    .saveExecution({ ...e, status: 'running' }, { expectedVersion })
    .recordEvents([event, { executionId: e.id, eventType: 'resumed', stepId: 'approve' }])
    .createJob(job)
    .generateResumeToken(e.id, 'next', { expiresInMs: 60_000, metadata: { by: 'me' } })
    .releaseLock(lock)
    .commit();
  const [used, saved, recorded, created, generated, released] = results;
  same<Same<typeof results.length, 6>>();
  same<Same<typeof used.token, FM.ResumeToken>>();
  same<Same<typeof saved.version, number>>();
  same<Same<typeof saved.op, 'saveExecution'>>();
  same<Same<typeof recorded.events[number]['id'], number | undefined>>();
  same<Same<typeof created.job, FM.Job>>();
  same<Same<typeof generated.token, FM.ResumeToken>>();
  same<Same<typeof released.released, boolean>>();
  // Built in several statements: a Transaction, whose results are tagged by `op`.
  const tx: Client.Transaction = stores.transaction();
  tx.ifJobRunning(job.executionId, { runnerId: 'w', instanceId: 'i' }).completeJob('job', 'w', { ok: true });
  for (const [key, value] of Object.entries(e.context)) tx.setContext(e.id, key, value);
  for (const r of await tx.commit()) {
    if (r.op === 'setContext') {
      const reference: FM.ContextReference = r.reference;
      void reference;
    }
  }
  return saved.version;
}

// ---- what the client used to accept and FlowMonkey does not: must not compile ----
export function rejected(): void {
  // @ts-expect-error FlowMonkey's option is expiresInMs
  void tokens.generate('exec', 'step', { expiresIn: 60_000 });
  // @ts-expect-error FlowMonkey has no 'pending' token status (it is 'active')
  const status: Client.TokenStatus = 'pending';
  // @ts-expect-error FlowMonkey's cancellation sources are a closed union
  const source: Client.CancellationSource = 'admin';
  // @ts-expect-error FlowMonkey's execution has no version field
  const version = ({} as Client.Execution).version;
  // @ts-expect-error FlowMonkey's context reference is { _ref, size }, not { ref, sizeBytes }
  const ref: Client.ContextReference = { ref: 'storage://e/k', sizeBytes: 1, createdAt: 0 };
  // @ts-expect-error a transaction's generateResumeToken takes FlowMonkey's options (expiresInMs)
  void ({} as Client.Stores).transaction().generateResumeToken('exec', 'step', { expiresIn: 60_000 });
  // @ts-expect-error a commit answers one result per operation: there is no second here
  void ({} as Client.Stores).transaction().deleteExecution('exec').commit().then((r) => r[1].op);
  void [status, source, version, ref];
}
