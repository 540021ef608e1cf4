/**
 * Workspaces, users and service tokens in SQL, shared by the backends: columns, mapping, the
 * rules of a user change, and every statement the dialects agree on (`?` placeholders).
 */
import type { ServiceTokenRow, UserChanges, UserRow, WorkspaceRow } from '../identity-store.js';

export interface UserRecord {
  id: string;
  workspace_id: string;
  role: string;
  key_hash: Buffer;
  key_generation: number;
  created_at: number;
  removed_at: number | null;
}

export function toUserRow(r: UserRecord): UserRow {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    role: r.role as UserRow['role'],
    keyHash: r.key_hash,
    keyGeneration: r.key_generation,
    createdAt: r.created_at,
    removedAt: r.removed_at,
  };
}

export const INSERT_USER_COLUMNS = 'id, workspace_id, role, key_hash, key_generation, created_at, removed_at';

export function userValues(u: UserRow): unknown[] {
  return [u.id, u.workspaceId, u.role, u.keyHash, u.keyGeneration, u.createdAt, u.removedAt];
}

export const SERVICE_TOKEN_COLUMNS =
  'id, workspace_id, app, env, description, token_hash, created_by, created_at, expires_at, revoked_at';

export interface ServiceTokenRecord {
  id: string;
  workspace_id: string;
  app: string;
  env: string;
  description: string | null;
  token_hash: Buffer;
  created_by: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export function toServiceTokenRow(r: ServiceTokenRecord): ServiceTokenRow {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    app: r.app,
    env: r.env,
    description: r.description,
    tokenHash: r.token_hash,
    createdBy: r.created_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

export function serviceTokenValues(t: ServiceTokenRow): unknown[] {
  return [
    t.id,
    t.workspaceId,
    t.app,
    t.env,
    t.description,
    t.tokenHash,
    t.createdBy,
    t.createdAt,
    t.expiresAt,
    t.revokedAt,
  ];
}

/** Whether a change takes a user out of the active owners. */
export function leavesOwners(user: UserRow, changes: { role?: string; removedAt?: number | null }): boolean {
  const activeOwner = user.role === 'owner' && user.removedAt === null;
  const stays =
    (changes.role === undefined || changes.role === 'owner') &&
    (changes.removedAt === undefined || changes.removedAt === null);
  return activeOwner && !stays;
}

/**
 * The changes to really write, decided from the row as locked for the update: removing a
 * removed user again keeps the first removal time (as a second revoke does), and a new key
 * always moves the generation past the stored one, so that of two rotations racing from the
 * same read, the loser's access tokens do not share the winner's generation.
 */
export function userChangesToWrite(user: UserRow, changes: UserChanges): UserChanges {
  const out = { ...changes };
  if (user.removedAt !== null && out.removedAt !== undefined && out.removedAt !== null) {
    out.removedAt = user.removedAt;
  }
  if (out.keyHash !== undefined) out.keyGeneration = user.keyGeneration + 1;
  return out;
}

export const USER_CHANGE_COLUMNS = {
  role: 'role',
  removedAt: 'removed_at',
  keyHash: 'key_hash',
  keyGeneration: 'key_generation',
} as const;

export interface WorkspaceRecord {
  id: string;
  name: string;
  created_at: number;
}

export function toWorkspaceRow(r: WorkspaceRecord): WorkspaceRow {
  return { id: r.id, name: r.name, createdAt: r.created_at };
}

/** The fields a user change really sets (undefined means "leave it"). */
export function userFields(changes: UserChanges): (keyof UserChanges)[] {
  return (Object.keys(changes) as (keyof UserChanges)[]).filter((f) => changes[f] !== undefined);
}

/** `UPDATE` of `fields` of one user; its values: each field's, then the user's id. */
export function updateUserSql(fields: (keyof UserChanges)[], p: (n: number) => string): string {
  const sets = fields.map((f, i) => `${USER_CHANGE_COLUMNS[f]} = ${p(i + 1)}`).join(', ');
  return `UPDATE users SET ${sets} WHERE id = ${p(fields.length + 1)}`;
}

export const IDENTITY_SQL = {
  insertWorkspace: 'INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)',
  getWorkspace: 'SELECT id, name, created_at FROM workspaces WHERE id = ?',
  workspaceIds: 'SELECT id FROM workspaces WHERE id > ? ORDER BY id LIMIT ?',
  insertUser: `INSERT INTO users (${INSERT_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  getUser: 'SELECT * FROM users WHERE id = ?',
  listUsers: 'SELECT * FROM users WHERE workspace_id = ? ORDER BY created_at, id',
  insertServiceToken: `INSERT INTO service_tokens (${SERVICE_TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  getServiceToken: `SELECT ${SERVICE_TOKEN_COLUMNS} FROM service_tokens WHERE id = ?`,
  listServiceTokens: `SELECT ${SERVICE_TOKEN_COLUMNS} FROM service_tokens WHERE workspace_id = ? ORDER BY created_at DESC, id DESC`,
  revokeServiceToken:
    'UPDATE service_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE workspace_id = ? AND id = ?',
} as const;
