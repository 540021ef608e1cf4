/** Row MAC upkeep in SQL: the statements both dialects agree on (`?` placeholders). */
import { DEK_FORMAT_LEGACY } from '../../crypto/envelope.js';
import { SECRET_META_COLUMNS, SECRET_ROW_COLUMNS } from './secret-rows.js';
import type { SqlDialect } from './dialect.js';

/** The format byte of a data key from before row MACs (both parameters of `legacyWorkspaces`). */
export const LEGACY_FORMAT = Buffer.from([DEK_FORMAT_LEGACY]);

export function integrityReads(d: SqlDialect) {
  return {
    // Every data key of the workspace is in the legacy format (by its first byte).
    legacyWorkspaces: `SELECT DISTINCT workspace_id FROM workspace_keys k WHERE substr(wrapped, 1, 1) = ?
      AND NOT EXISTS (SELECT 1 FROM workspace_keys m
        WHERE m.workspace_id = k.workspace_id AND substr(m.wrapped, 1, 1) > ?)
      ORDER BY workspace_id`,
    rowsWithoutMac: `SELECT ${SECRET_META_COLUMNS} FROM secrets WHERE workspace_id = ? AND key > ? AND mac IS NULL
      ORDER BY key LIMIT ?`,
    scanRows: `SELECT ${SECRET_ROW_COLUMNS} FROM secrets WHERE (workspace_id, key) > (?, ?)
      ORDER BY workspace_id, key LIMIT ?`,
    scanWorkspaceRows: `SELECT ${SECRET_ROW_COLUMNS} FROM secrets WHERE workspace_id = ? AND key > ? ORDER BY key LIMIT ?`,
    recordedValues: `SELECT secret_id, version, sealed FROM secret_versions WHERE ${d.inList('secret_id')}`,
  } as const;
}

export interface RecordedValueRecord {
  secret_id: string;
  version: number;
  sealed: Buffer;
}
