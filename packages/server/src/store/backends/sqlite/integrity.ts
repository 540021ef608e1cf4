/**
 * Row MAC upkeep on the embedded store (see store/integrity.ts for the invariants). Writes go
 * through the store's write queue.
 */
import type Database from 'better-sqlite3';
import type { IntegrityStore, RecordedValue, RowCursor } from '../../integrity.js';
import {
  SECRET_META_COLUMNS,
  SECRET_ROW_COLUMNS,
  toSecretMeta,
  toSecretRow,
  type SecretRecord,
} from '../../records.js';
import type { SecretMeta, SecretRow } from '../../types.js';
import type { WriteQueue } from './write-queue.js';

const parseList = (json: string): string[] => (json === '[]' ? [] : (JSON.parse(json) as string[]));

export class SqliteIntegrityStore implements IntegrityStore {
  private readonly stmt;

  constructor(
    db: Database.Database,
    private readonly writes: WriteQueue,
  ) {
    this.stmt = {
      // x'01': the legacy data key format (crypto/envelope.ts).
      legacy: db
        .prepare(
          `SELECT workspace_id FROM workspace_keys GROUP BY workspace_id
           HAVING MAX(substr(wrapped, 1, 1)) = x'01' ORDER BY workspace_id`,
        )
        .pluck(),
      withoutMac: db.prepare(
        `SELECT ${SECRET_META_COLUMNS} FROM secrets WHERE workspace_id = ? AND key > ? AND mac IS NULL
         ORDER BY key LIMIT ?`,
      ),
      fill: db.prepare(
        'UPDATE secrets SET mac = ? WHERE id = ? AND mac IS NULL AND version = ? AND updated_at = ?',
      ),
      scan: db.prepare(
        `SELECT ${SECRET_ROW_COLUMNS} FROM secrets WHERE (workspace_id, key) > (?, ?)
         ORDER BY workspace_id, key LIMIT ?`,
      ),
      scanOne: db.prepare(
        `SELECT ${SECRET_ROW_COLUMNS} FROM secrets WHERE workspace_id = ? AND key > ? ORDER BY key LIMIT ?`,
      ),
      recorded: db.prepare(
        'SELECT secret_id, version, sealed FROM secret_versions WHERE secret_id IN (SELECT value FROM json_each(?))',
      ),
    };
  }

  async legacyWorkspaces(): Promise<string[]> {
    return this.stmt.legacy.all() as string[];
  }

  async rowsWithoutMac(
    workspaceId: string,
    afterKey: string | undefined,
    limit: number,
  ): Promise<SecretMeta[]> {
    const rows = this.stmt.withoutMac.all(workspaceId, afterKey ?? '', limit) as SecretRecord<string>[];
    return rows.map((r) => toSecretMeta(r, parseList));
  }

  async fillMissingMacs(items: readonly { row: SecretMeta; mac: Buffer }[]): Promise<number> {
    return this.writes.run(() => {
      let filled = 0;
      for (const { row, mac } of items) {
        filled += this.stmt.fill.run(mac, row.id, row.version, row.updatedAt).changes;
      }
      return filled;
    });
  }

  async scanRows(after: RowCursor | undefined, limit: number, workspaceId?: string): Promise<SecretRow[]> {
    const rows = (
      workspaceId === undefined
        ? this.stmt.scan.all(after?.workspaceId ?? '', after?.key ?? '', limit)
        : this.stmt.scanOne.all(workspaceId, after?.key ?? '', limit)
    ) as SecretRecord<string>[];
    return rows.map((r) => toSecretRow(r, parseList));
  }

  async recordedValues(secretIds: readonly string[]): Promise<RecordedValue[]> {
    if (secretIds.length === 0) return [];
    const rows = this.stmt.recorded.all(JSON.stringify(secretIds)) as {
      secret_id: string;
      version: number;
      sealed: Buffer;
    }[];
    return rows.map((r) => ({ secretId: r.secret_id, version: r.version, sealed: r.sealed }));
  }
}
