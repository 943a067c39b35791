// FlowMonkey's ResumeTokenManager over flowmonkey.v1.ResumeTokens.
import { compact, fromEnum, fromJson, opt, toJson } from './convert';
import { Code, Connection, isCode, ServiceClient } from './grpc';
import { newRequestId } from './retry';
import type { ResumeToken, ResumeTokenStatus } from './types';

export function tokenFromProto(p: any): ResumeToken {
  return compact<ResumeToken>({
    id: p.id,
    token: p.token,
    executionId: p.execution_id,
    stepId: p.step_id,
    status: fromEnum<ResumeTokenStatus>('RESUME_TOKEN_STATUS', p.status) ?? 'pending',
    metadata: fromJson(p.metadata_json),
    createdAt: p.created_at,
    expiresAt: p.expires_at,
    usedAt: opt(p.used_at),
    revokedAt: opt(p.revoked_at),
  } as ResumeToken);
}

export interface GenerateOptions {
  /** Lifetime in ms; 0/undefined: the server's default. */
  expiresIn?: number;
  metadata?: Record<string, unknown>;
  /**
   * Makes a retry return the same token record (under a new token value) instead of a
   * second token; default a new random id per generate() call, used by its retries.
   */
  requestId?: string;
}

export class RemoteResumeTokenManager {
  private readonly rpc: ServiceClient;

  constructor(connection: Connection) {
    this.rpc = connection.service('flowmonkey.v1.ResumeTokens');
  }

  /** A new token for (execution, step); the token text is only ever returned here. */
  async generate(executionId: string, stepId: string, options: GenerateOptions = {}): Promise<ResumeToken> {
    const r = await this.rpc.call('Generate', {
      execution_id: executionId, step_id: stepId, expires_in_ms: options.expiresIn ?? 0,
      metadata_json: toJson(options.metadata), request_id: options.requestId ?? newRequestId(),
    });
    return tokenFromProto(r.token);
  }

  async get(token: string): Promise<ResumeToken | null> {
    try {
      return tokenFromProto((await this.rpc.call('Get', { token })).token);
    } catch (error) {
      if (isCode(error, Code.NOT_FOUND)) return null;
      throw error;
    }
  }

  async validate(token: string): Promise<{ valid: boolean; reason?: string }> {
    const r = await this.rpc.call('Validate', { token });
    return compact({ valid: r.valid, reason: r.reason || undefined });
  }

  /** Atomic: of concurrent calls exactly one succeeds; the rest (and later calls) reject
   *  with FAILED_PRECONDITION (used, revoked or expired) or NOT_FOUND. */
  async markUsed(token: string): Promise<ResumeToken> {
    return tokenFromProto((await this.rpc.call('MarkUsed', { token })).token);
  }

  async revoke(token: string): Promise<boolean> {
    return (await this.rpc.call('Revoke', { token })).revoked;
  }

  async listByExecution(executionId: string): Promise<ResumeToken[]> {
    const out: ResumeToken[] = [];
    let pageToken = '';
    do {
      const r = await this.rpc.call('ListByExecution', { execution_id: executionId, limit: 1000, page_token: pageToken });
      out.push(...r.tokens.map(tokenFromProto));
      pageToken = r.next_page_token;
    } while (pageToken);
    return out;
  }

  async cleanupExpired(): Promise<number> {
    return (await this.rpc.call('CleanupExpired', {})).count;
  }
}
