/**
 * What row MACs need from a store: `Store.integrity`. Kept apart from the Store's other
 * methods because only start-up (converting workspaces from before row MACs) and the
 * `ductape-server integrity` operator command use it. See services/secrets/secret-integrity.ts.
 *
 * Invariants every backend keeps:
 * - a MAC is only ever filled in where a row has none and its version and updated_at are
 *   still those that were read, so a concurrent write (which brings its own MAC) always wins;
 * - scans are keyset-paged, so memory stays flat whatever the store holds.
 */
import type { SecretMeta, SecretRow } from './types.js';

/**
 * Where a scan of every secret in (workspace id, key) order resumes: strictly after it. The
 * order of the (workspace_id, key) unique index, so each page is one index range.
 */
export interface RowCursor {
  workspaceId: string;
  key: string;
}

/** One recorded value of a secret, as stored. */
export interface RecordedValue {
  secretId: string;
  version: number;
  sealed: Buffer;
}

export interface IntegrityStore {
  /**
   * Workspaces none of whose data keys says its rows carry MACs, by the format byte alone
   * (envelope.ts): candidates only, the keyring confirms with the authenticated key.
   */
  legacyWorkspaces(): Promise<string[]>;
  /** Up to `limit` rows of a workspace without a MAC, metadata only, in key order after `afterKey`. */
  rowsWithoutMac(workspaceId: string, afterKey: string | undefined, limit: number): Promise<SecretMeta[]>;
  /**
   * Gives each row its MAC, in one transaction, only where the row still has none and still
   * has the version and updated_at of `row`. Returns how many were filled in.
   */
  fillMissingMacs(items: readonly { row: SecretMeta; mac: Buffer }[]): Promise<number>;
  /** Up to `limit` whole rows in (workspace id, key) order after `after`; of one workspace when given. */
  scanRows(after: RowCursor | undefined, limit: number, workspaceId?: string): Promise<SecretRow[]>;
  /** The recorded versions of these secrets (sealed values), any order. */
  recordedValues(secretIds: readonly string[]): Promise<RecordedValue[]>;
}
