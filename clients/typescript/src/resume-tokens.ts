// FlowMonkey's ResumeTokenManager over flowmonkey.v1.ResumeTokens. Statuses are FlowMonkey's
// ('active' | 'used' | 'expired' | 'revoked'; the wire's PENDING is 'active'), so
// Engine.cancel, which revokes the 'active' tokens of an execution, revokes them here too.
import { compact, fromJson, opt, toJson, withHidden } from './convert';
import { Code, Connection, isCode, ServiceClient } from './grpc';
import { newRequestId } from './retry';
import type { GenerateTokenOptions, ResumeToken, ResumeTokenManager, TokenStatus } from './types';

const kStatusFromWire: Record<string, TokenStatus> = {
  RESUME_TOKEN_STATUS_PENDING: 'active',
  RESUME_TOKEN_STATUS_USED: 'used',
  RESUME_TOKEN_STATUS_REVOKED: 'revoked',
  RESUME_TOKEN_STATUS_EXPIRED: 'expired',
};
const kStatusToWire: Record<TokenStatus, string> = {
  active: 'RESUME_TOKEN_STATUS_PENDING',
  used: 'RESUME_TOKEN_STATUS_USED',
  revoked: 'RESUME_TOKEN_STATUS_REVOKED',
  expired: 'RESUME_TOKEN_STATUS_EXPIRED',
};

/** FlowMonkey's token status for a wire enum name (unknown names read as 'expired': unusable). */
export function tokenStatusFromWire(name: string): TokenStatus {
  return kStatusFromWire[name] ?? 'expired';
}

/** The wire enum name of a FlowMonkey token status. */
export function tokenStatusToWire(status: TokenStatus): string {
  return kStatusToWire[status];
}

// The server answers "not_found", "used", "revoked" or "expired"; FlowMonkey's stores say:
const kReasons: Record<string, string> = {
  not_found: 'Token not found',
  used: 'Token already used',
  revoked: 'Token revoked',
  expired: 'Token expired',
};

/**
 * A FlowMonkey ResumeToken. The token text comes from the caller (the server returns it
 * only to whoever generated or presented it); the record's id (hex SHA-256 of the token)
 * and revokedAt are non-enumerable extras.
 */
export function tokenFromProto(p: any, token?: string): ResumeToken {
  const out = compact<ResumeToken>({
    token: p.token || token || '',
    executionId: p.execution_id,
    stepId: p.step_id,
    status: tokenStatusFromWire(p.status),
    createdAt: p.created_at,
    expiresAt: p.expires_at || undefined,
    usedAt: opt(p.used_at),
    metadata: fromJson<Record<string, unknown>>(p.metadata_json),
  });
  return withHidden(out, { id: p.id, revokedAt: opt(p.revoked_at) });
}

export interface GenerateOptions extends GenerateTokenOptions {
  /**
   * Makes a retry return the same token record (under a new token value) instead of a
   * second token; default a new random id per generate() call, used by its retries.
   */
  requestId?: string;
}

/** A token record id (hex SHA-256), as listByExecution() answers in place of the token. */
export const kTokenId = /^[0-9a-f]{64}$/;

export class RemoteResumeTokenManager implements ResumeTokenManager {
  private readonly rpc: ServiceClient;

  constructor(connection: Connection) {
    this.rpc = connection.service('flowmonkey.v1.ResumeTokens');
  }

  /** A new token for (execution, step); the token text is only ever returned here. */
  async generate(executionId: string, stepId: string, options: GenerateOptions = {}): Promise<ResumeToken> {
    const r = await this.rpc.call('Generate', {
      execution_id: executionId, step_id: stepId, expires_in_ms: options.expiresInMs ?? 0,
      metadata_json: toJson(options.metadata), request_id: options.requestId ?? newRequestId(),
    });
    return tokenFromProto(r.token);
  }

  async get(token: string): Promise<ResumeToken | null> {
    try {
      return tokenFromProto((await this.rpc.call('Get', { token })).token, token);
    } catch (error) {
      if (isCode(error, Code.NOT_FOUND)) return null;
      throw error;
    }
  }

  /** FlowMonkey's reasons: 'Token not found', 'Token already used', 'Token revoked', 'Token expired'. */
  async validate(token: string): Promise<{ valid: boolean; reason?: string }> {
    const r = await this.rpc.call('Validate', { token });
    if (r.valid) return { valid: true };
    return { valid: false, reason: kReasons[r.reason] ?? r.reason };
  }

  /**
   * Atomic: of concurrent calls exactly one succeeds; the rest (and later calls) reject
   * with FAILED_PRECONDITION (used, revoked or expired) or NOT_FOUND. FlowMonkey's
   * PgResumeTokenManager overwrites silently instead.
   */
  async markUsed(token: string): Promise<void> {
    await this.rpc.call('MarkUsed', { token });
  }

  /** active → revoked; a token that is no longer active is left as it is. */
  async revoke(token: string): Promise<void> {
    await this.revokeToken(token);
  }

  /** revoke() answering whether the token was active (and is now revoked). */
  async revokeToken(token: string): Promise<boolean> {
    // A listed token carries its record id (64 hex digits; a token is 43 base64url characters).
    const request = kTokenId.test(token) ? { token_id: token } : { token };
    return (await this.rpc.call('Revoke', request)).revoked;
  }

  /**
   * Newest first. The server never returns the token text of a listed token (it stores only
   * a hash), so `token` here is the record's id (hex SHA-256), which revoke() accepts:
   * Engine.cancel revokes each listed active token by it.
   */
  async listByExecution(executionId: string): Promise<ResumeToken[]> {
    const out: ResumeToken[] = [];
    let pageToken = '';
    do {
      const r = await this.rpc.call('ListByExecution', { execution_id: executionId, limit: 1000, page_token: pageToken });
      out.push(...r.tokens.map((t: any) => tokenFromProto(t, t.id)));
      pageToken = r.next_page_token;
    } while (pageToken);
    return out;
  }

  /** Marks active tokens past their expiry as expired; answers how many. */
  async cleanupExpired(): Promise<number> {
    return Number((await this.rpc.call('CleanupExpired', {})).count);
  }
}
