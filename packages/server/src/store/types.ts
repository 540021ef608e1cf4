/**
 * The Store: everything the services need from a database, and nothing database-specific.
 *
 * Invariants every backend keeps:
 * - a secret's value is only ever stored sealed (`sealed`), never in the clear;
 * - (workspace_id, key) is unique, also under concurrent inserts: the loser gets
 *   `DuplicateKeyError`;
 * - `modifySecret` is an atomic read-modify-write: concurrent writers never interleave a
 *   value and its version, and no write is lost;
 * - every lookup of a secret is scoped by workspace id.
 */
import type { Role, TokenType } from '@ductape/sdk';
import type { WrappedDataKey, WrappedKeySource } from '../crypto/keyring.js';
import type { KeyStore } from './keys.js';

export interface WorkspaceRow {
  id: string;
  name: string;
  /** unix milliseconds */
  createdAt: number;
}

export interface UserRow {
  id: string;
  workspaceId: string;
  role: Role;
  /** SHA-256 of the private key */
  keyHash: Buffer;
  keyGeneration: number;
  createdAt: number;
  removedAt: number | null;
}

/** Fields of a user that can change. */
export type UserChanges = Partial<Pick<UserRow, 'role' | 'removedAt' | 'keyHash' | 'keyGeneration'>>;

export interface SecretMeta {
  id: string;
  workspaceId: string;
  key: string;
  description: string | null;
  tokenType: TokenType | null;
  scope: string[];
  envs: string[];
  /** unix seconds */
  expiresAt: number | null;
  /** unix milliseconds */
  revokedAt: number | null;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export interface SecretRow extends SecretMeta {
  sealed: Buffer;
}

/** One recorded value of a secret (metadata; the sealed value stays in the store). */
export interface SecretVersionMeta {
  version: number;
  /** unix milliseconds */
  createdAt: number;
  /** user or token id that wrote it */
  createdBy: string;
}

/** Fields an update may change; `updatedAt` always moves. */
export type SecretChanges = Partial<
  Pick<
    SecretRow,
    'description' | 'tokenType' | 'scope' | 'envs' | 'expiresAt' | 'revokedAt' | 'version' | 'sealed'
  >
> & { updatedAt: number };

/** A service token: a machine identity bound to one app and one environment. */
export interface ServiceTokenRow {
  id: string;
  workspaceId: string;
  app: string;
  env: string;
  description: string | null;
  /** SHA-256 of the whole token */
  tokenHash: Buffer;
  /** id of the user who minted it */
  createdBy: string;
  /** unix milliseconds */
  createdAt: number;
  /** unix seconds, like every expiry on the wire */
  expiresAt: number;
  /** unix milliseconds */
  revokedAt: number | null;
}

export interface ServerKeyRow {
  name: string;
  kekId: string;
  wrapped: Buffer;
}

/** The database was migrated by a newer server; this one must not touch it. */
export class SchemaTooNewError extends Error {
  constructor(current: number, known: number) {
    super(
      `the database schema is at version ${current}, newer than this server knows (${known}); upgrade the server`,
    );
    this.name = 'SchemaTooNewError';
  }
}

export class DuplicateKeyError extends Error {
  constructor() {
    super('a secret with this key already exists in the workspace');
    this.name = 'DuplicateKeyError';
  }
}

/**
 * The database cannot be reached right now (down, restarting, connections cut). Requests
 * fail fast with 503 and the store recovers by itself when the database is back.
 */
export class StoreUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('the database is unavailable', { cause });
    this.name = 'StoreUnavailableError';
  }
}

export type StoreBackend = 'sqlite' | 'postgres';

/** What opening the store did to its schema: from one version to another (equal: nothing to do). */
export interface MigrationResult {
  from: number;
  to: number;
}

export interface Store extends WrappedKeySource {
  readonly backend: StoreBackend;
  /** The schema migration done when this store was opened. */
  readonly migration: MigrationResult;
  close(): Promise<void>;
  /** Resolves when the store can serve queries; rejects otherwise. */
  ping(): Promise<void>;
  /** Key rotation: data key versions, re-wrapping and re-encryption (see keys.ts). */
  readonly keys: KeyStore;

  getServerKey(name: string): Promise<ServerKeyRow | undefined>;
  /** Inserts unless one of that name exists; returns the row that is stored afterwards. */
  putServerKeyOnce(row: ServerKeyRow): Promise<ServerKeyRow>;

  /** Creates a workspace with its first data key and its owner, atomically. */
  createWorkspace(workspace: WorkspaceRow, dataKey: WrappedDataKey, owner: UserRow): Promise<void>;
  getWorkspace(id: string): Promise<WorkspaceRow | undefined>;

  insertUser(user: UserRow): Promise<void>;
  getUser(id: string): Promise<UserRow | undefined>;
  /** Every user of a workspace, removed ones included, oldest first. */
  listUsers(workspaceId: string): Promise<UserRow[]>;
  /**
   * Changes a user of the workspace, atomically. Refuses ('last-owner') a change that would
   * leave the workspace without an active owner, also when two such changes race.
   */
  updateUser(
    workspaceId: string,
    id: string,
    changes: UserChanges,
  ): Promise<UserRow | undefined | 'last-owner'>;

  /**
   * Throws `DuplicateKeyError` when the key exists in the workspace. Records the value as
   * version `row.version`, written by `actor`.
   */
  insertSecret(row: SecretRow, actor: string): Promise<void>;
  getSecret(workspaceId: string, key: string): Promise<SecretRow | undefined>;
  getSecretMeta(workspaceId: string, key: string): Promise<SecretMeta | undefined>;
  /** Full rows (sealed values included) of the given keys that exist, in any order. */
  getSecrets(workspaceId: string, keys: readonly string[]): Promise<SecretRow[]>;
  /** Full rows of every secret of a workspace, ordered by key. */
  listSecretRows(workspaceId: string): Promise<SecretRow[]>;
  /** How many secrets the workspace holds (revoked and expired ones included). */
  countSecrets(workspaceId: string): Promise<number>;
  /** Metadata of every secret of a workspace, ordered by key. */
  listSecrets(workspaceId: string): Promise<SecretMeta[]>;
  /**
   * Read-modify-write of one secret, atomic against every other writer: `compute` sees the
   * current row and returns the changes (or null for none); no other change to that row
   * lands in between. Returns the row as written, or undefined when there is no such key.
   * `compute` may throw to abort; nothing is written then. A change carrying a new sealed
   * value is recorded as a version written by `actor`, and versions older than the last
   * `versionsToKeep` are destroyed in the same transaction.
   */
  modifySecret(
    workspaceId: string,
    key: string,
    compute: (current: SecretMeta) => Promise<SecretChanges | null>,
    actor: string,
  ): Promise<SecretMeta | undefined>;
  /** The recorded versions of a secret, newest first; undefined when there is no such key. */
  listVersions(workspaceId: string, key: string): Promise<SecretVersionMeta[] | undefined>;
  /** The secret's current metadata with the sealed value of one recorded version. */
  getSecretVersion(
    workspaceId: string,
    key: string,
    version: number,
  ): Promise<{ meta: SecretMeta; sealed: Buffer | undefined } | undefined>;
  deleteSecret(workspaceId: string, key: string): Promise<boolean>;

  insertServiceToken(row: ServiceTokenRow): Promise<void>;
  getServiceToken(id: string): Promise<ServiceTokenRow | undefined>;
  /** Every token of a workspace, newest first. */
  listServiceTokens(workspaceId: string): Promise<ServiceTokenRow[]>;
  /** Marks a token revoked (keeping its first revoke time); false when no such token in the workspace. */
  revokeServiceToken(workspaceId: string, id: string, revokedAt: number): Promise<boolean>;
}

export type { WrappedDataKey };
