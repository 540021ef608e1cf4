/**
 * Row MACs over time: converting workspaces from before them, and finding every row that
 * fails its checks (`ductape-server integrity check`).
 *
 * Conversion. A workspace from before row MACs has only legacy data keys (format byte 0x01,
 * envelope.ts) and rows with no MAC. Start-up gives each of those rows its MAC, then
 * re-wraps every data key of the workspace as "rows carry MACs" (0x02): from then on a row
 * without a MAC is refused. Until then nothing is refused that was not refused before: such a
 * row was never protected, and it is the state the server finds, not one an attacker can
 * bring back. Only the master key turns 0x01 into 0x02, and nothing turns 0x02 back, so
 * clearing a MAC in the database never makes the server fill in a new one. An interrupted
 * conversion is simply done again at the next start (rows keep the MACs already filled in).
 *
 * Check. Every row's MAC against its columns, its current value against its AAD (workspace,
 * id, version), and every recorded version's value likewise; values are decrypted and
 * dropped, never shown. Reported by workspace, key and what failed.
 */
import { OpenError } from '../../crypto/aead.js';
import { KeyMismatchError, type Keyring } from '../../crypto/keyring.js';
import { RowMacError } from '../../crypto/row-mac.js';
import type { IntegrityStore, RowCursor } from '../../store/integrity.js';
import type { KeyStore } from '../../store/keys.js';
import type { SecretRow } from '../../store/types.js';

/** Rows checked per query. */
const PAGE = 500;
/** Rows given their MAC per transaction (metadata only: small). */
const CONVERT_PAGE = 2000;

export interface ConversionResult {
  /** Workspaces whose data keys now say their rows carry MACs. */
  workspaces: string[];
  /** Rows given their MAC. */
  rows: number;
  /** Workspaces left as they were because their data key does not open here (logged). */
  skipped: { workspaceId: string; reason: string }[];
}

/**
 * Converts every workspace from before row MACs (see above). Safe to run on several nodes
 * at once: each MAC is filled in only where the row still has none, each data key re-wrapped
 * only if still wrapped by the master key it was read under.
 */
export async function convertLegacyWorkspaces(
  store: { integrity: IntegrityStore; keys: Pick<KeyStore, 'rewrapWorkspaceKey' | 'latestKeyVersion'> },
  keyring: Pick<Keyring, 'hasRowMacs' | 'rowMac' | 'withRowMacs' | 'forget'>,
  pageSize = CONVERT_PAGE,
): Promise<ConversionResult> {
  const result: ConversionResult = { workspaces: [], rows: 0, skipped: [] };
  for (const workspaceId of await store.integrity.legacyWorkspaces()) {
    try {
      // The format byte alone proposed it; the authenticated key decides.
      if (await keyring.hasRowMacs(workspaceId)) continue;
      // One data key version for the whole workspace: one lookup, not one per row.
      const dekVersion = await store.keys.latestKeyVersion(workspaceId);
      let afterKey: string | undefined;
      for (;;) {
        const rows = await store.integrity.rowsWithoutMac(workspaceId, afterKey, pageSize);
        const items = [];
        for (const row of rows) items.push({ row, mac: await keyring.rowMac(row, dekVersion) });
        result.rows += await store.integrity.fillMissingMacs(items);
        if (rows.length < pageSize) break;
        afterKey = rows[rows.length - 1]?.key;
      }
      for (const key of await keyring.withRowMacs(workspaceId)) {
        await store.keys.rewrapWorkspaceKey(key, key.kekId);
      }
      keyring.forget(workspaceId);
      result.workspaces.push(workspaceId);
    } catch (error) {
      if (!(error instanceof KeyMismatchError)) throw error;
      // Its values cannot be read here anyway; it is converted by a server that holds its key.
      result.skipped.push({ workspaceId, reason: error.message });
    }
  }
  return result;
}

export type IntegrityProblem =
  | 'no MAC'
  | 'MAC does not match the row'
  | 'value does not open'
  | 'recorded version does not open'
  | 'data key cannot be opened';

export interface IntegrityFinding {
  workspaceId: string;
  /** The key as stored (it may be the altered column). */
  key: string | null;
  secretId: string | null;
  version: number | null;
  problem: IntegrityProblem;
}

export interface CheckResult {
  rows: number;
  recordedVersions: number;
  findings: IntegrityFinding[];
}

/** Finds every row that fails a check (see above); `workspaceId` narrows it to one workspace. */
export async function checkSecrets(
  store: { integrity: IntegrityStore },
  keyring: Pick<Keyring, 'verifyRow' | 'open'>,
  options: { workspaceId?: string; onProgress?: (rows: number) => void; pageSize?: number } = {},
): Promise<CheckResult> {
  const pageSize = options.pageSize ?? PAGE;
  const result: CheckResult = { rows: 0, recordedVersions: 0, findings: [] };
  const unopenable = new Set<string>();
  const found = (row: SecretRow, problem: IntegrityProblem, version = row.version): void => {
    result.findings.push({ workspaceId: row.workspaceId, key: row.key, secretId: row.id, version, problem });
  };
  let cursor: RowCursor | undefined;
  for (;;) {
    const rows = await store.integrity.scanRows(cursor, pageSize, options.workspaceId);
    const recorded = await store.integrity.recordedValues(rows.map((r) => r.id));
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const row of rows) {
      result.rows += 1;
      if (unopenable.has(row.workspaceId)) continue;
      try {
        await checkRow(keyring, row, found);
      } catch (error) {
        if (!(error instanceof KeyMismatchError)) throw error;
        unopenable.add(row.workspaceId);
        result.findings.push({
          workspaceId: row.workspaceId,
          key: null,
          secretId: null,
          version: null,
          problem: 'data key cannot be opened',
        });
      }
    }
    for (const value of recorded) {
      const row = byId.get(value.secretId) as SecretRow;
      if (unopenable.has(row.workspaceId)) continue;
      result.recordedVersions += 1;
      try {
        await keyring.open(
          { workspaceId: row.workspaceId, secretId: row.id, version: value.version },
          value.sealed,
        );
      } catch (error) {
        if (!(error instanceof OpenError)) throw error;
        found(row, 'recorded version does not open', value.version);
      }
    }
    options.onProgress?.(result.rows);
    const last = rows[rows.length - 1];
    if (!last || rows.length < pageSize) break;
    cursor = { workspaceId: last.workspaceId, key: last.key };
  }
  result.findings.sort(
    (a, b) =>
      a.workspaceId.localeCompare(b.workspaceId) ||
      (a.key ?? '').localeCompare(b.key ?? '') ||
      (a.version ?? 0) - (b.version ?? 0),
  );
  return result;
}

/** A row's MAC, then its current value; a KeyMismatchError is the caller's (the whole workspace). */
async function checkRow(
  keyring: Pick<Keyring, 'verifyRow' | 'open'>,
  row: SecretRow,
  found: (row: SecretRow, problem: IntegrityProblem) => void,
): Promise<void> {
  try {
    await keyring.verifyRow(row);
  } catch (error) {
    if (!(error instanceof RowMacError)) throw error;
    found(row, row.mac === null ? 'no MAC' : 'MAC does not match the row');
  }
  try {
    await keyring.open({ workspaceId: row.workspaceId, secretId: row.id, version: row.version }, row.sealed);
  } catch (error) {
    if (!(error instanceof OpenError)) throw error;
    found(row, 'value does not open');
  }
}
