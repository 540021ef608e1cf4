/**
 * Response shapes, field by field. Nothing is spread from a row, so a ciphertext or a key
 * hash can never ride along into a response.
 */
import type { AuditAction, AuditEntry, Role, Secret, SecretWithValue } from '@ductape/sdk';
import { secretState } from '../services/secrets/secret-state.js';
import type { AuditRecord, SecretMeta } from '../store/types.js';
import { isoString } from './iso-time.js';

export function presentSecret(m: SecretMeta, nowMs = Date.now()): Secret {
  const createdAt = isoString(m.createdAt);
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
    revoked_at: m.revokedAt === null ? null : isoString(m.revokedAt),
    version: m.version,
    createdAt,
    // A secret never updated (most of a big list) has one timestamp to format, not two.
    updatedAt: m.updatedAt === m.createdAt ? createdAt : isoString(m.updatedAt),
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
