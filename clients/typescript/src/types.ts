// FlowMonkey's own shapes (as @flowmonkey/core declares them), camelCase, optional fields
// undefined rather than null. Extra fields this service adds are marked.

export type ExecutionStatus =
  | 'pending' | 'running' | 'waiting' | 'cancelling' | 'cancelled' | 'completed' | 'failed';

export interface ExecutionError {
  code: string;
  message: string;
  stepId?: string;
  details?: unknown;
  timestamp?: number;
}

export interface Cancellation {
  source: 'user' | 'timeout' | 'parent' | 'system' | string;
  reason?: string;
  cancelledAt: number;
}

export interface TimeoutConfig {
  executionTimeoutMs?: number;
  waitTimeoutMs?: number;
}

export interface Execution {
  id: string;
  flowId: string;
  flowVersion: string;
  currentStepId: string;
  status: ExecutionStatus;
  context: Record<string, unknown>;
  wakeAt?: number;
  waitReason?: string;
  error?: ExecutionError;
  stepCount: number;
  history?: unknown[];
  tenantId?: string;
  metadata?: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  idempotencyKey?: string;
  idempotencyExpiresAt?: number;
  cancellation?: Cancellation;
  parentExecutionId?: string;
  waitStartedAt?: number;
  timeoutConfig?: TimeoutConfig;
  retryAttempts?: Record<string, number>;
  /** This service's optimistic-concurrency counter (read-only; ignored on save). */
  version?: number;
}

export interface Lock {
  release(): Promise<void>;
  /** False when the lease was lost (expired and taken, or released). */
  extend(ttlMs: number): Promise<boolean>;
  /** This service's fencing token: grows every time the lease changes hands. */
  readonly fencingToken: number;
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

/** A flow definition: FlowMonkey's Flow (id, version, initialStepId, steps, ...). */
export interface Flow {
  id: string;
  version: string;
  name?: string;
  description?: string;
  initialStepId: string;
  steps: Record<string, { id: string; type: string; [key: string]: unknown }>;
  [key: string]: unknown;
}

export interface FlowRegistry {
  register(flow: Flow): void | Promise<void>;
  get(id: string, version?: string): Flow | undefined;
  has(id: string): boolean;
  flowIds(): string[];
  versions(id: string): string[];
}

export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

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
  progress?: { percent: number; message?: string };
}

export type ResumeTokenStatus = 'pending' | 'used' | 'revoked' | 'expired';

export interface ResumeToken {
  id: string;
  token: string;
  executionId: string;
  stepId: string;
  status: ResumeTokenStatus;
  metadata?: Record<string, unknown>;
  createdAt: number;
  expiresAt: number;
  usedAt?: number;
  revokedAt?: number;
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
