// Which calls the client may repeat, and when (docs/operations.md, "Retries"). UNAVAILABLE
// means the server did not run the call (no database connection, or lost before the
// statement was sent): every call is retried. UNKNOWN means a write may have committed:
// only calls whose repeat changes nothing more are retried (reads, writes carrying a
// request id, writes idempotent by key or by nature).
import { randomUUID } from 'node:crypto';

const kReadPrefixes = ['Get', 'Find', 'List', 'Query', 'Validate', 'Is', 'Latest', 'Versions'];

const kIdempotentWrites = new Set([
  'ContextStorage.Delete', 'ContextStorage.ClearExecution',
  'EventStore.DeleteOld',
  'ExecutionStore.Delete', 'ExecutionStore.AcquireLock', 'ExecutionStore.ExtendLock',
  'ExecutionStore.ReleaseLock',
  'FlowStore.Save', 'FlowStore.Delete',
  'JobStore.Create', 'JobStore.Heartbeat', 'JobStore.Cancel', 'JobStore.SaveCheckpoint',
  'JobStore.UpdateProgress', 'JobStore.DeleteOld',
  'ResumeTokens.Revoke', 'ResumeTokens.CleanupExpired',
]);

// Writes that are idempotent only with a request id (the client sets one).
const kWithRequestId = new Set([
  'EventStore.Record', 'EventStore.RecordBatch', 'ResumeTokens.Generate', 'Transactions.Commit',
]);

/** True when `method` of `service` ('flowmonkey.v1.JobStore') may be repeated after UNKNOWN. */
export function isIdempotent(service: string, method: string, request: any): boolean {
  const name = `${service.slice(service.lastIndexOf('.') + 1)}.${method}`;
  if (kReadPrefixes.some((prefix) => method.startsWith(prefix))) return true;
  if (kIdempotentWrites.has(name)) return true;
  if (kWithRequestId.has(name)) return typeof request?.request_id === 'string' && request.request_id !== '';
  if (name === 'ExecutionStore.Create') return !!request?.execution?.idempotency_key;
  return false;
}

/** A request id for a write that should happen once however often it is retried. */
export function newRequestId(): string {
  return `req-${randomUUID()}`;
}
