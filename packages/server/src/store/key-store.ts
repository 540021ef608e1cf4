/**
 * Keys at rest: workspace data keys (`DataKeyStore`) and server keys (`ServerKeyStore`),
 * together `Store.keys`. Kept apart from the Store's other methods because only the keyring,
 * start-up and the `ductape-server keys` commands use them.
 *
 * Invariants every backend keeps:
 * - every change is conditional on what was read (the wrapping key's id, or the sealed bytes),
 *   so concurrent rotations, nodes and user writes never overwrite each other: the loser's
 *   change simply does not happen and is reported as such;
 * - each change is its own small transaction (a re-encryption batch is one), so an
 *   interrupted rotation leaves every row either fully old or fully new;
 * - a sealed value's data key version is read from its header (bytes 2-5, big-endian), the
 *   same bytes `sealedDataKeyVersion` reads.
 */
import type { WrappedDataKey, WrappedKeySource } from '../crypto/keyring.js';

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

/** Which table a sealed value lives in: a secret's current value, or a recorded version. */
export type SealedTable = 'secrets' | 'secret_versions';

export interface SealedValue {
  table: SealedTable;
  secretId: string;
  /** The value's version (part of its binding), not the data key version. */
  version: number;
  sealed: Buffer;
}

/** Where a scan in (secret id, version) order resumes: strictly after this row. */
export interface SealedCursor {
  secretId: string;
  version: number;
}

export interface WorkspaceKeyCursor {
  workspaceId: string;
  version: number;
}

export interface MasterKeyUsage {
  kekId: string;
  workspaceKeys: number;
  serverKeys: number;
}

export interface DataKeyUsage {
  version: number;
  kekId: string;
  /** Sealed values (current and recorded versions) whose header names this data key version. */
  values: number;
}

export interface DataKeyStore extends WrappedKeySource {
  /** The newest data key version of a workspace; undefined when it has none. */
  latestKeyVersion(workspaceId: string): Promise<number | undefined>;
  /** Adds a data key version; false when that version exists already (a concurrent rotation). */
  addWorkspaceKey(key: WrappedDataKey, createdAt: number): Promise<boolean>;
  /** Every master key id in use, with how many rows (data keys and server keys) each wraps. */
  masterKeyUsage(): Promise<MasterKeyUsage[]>;
  /** Up to `limit` data keys not wrapped by `kekId`, in (workspace, version) order after `after`. */
  workspaceKeysNotWrappedBy(
    kekId: string,
    after: WorkspaceKeyCursor | undefined,
    limit: number,
  ): Promise<WrappedDataKey[]>;
  /** Stores `key` re-wrapped, only if it is still wrapped by `fromKekId`; true when it was. */
  rewrapWorkspaceKey(key: WrappedDataKey, fromKekId: string): Promise<boolean>;

  /** Data key versions of a workspace, each with how many sealed values use it. */
  dataKeyUsage(workspaceId: string): Promise<DataKeyUsage[]>;
  /** How many sealed values of a workspace use a data key version below `dekVersion`. */
  countSealedBelow(workspaceId: string, dekVersion: number): Promise<number>;
  /** Up to `limit` of those values in one table, in (secret id, version) order after `after`. */
  sealedBelow(
    workspaceId: string,
    table: SealedTable,
    dekVersion: number,
    after: SealedCursor | undefined,
    limit: number,
  ): Promise<SealedValue[]>;
  /**
   * Replaces each value's sealed bytes with `resealed`, in one transaction, each only if its
   * sealed bytes are still those read (so a concurrent update always wins). Returns how many
   * were replaced.
   */
  resealIfUnchanged(items: readonly { value: SealedValue; resealed: Buffer }[]): Promise<number>;
}

export interface ServerKeyStore {
  /** The newest version of the server key `name`. */
  getServerKey(name: string): Promise<ServerKeyRow | undefined>;
  /**
   * Inserts `row` as version 1, not retired, unless a key of that name exists; returns the
   * newest version stored afterwards.
   */
  putServerKeyOnce(row: Omit<ServerKeyRow, 'version' | 'retiredAt'>): Promise<ServerKeyRow>;
  /** Every row of server_keys (every version of the token signing key, the audit key, any other). */
  serverKeys(): Promise<ServerKeyRow[]>;
  /** Stores `row` re-wrapped, only if that version is still wrapped by `fromKekId`; true when it was. */
  rewrapServerKey(row: ServerKeyRow, fromKekId: string): Promise<boolean>;
  /** Every version of the server key `name`, oldest first. */
  serverKeyVersions(name: string): Promise<ServerKeyRow[]>;
  /** The newest version of the server key `name` (an indexed lookup); undefined when it has none. */
  latestServerKeyVersion(name: string): Promise<number | undefined>;
  /** Adds a version; false when that version exists already (a concurrent rotation). */
  addServerKeyVersion(row: ServerKeyRow): Promise<boolean>;
  /**
   * Replaces a version (re-wrapped, retired), only if its wrapped bytes are still `expected`:
   * a concurrent rotation's change is never overwritten. True when it was replaced.
   */
  replaceServerKeyVersion(row: ServerKeyRow, expected: Buffer): Promise<boolean>;
}

/** `Store.keys`: both kinds of keys, on one object per backend. */
export interface KeyStore extends DataKeyStore, ServerKeyStore {}

/** The 4 header bytes that a value sealed under data key `version` starts with, after the format byte. */
export function dekVersionBytes(version: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(version);
  return bytes;
}
