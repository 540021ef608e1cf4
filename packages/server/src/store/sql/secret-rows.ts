/**
 * Secrets in SQL, shared by the backends: column lists, the mapping from snake_case records
 * to the Store's rows, and every statement the dialects agree on (`?` placeholders; the
 * PostgreSQL backend numbers them). Each backend decodes its own list encoding (JSON text in
 * SQLite, text[] in PostgreSQL) into `string[]` before mapping.
 */
import type {
  SecretChanges,
  SecretMeta,
  SecretRow,
  SizedSecretMeta,
  SecretVersionMeta,
} from '../secret-store.js';
import type { SqlDialect } from './dialect.js';

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

/** The values of SECRET_ROW_COLUMNS for `r`, in order, with lists as the backend writes them. */
export function secretRowValues(r: SecretRow, encodeList: (list: string[]) => unknown): unknown[] {
  return [
    r.id,
    r.workspaceId,
    r.key,
    r.description,
    r.tokenType,
    encodeList(r.scope),
    encodeList(r.envs),
    r.expiresAt,
    r.revokedAt,
    r.version,
    r.createdAt,
    r.updatedAt,
    r.sealed,
    r.mac,
  ];
}

/** A whole row as the Store returns it, from a record read with SECRET_ROW_COLUMNS. */
export function toSecretRow<L>(r: SecretRecord<L>, decodeList: (list: L) => string[]): SecretRow {
  return { ...toSecretMeta(r, decodeList), sealed: r.sealed as Buffer, mac: r.mac ?? null };
}

/**
 * A row of SECRET_ROW_COLUMNS (or its first twelve, SECRET_META_COLUMNS) read as an array.
 * better-sqlite3 builds a row object one property at a time through V8's slow path; read as
 * an array and mapped by one object literal here, a fetch counted about 10 % fewer
 * instructions and a metadata read about 8 % (bench/instructions.mjs, bench/README.md).
 */
export type SecretTuple<L = string[]> = [
  id: string,
  workspaceId: string,
  key: string,
  description: string | null,
  tokenType: string | null,
  scope: L,
  envs: L,
  expiresAt: number | null,
  revokedAt: number | null,
  version: number,
  createdAt: number,
  updatedAt: number,
  sealed?: Buffer,
  mac?: Buffer | null,
];

export function secretMetaOfTuple<L>(t: SecretTuple<L>, decodeList: (list: L) => string[]): SecretMeta {
  return {
    id: t[0],
    workspaceId: t[1],
    key: t[2],
    description: t[3],
    tokenType: t[4] as SecretMeta['tokenType'],
    scope: decodeList(t[5]),
    envs: decodeList(t[6]),
    expiresAt: t[7],
    revokedAt: t[8],
    version: t[9],
    createdAt: t[10],
    updatedAt: t[11],
  };
}

export function secretRowOfTuple<L>(t: SecretTuple<L>, decodeList: (list: L) => string[]): SecretRow {
  return {
    id: t[0],
    workspaceId: t[1],
    key: t[2],
    description: t[3],
    tokenType: t[4] as SecretMeta['tokenType'],
    scope: decodeList(t[5]),
    envs: decodeList(t[6]),
    expiresAt: t[7],
    revokedAt: t[8],
    version: t[9],
    createdAt: t[10],
    updatedAt: t[11],
    sealed: t[12] as Buffer,
    mac: t[13] ?? null,
  };
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

/** Every row of a listing as metadata, in a preallocated array (a big list's allocations matter). */
export function listedSecretMetas<L>(
  workspaceId: string,
  rows: readonly SecretListRow<L>[],
  decodeList: (list: L) => string[],
): SecretMeta[] {
  const out = new Array<SecretMeta>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    out[i] = listedSecretMeta(workspaceId, rows[i] as SecretListRow<L>, decodeList);
  }
  return out;
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

/** The row after `changes`, as metadata: neither a sealed value nor a MAC ever rides along. */
export function applyChanges(
  current: SecretMeta & { sealed?: Buffer; mac?: Buffer | null },
  changes: SecretChanges,
): SecretMeta {
  const { sealed: _was, mac: _wasMac, ...meta } = current;
  const { sealed: _sealed, mac: _mac, ...rest } = changes;
  return { ...meta, ...rest };
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

/** The reads of secrets, in the backend's dialect. */
export function secretReads(d: SqlDialect) {
  const sized = `SELECT ${SECRET_META_COLUMNS}, ${VALUE_BYTES_SQL('sealed')} AS value_bytes FROM secrets`;
  return {
    getSecret: `SELECT ${SECRET_ROW_COLUMNS} FROM secrets WHERE workspace_id = ? AND key = ?`,
    getSecretMeta: `SELECT ${SECRET_META_COLUMNS} FROM secrets WHERE workspace_id = ? AND key = ?`,
    getSecrets: `SELECT ${SECRET_ROW_COLUMNS} FROM secrets WHERE workspace_id = ? AND ${d.inList('key')}`,
    listSecretRows: `SELECT ${SECRET_ROW_COLUMNS} FROM secrets WHERE workspace_id = ? ORDER BY key`,
    // Read as arrays (see secretListColumns).
    listSecrets: `SELECT ${secretListColumns(d.emptyList)} FROM secrets WHERE workspace_id = ? ORDER BY key`,
    listExpiringSecrets: `SELECT ${secretListColumns(d.emptyList)} FROM secrets WHERE workspace_id = ? AND expires_at > ? AND expires_at <= ? ORDER BY expires_at, key`,
    // Answered from the (workspace_id, key) unique index alone.
    countSecrets: 'SELECT COUNT(*) AS n FROM secrets WHERE workspace_id = ?',
    sizesAfter: `${sized} WHERE workspace_id = ? AND key > ? ORDER BY key LIMIT ?`,
    sizesOf: `${sized} WHERE workspace_id = ? AND ${d.inList('key')}`,
    valueBytes: 'SELECT value_bytes FROM workspace_usage WHERE workspace_id = ?',
    listVersions:
      'SELECT version, created_at, created_by FROM secret_versions WHERE secret_id = ? ORDER BY version DESC',
    getVersion: 'SELECT sealed FROM secret_versions WHERE secret_id = ? AND version = ?',
  } as const;
}
