/**
 * Row shapes shared by the SQL backends: column lists and the mapping from snake_case
 * records to the Store's rows. Each backend decodes its own list encoding (JSON text in
 * SQLite, text[] in PostgreSQL) into `string[]` before mapping.
 */
import type {
  SecretChanges,
  SecretMeta,
  SecretRow,
  SizedSecretMeta,
  SecretVersionMeta,
  ServiceTokenRow,
  UserChanges,
  UserRow,
} from './types.js';

export const SECRET_META_COLUMNS =
  'id, workspace_id, key, description, token_type, scope, envs, expires_at, revoked_at, version, created_at, updated_at';

/** A whole row: metadata, the sealed value and the row MAC. */
export const SECRET_ROW_COLUMNS = `${SECRET_META_COLUMNS}, sealed, mac`;

/**
 * Bytes a sealed value has beyond its plaintext: format (1), data key version (4), nonce
 * (12), tag (16). See crypto/envelope.ts.
 */
export const SEALED_OVERHEAD = 33;

/** A value's size (UTF-8 bytes) read from its ciphertext's length, in SQL both backends speak. */
export const VALUE_BYTES_SQL = (sealed: string): string => `length(${sealed}) - ${SEALED_OVERHEAD}`;

export interface SecretRecord<L = string[]> {
  id: string;
  workspace_id: string;
  key: string;
  description: string | null;
  token_type: string | null;
  scope: L;
  envs: L;
  expires_at: number | null;
  revoked_at: number | null;
  version: number;
  created_at: number;
  updated_at: number;
  sealed?: Buffer;
  mac?: Buffer | null;
}

export interface UserRecord {
  id: string;
  workspace_id: string;
  role: string;
  key_hash: Buffer;
  key_generation: number;
  created_at: number;
  removed_at: number | null;
}

export function toSecretMeta<L>(r: SecretRecord<L>, decodeList: (list: L) => string[]): SecretMeta {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    key: r.key,
    description: r.description,
    tokenType: r.token_type as SecretMeta['tokenType'],
    scope: decodeList(r.scope),
    envs: decodeList(r.envs),
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** A whole row as the Store returns it, from a record read with SECRET_ROW_COLUMNS. */
export function toSecretRow<L>(r: SecretRecord<L>, decodeList: (list: L) => string[]): SecretRow {
  return { ...toSecretMeta(r, decodeList), sealed: r.sealed as Buffer, mac: r.mac ?? null };
}

/** Metadata with the value's size, from a record read with SECRET_META_COLUMNS and `value_bytes`. */
export function toSizedMeta<L>(
  r: SecretRecord<L> & { value_bytes: number },
  decodeList: (list: L) => string[],
): SizedSecretMeta {
  return { ...toSecretMeta(r, decodeList), valueBytes: Number(r.value_bytes) };
}

/**
 * The columns of a listing, read as arrays (no object per row): metadata only, never
 * `sealed`, and no workspace_id, which is the one the listing asked for. An empty scope or
 * environment list (`emptyList`, as the backend writes it; most secrets have both) is read
 * as NULL, which costs neither a string nor a parse.
 */
export function secretListColumns(emptyList: string): string {
  return `id, key, description, token_type, NULLIF(scope, ${emptyList}), NULLIF(envs, ${emptyList}), expires_at, revoked_at, version, created_at, updated_at`;
}

/** A row of secretListColumns, in that order (null: an empty list). */
export type SecretListRow<L = string[]> = [
  id: string,
  key: string,
  description: string | null,
  tokenType: string | null,
  scope: L | null,
  envs: L | null,
  expiresAt: number | null,
  revokedAt: number | null,
  version: number,
  createdAt: number,
  updatedAt: number,
];

export function listedSecretMeta<L>(
  workspaceId: string,
  r: SecretListRow<L>,
  decodeList: (list: L) => string[],
): SecretMeta {
  return {
    id: r[0],
    workspaceId,
    key: r[1],
    description: r[2],
    tokenType: r[3] as SecretMeta['tokenType'],
    scope: r[4] === null ? [] : decodeList(r[4]),
    envs: r[5] === null ? [] : decodeList(r[5]),
    expiresAt: r[6],
    revokedAt: r[7],
    version: r[8],
    createdAt: r[9],
    updatedAt: r[10],
  };
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

/** The column each updatable field is stored in. */
export const CHANGE_COLUMNS: { readonly [K in keyof SecretChanges]-?: string } = {
  description: 'description',
  tokenType: 'token_type',
  scope: 'scope',
  envs: 'envs',
  expiresAt: 'expires_at',
  revokedAt: 'revoked_at',
  version: 'version',
  sealed: 'sealed',
  mac: 'mac',
  updatedAt: 'updated_at',
};

/** The fields an update really changes (undefined means "leave it"; null is a value). */
export function changedFields(changes: SecretChanges): (keyof SecretChanges)[] {
  return (Object.keys(changes) as (keyof SecretChanges)[]).filter((f) => changes[f] !== undefined);
}

export const INSERT_USER_COLUMNS = 'id, workspace_id, role, key_hash, key_generation, created_at, removed_at';

export function userValues(u: UserRow): unknown[] {
  return [u.id, u.workspaceId, u.role, u.keyHash, u.keyGeneration, u.createdAt, u.removedAt];
}

/** The row after `changes`, as metadata: neither a sealed value nor a MAC ever rides along. */
export function applyChanges(
  current: SecretMeta & { sealed?: Buffer; mac?: Buffer | null },
  changes: SecretChanges,
): SecretMeta {
  const { sealed: _was, mac: _wasMac, ...meta } = current;
  const { sealed: _sealed, mac: _mac, ...rest } = changes;
  return { ...meta, ...rest };
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

/** How many versions of each secret are kept unless configured otherwise. */
export const DEFAULT_VERSIONS_TO_KEEP = 20;

export interface VersionRecord {
  version: number;
  created_at: number;
  created_by: string;
}

export function toVersionMeta(r: VersionRecord): SecretVersionMeta {
  return { version: r.version, createdAt: r.created_at, createdBy: r.created_by };
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
