/**
 * Response shapes, field by field. Nothing is spread from a row, so a ciphertext or a key
 * hash can never ride along into a response.
 */
import type { Secret, SecretWithValue } from '@ductape/sdk';
import { secretState } from '../services/secret-state.js';
import type { SecretMeta } from '../store/types.js';

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
