// The structural contract FlowMonkey's engine (@flowmonkey/core, packages/core/src) expects
// from its stores, restated here as a declaration file so that this client can be checked
// against it by the compiler (test/types/conformance.ts). Written from FlowMonkey's
// interfaces/ and types/ (StateStore, FlowRegistry, ResumeTokenManager, ContextStorage,
// EventBus) and @flowmonkey/postgres's JobStore; the names, optionality, unions, readonly
// markers and return types are FlowMonkey's, the wording is ours. Keep it in step with
// FlowMonkey, not with this client: it is the yardstick.

// ---- executions (types/execution.ts) ----

export type ExecutionStatus =
  | 'pending' | 'running' | 'waiting' | 'cancelling' | 'cancelled' | 'completed' | 'failed';

export type CancellationSource = 'user' | 'timeout' | 'system' | 'parent';

export interface CancellationInfo {
  readonly source: CancellationSource;
  readonly reason?: string;
  readonly cancelledAt: number;
}

export interface TimeoutConfig {
  executionTimeoutMs?: number;
  waitTimeoutMs?: number;
}

/** The error recorded on a failed execution (exported by core as ExecutionErrorType). */
export interface ExecutionError {
  readonly code: string;
  readonly message: string;
  readonly stepId: string;
  readonly details?: unknown;
  readonly timestamp: number;
}

export interface StepHistory {
  readonly stepId: string;
  readonly handlerType: string;
  readonly outcome: 'success' | 'failure' | 'wait' | 'waiting' | 'waited';
  readonly startedAt: number;
  readonly completedAt: number;
  readonly durationMs: number;
  readonly error?: unknown;
}

export interface Execution {
  readonly id: string;
  readonly flowId: string;
  readonly flowVersion: string;
  currentStepId: string;
  status: ExecutionStatus;
  context: Record<string, unknown>;
  wakeAt?: number;
  waitReason?: string;
  error?: ExecutionError;
  stepCount: number;
  history?: StepHistory[];
  readonly createdAt: number;
  updatedAt: number;
  readonly tenantId?: string;
  metadata?: Record<string, unknown>;
  idempotencyKey?: string;
  idempotencyExpiresAt?: number;
  cancellation?: CancellationInfo;
  parentExecutionId?: string;
  waitStartedAt?: number;
  timeoutConfig?: TimeoutConfig;
  retryAttempts?: Record<string, number>;
}

// ---- StateStore (interfaces/state-store.ts) ----

export interface Lock {
  release(): Promise<void>;
  extend(ttlMs: number): Promise<boolean>;
}

export interface StateStore {
  load(id: string): Promise<Execution | null>;
  save(execution: Execution): Promise<void>;
  delete(id: string): Promise<boolean>;
  listWakeReady(now: number, limit?: number): Promise<string[]>;
  listByStatus(status: ExecutionStatus, limit?: number): Promise<Execution[]>;
  acquireLock?(id: string, ttlMs: number): Promise<Lock | null>;
  findByIdempotencyKey?(flowId: string, key: string, windowMs: number): Promise<Execution | null>;
  findChildren?(parentId: string): Promise<Execution[]>;
  findTimedOutExecutions?(now: number): Promise<Execution[]>;
  findTimedOutWaits?(now: number): Promise<Execution[]>;
}

// ---- flows (types/flow.ts, types/errors.ts, interfaces/flow-registry.ts) ----

export type InputSelector =
  | { type: 'key'; key: string }
  | { type: 'keys'; keys: string[] }
  | { type: 'path'; path: string }
  | { type: 'template'; template: unknown }
  | { type: 'full' }
  | { type: 'static'; value: unknown };

export interface StepTransitions {
  readonly onSuccess?: string | null;
  readonly onFailure?: string | null;
  readonly onResume?: string;
}

export interface Step {
  readonly id: string;
  readonly type: string;
  readonly config: Record<string, unknown>;
  readonly input: InputSelector;
  readonly outputKey?: string;
  readonly transitions: StepTransitions;
  readonly name?: string;
}

export interface Flow {
  readonly id: string;
  readonly version: string;
  readonly name?: string;
  readonly initialStepId: string;
  readonly steps: Record<string, Step>;
}

export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

/** The shape of FlowMonkey's FlowValidationError (code FLOW_INVALID). */
export interface FlowValidationErrorShape extends Error {
  readonly code: string;
  readonly flowId: string;
  readonly issues: ValidationIssue[];
}

export interface FlowRegistry {
  register(flow: Flow): void;
  get(id: string, version?: string): Flow | undefined;
  has(id: string): boolean;
  flowIds(): string[];
  versions(id: string): string[];
  validate(flow: Flow): ValidationIssue[];
}

// ---- resume tokens (interfaces/resume-token-manager.ts) ----

export type TokenStatus = 'active' | 'used' | 'expired' | 'revoked';

export interface ResumeToken {
  token: string;
  executionId: string;
  stepId: string;
  status: TokenStatus;
  createdAt: number;
  expiresAt?: number | null;
  usedAt?: number | null;
  metadata?: Record<string, unknown>;
}

export interface ResumeTokenManager {
  generate(
    executionId: string,
    stepId: string,
    options?: { expiresInMs?: number; metadata?: Record<string, unknown> },
  ): Promise<ResumeToken>;
  get(token: string): Promise<ResumeToken | null>;
  validate(token: string): Promise<{ valid: boolean; reason?: string }>;
  markUsed(token: string): Promise<void>;
  revoke(token: string): Promise<void>;
  listByExecution(executionId: string): Promise<ResumeToken[]>;
  cleanupExpired(): Promise<number>;
}

// ---- context storage (interfaces/step-handler.ts) ----

export interface ContextReference {
  _ref: string;
  summary?: string;
  size: number;
  type?: string;
  createdAt: number;
}

export interface ContextStorage {
  set(executionId: string, key: string, value: unknown): Promise<ContextReference>;
  get(executionId: string, key: string): Promise<unknown>;
  delete(executionId: string, key: string): Promise<void>;
  list(executionId: string): Promise<string[]>;
  cleanup(executionId: string): Promise<void>;
}

// ---- jobs (@flowmonkey/postgres job-store.ts, the JobStore interface) ----

export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface JobProgress {
  percent: number;
  message?: string;
}

export interface JobError {
  code: string;
  message: string;
  details?: unknown;
}

export interface Job {
  id: string;
  executionId: string;
  stepId: string;
  handler: string;
  status: JobStatus;
  input: unknown;
  result?: unknown;
  error?: JobError;
  runnerId?: string;
  heartbeatAt?: number;
  heartbeatMs: number;
  attempts: number;
  maxAttempts: number;
  createdAt: number;
  updatedAt: number;
  instanceId?: string;
  checkpoint?: unknown;
  progress?: JobProgress;
}

export interface CreateJobParams {
  executionId: string;
  stepId: string;
  handler: string;
  input: unknown;
  maxAttempts?: number;
  heartbeatMs?: number;
}

export interface JobStore {
  getOrCreate(params: CreateJobParams): Promise<Job>;
  get(jobId: string): Promise<Job | null>;
  getForStep(executionId: string, stepId: string): Promise<Job | null>;
  claim(jobId: string, runnerId: string): Promise<boolean>;
  heartbeat(jobId: string, runnerId: string): Promise<boolean>;
  complete(jobId: string, runnerId: string, result: unknown): Promise<boolean>;
  fail(jobId: string, runnerId: string, error: JobError): Promise<boolean>;
  findStalled(now: number, limit?: number): Promise<Job[]>;
  resetStalled(jobId: string): Promise<boolean>;
  listByStatus(status: JobStatus, limit?: number): Promise<Job[]>;
  listForExecution(executionId: string): Promise<Job[]>;
  claimWithInstance(jobId: string, runnerId: string, instanceId: string): Promise<boolean>;
  saveCheckpoint(jobId: string, instanceId: string, data: unknown): Promise<boolean>;
  getCheckpoint(jobId: string): Promise<unknown | null>;
  updateProgress(jobId: string, instanceId: string, progress: JobProgress): Promise<boolean>;
  isInstanceActive(jobId: string, instanceId: string): Promise<boolean>;
  getInstanceId(jobId: string): Promise<string | null>;
}

// ---- events (interfaces/event-bus.ts; the engine's 4th constructor argument) ----

export interface StepResult {
  readonly outcome: 'success' | 'failure' | 'wait' | 'waiting' | 'waited';
  readonly output?: unknown;
  readonly error?: { readonly code: string; readonly message: string; readonly retryable?: boolean; readonly details?: unknown };
  readonly wakeAt?: number;
  readonly waitReason?: string;
  readonly resumeToken?: string;
  readonly waitData?: Record<string, unknown>;
  readonly nextStepOverride?: string | null;
}

export interface EventBus {
  onExecutionCreated?(e: { executionId: string; flowId: string; context: Record<string, unknown> }): void;
  onExecutionStarted?(e: { executionId: string; flowId: string; stepId: string }): void;
  onStepStarted?(e: { executionId: string; stepId: string; input: unknown }): void;
  onStepCompleted?(e: { executionId: string; stepId: string; result: StepResult; durationMs: number }): void;
  onExecutionCompleted?(e: { executionId: string; context: Record<string, unknown>; totalSteps: number }): void;
  onExecutionFailed?(e: { executionId: string; stepId: string; error: { code: string; message: string } }): void;
  onExecutionWaiting?(e: { executionId: string; stepId: string; wakeAt?: number; reason?: string }): void;
  onExecutionResumed?(e: { executionId: string; flowId: string; stepId: string }): void;
  onExecutionCancelled?(e: {
    executionId: string; source: string; reason?: string; childrenCancelled: number; tokensInvalidated: number;
  }): void;
}

/**
 * The event store as @flowmonkey/postgres documents PgEventStore (record, query,
 * getByExecution, deleteOld) and as the engine's event bus uses it.
 */
export interface RecordedEvent {
  executionId: string;
  eventType: string;
  stepId?: string;
  data?: unknown;
}
export interface EventStore {
  record(event: RecordedEvent): Promise<unknown>;
  query(q: { executionId?: string; eventTypes?: string[]; after?: number; before?: number; limit?: number }): Promise<RecordedEvent[]>;
  getByExecution(executionId: string): Promise<RecordedEvent[]>;
  deleteOld(before: number): Promise<number>;
}

// ---- stateful handlers (interfaces/step-handler.ts) and their runner (@flowmonkey/jobs runner.ts) ----

export interface CheckpointManager {
  save(key: string, data: unknown): Promise<void>;
  restore<T = unknown>(key: string): Promise<T | null>;
  list(): Promise<string[]>;
  delete(key: string): Promise<void>;
  clear(): Promise<void>;
}

export interface ContextHelpers {
  get<T = unknown>(key: string): Promise<T>;
  set(key: string, value: unknown, options?: { tier?: 'inline' | 'external'; force?: boolean; summary?: string }): Promise<void>;
  has(key: string): boolean;
  delete(key: string): Promise<void>;
  getAll<T = Record<string, unknown>>(keys: string[]): Promise<T>;
}

export interface HandlerParams {
  step: Step;
  input: unknown;
  context: Record<string, unknown>;
  ctx: ContextHelpers;
  execution: Execution;
  checkpoints?: CheckpointManager;
  tokenManager?: ResumeTokenManager | undefined;
  signal?: AbortSignal;
}

/** HandlerMetadata reduced to its required fields. */
export interface HandlerMetadata {
  type: string;
  name: string;
  configSchema: Record<string, unknown>;
}

export interface StepHandler {
  readonly type: string;
  readonly metadata: HandlerMetadata;
  readonly stateful?: boolean;
  execute(params: HandlerParams): Promise<StepResult>;
  cleanup?(): Promise<void>;
}

export interface JobRunner {
  start(): Promise<void>;
  stop(): Promise<void>;
  registerHandler(name: string, handler: StepHandler): void;
  activeCount(): number;
  completedCount(): number;
  failedCount(): number;
}

// ---- the engine's constructor (engine/execution-engine.ts), reduced to what it stores ----

export interface HandlerRegistryLike {
  get(type: string): unknown;
}

export interface EngineOptions {
  recordHistory?: boolean;
  maxSteps?: number;
  timeoutMs?: number;
  tokenManager?: ResumeTokenManager;
}

export declare class Engine {
  constructor(store: StateStore, handlers: HandlerRegistryLike, flows: FlowRegistry, events?: EventBus, options?: EngineOptions);
}
