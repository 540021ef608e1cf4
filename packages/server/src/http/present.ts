/**
 * Response shapes, field by field. Nothing is spread from a row, so a ciphertext or a key
 * hash can never ride along into a response.
 */
import type { AuditAction, AuditEntry, Role, Secret, SecretWithValue } from '@ductape/sdk';
import { secretState } from '../services/secret-state.js';
import type { AuditRecord, SecretMeta } from '../store/types.js';

export function presentSecret(m: SecretMeta, nowMs = Date.now()): Secret {
  return {
    _id: m.id,
    workspace_id: m.workspaceId,
    key: m.key,
    description: m.description,
    token_type: m.tokenType,
    scope: m.scope,
    envs: m.envs,
    expires_at: m.expiresAt,
    status: secretState(m, nowMs),
    revoked_at: m.revokedAt === null ? null : new Date(m.revokedAt).toISOString(),
    version: m.version,
    createdAt: new Date(m.createdAt).toISOString(),
    updatedAt: new Date(m.updatedAt).toISOString(),
  };
}

export function presentSecretWithValue(m: SecretMeta, value: string): SecretWithValue {
  const s = presentSecret(m);
  return {
    _id: s._id,
    workspace_id: s.workspace_id,
    key: s.key,
    value,
    description: s.description,
    token_type: s.token_type,
    scope: s.scope,
    envs: s.envs,
    expires_at: s.expires_at,
    status: s.status,
    revoked_at: s.revoked_at,
    version: s.version,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

/** An audit entry on the wire: every field named, the MACs left out. */
export function presentAuditEntry(r: AuditRecord): AuditEntry {
  return {
    seq: r.seq,
    at: new Date(r.at).toISOString(),
    workspace_id: r.workspaceId,
    actor: { type: r.actorType, id: r.actorId, role: r.actorRole as Role | null },
    action: r.action as AuditAction,
    key: r.secretKey,
    version: r.version,
    outcome: r.outcome,
    code: r.code,
    request_id: r.requestId,
    client_ip: r.clientIp,
    user_agent: r.userAgent,
    detail: r.detail === null ? null : (JSON.parse(r.detail) as AuditEntry['detail']),
  };
}
