/**
 * The Store: everything the services need from a database, and nothing database-specific.
 *
 * Invariants every backend keeps:
 * - a secret's value is only ever stored sealed (`sealed`), never in the clear;
 * - (workspace_id, key) is unique, also under concurrent inserts: the loser gets
 *   `DuplicateKeyError`;
 * - `modifySecret` is an atomic read-modify-write: concurrent writers never interleave a
 *   value and its version, and no write is lost;
 * - every lookup of a secret is scoped by workspace id;
 * - an audit entry given with a change is written in the change's own transaction: a
 *   change whose entry cannot be written does not happen. Each workspace's entries form
 *   one chain, numbered from 1 without gaps, appended under a lock (or SQLite's single
 *   writer) so concurrent writers on any number of nodes never fork it.
 */
import type { Role, TokenType } from '@ductape/sdk';
import type { WrappedDataKey, WrappedKeySource } from '../crypto/keyring.js';
import type { IntegrityStore } from './integrity.js';
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
  /** The MAC of the row's other columns (crypto/row-mac.ts); null on rows written before row MACs. */
  mac: Buffer | null;
}

/**
 * A secret to insert: its sealed value and row MAC, or how to make them (see
 * Store.insertSecret). A row inserted without a MAC is refused on every read.
 */
export type NewSecretRow = SecretMeta & {
  sealed: Buffer | (() => Promise<Buffer>);
  mac?: Buffer | null | (() => Promise<Buffer>);
};

/** A secret's metadata with the size of its current value, read without the value. */
export interface SizedSecretMeta extends SecretMeta {
  /** Bytes of the value (UTF-8), from the length of its ciphertext. */
  valueBytes: number;
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
    'description' | 'tokenType' | 'scope' | 'envs' | 'expiresAt' | 'revokedAt' | 'version' | 'sealed' | 'mac'
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

/** One audit event, before it is numbered and chained. Never holds a value or credential. */
export interface AuditEvent {
  /** unix milliseconds */
  at: number;
  actorType: 'user' | 'token' | 'operator' | 'anonymous';
  actorId: string | null;
  actorRole: string | null;
  action: string;
  secretKey: string | null;
  version: number | null;
  outcome: 'success' | 'refused' | 'failed';
  code: string | null;
  requestId: string | null;
  clientIp: string | null;
  userAgent: string | null;
  /** JSON text of small extra facts, as MACed. */
  detail: string | null;
}

/** An audit entry as stored: numbered within its workspace's chain and MACed. */
export interface AuditRecord extends AuditEvent {
  workspaceId: string;
  seq: number;
  /** The version of the audit key whose MAC this is (see crypto/audit-mac.ts). */
  macKey: number;
  /** The MAC of the entry before (the chain's genesis value for the first). */
  prevMac: Buffer;
  mac: Buffer;
}

/** The last entry of a chain, MACed on its own, so a cut-off tail is noticed. */
export interface AuditHead {
  workspaceId: string;
  seq: number;
  mac: Buffer;
  /** The version of the audit key whose MAC `headMac` is. */
  macKey: number;
  headMac: Buffer;
}

/**
 * Computes the MACs of a chain; the store calls it inside the transaction that appends. The
 * audit key has versions (a rotation adds one): each entry and head names the version that
 * MACs it, and a chain never goes back to an older version than its head's.
 */
export interface AuditSealer {
  /** The `prevMac` of a chain's first entry. */
  readonly genesis: Buffer;
  /** The server key whose versions MAC the chains. */
  readonly keyName: string;
  /** Whether this sealer holds version `version` of the audit key. */
  has(version: number): boolean;
  /**
   * Takes in a version of the audit key (`keyName`) that the store read because a chain's head
   * names it and the sealer lacks it (made by a newer process, before this one reloaded keys).
   */
  adopt(row: ServerKeyRow): void;
  /** The key version of entries appended after a head sealed with `headKey` (none: a new chain). */
  writeKey(headKey: number | undefined): number;
  /** The MAC of `entry` under the key version it names; throws for a version not held. */
  entryMac(prevMac: Buffer, entry: Omit<AuditRecord, 'prevMac' | 'mac'>): Buffer;
  /** The head's MAC under the key version it names; throws for a version not held. */
  headMac(head: Omit<AuditHead, 'headMac'>): Buffer;
}

/** Events to append to one workspace's chain. */
export interface AuditAppend {
  workspaceId: string;
  events: AuditEvent[];
  sealer: AuditSealer;
}

/** Which entries of a chain to read. Times are unix milliseconds. */
export interface AuditFilter {
  since?: number;
  until?: number;
  key?: string;
  actor?: string;
  action?: string;
  /** Only entries with seq below (newest-first paging) or above (oldest-first) this. */
  beforeSeq?: number;
  afterSeq?: number;
  order: 'asc' | 'desc';
  limit: number;
}

/** One version of a server key, wrapped (see crypto/envelope.ts and services/keys/server-keys.ts). */
export interface ServerKeyRow {
  name: string;
  /** 1 for a name's first key; each rotation adds the next. */
  version: number;
  kekId: string;
  wrapped: Buffer;
  /** Unix ms from which this version is retired (bound into `wrapped`); null while in use. */
  retiredAt: number | null;
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

/**
 * The store's disk refuses writes right now (read-only file system, I/O error): nothing was
 * written. Reads may still work.
 */
export class StoreDiskError extends StoreUnavailableError {
  constructor(cause?: unknown) {
    super(cause);
    this.message = "the database's disk refuses writes (read-only file system or I/O error)";
    this.name = 'StoreDiskError';
  }
}

/** The store's disk is full: nothing was written. Writes work again once space is freed. */
export class StoreFullError extends Error {
  constructor(cause?: unknown) {
    super("the database's disk is full", { cause });
    this.name = 'StoreFullError';
  }
}

/** What a principal cache holds: users and service tokens, by id. */
export type PrincipalKind = 'user' | 'token';

/** Told of changes to users and service tokens, for a cache of them (services/identity/principal-cache.ts). */
export interface PrincipalWatcher {
  /**
   * One user or token changed: by this process (before the change is acknowledged) or, on
   * PostgreSQL, by any node (when its notification arrives).
   */
  changed(kind: PrincipalKind, id: string): void;
  /** Changes may have gone unseen (another process committed, a listener reconnected): forget everything. */
  reset(): void;
}

export interface PrincipalFeed {
  /**
   * Whether cached rows may be used right now: false while changes could go unseen (on
   * PostgreSQL, while the node's listener is not connected). On SQLite it first notices other
   * processes' commits (and resets). Cheap: called on every authentication.
   */
  fresh(): boolean;
  /** Stops telling this watcher. */
  stop(): Promise<void>;
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
  /** Row MACs: converting workspaces from before them, and checking every row (see integrity.ts). */
  readonly integrity: IntegrityStore;

  /** The newest version of the server key `name`. */
  getServerKey(name: string): Promise<ServerKeyRow | undefined>;
  /**
   * Inserts `row` as version 1, not retired, unless a key of that name exists; returns the
   * newest version stored afterwards.
   */
  putServerKeyOnce(row: Omit<ServerKeyRow, 'version' | 'retiredAt'>): Promise<ServerKeyRow>;

  /** Creates a workspace with its first data key and its owner, atomically. */
  createWorkspace(
    workspace: WorkspaceRow,
    dataKey: WrappedDataKey,
    owner: UserRow,
    audit?: AuditAppend,
  ): Promise<void>;
  getWorkspace(id: string): Promise<WorkspaceRow | undefined>;

  insertUser(user: UserRow, audit?: AuditAppend): Promise<void>;
  getUser(id: string): Promise<UserRow | undefined>;
  /** Every user of a workspace, removed ones included, oldest first. */
  listUsers(workspaceId: string): Promise<UserRow[]>;
  /**
   * Changes a user of the workspace, atomically. Refuses ('last-owner') a change that would
   * leave the workspace without an active owner, also when two such changes race. The
   * audit entry is written only with a change that happens.
   */
  updateUser(
    workspaceId: string,
    id: string,
    changes: UserChanges,
    audit?: AuditAppend,
  ): Promise<UserRow | undefined | 'last-owner'>;

  /**
   * Throws `DuplicateKeyError` when the key exists in the workspace. Records the value as
   * version `row.version`, written by `actor`. `row.sealed` may be a function that seals the
   * value: the store calls it once, when it suits (PostgreSQL: inside the batch's
   * transaction, so a batch asks for the newest data key once, not once per value); what it
   * throws fails this insert alone.
   */
  insertSecret(row: NewSecretRow, actor: string, audit?: AuditAppend): Promise<void>;
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
   * Up to `limit` secrets of a workspace with keys after `afterKey`, ordered by key, or
   * exactly those of `keys` that exist (any order): metadata and value sizes, no value.
   */
  listSecretSizes(
    workspaceId: string,
    page: { afterKey?: string; limit: number } | { keys: readonly string[] },
  ): Promise<SizedSecretMeta[]>;
  /**
   * Bytes of the values a workspace holds, every recorded version included (UTF-8, as
   * written): kept up to date by every insert, new version, pruning and delete.
   */
  valueBytes(workspaceId: string): Promise<number>;
  /**
   * Read-modify-write of one secret, atomic against every other writer: `compute` sees the
   * current row and returns the changes (or null for none); no other change to that row
   * lands in between. Returns the row as written, or undefined when there is no such key.
   * `compute` may throw to abort; nothing is written then. A change carrying a new sealed
   * value is recorded as a version written by `actor`, and versions older than the last
   * `versionsToKeep` are destroyed in the same transaction, and so is the audit entry
   * `audit` makes of the row as written (none when nothing changes).
   */
  modifySecret(
    workspaceId: string,
    key: string,
    compute: (current: SecretRow) => Promise<SecretChanges | null>,
    actor: string,
    audit?: (written: SecretMeta) => AuditAppend,
  ): Promise<SecretMeta | undefined>;
  /** The recorded versions of a secret, newest first; undefined when there is no such key. */
  listVersions(workspaceId: string, key: string): Promise<SecretVersionMeta[] | undefined>;
  /** The secret's current metadata with the sealed value of one recorded version. */
  getSecretVersion(
    workspaceId: string,
    key: string,
    version: number,
  ): Promise<{ meta: SecretMeta; sealed: Buffer | undefined } | undefined>;
  /** The audit entry is written only when a secret was deleted. */
  deleteSecret(workspaceId: string, key: string, audit?: AuditAppend): Promise<boolean>;

  insertServiceToken(row: ServiceTokenRow, audit?: AuditAppend): Promise<void>;
  getServiceToken(id: string): Promise<ServiceTokenRow | undefined>;
  /** Every token of a workspace, newest first. */
  listServiceTokens(workspaceId: string): Promise<ServiceTokenRow[]>;
  /** Marks a token revoked (keeping its first revoke time); false when no such token in the workspace. */
  revokeServiceToken(
    workspaceId: string,
    id: string,
    revokedAt: number,
    audit?: AuditAppend,
  ): Promise<boolean>;

  /**
   * Tells `watcher` of every change to users and service tokens that a cache of them must
   * honour. Changes go through `updateUser` and `revokeServiceToken`; new rows need no
   * telling (a cache holds only rows that exist).
   */
  watchPrincipals(watcher: PrincipalWatcher): PrincipalFeed;

  /** Appends events to a workspace's audit chain, in one transaction of their own. */
  appendAudit(append: AuditAppend): Promise<void>;
  /** Entries of one chain, filtered, in seq order (`filter.order`). */
  listAudit(workspaceId: string, filter: AuditFilter): Promise<AuditRecord[]>;
  auditHead(workspaceId: string): Promise<AuditHead | undefined>;
  /** Every chain that has entries or a head, sorted. */
  auditChains(): Promise<string[]>;
  /** Chains whose head is sealed with an audit key version below `macKey`, sorted. */
  auditChainsBelowKey(macKey: number): Promise<string[]>;
  /**
   * Up to `limit` workspace ids after `after`, in order: audit verification walks the
   * workspaces, since each must have a chain, not only the chains it happens to find.
   */
  workspaceIds(after: string | undefined, limit: number): Promise<string[]>;
}

export type { WrappedDataKey };
