/**
 * Secrets and their recorded versions: `SecretStore`, and `SecretSizes` (what values weigh).
 *
 * Invariants every backend keeps:
 * - a secret's value is only ever stored sealed (`sealed`), never in the clear;
 * - (workspace_id, key) is unique, also under concurrent inserts: the loser gets
 *   `DuplicateKeyError`;
 * - `modifySecret` is an atomic read-modify-write: concurrent writers never interleave a
 *   value and its version, and no write is lost;
 * - every lookup of a secret is scoped by workspace id;
 * - the audit entry given with a change is written in the change's own transaction (see
 *   audit-store.ts): a change whose entry cannot be written does not happen;
 * - so is the change's webhook event (`outboxEventsOf` of that entry, see webhook-store.ts),
 *   only while the workspace has a webhook.
 */
import type { TokenType } from '@ductape/sdk';
import type { WrappedKeySource } from '../crypto/keyring.js';
import type { AuditAppend } from './audit-store.js';

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
 * A workspace's data keys as one write reads them: through the write's own transaction (a
 * seal inside it must not wait for a second pooled connection), the newest version read
 * once per write or batch. What `modifySecret`'s `compute` and a new secret's `seal` get,
 * to hand to the keyring (`Keyring.through`).
 */
export type WriteKeys = Required<WrappedKeySource>;

/** A sealed value with the MAC of the row that holds it. */
export interface SealedValueAndMac {
  sealed: Buffer;
  mac: Buffer | null;
}

/**
 * A secret to insert: with its sealed value and row MAC, or with `seal`, which makes them
 * once, inside the write, from the data keys the write read (so a PostgreSQL batch asks for
 * the newest data key once, not once per value); what it throws fails this insert alone.
 * A row inserted without a MAC is refused on every read.
 */
export type NewSecretRow = SecretMeta &
  ({ sealed: Buffer; mac?: Buffer | null } | { seal(keys: WriteKeys): Promise<SealedValueAndMac> });

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

export interface SecretStore {
  /**
   * Throws `DuplicateKeyError` when the key exists in the workspace. Records the value as
   * version `row.version`, written by `actor`.
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
   * Metadata of the secrets of a workspace with `after < expires_at <= until` (unix seconds):
   * not expired at `after`, expiring by `until`. Soonest first, then by key.
   */
  listExpiringSecrets(workspaceId: string, after: number, until: number): Promise<SecretMeta[]>;
  /**
   * Read-modify-write of one secret, atomic against every other writer: `compute` sees the
   * current row (and the data keys as this write reads them) and returns the changes (or
   * null for none); no other change to that row lands in between. Returns the row as
   * written, or undefined when there is no such key. `compute` may throw to abort; nothing
   * is written then. A change carrying a new sealed value is recorded as a version written
   * by `actor`, and versions older than the last `versionsToKeep` are destroyed in the same
   * transaction, and so is the audit entry `audit` makes of the row as written (none when
   * nothing changes).
   */
  modifySecret(
    workspaceId: string,
    key: string,
    compute: (current: SecretRow, keys: WriteKeys) => Promise<SecretChanges | null>,
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
}

/** What a workspace's values weigh, read without them: for quotas and bounded exports. */
export interface SecretSizes {
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
}
