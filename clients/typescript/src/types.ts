// FlowMonkey's own shapes (@flowmonkey/core's types/ and interfaces/, and @flowmonkey/postgres's
// JobStore), camelCase, with the same field names, optionality, unions and readonly markers:
// objects this client returns are assignable to FlowMonkey's and back, and carry no extra
// enumerable fields (this service's extras, such as an execution's version, are
// non-enumerable properties: see executionVersion()). test/types/conformance.ts checks every
// type and class here against a separate restatement of FlowMonkey's declarations.

export type ExecutionStatus =
  | 'pending' | 'running' | 'waiting' | 'cancelling' | 'cancelled' | 'completed' | 'failed';

/** Why an execution was cancelled. */
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

/** The error recorded on a failed execution (FlowMonkey's ExecutionErrorType). */
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

export interface Lock {
  release(): Promise<void>;
  /** False when the lease was lost (expired and taken, or released). */
  extend(ttlMs: number): Promise<boolean>;
}

/** FlowMonkey's StateStore. */
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

// ---- flows ----

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

/** A flow definition (FlowMonkey's Flow). */
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

/** FlowMonkey's FlowRegistry: synchronous, served from memory. */
export interface FlowRegistry {
  register(flow: Flow): void;
  get(id: string, version?: string): Flow | undefined;
  has(id: string): boolean;
  flowIds(): string[];
  versions(id: string): string[];
  validate(flow: Flow): ValidationIssue[];
}

// ---- jobs ----

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

/**
 * Exponential backoff with equal jitter between attempts (job.proto): after failed attempt
 * n the job waits a random delay in [cap/2, cap], cap = min(maxBackoffMs, initialBackoffMs * 2^(n-1)).
 */
export interface RetryPolicy {
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** A Job with this store's scheduling fields (not part of FlowMonkey's Job). */
export interface ScheduledJob extends Job {
  /** Not claimable before this time (ms since epoch); createdAt unless given. */
  runAt: number;
  /** Higher is claimed first; -1000..1000, default 0. */
  priority: number;
  /** Absent: a failure is final. */
  retry?: RetryPolicy;
}

/** CreateJobParams with this store's scheduling options. */
export interface ScheduleJobParams extends CreateJobParams {
  runAt?: number;
  priority?: number;
  retry?: RetryPolicy;
}

/** What a fenced Fail did: willRetry when the job is pending again until nextRunAt. */
export interface FailJobResult {
  updatedAt: number;
  willRetry: boolean;
  /** The job's new runAt when willRetry; 0 otherwise. */
  nextRunAt: number;
}

/** FlowMonkey's JobStore (as @flowmonkey/postgres declares it). */
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

// ---- job runner (@flowmonkey/core's StepHandler, @flowmonkey/jobs's JobRunner) ----

/** What a handler can keep across attempts of its job (FlowMonkey's CheckpointManager). */
export interface CheckpointManager {
  save(key: string, data: unknown): Promise<void>;
  restore<T = unknown>(key: string): Promise<T | null>;
  list(): Promise<string[]>;
  delete(key: string): Promise<void>;
  clear(): Promise<void>;
}

/** FlowMonkey's ContextHelpers: the execution's context as a handler reads and writes it. */
export interface ContextHelpers {
  get<T = unknown>(key: string): Promise<T>;
  set(key: string, value: unknown, options?: unknown): Promise<void>;
  has(key: string): boolean;
  delete(key: string): Promise<void>;
  getAll<T = Record<string, unknown>>(keys: string[]): Promise<T>;
}

/** FlowMonkey's HandlerParams, as a job runner fills them in. */
export interface HandlerParams {
  step: Step;
  input: unknown;
  context: Record<string, unknown>;
  ctx: ContextHelpers;
  execution: Execution;
  checkpoints?: CheckpointManager;
  /** Aborted when the job is no longer this worker's (reset by the reaper, cancelled). */
  signal?: AbortSignal;
}

/**
 * The part of FlowMonkey's StepHandler a job runner calls: any StepHandler is one. What
 * execute() answers (a StepResult) becomes the job's result; a throw fails the job.
 */
export interface JobHandler {
  execute(params: HandlerParams): Promise<unknown>;
}

/** FlowMonkey's JobRunner (@flowmonkey/jobs). */
export interface JobRunner {
  start(): Promise<void>;
  stop(): Promise<void>;
  registerHandler(name: string, handler: JobHandler): void;
  activeCount(): number;
  completedCount(): number;
  failedCount(): number;
}

// ---- resume tokens ----

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

export interface GenerateTokenOptions {
  /** Lifetime in ms. Unset: this service's default of 7 days (FlowMonkey's own stores: never). */
  expiresInMs?: number;
  metadata?: Record<string, unknown>;
}

export interface ResumeTokenManager {
  generate(executionId: string, stepId: string, options?: GenerateTokenOptions): Promise<ResumeToken>;
  get(token: string): Promise<ResumeToken | null>;
  validate(token: string): Promise<{ valid: boolean; reason?: string }>;
  markUsed(token: string): Promise<void>;
  revoke(token: string): Promise<void>;
  listByExecution(executionId: string): Promise<ResumeToken[]>;
  cleanupExpired(): Promise<number>;
}

// ---- context storage ----

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

// ---- events ----

/** What the engine reports through its event bus (FlowMonkey's StepResult). */
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

/** The engine's event bus (its 4th constructor argument); every method optional. */
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

export interface ExecutionEvent {
  id?: number;
  executionId: string;
  eventType: string;
  stepId?: string;
  data?: unknown;
  createdAt?: number;
}

export interface EventQuery {
  executionId?: string;
  eventTypes?: string[];
  after?: number;
  before?: number;
  afterId?: number;
  limit?: number;
  descending?: boolean;
}
