// Conversion between FlowMonkey's camelCase objects and the flowmonkey.v1 messages
// (snake_case, JSON text in *_json fields, enum names such as EXECUTION_STATUS_RUNNING).
import type { CancellationSource, Execution, ExecutionStatus, StepHistory } from './types';

/** 'running' -> 'EXECUTION_STATUS_RUNNING' for prefix 'EXECUTION_STATUS'. */
export function toEnum(prefix: string, value: string): string {
  return `${prefix}_${value.toUpperCase()}`;
}

/** 'EXECUTION_STATUS_RUNNING' -> 'running'; the UNSPECIFIED value -> undefined. */
export function fromEnum<T extends string>(prefix: string, value: string | undefined): T | undefined {
  if (!value || !value.startsWith(`${prefix}_`)) return undefined;
  const name = value.slice(prefix.length + 1).toLowerCase();
  return name === 'unspecified' ? undefined : (name as T);
}

/** JSON text for a *_json field; undefined/null -> '' (absent). */
export function toJson(value: unknown): string {
  return value === undefined || value === null ? '' : JSON.stringify(value);
}

/** A *_json field's value; '' -> undefined. */
export function fromJson<T = unknown>(text: string | undefined): T | undefined {
  return text ? (JSON.parse(text) as T) : undefined;
}

/** Proto3 optional / message fields come back as null or undefined when unset. */
export function opt<T>(value: T | null | undefined): T | undefined {
  return value === null ? undefined : value;
}

/**
 * Attaches this service's extra fields as non-enumerable properties: reachable by name,
 * invisible to Object.keys, JSON.stringify, spread and deepEqual, so FlowMonkey's objects
 * keep exactly FlowMonkey's fields.
 */
export function withHidden<T extends object>(value: T, extras: Record<string, unknown>): T {
  for (const [key, extra] of Object.entries(extras)) {
    if (extra !== undefined) Object.defineProperty(value, key, { value: extra, enumerable: false, writable: true, configurable: true });
  }
  return value;
}

/** This service's optimistic-concurrency version of an execution read from it (undefined otherwise). */
export function executionVersion(execution: Execution): number | undefined {
  const version = (execution as { version?: unknown }).version;
  return typeof version === 'number' ? version : undefined;
}

const kCancellationSources: readonly CancellationSource[] = ['user', 'timeout', 'system', 'parent'];

/** Drops keys whose value is undefined, so objects compare equal to FlowMonkey's own. */
export function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}

const kExecutionStatus = 'EXECUTION_STATUS';
const kCancellationSource = 'CANCELLATION_SOURCE';

export function executionToProto(e: Execution): Record<string, unknown> {
  return {
    id: e.id,
    flow_id: e.flowId,
    flow_version: e.flowVersion ?? '',
    current_step_id: e.currentStepId ?? '',
    status: toEnum(kExecutionStatus, e.status),
    context_json: JSON.stringify(e.context ?? {}),
    wake_at: e.wakeAt,
    wait_reason: e.waitReason,
    error: e.error && {
      code: e.error.code ?? '',
      message: e.error.message ?? '',
      step_id: e.error.stepId,
      details_json: toJson(e.error.details),
      timestamp: e.error.timestamp ?? 0,
    },
    step_count: e.stepCount ?? 0,
    history_json: toJson(e.history),
    tenant_id: e.tenantId,
    metadata_json: toJson(e.metadata),
    created_at: e.createdAt ?? 0,
    updated_at: e.updatedAt ?? 0,
    idempotency_key: e.idempotencyKey,
    idempotency_expires_at: e.idempotencyExpiresAt,
    cancellation: e.cancellation && {
      source: toEnum(kCancellationSource, e.cancellation.source),
      reason: e.cancellation.reason ?? '',
      cancelled_at: e.cancellation.cancelledAt ?? 0,
    },
    parent_execution_id: e.parentExecutionId,
    wait_started_at: e.waitStartedAt,
    timeout_config: e.timeoutConfig && {
      execution_timeout_ms: e.timeoutConfig.executionTimeoutMs,
      wait_timeout_ms: e.timeoutConfig.waitTimeoutMs,
    },
    retry_attempts: e.retryAttempts ?? {},
  };
}

export function executionFromProto(p: any): Execution {
  const retry = p.retry_attempts && Object.keys(p.retry_attempts).length > 0 ? { ...p.retry_attempts } : undefined;
  const source = fromEnum<CancellationSource>(kCancellationSource, p.cancellation?.source);
  const execution = compact<Execution>({
    id: p.id,
    flowId: p.flow_id,
    flowVersion: p.flow_version,
    currentStepId: p.current_step_id,
    status: fromEnum<ExecutionStatus>(kExecutionStatus, p.status) ?? 'pending',
    context: fromJson<Record<string, unknown>>(p.context_json) ?? {},
    wakeAt: opt(p.wake_at),
    waitReason: opt(p.wait_reason),
    error: p.error
      ? compact({
          code: p.error.code,
          message: p.error.message,
          stepId: opt(p.error.step_id) ?? '',
          details: fromJson(p.error.details_json),
          timestamp: p.error.timestamp ?? 0,
        })
      : undefined,
    stepCount: p.step_count,
    history: fromJson<StepHistory[]>(p.history_json),
    tenantId: opt(p.tenant_id),
    metadata: fromJson<Record<string, unknown>>(p.metadata_json),
    createdAt: p.created_at,
    updatedAt: p.updated_at,
    idempotencyKey: opt(p.idempotency_key),
    idempotencyExpiresAt: opt(p.idempotency_expires_at),
    cancellation: p.cancellation
      ? compact({
          source: source && kCancellationSources.includes(source) ? source : 'system',
          reason: p.cancellation.reason || undefined,
          cancelledAt: p.cancellation.cancelled_at,
        })
      : undefined,
    parentExecutionId: opt(p.parent_execution_id),
    waitStartedAt: opt(p.wait_started_at),
    timeoutConfig: p.timeout_config
      ? compact({
          executionTimeoutMs: opt(p.timeout_config.execution_timeout_ms),
          waitTimeoutMs: opt(p.timeout_config.wait_timeout_ms),
        })
      : undefined,
    retryAttempts: retry,
  } as Execution);
  return withHidden(execution, { version: p.version || undefined });
}
