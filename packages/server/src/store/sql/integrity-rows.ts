/** Row MAC upkeep in SQL: the statements both dialects agree on (`?` placeholders). */
import { SECRET_META_COLUMNS, SECRET_ROW_COLUMNS } from './secret-rows.js';
import type { SqlDialect } from './dialect.js';

export function integrityReads(d: SqlDialect) {
  return {
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
